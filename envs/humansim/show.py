"""Draw a clip's ground truth on its frames: the first thing to look at when a clip seems wrong.

Skeletons (visible keypoints filled, occluded ones hollow), each prop's point cloud, and the
active segment's instruction per hand, on a grid of frames sampled across the clip.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from envs.humansim.truth import VIDEO_SUFFIX, ClipTruth, load_truth
from vitra_bench import hand as hk
from vitra_bench.corpus.video import decode_video
from vitra_bench.geometry import project_points, transform_points

HAND_BGR = {"left": (255, 160, 40), "right": (40, 140, 255)}


def draw_truth(image: np.ndarray, truth: ClipTruth, t: int, points_per_prop: int = 150) -> np.ndarray:
    """Return an RGB copy of ``image`` (frame ``t``) with the ground truth drawn on it."""
    canvas = np.ascontiguousarray(image[..., ::-1])  # OpenCV draws in BGR
    scale = max(1, round(canvas.shape[1] / 640))
    for name in truth.prop_names:
        cloud = truth.prop_cloud_world(name, t)[:: max(1, len(truth.prop_points[truth.prop_names.index(name)]) // points_per_prop)]
        pixels = project_points(transform_points(truth.extrinsics[t], cloud), truth.intrinsics)
        for u, v in pixels[np.all(np.isfinite(pixels), axis=1)].astype(int):
            cv2.circle(canvas, (u, v), scale, (200, 200, 200), -1)
    for side, hand in truth.hands.items():
        if not hand.present[t]:
            continue
        pixels = project_points(hand.joints_cam[t], truth.intrinsics)
        if not np.all(np.isfinite(pixels)):
            continue
        pixels = pixels.round().astype(int)
        for child, parent in enumerate(hk.KEYPOINT_PARENTS):
            if parent >= 0:
                cv2.line(canvas, tuple(pixels[parent]), tuple(pixels[child]), HAND_BGR[side], scale, cv2.LINE_AA)
        for k, point in enumerate(pixels):
            cv2.circle(canvas, tuple(point), 2 * scale, HAND_BGR[side], -1 if hand.visible[t, k] else scale)
    line = 0
    for segment in truth.segments:
        if segment.start <= t < segment.end:
            line += 1
            text = f"{segment.hand}: {segment.instruction}"
            cv2.putText(canvas, text, (4, 14 * line * scale), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * scale, HAND_BGR[segment.hand], scale)
    cv2.putText(canvas, f"frame {t}", (4, canvas.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * scale, (255, 255, 255), scale)
    return canvas[..., ::-1]


def show_clip(clip: Path, out: Path | None = None, frames: int = 6, columns: int = 3) -> Path:
    """Save a grid of ``frames`` annotated frames of ``clip`` (its mp4 or JSON path) as a PNG."""
    truth = load_truth(clip)
    video = Path(clip).with_name(truth.clip_id + VIDEO_SUFFIX)
    decoded = decode_video(video)
    picks = np.linspace(0, len(decoded) - 1, frames).round().astype(int)
    tiles = [draw_truth(decoded[t], truth, t) for t in picks]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    grid = np.concatenate([np.concatenate(tiles[r : r + columns], axis=1) for r in range(0, len(tiles), columns)], axis=0)
    out = Path(out) if out else video.with_name(f"{truth.clip_id}_truth.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), grid[..., ::-1])
    return out

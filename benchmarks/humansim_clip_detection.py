"""Does a real hand detector see HumanSim's hands in whole clips? MediaPipe on rendered clip frames.

Where ``humansim_hand_detection.py`` looks at single hands in controlled views, this one renders
ordinary ``lab`` and ``wild`` clips (rooms, props, head motion, blur, noise, compression) and asks
MediaPipe's legacy hand landmarker (``static_image_mode=True``, ``min_detection_confidence=0.3``)
about every ``--stride``-th frame. A hand counts when it is *clearly visible*: present, and at
least ``--min-visible`` of its 21 keypoints visible (in the image, not covered). It is detected when
a returned hand's landmark-box centre lies inside its true visible-keypoint box. For detected hands
the 2D landmark error is the mean distance to the projected true keypoints, in pixels and in % of
the hand's size. The baseline in the same run: the same detector on the same frames flipped
left-right (a detector that works on hands should not care).

    pip install mediapipe==0.10.14
    python benchmarks/humansim_clip_detection.py [--clips 4] [--stride 3]
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import argparse
from collections import defaultdict
from dataclasses import replace

import numpy as np

from envs.humansim.generate import HumanSimConfig, render_clip
from vitra_bench.benchmarking import machine_info, write_results
from vitra_bench.geometry import project_points


def detect(hands, image: np.ndarray) -> list[np.ndarray]:
    """Landmarks (21, 2) in pixels of every hand MediaPipe finds in an RGB image."""
    result = hands.process(image)
    height, width = image.shape[:2]
    return [
        np.array([[p.x * width, p.y * height] for p in found.landmark])
        for found in (result.multi_hand_landmarks or [])
    ]


def match(truth_pixels: np.ndarray, visible: np.ndarray, found: list[np.ndarray]) -> np.ndarray | None:
    """The detection whose box centre lies inside the hand's visible-keypoint box, if any."""
    lo, hi = truth_pixels[visible].min(0), truth_pixels[visible].max(0)
    for landmarks in found:
        centre = (landmarks.min(0) + landmarks.max(0)) / 2
        if np.all(centre >= lo) and np.all(centre <= hi):
            return landmarks
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4, help="clips per preset")
    parser.add_argument("--stride", type=int, default=3, help="look at every n-th frame")
    parser.add_argument("--min-visible", type=int, default=15, help="visible keypoints for a clearly visible hand")
    parser.add_argument("--seconds", type=float, default=6.0, help="clip length")
    args = parser.parse_args()

    import mediapipe as mp

    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2, min_detection_confidence=0.3) as hands:
        for preset in ("lab", "wild"):
            config = replace(HumanSimConfig(preset=preset, seed=11), seconds=args.seconds)
            for index in range(args.clips):
                truth, frames = render_clip(config, index)
                for t in range(0, truth.num_frames, args.stride):
                    found = detect(hands, frames[t])
                    found_flipped = detect(hands, np.ascontiguousarray(frames[t][:, ::-1]))
                    for side, hand in truth.hands.items():
                        visible = hand.visible[t]
                        if not hand.present[t] or visible.sum() < args.min_visible:
                            continue
                        pixels = project_points(hand.joints_cam[t], truth.intrinsics)
                        row = counts[f"{preset} / {truth.meta['camera']}"]
                        row["hands"] += 1
                        landmarks = match(pixels, visible, found)
                        mirrored = pixels.copy()
                        mirrored[:, 0] = truth.width - 1 - mirrored[:, 0]
                        row["detected_flipped"] += match(mirrored, visible, found_flipped) is not None
                        if landmarks is not None:
                            size = np.ptp(pixels[visible], axis=0).max()
                            error = np.linalg.norm(landmarks - pixels, axis=1).mean()
                            row["detected"] += 1
                            row["error_px"] += error
                            row["error_pct"] += 100 * error / size
                            row["hand_px"] += size

    rows = []
    for name, row in sorted(counts.items()) + [("all", _total(counts))]:
        detected = max(row["detected"], 1)
        rows.append(
            {
                "clips / camera": name,
                "hands": int(row["hands"]),
                "detected_%": round(100 * row["detected"] / max(row["hands"], 1), 1),
                "flipped_detected_%": round(100 * row["detected_flipped"] / max(row["hands"], 1), 1),
                "landmark_error_px": round(row["error_px"] / detected, 1),
                "landmark_error_%": round(row["error_pct"] / detected, 1),
                "hand_size_px": round(row["hand_px"] / detected),
            }
        )
    info = machine_info(
        mediapipe=mp.__version__,
        clips=f"{args.clips} per preset, {args.seconds} s at 640x480, every {args.stride}th frame; "
        f"a hand is clearly visible with >= {args.min_visible}/21 keypoints visible",
    )
    title = "MediaPipe hand detection on HumanSim clips"
    print(write_results("humansim_clip_detection", title, info, rows, info_in_csv=False))


def _total(counts: dict[str, dict[str, float]]) -> dict[str, float]:
    total: dict[str, float] = defaultdict(float)
    for row in counts.values():
        for key, value in row.items():
            total[key] += value
    return total


if __name__ == "__main__":
    main()

"""The frames a VLM sees: 8 per segment, each with the palm's future path drawn in its own camera.

VITRA draws, on each sampled frame, the palm trajectory from that frame to the segment end; its
ablation shows the drawing matters (no overlay: 11.7 vs 9.9 cm), because it tells the VLM which
hand and which motion the sentence is about. The path is projected into the camera of the frame
it is drawn on (the camera moves), from the hand's world trajectory.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vitra_bench.geometry import project_points, transform_points
from vitra_bench.hand import palm_point

# RGB; distinct from skin and from each other, so two hands' overlays are never confused.
HAND_COLOURS: dict[str, tuple[int, int, int]] = {"right": (255, 64, 32), "left": (32, 144, 255)}
_OUTLINE = (0, 0, 0)
_SHIFT = 4  # sub-pixel bits for cv2 drawing: the path keeps its projected position to 1/16 px
_MAX_COORD = 1e6  # pixel coordinates beyond this (points grazing the camera plane) are dropped


@dataclass(frozen=True)
class OverlayConfig:
    num_frames: int = 8
    draw: bool = True  # False = the "no overlay" ablation: the same frames, untouched
    thickness: int | None = None  # line width in px; None: scaled with the image size
    label: bool = True  # write "right hand" / "left hand" in the corner


@dataclass
class Overlay:
    indices: np.ndarray  # (num_frames,) positions in the segment of the sampled frames
    frames: np.ndarray  # (num_frames, H, W, 3) uint8 RGB, annotated copies


def sample_indices(length: int, count: int = 8) -> np.ndarray:
    """``count`` frame positions spread uniformly over ``[0, length)``, first and last included.

    Always ``count`` of them (repeats when the segment is shorter), so every request looks alike.
    """
    if length < 1:
        raise ValueError("cannot sample frames from an empty segment")
    return np.rint(np.linspace(0, length - 1, count)).astype(int)


def path_pixels(extrinsic: np.ndarray, intrinsics: np.ndarray, points_world: np.ndarray) -> np.ndarray:
    """Pixels (N, 2) of world points seen by one camera; NaN rows for points it cannot show."""
    pixels = project_points(transform_points(extrinsic, points_world), intrinsics)
    pixels[~np.all(np.abs(pixels) < _MAX_COORD, axis=1)] = np.nan
    return pixels


def overlay_frames(
    frames: np.ndarray,
    extrinsics: np.ndarray,
    intrinsics: np.ndarray,
    keypoints: np.ndarray,
    kept: np.ndarray,
    hand: str,
    config: OverlayConfig = OverlayConfig(),
) -> Overlay:
    """Sample ``config.num_frames`` frames and draw on each the palm path from it to the segment end."""
    indices = sample_indices(len(frames), config.num_frames)
    out = np.array(frames[indices], dtype=np.uint8, copy=True)
    if not config.draw:
        return Overlay(indices, out)
    palms = palm_point(keypoints)
    kept = np.asarray(kept, dtype=bool)
    height, width = out.shape[1:3]
    thickness = config.thickness or max(2, round(min(height, width) / 160))
    colour = HAND_COLOURS[hand]
    for image, start in zip(out, indices):
        future = np.flatnonzero(kept[start:]) + start
        if len(future):
            draw_path(image, path_pixels(extrinsics[start], intrinsics, palms[future]), colour, thickness)
        if config.label:
            _label(image, f"{hand} hand", colour, thickness)
    return Overlay(indices, out)


def draw_path(image: np.ndarray, pixels: np.ndarray, colour: tuple[int, int, int], thickness: int) -> None:
    """Draw in place: an outlined polyline, a dot at the first (current) point, an arrowhead at the end.

    NaN rows break the line (the palm left the camera's view) instead of joining across the gap.
    """
    valid = np.all(np.isfinite(pixels), axis=1)
    if not valid.any():
        return
    runs = np.split(np.arange(len(pixels)), np.flatnonzero(np.diff(valid.astype(int))) + 1)
    lines = [_fixed(pixels[run]) for run in runs if valid[run[0]] and len(run) > 1]
    if lines:
        cv2.polylines(image, lines, False, _OUTLINE, thickness + 2, cv2.LINE_AA, _SHIFT)
        cv2.polylines(image, lines, False, colour, thickness, cv2.LINE_AA, _SHIFT)
    points = pixels[valid]
    _arrowhead(image, points, colour, thickness)
    centre = tuple(int(v) for v in _fixed(points[:1])[0])
    radius = (2 * thickness) << _SHIFT
    cv2.circle(image, centre, radius, (255, 255, 255), -1, cv2.LINE_AA, _SHIFT)
    cv2.circle(image, centre, radius * 2 // 3, colour, -1, cv2.LINE_AA, _SHIFT)


def tile_frames(frames: np.ndarray, columns: int = 4) -> np.ndarray:
    """One image with the frames in a grid (row-major, time order), for endpoints that take one image."""
    count, height, width = frames.shape[:3]
    rows = -(-count // columns)
    grid = np.zeros((rows * height, columns * width, 3), dtype=np.uint8)
    for n, frame in enumerate(frames):
        row, col = divmod(n, columns)
        grid[row * height : (row + 1) * height, col * width : (col + 1) * width] = frame
    return grid


def _fixed(pixels: np.ndarray) -> np.ndarray:
    return np.rint(pixels * (1 << _SHIFT)).astype(np.int32)


def _arrowhead(image: np.ndarray, points: np.ndarray, colour: tuple[int, int, int], thickness: int) -> None:
    """An arrow on the path's last stretch; a ring when the path is too short to show a direction.

    The direction comes from a point one arrow length back, not from the last step: segments end at
    speed minima, so the last step is often a fraction of a pixel with a meaningless direction.
    """
    length = 6.0 * thickness
    end = points[-1]
    far = np.flatnonzero(np.linalg.norm(points - end, axis=1) >= length)
    if len(far):
        tail = points[far[-1]]
        tip_length = length / float(np.linalg.norm(end - tail))
        tail_fx, end_fx = (tuple(int(v) for v in p) for p in _fixed(np.stack([tail, end])))
        cv2.arrowedLine(image, tail_fx, end_fx, colour, thickness, cv2.LINE_AA, _SHIFT, tip_length)
    else:
        centre = tuple(int(v) for v in _fixed(end[None])[0])
        cv2.circle(image, centre, (2 * thickness) << _SHIFT, colour, max(1, thickness // 2), cv2.LINE_AA, _SHIFT)


def _label(image: np.ndarray, text: str, colour: tuple[int, int, int], thickness: int) -> None:
    scale = thickness / 4.0
    origin = (2 * thickness, 2 * thickness + int(22 * scale))
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, _OUTLINE, thickness + 1, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, max(1, thickness - 1), cv2.LINE_AA)

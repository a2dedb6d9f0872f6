"""Stage 2, static or moving camera: from background optical flow with the hands masked out.

Why it matters: a static camera needs no trajectory (every extrinsic is the identity, as in the
paper's world frame = first camera), a moving one needs visual odometry (stage 4).

Method, per pair of consecutive frames (grey, downscaled so the longer side is ``max_side``):
corners (``goodFeaturesToTrack``, an equal share from each cell of a 4x4 grid) outside the
dilated hand masks are tracked with pyramidal
Lucas-Kanade, kept when the backward track returns within ``fb_max_px`` and the end point is
outside the next frame's mask; a similarity transform (rotation, uniform scale, translation:
pan, roll and zoom) is fitted with RANSAC. The frame's *motion* is that transform's mean
displacement over a grid covering the image, as a fraction of the image diagonal. Composing the
transforms gives the *drift*: how far the view at frame t has moved from frame 0.

Decision: the video's ``score`` is the largest drift; the camera is static when it stays below
``threshold`` (default 1 % of the diagonal, ~1.4 degrees of rotation at a 90 degree FoV, ~2 cm
at 0.5 m of hand position error if ignored). Drift, unlike per-frame motion, catches a slow pan
and a single bump alike, while a static camera's sub-pixel tracking noise is a random walk far
below the threshold over a 20-second chunk.

Guarantees. Pixels inside the masks never contribute. An *unmasked* moving object does not
make a still camera "moving" as long as the background keeps the majority of the tracked
corners in every frame pair (RANSAC's consensus then is the background's identity transform);
corners are spread over the grid, so for a textured background this holds while the object
covers well under half the image (tested at 25 %); an object filling most of it would be taken
for camera motion. When fewer
than ``min_points`` corners survive, that pair is unmeasured (NaN, treated as no motion); when
more than half the pairs are unmeasured (textureless or dark video) the camera is reported as
moving, the safe side: visual odometry then runs and says what it can.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class MotionConfig:
    """Settings of ``camera_motion`` (module docstring).

    Attributes:
        max_side: frames are downscaled so their longer side has at most this many pixels.
        max_corners: corners tracked per frame pair.
        mask_dilate: hand masks are grown by this fraction of the image diagonal (shadows, blur).
        fb_max_px: forward-backward tracking error above which a corner is dropped (pixels at max_side).
        ransac_px: RANSAC inlier threshold (pixels at max_side).
        min_points: fewer surviving corners leave the pair unmeasured.
        threshold: largest drift (fraction of the diagonal) of a static camera.
    """

    max_side: int = 320
    max_corners: int = 400
    mask_dilate: float = 0.02
    fb_max_px: float = 0.5
    ransac_px: float = 1.0
    min_points: int = 12
    threshold: float = 0.01


@dataclass(frozen=True)
class CameraMotion:
    """Result of ``camera_motion``.

    Attributes:
        static: the decision.
        score: largest drift from frame 0, fraction of the image diagonal (compared to ``threshold``).
        per_frame_motion: (T,) displacement since the previous frame, fraction of the diagonal;
            0 for frame 0, NaN where unmeasured.
        drift: (T,) displacement of the view since frame 0, fraction of the diagonal.
        measured: fraction of frame pairs that could be measured.
    """

    static: bool
    score: float
    per_frame_motion: np.ndarray
    drift: np.ndarray
    measured: float


def camera_motion(frames: ArrayLike, hand_masks: ArrayLike | None = None, config: MotionConfig = MotionConfig()) -> CameraMotion:
    """Classify a video as shot by a static or a moving camera.

    Args:
        frames: (T, H, W, 3) uint8 RGB (or (T, H, W) grey).
        hand_masks: (T, H, W) bool, True on hands (and whatever else should be ignored), e.g.
            from ``masks_from_keypoints``; ``None`` uses every pixel.
        config: thresholds and tracker settings.
    """
    video = np.asarray(frames)
    if video.ndim not in (3, 4) or len(video) < 2:
        raise ValueError(f"frames: expected (T, H, W, 3) with T >= 2, got {video.shape}")
    height, width = video.shape[1:3]
    scale = min(1.0, config.max_side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    grey = [_grey(frame, size) for frame in video]
    masks = _small_masks(hand_masks, len(video), (height, width), size, config.mask_dilate)
    diagonal = float(np.hypot(*size))
    grid = np.stack(np.meshgrid(np.linspace(0, size[0] - 1, 8), np.linspace(0, size[1] - 1, 6)), -1).reshape(-1, 2)

    motion = np.zeros(len(video))
    drift = np.zeros(len(video))
    total = np.eye(3)
    for t in range(1, len(video)):
        step = _pair_transform(grey[t - 1], grey[t], masks[t - 1], masks[t], config)
        if step is None:
            motion[t] = np.nan
        else:
            motion[t] = _mean_displacement(step, grid) / diagonal
            total = step @ total
        drift[t] = _mean_displacement(total, grid) / diagonal
    measured = float(np.mean(np.isfinite(motion[1:])))
    score = float(drift.max())
    return CameraMotion(measured >= 0.5 and score < config.threshold, score, motion, drift, measured)


def masks_from_keypoints(keypoints: ArrayLike, height: int, width: int, margin: float = 0.25) -> np.ndarray:
    """Boolean masks (T, H, W) covering each hand's keypoint box grown by ``margin`` of its size.

    Args:
        keypoints: (T, 21, 2) or (T, N, 21, 2) pixel keypoints, NaN where a hand is missing.
        margin: fraction of the box's larger side added on every side (keypoints lie on the
            bones; the hand's skin and its shadow extend beyond them).
    """
    points = np.asarray(keypoints, dtype=np.float64)
    if points.ndim == 3:
        points = points[:, None]
    if points.ndim != 4 or points.shape[-1] != 2:
        raise ValueError(f"keypoints: expected (T, 21, 2) or (T, N, 21, 2), got {points.shape}")
    masks = np.zeros((len(points), height, width), dtype=bool)
    for t, hands in enumerate(points):
        for single in hands:
            valid = single[np.isfinite(single).all(axis=1)]
            if not len(valid):
                continue
            low, high = valid.min(axis=0), valid.max(axis=0)
            pad = margin * (high - low).max()
            x0, y0 = np.maximum(np.floor(low - pad).astype(int), 0)
            x1, y1 = np.ceil(high + pad).astype(int) + 1
            masks[t, y0:y1, x0:x1] = True
    return masks


# --- internals -------------------------------------------------------------------------------


def _grey(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    image = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _small_masks(
    hand_masks: ArrayLike | None, count: int, shape: tuple[int, int], size: tuple[int, int], dilate: float
) -> list[np.ndarray | None]:
    """Per frame, a uint8 mask (255 = usable background) at the working size, or None for all."""
    if hand_masks is None:
        return [None] * count
    masks = np.asarray(hand_masks, dtype=bool)
    if masks.shape != (count,) + shape:
        raise ValueError(f"hand_masks: expected shape {(count,) + shape}, got {masks.shape}")
    radius = max(1, round(dilate * np.hypot(*size)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    out = []
    for mask in masks:
        small = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        out.append(np.where(cv2.dilate(small, kernel) > 0, 0, 255).astype(np.uint8))
    return out


def _pair_transform(
    previous: np.ndarray, current: np.ndarray, mask0: np.ndarray | None, mask1: np.ndarray | None, config: MotionConfig
) -> np.ndarray | None:
    """The 3x3 similarity taking frame t-1's background to frame t's, or None if unmeasurable."""
    corners = _spread_corners(previous, mask0, config.max_corners)
    if len(corners) < config.min_points:
        return None
    lk = {"winSize": (15, 15), "maxLevel": 3}
    forward, status, _ = cv2.calcOpticalFlowPyrLK(previous, current, corners, None, **lk)
    backward, status_back, _ = cv2.calcOpticalFlowPyrLK(current, previous, forward, None, **lk)
    good = (status[:, 0] == 1) & (status_back[:, 0] == 1)
    good &= np.linalg.norm((backward - corners)[:, 0], axis=1) < config.fb_max_px
    if mask1 is not None:
        x = np.clip(np.round(forward[:, 0, 0]).astype(int), 0, mask1.shape[1] - 1)
        y = np.clip(np.round(forward[:, 0, 1]).astype(int), 0, mask1.shape[0] - 1)
        good &= mask1[y, x] > 0
    if good.sum() < config.min_points:
        return None
    affine, _ = cv2.estimateAffinePartial2D(
        corners[good], forward[good], method=cv2.RANSAC, ransacReprojThreshold=config.ransac_px
    )
    return None if affine is None else np.vstack([affine, [0.0, 0.0, 1.0]])


def _spread_corners(image: np.ndarray, mask: np.ndarray | None, count: int, cells: int = 4) -> np.ndarray:
    """Corners (N, 1, 2) picked per cell of a ``cells x cells`` grid, so each image region gets its share.

    Without this the strongest corners (often a moving object's outline) could outvote the
    background in RANSAC; with it the consensus follows image *area*.
    """
    height, width = image.shape
    found = []
    for i in range(cells):
        for j in range(cells):
            cell = np.zeros_like(image)
            cell[i * height // cells : (i + 1) * height // cells, j * width // cells : (j + 1) * width // cells] = 255
            if mask is not None:
                cell &= mask
            corners = cv2.goodFeaturesToTrack(image, max(1, count // cells**2), 0.01, 5, mask=cell)
            if corners is not None:
                found.append(corners)
    return np.concatenate(found).astype(np.float32) if found else np.zeros((0, 1, 2), np.float32)


def _mean_displacement(transform: np.ndarray, grid: np.ndarray) -> float:
    moved = grid @ transform[:2, :2].T + transform[:2, 2]
    return float(np.mean(np.linalg.norm(moved - grid, axis=1)))

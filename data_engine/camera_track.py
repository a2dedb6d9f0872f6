"""Stage 4, camera trajectory: visual odometry of a moving (head-mounted) camera.

Why: hand poses are lifted in each frame's camera; to express a whole episode in one frame
(VITRA's world = the first frame's camera, OpenCV axes) we need every frame's world->camera
extrinsic. Egocentric head motion is mostly rotation, and rotation is what moves the hands'
image positions the most, so the method is built to get rotation right first.

Method, per pair of consecutive frames (grey):
  1. corners (``goodFeaturesToTrack``) outside the dilated hand masks, tracked with pyramidal
     Lucas-Kanade and kept when the backward track returns within ``fb_max_px`` (hands move
     independently of the scene and would poison the fit).
  2. A pair whose median corner displacement is below ``still_px`` is "no motion" (identity),
     so a static camera gives exactly identity extrinsics instead of a random walk of noise.
  3. Rotation-only model: the rotation that best maps the first frame's rays onto the second's
     (Kabsch on unit bearing vectors inside a RANSAC loop). When it explains the tracks within
     ``ransac_px`` for (almost) as many corners as the essential matrix does, the pair is taken as
     pure rotation: the essential matrix is degenerate there and its translation is noise.
  4. Otherwise ``findEssentialMat`` (RANSAC) + ``recoverPose`` give the rotation (and a
     translation direction, unused: see "Scale").
Poses are chained: ``E[t+1] = [R|t] @ E[t]``.

Scale, honestly: a monocular track has no metric scale, and this version does not recover it
(``scale_source="none"``): the track is rotation only and camera centres stay at the origin.
Unit-length translation steps would be worse than none: at 30 fps a head moves ~1-3 mm per
frame, so any fixed step length is off by orders of magnitude and would move every world-space
hand by that much. For head-mounted video the head's translation is a few centimetres over a
clip, which is the error this leaves in world positions (``engine score`` reports it as ATE).

Known limit (measured on HumanSim "wild" egocentric clips, 2 s, 320x240): consecutive frames at
30 fps differ by ~1 px, too little for the essential matrix to separate translation from
rotation, so most pairs fall back to the rotation-only model, which absorbs the head's
translation (a few cm at ~0.5 m scene depth) as rotation: mean rotation error ~3 deg there,
versus < 0.5 deg on pure rotation. Keyframes with a longer baseline are the next step (a quick
fixed-stride try did not help yet).

Smoothing: Savitzky-Golay on the camera centres, and on the (sign-continuous) quaternions,
renormalised, which is valid for the small rotations within one window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from scipy.signal import savgol_filter
from scipy.spatial.transform import Rotation


@dataclass(frozen=True)
class TrackConfig:
    """Settings of ``camera_track`` (module docstring).

    Attributes:
        max_corners: corners detected per frame.
        mask_dilate_px: hand masks are grown by this many pixels (blur, shadows).
        fb_max_px: forward-backward tracking error above which a corner is dropped.
        ransac_px: inlier threshold of both models, pixels.
        still_px: median displacement below which a pair is no motion.
        rotation_only_ratio: the pair is pure rotation when the rotation model's inlier count is at
            least this fraction of the essential matrix's.
        min_front: the essential matrix's pose is used only when this fraction of its inliers
            triangulate in front of both cameras (otherwise the baseline is too small to trust it).
        min_points: fewer surviving corners leave the pair untracked (identity step).
        smooth_window: Savitzky-Golay window in frames (odd; 0 or 1 disables smoothing).
        max_side: frames are downscaled so their longer side has at most this many pixels (and the
            intrinsics with them); rotation needs the spread of the corners, not the resolution,
            and tracking cost grows with the pixel count (0: full resolution).
    """

    max_corners: int = 500
    mask_dilate_px: int = 7
    fb_max_px: float = 0.5
    ransac_px: float = 1.0
    still_px: float = 0.05
    rotation_only_ratio: float = 0.8
    min_front: float = 0.8
    min_points: int = 15
    smooth_window: int = 7
    max_side: int = 320


@dataclass(frozen=True)
class CameraTrack:
    """Result of ``camera_track``.

    Attributes:
        extrinsics: (T, 4, 4) world -> camera, world = frame 0's camera (``extrinsics[0]`` = I).
        tracked: (T,) the step into this frame was measured (frame 0 is True by definition).
        scale_source: where metric scale came from; ``"none"``: rotation only, no translation.
        inlier_counts: (T,) inliers of the model chosen for the step into this frame (0 for frame 0).
    """

    extrinsics: np.ndarray
    tracked: np.ndarray
    scale_source: Literal["none"]
    inlier_counts: np.ndarray


def camera_track(
    frames: np.ndarray,
    intrinsics: np.ndarray,
    hand_masks: np.ndarray | None = None,
    config: TrackConfig = TrackConfig(),
) -> CameraTrack:
    """Visual odometry of (T, H, W, 3) RGB ``frames`` with (3, 3) ``intrinsics``.

    ``hand_masks`` (T, H, W) bool marks pixels to ignore (hands, arms, held objects).
    """
    num = len(frames)
    height, width = np.shape(frames)[1:3]
    scale = min(1.0, config.max_side / max(height, width)) if config.max_side > 0 else 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    k = np.diag([size[0] / width, size[1] / height, 1.0]) @ np.asarray(intrinsics, float)
    grey = [cv2.resize(cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA) for f in frames]
    small_masks = None if hand_masks is None else [cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0 for m in hand_masks]
    keep = [_keep_mask(None if small_masks is None else small_masks[t], grey[t].shape, config) for t in range(num)]
    extrinsics = np.tile(np.eye(4), (num, 1, 1))
    tracked = np.ones(num, bool)
    inliers = np.zeros(num, int)
    for t in range(num - 1):
        step, tracked[t + 1], inliers[t + 1] = _relative_pose(grey[t], grey[t + 1], keep[t], keep[t + 1], k, config)
        extrinsics[t + 1] = step @ extrinsics[t]
    return CameraTrack(_smooth(extrinsics, config.smooth_window), tracked, "none", inliers)


def _keep_mask(hand: np.ndarray | None, shape: tuple[int, ...], config: TrackConfig) -> np.ndarray:
    """uint8 mask of pixels where corners may be used: outside the dilated hand mask."""
    if hand is None:
        return np.full(shape, 255, np.uint8)
    size = 2 * config.mask_dilate_px + 1
    grown = cv2.dilate(hand.astype(np.uint8), np.ones((size, size), np.uint8))
    return np.where(grown > 0, 0, 255).astype(np.uint8)


def _relative_pose(
    a: np.ndarray, b: np.ndarray, keep_a: np.ndarray, keep_b: np.ndarray, k: np.ndarray, config: TrackConfig
) -> tuple[np.ndarray, bool, int]:
    """(4, 4) transform from camera a to camera b, whether it was measured, and its inlier count."""
    p, q = _track(a, b, keep_a, keep_b, config)
    if len(p) < config.min_points:
        return np.eye(4), False, 0
    step = np.eye(4)
    if np.median(np.linalg.norm(q - p, axis=1)) < config.still_px:
        return step, True, len(p)
    rotation, rot_inliers = _fit_rotation(p, q, k, config.ransac_px)
    essential, mask = cv2.findEssentialMat(p, q, k, cv2.RANSAC, 0.999, config.ransac_px)
    e_inliers = 0 if mask is None else int(mask.sum())
    if essential is not None and essential.shape == (3, 3) and rot_inliers < config.rotation_only_ratio * e_inliers:
        in_front, r, _, _ = cv2.recoverPose(essential, p, q, k, mask=mask.copy())
        if in_front >= config.min_front * e_inliers:
            step[:3, :3] = r
            return step, True, int(in_front)
    step[:3, :3] = rotation
    return step, True, rot_inliers


def _track(
    a: np.ndarray, b: np.ndarray, keep_a: np.ndarray, keep_b: np.ndarray, config: TrackConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Corners of ``a`` outside its mask and their forward-backward-checked positions in ``b``."""
    corners = cv2.goodFeaturesToTrack(a, config.max_corners, 0.01, 7, mask=keep_a)
    if corners is None:
        return np.empty((0, 2)), np.empty((0, 2))
    lk = dict(winSize=(21, 21), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
    fwd, ok1, _ = cv2.calcOpticalFlowPyrLK(a, b, corners, None, **lk)
    back, ok2, _ = cv2.calcOpticalFlowPyrLK(b, a, fwd, None, **lk)
    good = (ok1.ravel() == 1) & (ok2.ravel() == 1) & (np.linalg.norm(back - corners, axis=2).ravel() < config.fb_max_px)
    p, q = corners.reshape(-1, 2)[good], fwd.reshape(-1, 2)[good]
    h, w = b.shape
    cols, rows = np.clip(q[:, 0].astype(int), 0, w - 1), np.clip(q[:, 1].astype(int), 0, h - 1)
    landed = keep_b[rows, cols] > 0
    return p[landed].astype(np.float64), q[landed].astype(np.float64)


def _fit_rotation(p: np.ndarray, q: np.ndarray, k: np.ndarray, threshold_px: float, iterations: int = 200) -> tuple[np.ndarray, int]:
    """Rotation R with ray(q) ~ R ray(p), by RANSAC over 2-point Kabsch fits, refit on inliers."""
    rays_p, rays_q = _rays(p, k), _rays(q, k)
    rng = np.random.default_rng(0)
    best = np.zeros(len(p), bool)
    needed, drawn = iterations, 0
    while drawn < needed:  # adaptive RANSAC: stop once a better 2-point sample is unlikely (p = 0.999)
        pick = rng.choice(len(p), 2, replace=False)
        inl = _residual_px(_kabsch(rays_p[pick], rays_q[pick]), rays_p, q, k) < threshold_px
        if inl.sum() > best.sum():
            best = inl
            ratio = min(best.mean(), 1 - 1e-9)
            needed = min(iterations, math.ceil(math.log(1e-3) / math.log(1 - ratio**2)))
        drawn += 1
    rotation = _kabsch(rays_p[best], rays_q[best])
    final = _residual_px(rotation, rays_p, q, k) < threshold_px
    return _kabsch(rays_p[final], rays_q[final]), int(final.sum())


def _rays(points: np.ndarray, k: np.ndarray) -> np.ndarray:
    homogeneous = np.column_stack([points, np.ones(len(points))]) @ np.linalg.inv(k).T
    return homogeneous / np.linalg.norm(homogeneous, axis=1, keepdims=True)


def _kabsch(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rotation R minimising sum |y - R x|^2."""
    u, _, vt = np.linalg.svd(y.T @ x)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def _residual_px(rotation: np.ndarray, rays_p: np.ndarray, q: np.ndarray, k: np.ndarray) -> np.ndarray:
    projected = (rays_p @ rotation.T) @ k.T
    with np.errstate(divide="ignore", invalid="ignore"):
        pixels = projected[:, :2] / projected[:, 2:3]
    return np.nan_to_num(np.linalg.norm(pixels - q, axis=1), nan=np.inf)


def _smooth(extrinsics: np.ndarray, window: int) -> np.ndarray:
    """Savitzky-Golay (quadratic) on camera centres and sign-continuous quaternions; frame 0 kept at I."""
    num = len(extrinsics)
    window = min(window, num if num % 2 else num - 1)
    if window < 5:
        return extrinsics
    cam_to_world = np.linalg.inv(extrinsics)
    quats = Rotation.from_matrix(cam_to_world[:, :3, :3]).as_quat()
    flips = np.cumprod(np.where(np.sum(quats[1:] * quats[:-1], axis=1) < 0, -1.0, 1.0))
    quats[1:] *= flips[:, None]
    smoothed = np.tile(np.eye(4), (num, 1, 1))
    smoothed[:, :3, :3] = Rotation.from_quat(savgol_filter(quats, window, 2, axis=0)).as_matrix()
    smoothed[:, :3, 3] = savgol_filter(cam_to_world[:, :3, 3], window, 2, axis=0)
    smoothed = np.linalg.inv(smoothed)
    return smoothed @ np.linalg.inv(smoothed[0])  # re-anchor the world at the smoothed first camera

"""Stage 5b: lift 2D keypoints + a wrist-relative 3D shape to camera-space hands.

A monocular detector knows the hand's shape (up to scale) and where it lies in the image, not
how far away it is. Hands have nearly fixed bone lengths, so scaling the shape to the skeleton's
bones fixes its size, and then exactly one translation makes that shape reproject onto the 2D
keypoints: with a rotation-free known shape this is linear (the PnP constraints
``fx (X + tx) = (u - cx)(Z + tz)``), solved by least squares and re-weighted by depth so it
minimises pixel error rather than its algebraic proxy. The skeleton's IK then turns keypoints
into the wrist pose and finger angles the later stages use.
"""

from __future__ import annotations

import numpy as np

from data_engine.hands.base import HandDetections, SideDetections
from data_engine.trajectories import CameraHandTrack
from vitra_bench.hand import BETA_SIGMAS, KEYPOINT_PARENTS, NUM_JOINTS, Side, inverse_kinematics, rest_offsets

_PARENTS = list(KEYPOINT_PARENTS[1:])


def bone_lengths(keypoints: np.ndarray) -> np.ndarray:
    """(..., 20) length of each keypoint's bone to its parent."""
    return np.linalg.norm(keypoints[..., 1:, :] - keypoints[..., _PARENTS, :], axis=-1)


def fit_beta_scale(relative: np.ndarray, beta: np.ndarray | None = None) -> np.ndarray:
    """``beta`` with ``beta[0]`` (global size) fitted to the bone lengths of frames (N, 21, 3),
    using the median over frames so a few bad detections do not resize the hand."""
    beta = np.zeros(10) if beta is None else np.asarray(beta, dtype=np.float64).copy()
    unit = beta.copy()
    unit[0] = 0.0
    model = np.linalg.norm(rest_offsets(unit)[1:], axis=-1)
    observed = np.median(bone_lengths(relative), axis=0)
    beta[0] = np.log(np.sum(observed * model) / np.sum(model**2)) / BETA_SIGMAS[0]
    return beta


def scale_to_skeleton(relative: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Relative shapes (N, 21, 3) scaled per frame so their bones best match the skeleton's."""
    model = np.linalg.norm(rest_offsets(beta)[1:], axis=-1)
    observed = bone_lengths(relative)
    scale = np.sum(observed * model, axis=-1) / np.sum(observed**2, axis=-1)
    return relative * scale[:, None, None]


def solve_translation(relative: np.ndarray, uv: np.ndarray, intrinsics: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Translations (N, 3) placing known shapes (N, 21, 3) so they reproject onto ``uv`` (N, 21, 2).

    Each keypoint gives two equations linear in t; dividing them by the point's depth (from the
    previous iterate) turns the algebraic residual into the pixel residual, so a few re-weighted
    solves minimise reprojection error. Exact for noise-free inputs.
    """
    k = np.asarray(intrinsics, dtype=np.float64)
    f = np.array([k[0, 0], k[1, 1]])
    du = uv - k[:2, 2]  # (N, 21, 2)
    n, m = relative.shape[:2]
    a = np.zeros((n, m, 2, 3))
    a[..., 0, 0], a[..., 1, 1] = f[0], f[1]
    a[..., :, 2] = -du
    b = du * relative[..., 2:3] - f * relative[..., :2]  # (N, 21, 2)
    weight = np.ones((n, m))
    t = np.zeros((n, 3))
    for _ in range(iterations):
        aw = (a * weight[..., None, None]).reshape(n, 2 * m, 3)
        bw = (b * weight[..., None]).reshape(n, 2 * m)
        t = np.linalg.solve(np.einsum("nki,nkj->nij", aw, aw), np.einsum("nki,nk->ni", aw, bw)[..., None])[..., 0]
        depth = relative[..., 2] + t[:, None, 2]
        weight = 1.0 / np.maximum(depth, 1e-3)
    return t


def lift_side(
    detections: SideDetections,
    intrinsics: np.ndarray,
    side: Side,
    beta: np.ndarray | None = None,
    fit_scale: bool = True,
) -> tuple[CameraHandTrack, np.ndarray]:
    """Camera-space hand of one side and the shape ``beta`` used.

    ``fit_scale`` fits ``beta[0]`` to the detector's metric relative shape (or camera keypoints);
    otherwise ``beta`` (default: the average hand) sets the bone lengths and thus the depth.
    Untracked frames hold identity rotations and zeros.
    """
    t_count = len(detections.confidence)
    tracked = detections.detected.copy()
    known = detections.keypoints_cam
    if known is not None:
        tracked &= np.all(np.isfinite(known), axis=(1, 2))
    else:
        tracked &= np.all(np.isfinite(detections.keypoints3d), axis=(1, 2))
    rotation = np.broadcast_to(np.eye(3), (t_count, 3, 3)).copy()
    position = np.zeros((t_count, 3))
    theta = np.zeros((t_count, NUM_JOINTS, 3))
    keypoints = np.zeros((t_count, 21, 3))
    beta = np.zeros(10) if beta is None else np.asarray(beta, dtype=np.float64)
    if tracked.any():
        if known is not None:
            cam = known[tracked]
            relative = cam - cam[:, :1]
        else:
            relative = detections.keypoints3d[tracked]
        if fit_scale:
            beta = fit_beta_scale(relative, beta)
        if known is None:
            relative = scale_to_skeleton(relative, beta)
            cam = relative + solve_translation(relative, detections.keypoints2d[tracked], intrinsics)[:, None]
        fit = inverse_kinematics(cam, beta, side)
        rotation[tracked], position[tracked], theta[tracked] = fit.wrist_rotation, fit.wrist_translation, fit.theta
        keypoints[tracked] = cam
    confidence = np.where(tracked, detections.confidence, 0.0)
    return CameraHandTrack(rotation, position, theta, keypoints, tracked, confidence), beta


def lift_hands(
    detections: HandDetections, intrinsics: np.ndarray, beta: dict[str, np.ndarray] | None = None, fit_scale: bool = True
) -> dict[str, CameraHandTrack]:
    """``lift_side`` for both hands (``beta`` per side, optional)."""
    beta = beta or {}
    return {
        side: lift_side(hand, intrinsics, side, beta.get(side), fit_scale)[0]  # type: ignore[arg-type]
        for side, hand in detections.hands.items()
    }

"""Rigid transforms and pinhole projection, in the OpenCV camera convention (x right, y down, z forward).

Every part of the suite (renderers, the data engine's overlay, plots) projects with these, so a
convention error shows up everywhere at once instead of in one stage only.
"""

from __future__ import annotations

import numpy as np


def transform_points(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply 4x4 transforms (..., 4, 4) to points (..., N, 3); leading dimensions broadcast."""
    transform = np.asarray(transform)
    points = np.asarray(points)
    rotation = transform[..., :3, :3]
    translation = transform[..., None, :3, 3]
    return np.einsum("...ij,...nj->...ni", rotation, points) + translation


def invert_transform(transform: np.ndarray) -> np.ndarray:
    """Inverse of rigid 4x4 transforms (..., 4, 4), without a general matrix inverse."""
    transform = np.asarray(transform)
    rotation_t = np.swapaxes(transform[..., :3, :3], -1, -2)
    out = np.zeros_like(transform)
    out[..., :3, :3] = rotation_t
    out[..., :3, 3] = -np.einsum("...ij,...j->...i", rotation_t, transform[..., :3, 3])
    out[..., 3, 3] = 1.0
    return out


def make_transform(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """Stack rotations (..., 3, 3) and translations (..., 3) into 4x4 transforms."""
    rotation = np.asarray(rotation)
    out = np.zeros(rotation.shape[:-2] + (4, 4), dtype=np.result_type(rotation, translation))
    out[..., :3, :3] = rotation
    out[..., :3, 3] = translation
    out[..., 3, 3] = 1.0
    return out


def project_points(points_cam: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Pixel coordinates (..., 2) of camera-frame points (..., 3); points behind the camera give NaN."""
    points_cam = np.asarray(points_cam, dtype=np.float64)
    depth = points_cam[..., 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised = np.where(depth > 1e-6, points_cam[..., :2] / depth, np.nan)
    k = np.asarray(intrinsics, dtype=np.float64)
    return normalised * np.array([k[0, 0], k[1, 1]]) + np.array([k[0, 2], k[1, 2]])


def intrinsics_from_fov(fov_x: float, width: int, height: int) -> np.ndarray:
    """Square-pixel pinhole matrix with the principal point at the centre: ``fx = 0.5 W / tan(fov_x / 2)``."""
    focal = 0.5 * width / np.tan(0.5 * fov_x)
    return np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]])


def fov_from_intrinsics(intrinsics: np.ndarray) -> np.ndarray:
    """``[2 atan(cx/fx), 2 atan(cy/fy)]`` in radians: VITRA's FoV input to the model (not the
    true FoV when the principal point is off-centre, which is what the release feeds too)."""
    k = np.asarray(intrinsics, dtype=np.float64)
    return np.array([2 * np.arctan(k[0, 2] / k[0, 0]), 2 * np.arctan(k[1, 2] / k[1, 1])])


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = np.array([0.0, -1.0, 0.0])) -> np.ndarray:
    """World -> camera transform of a camera at ``eye`` looking at ``target``.

    ``up`` is the world direction that should appear up in the image; the default suits a world
    that is itself an OpenCV camera frame (y down), as the suite's world frames are.
    """
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    forward = target - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:
        raise ValueError("look_at: the viewing direction is parallel to 'up'")
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    camera_to_world = make_transform(np.stack([right, down, forward], axis=1), eye)
    return invert_transform(camera_to_world)

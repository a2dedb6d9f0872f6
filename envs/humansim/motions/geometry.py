"""Rigid poses and the few facts about a prop's shape that motion planning needs.

Poses follow ``spec``: (7,) = position + quaternion (w first). Everything here is derived from a
prop's surface point cloud and its ``Grasp``, so the motion programs work for any category the
object library invents, without a table of shapes.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from envs.humansim.spec import Prop
from vitra_bench.geometry import make_transform

UP = np.array([0.0, 0.0, 1.0])


def pose_matrix(pose: np.ndarray) -> np.ndarray:
    """4x4 transform of a (7,) pose."""
    matrix = np.eye(4)
    matrix[:3, :3] = Rotation.from_quat(pose[3:], scalar_first=True).as_matrix()
    matrix[:3, 3] = pose[:3]
    return matrix


def pose_vector(matrix: np.ndarray) -> np.ndarray:
    """(..., 7) poses of (..., 4, 4) transforms."""
    rotations = matrix[..., :3, :3].reshape(-1, 3, 3)
    quat = Rotation.from_matrix(rotations).as_quat(scalar_first=True).reshape(matrix.shape[:-2] + (4,))
    return np.concatenate([matrix[..., :3, 3], quat], axis=-1)


def resting_pose(prop: Prop, xy: np.ndarray, rotation: np.ndarray, support: float) -> np.ndarray:
    """Pose (7,) of ``prop`` turned by ``rotation`` whose lowest surface point sits on z = ``support``.

    Using the point cloud rather than the initial pose makes a prop rest correctly wherever it
    goes: on the table, on a container's floor, or after it started on top of something else.
    """
    lowest = np.min(prop.points @ rotation.T, axis=0)[2]
    return pose_vector(make_transform(rotation, np.array([xy[0], xy[1], support - lowest])))


def footprint_radius(prop: Prop) -> float:
    """Largest horizontal distance of the prop's surface from its origin (upright), metres."""
    return float(np.max(np.linalg.norm(prop.points[:, :2], axis=1)))


def top_point(prop: Prop) -> np.ndarray:
    """The highest point on the prop's vertical axis (the mouth of a bottle), prop frame."""
    return np.array([0.0, 0.0, float(np.max(prop.points[:, 2]))])


def is_axisymmetric(prop: Prop, height: float, tolerance: float = 0.12) -> bool:
    """Whether the prop is round about its z axis at ``height`` (prop frame), e.g. a cup or a bottle.

    Such a prop can be taken from any side, so a hand approaches it from its own natural side
    instead of the one side the object library wrote into the ``Grasp``. Tested on the outline
    radius in twelve sectors of a thin slice: a box or a mug with a handle fails.
    """
    band = prop.points[np.abs(prop.points[:, 2] - height) < 0.012]
    if len(band) < 24:
        return False
    angles = np.arctan2(band[:, 1], band[:, 0])
    sectors = ((angles + np.pi) / (2 * np.pi) * 12).astype(int) % 12
    radius = np.linalg.norm(band[:, :2], axis=1)
    outline = np.array([radius[sectors == k].max() if np.any(sectors == k) else 0.0 for k in range(12)])
    return bool(outline.min() > 0 and np.ptp(outline) < tolerance * outline.mean())


def handle_axis(prop: Prop) -> np.ndarray:
    """Long axis (3,) of the surface near the grasp point, prop frame: the direction of a handle.

    A power grasp lays a handle across the palm, so the thumb axis of the hand follows it.
    """
    near = prop.points[np.linalg.norm(prop.points - prop.grasp.point, axis=1) < 0.05]
    if len(near) < 6:
        near = prop.points
    _, _, vt = np.linalg.svd(near - near.mean(axis=0), full_matrices=False)
    return vt[0]


def palm_gap(prop: Prop) -> float:
    """How far in front of the grasp point (along the approach) the prop's surface is, metres.

    The object library puts the palm centre some way off the surface; the fingers must reach
    across that gap to wrap the prop. Measured on the surface points near the approach ray.
    """
    approach = prop.grasp.approach / np.linalg.norm(prop.grasp.approach)
    offsets = prop.points - prop.grasp.point
    along = offsets @ approach
    lateral = np.linalg.norm(offsets - along[:, None] * approach, axis=1)
    ahead = along[(lateral < 0.015) & (along > -0.005)]
    return float(np.clip(ahead.min(), 0.0, 0.05)) if len(ahead) else 0.015

"""Euler "xyz" conversions of one rotation, for the env's 30 Hz step.

scipy's ``Rotation`` costs about 50 us per conversion, and every step made two of them (the
action's rotation, the observation's), beside a physics step of 0.6-2.5 ms
(``benchmarks/robot_env_speed.py``). MuJoCo's own ``mju_*``
functions do the same work in about 2 us, so the step path uses them; batched conversions elsewhere
stay with scipy. Both functions agree with scipy's ``"xyz"`` (extrinsic x, then y, then z) to
machine precision, tested in ``tests/test_robot_rotations.py``.
"""

from __future__ import annotations

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from vitra_bench.layout import EULER

_MUJOCO_SEQUENCE = "XYZ"  # MuJoCo's upper case = fixed (extrinsic) axes = scipy's lower-case "xyz"
_GIMBAL = 1.0 - 1e-9  # |sin(pitch)| above which the angles are not unique: scipy's convention decides


def euler_to_matrix(euler: np.ndarray) -> np.ndarray:
    """(3,) Euler "xyz" angles (rad) -> (3, 3) rotation matrix."""
    quat, matrix = np.empty(4), np.empty(9)
    mujoco.mju_euler2Quat(quat, np.asarray(euler, np.float64), _MUJOCO_SEQUENCE)
    mujoco.mju_quat2Mat(matrix, quat)
    return matrix.reshape(3, 3)


def matrix_to_euler(matrix: np.ndarray) -> np.ndarray:
    """(3, 3) rotation matrix -> (3,) Euler "xyz" angles (rad), from ``R = Rz(c) Ry(b) Rx(a)``."""
    r = np.asarray(matrix, np.float64)
    if abs(r[2, 0]) > _GIMBAL:
        return Rotation.from_matrix(r).as_euler(EULER)
    return np.array([np.arctan2(r[2, 1], r[2, 2]), -np.arcsin(r[2, 0]), np.arctan2(r[1, 0], r[0, 0])])

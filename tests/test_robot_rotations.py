"""The env's fast single-rotation Euler conversions agree with scipy's "xyz" (the layout's EULER)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from envs.robot.rotations import euler_to_matrix, matrix_to_euler
from vitra_bench.layout import EULER


def test_euler_to_matrix_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    for euler in rng.uniform(-np.pi, np.pi, (200, 3)):
        np.testing.assert_allclose(euler_to_matrix(euler), Rotation.from_euler(EULER, euler).as_matrix(), atol=1e-12)


def test_matrix_to_euler_matches_scipy() -> None:
    for matrix in Rotation.random(200, random_state=1).as_matrix():
        np.testing.assert_allclose(matrix_to_euler(matrix), Rotation.from_matrix(matrix).as_euler(EULER), atol=1e-9)


@pytest.mark.parametrize("pitch", [np.pi / 2, -np.pi / 2])
def test_matrix_to_euler_at_gimbal_lock_keeps_scipys_convention(pitch: float) -> None:
    matrix = Rotation.from_euler(EULER, [0.3, pitch, -0.2]).as_matrix()
    np.testing.assert_allclose(matrix_to_euler(matrix), Rotation.from_matrix(matrix).as_euler(EULER), atol=1e-9)
    np.testing.assert_allclose(euler_to_matrix(matrix_to_euler(matrix)), matrix, atol=1e-9)

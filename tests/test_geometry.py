import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from vitra_bench.geometry import (
    intrinsics_from_fov,
    invert_transform,
    look_at,
    make_transform,
    project_points,
    transform_points,
)


def random_transforms(rng: np.random.Generator, n: int) -> np.ndarray:
    return make_transform(Rotation.random(n, random_state=rng).as_matrix(), rng.normal(size=(n, 3)))


def test_invert_transform_is_the_matrix_inverse() -> None:
    transforms = random_transforms(np.random.default_rng(0), 5)
    np.testing.assert_allclose(invert_transform(transforms), np.linalg.inv(transforms), atol=1e-12)


def test_transform_points_broadcasts_over_frames() -> None:
    rng = np.random.default_rng(1)
    transforms = random_transforms(rng, 4)
    points = rng.normal(size=(4, 21, 3))
    expected = np.stack([(t[:3, :3] @ p.T).T + t[:3, 3] for t, p in zip(transforms, points)])
    np.testing.assert_allclose(transform_points(transforms, points), expected, atol=1e-12)


def test_projection_of_the_principal_axis_and_fov() -> None:
    k = intrinsics_from_fov(np.radians(90.0), 640, 480)
    assert k[0, 0] == pytest.approx(320.0)
    pixels = project_points(np.array([[0.0, 0.0, 2.0], [1.0, 0.0, 1.0], [0.0, 0.0, -1.0]]), k)
    np.testing.assert_allclose(pixels[0], [320.0, 240.0])
    np.testing.assert_allclose(pixels[1], [640.0, 240.0])  # 45 degrees right lands on the image edge
    assert np.all(np.isnan(pixels[2]))  # behind the camera


def test_look_at_puts_the_target_on_the_optical_axis_with_up_upward() -> None:
    world_to_camera = look_at(np.array([0.2, -0.5, 0.0]), np.array([0.0, 0.3, 0.6]))
    target = transform_points(world_to_camera, np.array([[0.0, 0.3, 0.6]]))[0]
    np.testing.assert_allclose(target[:2], 0.0, atol=1e-12)
    assert target[2] > 0
    above = transform_points(world_to_camera, np.array([[0.0, 0.2, 0.6]]))[0]  # world y points down
    assert above[1] < 0  # so a point higher in the world is higher (smaller y) in the image

"""Stage 6 (world-space trajectories) against a known smooth hand seen by a moving camera."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from data_engine.trajectories import (
    CameraHandTrack,
    TrajectoryConfig,
    find_outliers,
    runs,
    to_world,
    world_trajectory,
)
from vitra_bench.geometry import look_at, transform_points

FPS = 30.0
T = 150
OUTLIER_FRAMES = (40, 90)
SHORT_GAP = (60, 64)
LONG_GAP = (100, 120)


def truth() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """World rotations (T,3,3), wrist positions (T,3), keypoints (T,21,3), theta (T,15,3)."""
    s = np.arange(T) / FPS
    position = np.stack([0.2 * np.sin(1.3 * s), 0.1 * np.cos(0.9 * s), 0.5 + 0.05 * np.sin(2.0 * s)], axis=1)
    rotation = Rotation.from_rotvec(np.stack([0.5 * np.sin(s), 0.3 * s, 0.2 + 0 * s], axis=1)).as_matrix()
    local = np.random.default_rng(1).uniform(-0.08, 0.08, (21, 3))
    local[0] = 0.0
    keypoints = np.einsum("tij,nj->tni", rotation, local) + position[:, None]
    theta = np.broadcast_to(0.3 * np.sin(s)[:, None, None], (T, 15, 3)).copy()
    return rotation, position, keypoints, theta


def moving_camera() -> np.ndarray:
    """World -> camera extrinsics of a camera that walks sideways and turns; frame 0 is the world."""
    s = np.arange(T) / FPS
    eyes = np.stack([0.3 * s, -0.1 * np.sin(s), -0.2 * s], axis=1)
    extrinsics = np.stack([look_at(eye, eye + np.array([0.2 * np.sin(x), 0.0, 1.0])) for eye, x in zip(eyes, s)])
    return extrinsics @ np.linalg.inv(extrinsics[0])


def observe(extrinsics: np.ndarray, noise: float = 0.0, seed: int = 0) -> CameraHandTrack:
    """What a detector would report: truth in camera frames, plus noise, outliers and gaps."""
    rng = np.random.default_rng(seed)
    rotation, position, keypoints, theta = truth()
    rotation_noise = Rotation.from_rotvec(rng.normal(0, noise * 10, (T, 3))).as_matrix()
    position_noise = rng.normal(0, noise, (T, 3))
    cam_rotation = extrinsics[:, :3, :3] @ rotation @ rotation_noise
    cam_position = transform_points(extrinsics, (position + position_noise)[:, None])[:, 0]
    cam_keypoints = transform_points(extrinsics, keypoints + position_noise[:, None])
    tracked = np.ones(T, bool)
    for frame in OUTLIER_FRAMES:
        cam_position[frame] += [0.3, -0.2, 0.4]
        cam_keypoints[frame] += [0.3, -0.2, 0.4]
    for start, end in (SHORT_GAP, LONG_GAP):
        tracked[start:end] = False
        cam_position[start:end] = np.nan
    return CameraHandTrack(cam_rotation, cam_position, theta, cam_keypoints, tracked)


def rotation_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return Rotation.from_matrix(np.swapaxes(a, -1, -2) @ b).magnitude()


def test_to_world_inverts_a_moving_camera() -> None:
    extrinsics = moving_camera()
    rotation, position, keypoints, _ = truth()
    track = observe(extrinsics)
    world_rotation, world_position, world_keypoints = to_world(track, extrinsics)
    good = track.tracked.copy()
    good[list(OUTLIER_FRAMES)] = False
    np.testing.assert_allclose(world_position[good], position[good], atol=1e-9)
    np.testing.assert_allclose(world_keypoints[good], keypoints[good], atol=1e-9)
    np.testing.assert_allclose(world_rotation[good], rotation[good], atol=1e-9)
    np.testing.assert_allclose(extrinsics[0], np.eye(4), atol=1e-12)  # world = first camera frame
    assert np.ptp(extrinsics[:, :3, 3], axis=0).max() > 0.3  # the camera really moves


def test_outliers_dropped_short_gap_filled_long_gap_not() -> None:
    extrinsics = moving_camera()
    rotation, position, keypoints, theta = truth()
    out = world_trajectory(observe(extrinsics, noise=0.002), extrinsics, FPS)

    assert np.flatnonzero(out.outliers).tolist() == list(OUTLIER_FRAMES)
    filled = np.zeros(T, bool)
    filled[list(OUTLIER_FRAMES)] = True
    filled[slice(*SHORT_GAP)] = True
    assert np.array_equal(out.interpolated, filled)
    assert runs(~out.kept) == [LONG_GAP]

    gap = out.interpolated
    assert np.linalg.norm(out.position[gap] - position[gap], axis=1).max() < 0.01
    assert np.linalg.norm(out.keypoints[gap] - keypoints[gap], axis=2).max() < 0.015
    assert rotation_error(out.rotation[gap], rotation[gap]).max() < np.radians(3)
    assert np.abs(out.theta[gap] - theta[gap]).max() < 0.01

    lost = slice(*LONG_GAP)
    assert np.all(out.position[lost] == 0) and np.all(out.keypoints[lost] == 0)
    np.testing.assert_array_equal(out.rotation[lost], np.broadcast_to(np.eye(3), (20, 3, 3)))


def test_smoothing_reduces_error_against_truth() -> None:
    extrinsics = moving_camera()
    rotation, position, _, _ = truth()
    track = observe(extrinsics, noise=0.004, seed=3)
    raw_rotation, raw_position, _ = to_world(track, extrinsics)
    out = world_trajectory(track, extrinsics, FPS)
    clean = out.kept & ~out.interpolated
    raw_error = np.linalg.norm(raw_position[clean] - position[clean], axis=1)
    out_error = np.linalg.norm(out.position[clean] - position[clean], axis=1)
    assert np.sqrt(np.mean(out_error**2)) < 0.7 * np.sqrt(np.mean(raw_error**2))
    raw_angle = rotation_error(raw_rotation[clean], rotation[clean])
    out_angle = rotation_error(out.rotation[clean], rotation[clean])
    assert np.mean(out_angle) < 0.7 * np.mean(raw_angle)


def test_smoothing_never_crosses_a_gap() -> None:
    """A hand that is at x=0 before a long gap and at x=1 after it stays exactly there."""
    n = 60
    position = np.zeros((n, 3))
    position[30:, 0] = 1.0
    tracked = np.ones(n, bool)
    tracked[20:30] = False
    track = CameraHandTrack(
        np.broadcast_to(np.eye(3), (n, 3, 3)), position, np.zeros((n, 15, 3)), np.repeat(position[:, None], 21, 1), tracked
    )
    out = world_trajectory(track, np.broadcast_to(np.eye(4), (n, 4, 4)), FPS)
    assert runs(out.kept) == [(0, 20), (30, 60)]
    np.testing.assert_allclose(out.position[:20, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(out.position[30:, 0], 1.0, atol=1e-12)


def test_speed_limit_alone_catches_a_jump() -> None:
    """With the median test switched off, the 3 m/s limit still removes the injected spikes."""
    extrinsics = moving_camera()
    track = observe(extrinsics, noise=0.001)
    _, position, _ = to_world(track, extrinsics)
    config = TrajectoryConfig(outlier_z=1e9, outlier_min_distance=1e9)
    outliers = find_outliers(position, track.tracked, FPS, config)
    assert np.flatnonzero(outliers).tolist() == list(OUTLIER_FRAMES)
    assert not find_outliers(position, track.tracked, FPS, replace(config, max_speed=100.0)).any()


def test_low_confidence_and_ends_are_not_kept() -> None:
    extrinsics = moving_camera()
    track = observe(extrinsics, noise=0.001)
    confidence = np.ones(T)
    confidence[:3] = 0.1  # leading frames: nothing to interpolate from
    confidence[10:12] = 0.1  # short interior gap: filled
    track = replace(track, confidence=confidence)
    out = world_trajectory(track, extrinsics, FPS, TrajectoryConfig(min_confidence=0.5))
    assert not out.kept[:3].any()
    assert out.kept[10:12].all() and out.interpolated[10:12].all()


def test_linear_interpolation_and_config_validation() -> None:
    extrinsics = moving_camera()
    _, position, _, _ = truth()
    out = world_trajectory(observe(extrinsics), extrinsics, FPS, TrajectoryConfig(interpolation="linear"))
    gap = slice(*SHORT_GAP)
    assert np.linalg.norm(out.position[gap] - position[gap], axis=1).max() < 0.01
    with pytest.raises(ValueError):
        TrajectoryConfig(smooth_window=4)
    with pytest.raises(ValueError):
        CameraHandTrack(np.eye(3)[None], np.zeros((1, 3)), np.zeros((1, 15, 3)), np.zeros((1, 20, 3)), np.ones(1, bool))


def test_fast_clean_reaches_keep_every_frame_and_a_spike_at_the_start_goes() -> None:
    """Brisk minimum-jerk reaches (peak ~1.3 m/s, ~7 m/s^2) are not outliers; a bad first frame is."""
    rng = np.random.default_rng(0)
    u = np.linspace(0.0, 1.0, 20)
    progress = 10 * u**3 - 15 * u**4 + 6 * u**5
    targets = rng.uniform(-0.15, 0.15, (12, 3))
    position = np.concatenate([a + np.outer(progress, b - a) for a, b in zip(targets[:-1], targets[1:])])
    position += rng.normal(0.0, 0.002, position.shape)
    valid = np.ones(len(position), bool)
    assert not find_outliers(position, valid, FPS, TrajectoryConfig()).any()
    position[0] += [0.0, 0.0, 0.5]
    assert np.flatnonzero(find_outliers(position, valid, FPS, TrajectoryConfig())).tolist() == [0]

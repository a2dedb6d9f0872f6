"""Stage 3 (intrinsics): metadata files with rescaling and errors; focal length from hand keypoints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from data_engine.intrinsics import (
    FocalConfig,
    Intrinsics,
    IntrinsicsError,
    estimate_focal,
    estimate_focal_from_shapes,
    intrinsics_for,
    load_intrinsics,
)
from vitra_bench import hand
from vitra_bench.geometry import intrinsics_from_fov, project_points

W, H = 640, 480


def test_single_object_applies_to_every_video(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"fx": 500, "fy": 510, "cx": 320, "cy": 240, "width": 640, "height": 480}))
    table = load_intrinsics(path)
    assert table == {"*": Intrinsics(500.0, 510.0, 320.0, 240.0, 640, 480)}
    assert intrinsics_for(table, "any/clip.mp4", 640, 480) == table["*"]
    half = intrinsics_for(table, "clip.mp4", 320, 240)
    assert (half.fx, half.fy, half.cx, half.cy) == (250.0, 255.0, 160.0, 120.0)


def test_per_video_yaml_with_default_and_vitra_rescaling(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text(
        "'*': {fx: 600, fy: 600, cx: 320, cy: 240}\n"
        "kitchen.mp4: {fx: 1400, fy: 1400, cx: 961.5, cy: 541.0, width: 1920, height: 1080}\n"
    )
    table = load_intrinsics(path)
    assert intrinsics_for(table, "/data/kitchen.mp4", 1920, 1080) == table["kitchen.mp4"].for_size(1920, 1080)
    assert intrinsics_for(table, "kitchen.mp4", 1920, 1080).cx == 961.5  # stated size: off-centre point kept
    assert intrinsics_for(table, "other.webm", 640, 480).matrix()[0, 0] == 600
    # No stated size: VITRA's rule, the calibration was (2 cx, 2 cy) = 640 x 480; a 16:9 frame makes fx != fy.
    wide = intrinsics_for(table, "other.webm", 1280, 720)
    assert (wide.fx, wide.fy, wide.cx, wide.cy) == (1200.0, 900.0, 640.0, 360.0)
    assert intrinsics_for({"a": table["*"]}, "b.mp4", 640, 480) is None
    assert table["*"].fov_x_deg() == pytest.approx(2 * np.degrees(np.arctan(320 / 600)))


@pytest.mark.parametrize(
    ("text", "suffix", "message"),
    [
        ('{"fx": 1, "fy": 1, "cx": 1}', ".json", "entry '\\*': missing field 'cy'"),
        ('{"v.mp4": {"fx": -5, "fy": 1, "cx": 1, "cy": 1}}', ".json", "entry 'v.mp4': field 'fx' must be a positive number"),
        ('{"fx": 1, "fy": "wide", "cx": 1, "cy": 1}', ".json", "field 'fy' must be a positive number"),
        ('{"fx": 1, "fy": 1, "cx": 1, "cy": 1, "width": 640}', ".json", "both 'width' and 'height'"),
        ("{fx: 1, fy: [", ".yaml", "not valid YAML"),
        ("[1, 2]", ".json", "expected an object"),
    ],
)
def test_errors_name_file_and_field(tmp_path: Path, text: str, suffix: str, message: str) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(text)
    with pytest.raises(IntrinsicsError, match=message) as caught:
        load_intrinsics(path)
    assert str(path) in str(caught.value)


def _hands(seed: int, n: int, fov_deg: float, noise_px: float, depth: tuple[float, float] = (0.3, 0.7)) -> tuple[np.ndarray, float]:
    """Keypoints of random hands (pose, orientation, size +-10 %) fully in view, and the true focal."""
    rng = np.random.default_rng(seed)
    k = intrinsics_from_fov(np.radians(fov_deg), W, H)
    out = []
    while len(out) < n:
        z = rng.uniform(*depth)
        translation = np.array([rng.uniform(-0.3, 0.3) * z, rng.uniform(-0.2, 0.2) * z, z])
        beta = np.zeros(10)
        beta[0] = rng.uniform(-1.6, 1.6)  # global size exp(0.06 beta0): +-10 %
        side = "left" if rng.random() < 0.5 else "right"
        points = hand.forward_kinematics(Rotation.random(random_state=rng.integers(2**31)), translation, hand.sample_pose(rng, 1)[0], beta, side)
        uv = project_points(points, k)
        if (points[:, 2] > 0.1).all() and ((uv >= 0) & (uv < [W, H])).all():
            out.append(uv + rng.normal(0.0, noise_px, uv.shape))
    return np.array(out), k[0, 0]


@pytest.mark.parametrize(("fov", "noise", "tolerance"), [(60, 0.0, 0.01), (90, 0.0, 0.01), (60, 1.0, 0.08), (90, 1.0, 0.12)])
def test_focal_from_hands(fov: float, noise: float, tolerance: float) -> None:
    keypoints, focal = _hands(seed=100 + fov, n=100, fov_deg=fov, noise_px=noise)
    estimate = estimate_focal(keypoints, W, H)
    assert estimate.source == "hands", estimate.reason
    assert estimate.intrinsics.fx / focal - 1 == pytest.approx(0.0, abs=tolerance)
    assert (estimate.intrinsics.cx, estimate.intrinsics.cy) == (W / 2, H / 2)
    assert estimate.noise_px == pytest.approx(noise, abs=0.15)
    assert estimate.relative_std < 0.1
    assert abs(np.log(estimate.intrinsics.fx / focal)) < 3 * estimate.relative_std + 1e-3  # honest uncertainty


def test_far_hands_fall_back_to_the_prior() -> None:
    """At 2-3 m a hand is a scaled orthographic view: f is not identifiable, and the estimator says so."""
    keypoints, _ = _hands(seed=5, n=40, fov_deg=30, noise_px=1.0, depth=(2.0, 3.0))
    estimate = estimate_focal(keypoints, W, H, FocalConfig(prior_fov_deg=70.0))
    assert estimate.source == "prior" and estimate.reason
    assert estimate.intrinsics.fov_x_deg() == pytest.approx(70.0)


def test_missing_detections_are_skipped() -> None:
    keypoints, _ = _hands(seed=6, n=12, fov_deg=60, noise_px=0.0)
    keypoints[3:] = np.nan
    estimate = estimate_focal(keypoints, W, H)
    assert estimate.source == "prior" and estimate.reason == "3 frames with a palm"
    with pytest.raises(ValueError, match="T, 21, 2"):
        estimate_focal(keypoints[:, :5], W, H)


def _shapes(seed: int, n: int, fov_deg: float, noise_px: float, noise_m: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Wrist-relative camera-axes shapes (with noise) and 2D keypoints of random hands in view, and the true focal."""
    rng = np.random.default_rng(seed)
    k = intrinsics_from_fov(np.radians(fov_deg), W, H)
    shapes, points = [], []
    while len(shapes) < n:
        z = rng.uniform(0.3, 0.7)
        translation = np.array([rng.uniform(-0.3, 0.3) * z, rng.uniform(-0.2, 0.2) * z, z])
        pose = hand.sample_pose(rng, 1)[0]
        camera = hand.forward_kinematics(Rotation.random(random_state=rng.integers(2**31)), translation, pose, np.zeros(10), "right")
        uv = project_points(camera, k)
        if (camera[:, 2] > 0.1).all() and ((uv >= 0) & (uv < [W, H])).all():
            shapes.append(camera - camera[0] + rng.normal(0.0, noise_m, camera.shape))
            points.append(uv + rng.normal(0.0, noise_px, uv.shape))
    return np.array(shapes), np.array(points), k[0, 0]


@pytest.mark.parametrize("fov", [55.0, 90.0])
def test_focal_from_camera_axes_shapes(fov: float) -> None:
    shapes, points, focal = _shapes(seed=7, n=80, fov_deg=fov, noise_px=1.0, noise_m=0.003)
    estimate = estimate_focal_from_shapes(shapes, points, W, H)
    assert estimate.source == "hands-3d"
    assert estimate.intrinsics.fx / focal - 1 == pytest.approx(0.0, abs=0.05)


def test_shapes_not_in_camera_axes_fall_back_to_the_prior() -> None:
    shapes, points, _ = _shapes(seed=8, n=40, fov_deg=70.0, noise_px=0.5, noise_m=0.0)
    flattened = shapes * np.array([1.0, 1.0, 0.0])  # an orthographic-looking detector: no depth relief
    turned = Rotation.from_euler("y", 90, degrees=True).apply(shapes.reshape(-1, 3)).reshape(shapes.shape)
    for bad in (flattened, turned):
        estimate = estimate_focal_from_shapes(bad, points, W, H)
        assert estimate.source == "prior" and estimate.reason

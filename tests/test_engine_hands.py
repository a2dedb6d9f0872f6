"""Stage 5: hand backends (oracle, imported MANO, MediaPipe), geometric handedness and lifting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from data_engine.hands import get_backend
from data_engine.hands.mediapipe import chirality
from data_engine.lift import lift_side
from envs.humansim.generate import HumanSimConfig, generate
from envs.humansim.truth import load_truth
from vitra_bench.geometry import project_points
from vitra_bench.hand import forward_kinematics, mirror_keypoints, sample_pose, to_mano


def _clip(out: Path, width: int, height: int) -> Path:
    generate(HumanSimConfig(preset="lab", clips=1, width=width, height=height, seconds=1.0, out=out), progress=False)
    return next(out.glob("clip_*.mp4"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _clip(tmp_path_factory.mktemp("humansim"), 320, 240)


def test_unknown_backend_lists_names() -> None:
    with pytest.raises(ValueError, match="mediapipe, oracle, import"):
        get_backend("nope")


def test_oracle_zero_noise_is_truth(clip: Path) -> None:
    truth = load_truth(clip)
    detections = get_backend("oracle").detect(None, clip)
    for side, hand in detections.hands.items():
        cam = truth.hands[side].joints_cam
        m = hand.detected
        assert m.any()
        np.testing.assert_allclose(hand.keypoints2d[m], project_points(cam, truth.intrinsics)[m])
        np.testing.assert_allclose(hand.keypoints3d[m], (cam - cam[:, :1])[m])


def test_oracle_noise_and_dropout_statistics(clip: Path) -> None:
    clean = get_backend("oracle").detect(None, clip).hands["right"]
    noisy = get_backend("oracle", noise_px=3.0, noise_m=0.01, dropout=0.3, seed=1).detect(None, clip).hands["right"]
    both = clean.detected & noisy.detected
    assert noisy.detected.sum() < clean.detected.sum()
    assert abs(np.std(noisy.keypoints2d[both] - clean.keypoints2d[both]) - 3.0) < 0.5
    assert abs(np.std(noisy.keypoints3d[both][:, 1:] - clean.keypoints3d[both][:, 1:]) - 0.01) < 0.002
    # Expected kept fraction 0.7; a one-second clip has only 30 frames, hence the loose bound.
    assert 0.35 < noisy.detected.sum() / clean.detected.sum() < 0.95


def test_lift_exact_inputs_recovers_camera_keypoints(clip: Path) -> None:
    truth = load_truth(clip)
    detections = get_backend("oracle").detect(None, clip)
    for side, hand in detections.hands.items():
        true = truth.hands[side]
        track, beta = lift_side(hand, truth.intrinsics, side, beta=true.beta, fit_scale=False)
        m = track.tracked
        assert np.linalg.norm(track.keypoints[m] - true.joints_cam[m], axis=-1).max() < 1e-3
        ik = forward_kinematics(track.rotation[m], track.position[m], track.theta[m], beta, side)
        assert np.linalg.norm(ik - true.joints_cam[m], axis=-1).max() < 2e-3


def test_lift_with_pixel_noise_keeps_depth_within_centimetres(clip: Path) -> None:
    truth = load_truth(clip)
    detections = get_backend("oracle", noise_px=2.0, seed=3).detect(None, clip)
    hand = detections.hands["right"]
    track, _ = lift_side(hand, truth.intrinsics, "right", beta=truth.hands["right"].beta, fit_scale=False)
    m = track.tracked
    depth_error = np.abs(track.position[m, 2] - truth.hands["right"].joints_cam[m, 0, 2])
    # Measured: mean ~2-6 mm at 320x240 with 2 px noise.
    assert depth_error.mean() < 0.02


def test_imported_npz_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 8
    theta = sample_pose(rng, n)
    rotation = Rotation.random(n, random_state=1).as_matrix()
    transl = np.c_[rng.normal(0, 0.1, (n, 2)), rng.uniform(0.3, 0.6, n)]
    orient, pose = to_mano(rotation, theta)
    is_right = np.arange(n) % 2 == 1
    np.savez(tmp_path / "clip.hands.npz", frame_index=np.arange(n) // 2, is_right=is_right,
             global_orient=Rotation.from_matrix(orient).as_rotvec(), hand_pose=pose.reshape(n, 15, 3, 3),
             transl=transl, focal=300.0)
    detections = get_backend("import").detect(np.zeros((5, 240, 320, 3), np.uint8), tmp_path / "clip.mp4")
    for side in ("left", "right"):
        idx = np.flatnonzero(is_right == (side == "right"))
        track, _ = lift_side(detections.hands[side], np.eye(3), side, fit_scale=False)
        assert track.tracked.tolist() == [True] * 4 + [False]
        expected = forward_kinematics(rotation[idx], transl[idx], theta[idx], None, side)
        np.testing.assert_allclose(track.keypoints[:4], expected, atol=1e-9)
        np.testing.assert_allclose(track.rotation[:4], rotation[idx], atol=1e-6)
        assert np.all(np.isfinite(detections.hands[side].keypoints2d[:4]))


def test_chirality_tells_left_from_right() -> None:
    rng = np.random.default_rng(0)
    theta = sample_pose(rng, 300)
    rotation = Rotation.random(300, random_state=2).as_matrix()
    right = forward_kinematics(rotation, np.zeros(3), theta, None, "right")
    assert np.all(chirality(right) > 0)
    assert np.all(chirality(mirror_keypoints(right)) < 0)
    assert np.all(chirality(forward_kinematics(rotation, np.zeros(3), theta, None, "left")) < 0)


def test_mediapipe_finds_humansim_hand(tmp_path: Path) -> None:
    pytest.importorskip("mediapipe")
    from data_engine.decode import read_frames

    path = _clip(tmp_path, 640, 480)
    frames, _ = read_frames(path)
    truth = load_truth(path)
    detections = get_backend("mediapipe").detect(frames, path)
    truths = [project_points(truth.hands[s].joints_cam, truth.intrinsics) for s in ("left", "right")]
    best = np.inf
    for hand in detections.hands.values():
        for t in np.flatnonzero(hand.detected):
            for uv in truths:
                best = min(best, float(np.median(np.linalg.norm(hand.keypoints2d[t] - uv[t], axis=-1))))
    assert best < 15.0  # pixels; a hand is ~120 px across

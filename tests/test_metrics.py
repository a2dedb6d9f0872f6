"""Known answers for the hand-motion metrics (vitra_bench.metrics)."""

from __future__ import annotations

import numpy as np
import pytest
from episode_factory import make_episode
from scipy.spatial.transform import Rotation

from vitra_bench import hand, layout, metrics


def _state(side: str, translation=(0.0, 0.0, 0.5)) -> np.ndarray:
    """A bimanual anchor state with one hand at ``translation``, identity wrist, flat fingers."""
    state = np.zeros(layout.STATE_DIM)
    state[layout.STATE_SLICES[side]][layout.TRANSLATION] = translation
    return state


def _start_tips(state: np.ndarray, side: str) -> np.ndarray:
    block = state[layout.STATE_SLICES[side]]
    rotation = Rotation.from_euler(layout.EULER, block[layout.ROTATION]).as_matrix()
    keypoints = hand.forward_kinematics(
        rotation, block[layout.TRANSLATION], np.zeros((15, 3)), block[layout.BETA], side
    )
    return metrics.fingertips(keypoints)


def _object_ahead(tips: np.ndarray, gap: float) -> np.ndarray:
    """A cloud whose nearest point to ``tips`` is exactly ``gap`` away, along +x of the foremost tip."""
    front = tips[np.argmax(tips[:, 0])]
    rng = np.random.default_rng(0)
    far = front + np.array([gap, 0.0, 0.0]) + np.abs(rng.normal(size=(200, 3))) * [0.05, 0.0, 0.0]
    return np.vstack([front + [gap, 0.0, 0.0], far])


@pytest.mark.parametrize("side", ["left", "right"])
def test_no_motion_scores_the_start_distance(side: str) -> None:
    state = _state(side)
    cloud = _object_ahead(_start_tips(state, side), 0.20)
    keypoints, valid = metrics.chunk_keypoints(state, np.zeros((16, layout.ACTION_DIM)), side)
    assert keypoints.shape == (17, 21, 3) and valid.all()
    d = metrics.hand_object_distance(metrics.fingertips(keypoints[1:]), cloud)
    assert d == pytest.approx(0.20, abs=1e-12)


def test_reaching_the_object_scores_zero() -> None:
    state = _state("right")
    cloud = _object_ahead(_start_tips(state, "right"), 0.20)
    actions = np.zeros((16, layout.ACTION_DIM))
    actions[:, layout.RIGHT_ACTION.start] = 0.20 / 16  # dt_x every step, fingers stay flat
    keypoints, _ = metrics.chunk_keypoints(state, actions, "right")
    assert metrics.hand_object_distance(metrics.fingertips(keypoints), cloud) == pytest.approx(0.0, abs=1e-12)


def test_samples_are_scored_independently_and_invalid_steps_ignored() -> None:
    state = _state("right")
    cloud = _object_ahead(_start_tips(state, "right"), 0.20)
    actions = np.zeros((3, 16, layout.ACTION_DIM))
    actions[1, :, layout.RIGHT_ACTION.start] = 0.10 / 16  # halfway
    actions[2, :, layout.RIGHT_ACTION.start] = 0.20 / 16  # all the way, but only at the end
    keypoints, valid = metrics.chunk_keypoints(state, actions, "right")
    tips = metrics.fingertips(keypoints)
    np.testing.assert_allclose(metrics.hand_object_distance(tips, cloud), [0.20, 0.10, 0.0], atol=1e-12)
    valid[2, -1] = False  # the touching step of sample 2 is not scored
    d = metrics.hand_object_distance(tips, cloud, valid)
    assert d[2] == pytest.approx(0.20 / 16, abs=1e-12)
    valid[0] = False
    assert np.isnan(metrics.hand_object_distance(tips, cloud, valid)[0])


def test_chunk_keypoints_reproduce_the_recorded_hands_in_world() -> None:
    episode = make_episode("e", seed=1, num_frames=24)
    t0 = 3
    actions, action_mask = layout.action_chunk(episode, t0)
    state, state_mask = layout.state_at(episode, t0)
    frames = np.arange(t0, t0 + layout.CHUNK_SIZE + 1)
    for side in ("left", "right"):
        track = episode.hands[side]
        if not track.kept[t0]:
            continue
        keypoints, valid = metrics.chunk_keypoints(
            state, actions, side, action_mask=action_mask, state_mask=state_mask, extrinsic=episode.extrinsics[t0]
        )
        want = hand.forward_kinematics(
            Rotation.from_rotvec(track.wrist_orient_world[frames]),
            track.wrist_world[frames],
            track.hand_pose[frames],
            track.beta,
            side,
        )
        assert valid.any()
        np.testing.assert_allclose(keypoints[valid], want[valid], atol=1e-4)


def test_masked_anchor_state_is_refused() -> None:
    state_mask = np.ones(layout.STATE_DIM, bool)
    state_mask[layout.LEFT_STATE] = False
    with pytest.raises(ValueError, match="left"):
        metrics.chunk_keypoints(_state("left"), np.zeros((16, 102)), "left", state_mask=state_mask)


def _truth(steps: int = 10, joints: int = 6) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(steps, joints, 3))


def test_truth_has_zero_displacement_error() -> None:
    truth = _truth()
    result = metrics.displacement_errors(truth, truth)
    assert result.ade == 0.0 and result.fde == 0.0 and result.best_sample == 0


def test_best_of_k_picks_the_best_sample() -> None:
    truth = _truth()
    offsets = np.array([0.3, 0.1, 0.2])  # sample 1 is off by 0.1 m everywhere
    predicted = truth + offsets[:, None, None, None] * np.array([0.0, 0.0, 1.0])
    result = metrics.displacement_errors(predicted, truth)
    assert result.best_sample == 1
    assert result.ade == pytest.approx(0.1) and result.fde == pytest.approx(0.1)
    np.testing.assert_allclose(result.ade_per_sample, offsets)


def test_ade_and_fde_are_picked_independently() -> None:
    truth = _truth(steps=4, joints=1)
    predicted = np.repeat(truth[None], 2, axis=0)
    predicted[0, :3, 0, 0] += 1.0  # good at the end only
    predicted[1, 3, 0, 0] += 2.0  # good except at the end
    result = metrics.displacement_errors(predicted, truth)
    assert result.ade == pytest.approx(0.5) and result.best_sample == 1  # 2/4 beats 3/4
    assert result.fde == pytest.approx(0.0)  # from sample 0


def test_masked_steps_are_ignored() -> None:
    truth = _truth()
    predicted = truth.copy()
    predicted[2] += 5.0
    predicted[-1] += 5.0
    valid = np.ones(len(truth), bool)
    valid[[2, -1]] = False
    result = metrics.displacement_errors(predicted, truth, valid)
    assert result.ade == 0.0 and result.fde == 0.0  # FDE falls back to the last valid step


def test_per_joint_mask_and_final_step() -> None:
    truth = _truth(steps=5, joints=2)
    predicted = truth.copy()
    predicted[:, 0, 0] += np.arange(5) * 0.1  # joint 0 drifts 0.1 m per step
    valid = np.ones((5, 2), bool)
    valid[3:, 0] = False  # joint 0 lost after step 2
    result = metrics.displacement_errors(predicted, truth, valid)
    assert result.fde == pytest.approx((0.2 + 0.0) / 2)
    assert result.ade == pytest.approx((0.0 + 0.1 + 0.2) / 8)


def test_horizon_evaluates_only_the_first_steps() -> None:
    truth = _truth()
    predicted = truth.copy()
    predicted[4:] += 1.0
    assert metrics.displacement_errors(predicted, truth, horizon=4).fde == 0.0
    assert metrics.displacement_errors(predicted, truth, horizon=5).fde == pytest.approx(np.sqrt(3))
    with pytest.raises(ValueError, match="horizon"):
        metrics.displacement_errors(predicted, truth, horizon=11)


def test_nothing_valid_gives_nan() -> None:
    truth = _truth()
    result = metrics.displacement_errors(truth, truth, np.zeros(len(truth), bool))
    assert np.isnan(result.ade) and np.isnan(result.fde) and result.best_sample is None

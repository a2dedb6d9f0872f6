"""Tests for vitra_bench.layout: action/state construction, integration, masks and normalisation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from vitra_bench import layout
from vitra_bench.episode import Episode, HandTrack, Instruction


def smooth_rotations(rng: np.random.Generator, n: int, speed: float = 0.1) -> np.ndarray:
    """(n, 3, 3) rotations starting anywhere and turning by a slowly varying small rotation per frame."""
    steps = Rotation.from_rotvec(speed * rng.normal(size=(n, 3)))
    out = [Rotation.random(random_state=rng)]
    for step in steps[1:]:
        out.append(step * out[-1])
    return Rotation.concatenate(out).as_matrix()


def smooth_trajectory(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rotation = smooth_rotations(rng, n)
    translation = rng.normal(size=3) + np.cumsum(0.02 * rng.normal(size=(n, 3)), axis=0)
    hand_pose = 0.5 * rng.uniform(-1, 1, size=(n, 15, 3))
    return rotation, translation, hand_pose


def make_track(rng: np.random.Generator, extrinsics: np.ndarray, kept: np.ndarray) -> HandTrack:
    """A track whose world and camera quantities agree, so the camera ones serve as expectations."""
    n = len(kept)
    rot_world, wrist_world, hand_pose = smooth_trajectory(rng, n)
    joints_world = wrist_world[:, None] + 0.05 * rng.normal(size=(n, 21, 3))
    joints_world[:, 0] = wrist_world
    joints_cam = np.einsum("nij,nkj->nki", extrinsics[:, :3, :3], joints_world) + extrinsics[:, None, :3, 3]
    rot_cam = extrinsics[:, :3, :3] @ rot_world
    return HandTrack(
        beta=rng.normal(size=10),
        wrist_orient_cam=Rotation.from_matrix(rot_cam).as_rotvec(),
        wrist_orient_world=Rotation.from_matrix(rot_world).as_rotvec(),
        hand_pose=hand_pose,
        wrist_world=wrist_world,
        joints_cam=joints_cam,
        joints_world=joints_world,
        kept=kept,
    )


def make_episode(
    n: int = 40, seed: int = 0, left_kept: np.ndarray | None = None, right_kept: np.ndarray | None = None
) -> Episode:
    rng = np.random.default_rng(seed)
    extrinsics = np.tile(np.eye(4), (n, 1, 1))
    extrinsics[:, :3, :3] = smooth_rotations(rng, n, speed=0.2)  # a camera that turns noticeably
    extrinsics[:, :3, 3] = rng.normal(size=3) + np.cumsum(0.05 * rng.normal(size=(n, 3)), axis=0)
    extrinsics = extrinsics.astype(np.float32).astype(np.float64)  # what the episode will store
    hands = {
        "left": make_track(rng, extrinsics, np.ones(n, bool) if left_kept is None else left_kept),
        "right": make_track(rng, extrinsics, np.ones(n, bool) if right_kept is None else right_kept),
    }
    return Episode(
        key="test/0",
        source_video="video.mp4",
        fps=30.0,
        intrinsics=np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]]),
        image_size=(640, 480),
        extrinsics=extrinsics,
        video_frame_index=np.arange(n),
        hands=hands,
        instructions={"right": [Instruction("Pick up the cup", 0, n)]},
        main_hand="right",
        caption_source="truth",
    )


def expected_hand_in_camera(episode: Episode, hand: str, frames: np.ndarray, camera: int) -> tuple[np.ndarray, ...]:
    """Independent (per-frame, loop-based) transformation of a hand's wrist into one camera."""
    ext = episode.extrinsics[camera].astype(np.float64)
    track = episode.hands[hand]
    rotation = np.stack(
        [ext[:3, :3] @ Rotation.from_rotvec(track.wrist_orient_world[f].astype(np.float64)).as_matrix() for f in frames]
    )
    translation = np.stack([ext[:3, :3] @ track.wrist_world[f].astype(np.float64) + ext[:3, 3] for f in frames])
    return rotation, translation


# ---------------------------------------------------------------- construction and integration


def test_integrate_inverts_hand_actions_in_float64() -> None:
    rng = np.random.default_rng(1)
    rotation, translation, hand_pose = smooth_trajectory(rng, 17)
    values, mask = layout.hand_actions(rotation, translation, hand_pose, np.ones(17, bool))
    assert values.shape == mask.shape == (16, layout.HAND_ACTION_DIM) and values.dtype == np.float64
    assert mask.all()
    traj = layout.integrate_actions(rotation[0], translation[0], values, mask)
    np.testing.assert_allclose(traj.rotation, rotation, atol=1e-6)
    np.testing.assert_allclose(traj.translation, translation, atol=1e-6)
    got = Rotation.from_rotvec(traj.hand_pose.reshape(-1, 3)).as_matrix()
    want = Rotation.from_rotvec(hand_pose[1:].reshape(-1, 3)).as_matrix()
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert traj.valid.all()


def test_rotation_delta_is_left_multiplied_known_example() -> None:
    start = Rotation.random(random_state=3)  # non-identity so left vs right multiplication differ
    step = Rotation.from_euler("z", 10, degrees=True)
    rotation = np.stack([(step**k * start).as_matrix() for k in range(4)])
    translation = np.array([[0, 0, 0], [0.1, 0, 0], [0.1, 0.2, 0], [0.1, 0.2, -0.3]])
    values, _ = layout.hand_actions(rotation, translation, np.zeros((4, 15, 3)), np.ones(4, bool))
    np.testing.assert_allclose(values[:, layout.ROTATION], np.tile(np.deg2rad([0, 0, 10]), (3, 1)), atol=1e-12)
    np.testing.assert_allclose(values[:, layout.TRANSLATION], [[0.1, 0, 0], [0, 0.2, 0], [0, 0, -0.3]], atol=1e-12)
    # Extrinsic "xyz": R = Rz Ry Rx, so a single-axis rotation lands in its own slot.
    delta = Rotation.from_euler("xyz", values[0, layout.ROTATION]).as_matrix()
    np.testing.assert_allclose(delta @ rotation[0], rotation[1], atol=1e-12)


def test_finger_slots_are_joint_major() -> None:
    hand_pose = np.zeros((2, 15, 3))
    hand_pose[1, 4] = [0, 0, 0.3]  # joint 4 (middle2) about its local z
    values, _ = layout.hand_actions(np.tile(np.eye(3), (2, 1, 1)), np.zeros((2, 3)), hand_pose, np.ones(2, bool))
    expected = np.zeros(layout.HAND_ACTION_DIM)
    expected[layout.finger_slot(4, 2)] = 0.3
    assert layout.finger_slot(4, 2) == 6 + 3 * 4 + 2
    np.testing.assert_allclose(values[0], expected, atol=1e-12)


def test_chunk_uses_anchor_camera_only() -> None:
    episode = make_episode()
    t0 = 7
    values, mask = layout.action_chunk(episode, t0)
    assert values.shape == mask.shape == (layout.CHUNK_SIZE, layout.ACTION_DIM) and values.dtype == np.float32
    assert mask.all()
    frames = np.arange(t0, t0 + layout.CHUNK_SIZE + 1)
    for hand, block in layout.ACTION_SLICES.items():
        rotation, translation = expected_hand_in_camera(episode, hand, frames, t0)
        dt = translation[1:] - translation[:-1]
        dR = Rotation.from_matrix(rotation[1:] @ np.swapaxes(rotation[:-1], 1, 2)).as_euler("xyz")
        fingers = Rotation.from_rotvec(episode.hands[hand].hand_pose[frames[1:]].reshape(-1, 3).astype(np.float64))
        np.testing.assert_allclose(values[:, block][:, layout.TRANSLATION], dt, atol=1e-5)
        np.testing.assert_allclose(values[:, block][:, layout.ROTATION], dR, atol=1e-5)
        euler = fingers.as_euler("xyz").reshape(16, 45)
        np.testing.assert_allclose(values[:, block][:, layout.FINGERS], euler, atol=1e-5)
    # The camera moves, so each step's own camera would give different translations.
    wrist = episode.hands["left"].wrist_world
    own = np.stack([episode.extrinsics[f, :3, :3] @ (wrist[f + 1] - wrist[f]) for f in frames[:-1]])
    assert np.abs(own - values[:, layout.LEFT_ACTION][:, layout.TRANSLATION]).max() > 1e-3


def test_chunk_integrates_back_to_the_anchor_camera_trajectory() -> None:
    episode = make_episode()
    t0 = 12
    values, mask = layout.action_chunk(episode, t0)
    frames = np.arange(t0, t0 + layout.CHUNK_SIZE + 1)
    for hand, block in layout.ACTION_SLICES.items():
        rotation, translation = expected_hand_in_camera(episode, hand, frames, t0)
        traj = layout.integrate_actions(rotation[0], translation[0], values[:, block], mask[:, block])
        np.testing.assert_allclose(traj.rotation, rotation, atol=1e-5)
        np.testing.assert_allclose(traj.translation, translation, atol=1e-5)


def test_left_right_placement() -> None:
    n = 20
    left_kept = np.ones(n, bool)
    left_kept[5] = False
    episode = make_episode(n, left_kept=left_kept)
    values, mask = layout.action_chunk(episode, 0)
    for hand, block in layout.ACTION_SLICES.items():
        frames = np.arange(17)
        rotation, translation = expected_hand_in_camera(episode, hand, frames, 0)
        track = episode.hands[hand]
        want, want_mask = layout.hand_actions(rotation, translation, track.hand_pose[frames], track.kept[frames])
        np.testing.assert_allclose(values[:, block], want, atol=1e-5)
        np.testing.assert_array_equal(mask[:, block], want_mask)
    assert layout.LEFT_ACTION == slice(0, 51) and layout.RIGHT_ACTION == slice(51, 102)
    assert not mask[4:6, :51].any() and mask[4:6, 51:].all()


# ---------------------------------------------------------------- masks


def test_untracked_frames_mask_both_adjacent_steps() -> None:
    kept = np.ones(30, bool)
    kept[10] = False
    episode = make_episode(30, right_kept=kept)
    values, mask = layout.action_chunk(episode, 3)
    right = layout.RIGHT_ACTION
    step_valid = mask[:, right].all(axis=1)
    assert (mask[:, right] == step_valid[:, None]).all()  # a step is all-or-nothing for human data
    np.testing.assert_array_equal(np.flatnonzero(~step_valid), [6, 7])  # transitions 9->10 and 10->11
    assert not values[~mask].any()
    assert mask[:, layout.LEFT_ACTION].all()


def test_untracked_hand_is_fully_masked() -> None:
    episode = make_episode(25)
    episode.hands["left"] = HandTrack.untracked(25)
    values, mask = layout.action_chunk(episode, 2)
    assert not mask[:, layout.LEFT_ACTION].any() and not values[:, layout.LEFT_ACTION].any()
    states, state_mask = layout.state_at(episode, 2)
    assert not state_mask[layout.LEFT_STATE].any() and not states[layout.LEFT_STATE].any()
    assert state_mask[layout.RIGHT_STATE].all()


@pytest.mark.parametrize(("offset", "valid_steps"), [(17, 16), (16, 15), (5, 4), (1, 0)])
def test_chunk_past_episode_end_is_masked(offset: int, valid_steps: int) -> None:
    n = 30
    episode = make_episode(n)
    values, mask = layout.action_chunk(episode, n - offset)
    assert mask[:valid_steps].all()
    # A window reaching exactly the last frame gets no zero-delta step (the release's bug).
    assert not mask[valid_steps:].any() and not values[valid_steps:].any()


def test_episode_step_actions_match_one_step_chunks() -> None:
    kept = np.ones(12, bool)
    kept[4] = False
    episode = make_episode(12, left_kept=kept)
    values, mask = layout.episode_step_actions(episode)
    assert values.shape == mask.shape == (12, layout.ACTION_DIM) and values.dtype == np.float32
    for t in range(12):
        chunk, chunk_mask = layout.action_chunk(episode, t, chunk_size=1)
        np.testing.assert_allclose(values[t], chunk[0], atol=1e-6)
        np.testing.assert_array_equal(mask[t], chunk_mask[0])
    assert not mask[-1].any() and not values[-1].any()
    assert not mask[3:5, layout.LEFT_ACTION].any() and mask[3:5, layout.RIGHT_ACTION].all()


def test_integration_holds_pose_after_masked_wrist_step() -> None:
    rng = np.random.default_rng(5)
    rotation, translation, hand_pose = smooth_trajectory(rng, 5)
    kept = np.array([True, True, False, True, True])
    values, mask = layout.hand_actions(rotation, translation, hand_pose, kept)
    traj = layout.integrate_actions(rotation[0], translation[0], values, mask)
    np.testing.assert_array_equal(traj.valid, [True, True, False, False, False])
    np.testing.assert_allclose(traj.translation[1:4], np.tile(translation[1], (3, 1)), atol=1e-12)
    np.testing.assert_allclose(traj.translation[4] - traj.translation[3], translation[4] - translation[3], atol=1e-12)


# ---------------------------------------------------------------- state


def test_state_is_camera_space_at_anchor() -> None:
    episode = make_episode(20)
    t0 = 9
    state, mask = layout.state_at(episode, t0)
    assert state.shape == mask.shape == (layout.STATE_DIM,) and state.dtype == np.float32 and mask.all()
    for hand, block in layout.STATE_SLICES.items():
        track = episode.hands[hand]
        s = state[block]
        np.testing.assert_allclose(s[layout.TRANSLATION], track.joints_cam[t0, 0], atol=1e-5)
        rot_cam = Rotation.from_rotvec(track.wrist_orient_cam[t0].astype(np.float64)).as_matrix()
        np.testing.assert_allclose(Rotation.from_euler("xyz", s[layout.ROTATION]).as_matrix(), rot_cam, atol=1e-5)
        fingers = Rotation.from_rotvec(track.hand_pose[t0].astype(np.float64)).as_euler("xyz").reshape(45)
        np.testing.assert_allclose(s[layout.FINGERS], fingers, atol=1e-5)
        np.testing.assert_array_equal(s[layout.BETA], track.beta)
    states, states_mask = layout.episode_states(episode)
    assert states.shape == (20, layout.STATE_DIM)
    np.testing.assert_array_equal(states[t0], state)
    np.testing.assert_array_equal(states_mask[t0], mask)


def test_state_of_untracked_frame_is_masked_zero() -> None:
    kept = np.ones(10, bool)
    kept[3] = False
    episode = make_episode(10, right_kept=kept)
    state, mask = layout.state_at(episode, 3)
    assert not mask[layout.RIGHT_STATE].any() and not state[layout.RIGHT_STATE].any()
    assert mask[layout.LEFT_STATE].all()


# ---------------------------------------------------------------- normalisation


def test_stats_ignore_masked_entries() -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(size=(50, 16, 6))
    mask = rng.random(values.shape) < 0.6
    mask[..., 5] = False  # a dimension never valid
    values[~mask] = 1e6  # garbage that must not leak into the statistics
    stats = layout.normalization_stats(values, mask)
    for d in range(5):
        valid = values[..., d][mask[..., d]]
        np.testing.assert_allclose(
            [stats.mean[d], stats.std[d], stats.min[d], stats.max[d]],
            [valid.mean(), valid.std(), valid.min(), valid.max()],
            rtol=1e-12,
        )
        assert stats.count[d] == valid.size
    assert (stats.mean[5], stats.std[5], stats.min[5], stats.max[5], stats.count[5]) == (0, 1, 0, 0, 0)


def test_normalize_round_trip_keeps_masked_zero() -> None:
    rng = np.random.default_rng(8)
    values = rng.normal(2.0, 3.0, size=(40, layout.ACTION_DIM))
    mask = rng.random(values.shape) < 0.7
    values[~mask] = 0.0
    stats = layout.normalization_stats(values, mask)
    normed = layout.normalize(values, stats, mask)
    assert not normed[~mask].any()
    np.testing.assert_allclose(normed[mask].mean(), 0.0, atol=0.2)
    np.testing.assert_allclose(layout.unnormalize(normed, stats, mask), values, atol=1e-9)
    assert layout.normalize(values.astype(np.float32), stats, mask).dtype == np.float32


def test_pooled_stats_pool_left_and_right() -> None:
    rng = np.random.default_rng(9)
    values = rng.normal(size=(30, layout.ACTION_DIM))
    mask = rng.random(values.shape) < 0.5
    pooled = layout.pooled_normalization_stats(values, mask)
    assert pooled.mean.shape == (layout.ACTION_DIM,)
    d = 7
    both = np.concatenate([values[:, d][mask[:, d]], values[:, 51 + d][mask[:, 51 + d]]])
    for half in (d, 51 + d):
        np.testing.assert_allclose([pooled.mean[half], pooled.std[half]], [both.mean(), both.std()], rtol=1e-12)
        assert pooled.count[half] == both.size


# ---------------------------------------------------------------- input checking


def test_bad_shapes_raise() -> None:
    with pytest.raises(ValueError, match="hand_pose"):
        layout.hand_actions(np.tile(np.eye(3), (3, 1, 1)), np.zeros((3, 3)), np.zeros((3, 14, 3)), np.ones(3, bool))
    with pytest.raises(ValueError, match="actions"):
        layout.integrate_actions(np.eye(3), np.zeros(3), np.zeros((4, 50)))
    with pytest.raises(ValueError, match="anchor frame"):
        layout.action_chunk(make_episode(5), 5)
    with pytest.raises(ValueError, match="statistics"):
        layout.normalize(np.zeros((2, 5)), layout.normalization_stats(np.zeros((2, 6)), np.ones((2, 6), bool)))

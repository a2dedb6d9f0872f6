"""VITRA-TeleData import/export and the embodiment guard, on episodes built here (20 frames, 64x48 video)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from policies.embodiment import EmbodimentMismatch, check_compatible
from vitra_bench import layout
from vitra_bench.cli.teledata import register_into
from vitra_bench.corpus import Corpus, CorpusWriter, validate_corpus
from vitra_bench.corpus.exporters import write_teledata
from vitra_bench.corpus.feature_stats import stats_to_json
from vitra_bench.corpus.importers.teledata import (
    CAMERA,
    ROBOT_TYPE,
    ArmTrack,
    TeleEpisode,
    episode_from_tele,
    import_teledata,
    mount_in_camera,
    read_teledata,
    robot_vectors,
    tele_from_episode,
    to_pose6,
)
from vitra_bench.corpus.video import VideoSettings, encode_video
from vitra_bench.embodiment import HUMAN, XHAND1_BIMANUAL, XHAND1_RIGHT, xhand1

T, W, H, FPS = 20, 64, 48, 30.0
X264 = VideoSettings(codec="libx264", gop=30, crf=20)
HOME = np.array([0.0, 0.4, 0.0, 1.2, 0.0, -0.3, 0.0])

# ROBOT_FACTS.md, "Realman RM75-6F": per joint origin xyz and rpy (URDF writes pi/2 as 1.5708), axis z.
RM75_CHAIN = [
    ((0, 0, 0.2405), (0, 0, 0)),
    ((0, 0, 0), (-1.5708, 0, 0)),
    ((0, -0.256, 0), (1.5708, 0, 0)),
    ((0, 0, 0), (-1.5708, 0, 0)),
    ((0, -0.21, 0), (1.5708, 0, 0)),
    ((0, 0, 0), (-1.5708, 0, 0)),
    ((0, -0.1725, 0), (1.5708, 0, 0)),
]


def urdf_fk(q: np.ndarray) -> np.ndarray:
    """(T, 4, 4) joint7 pose in the base from the vendor table, independent of the MJCF and MuJoCo."""
    out = np.tile(np.eye(4), (len(q), 1, 1))
    for t, angles in enumerate(q):
        pose = np.eye(4)
        for (xyz, rpy), angle in zip(RM75_CHAIN, angles, strict=True):
            step = np.eye(4)
            step[:3, :3] = Rotation.from_euler("xyz", rpy).as_matrix() @ Rotation.from_euler("z", angle).as_matrix()
            step[:3, 3] = xyz
            pose = pose @ step
        out[t] = pose
    return out


def transform(rng: np.random.Generator, scale: float, offset: tuple[float, float, float]) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = Rotation.from_rotvec(rng.normal(0, scale, 3)).as_matrix()
    m[:3, 3] = np.asarray(offset) + rng.normal(0, 0.02, 3)
    return m


def make_arm(rng: np.random.Generator, side: str) -> ArmTrack:
    """A smooth arm and hand motion with commands leading the state, masked frames zero-filled."""
    phase = np.linspace(0, 1, T)[:, None]
    arm = HOME + 0.3 * np.sin(2 * np.pi * phase + rng.uniform(0, 2 * np.pi, 7))
    hand = np.clip(0.6 + 0.4 * np.sin(2 * np.pi * phase + rng.uniform(0, 2 * np.pi, 12)), 0.05, 1.1)
    hand[:, 3] *= 0.15  # index_bend is +-0.174 rad
    arm_target = np.vstack([arm[1:], arm[-1:]]) + rng.normal(0, 0.01, arm.shape)
    hand_target = np.vstack([hand[1:], hand[-1:]]) + 0.05
    arm_mask = np.ones(T, bool)
    arm_mask[[7, 8]] = False
    hand_mask = np.ones(T, bool)
    hand_mask[12:15] = side == "left"  # the right hand loses tracking for three frames
    zero = lambda a, m: np.where(m[:, None], a, 0.0).astype(np.float32)  # noqa: E731
    return ArmTrack(
        arm_joint=zero(arm, arm_mask),
        hand_joint=zero(hand, hand_mask),
        arm_target=zero(arm_target, arm_mask),
        hand_target=zero(hand_target, hand_mask),
        arm_mask=arm_mask,
        hand_mask=hand_mask,
        ee_to_mount=transform(rng, 0.2, (0.0, 0.0, 0.03)),
        camera_to_base=transform(rng, 0.3, (-0.3 if side == "right" else 0.3, -0.4, 0.5)),
    )


def make_tele(key: str, sides: tuple[str, ...], seed: int) -> TeleEpisode:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W]
    frames = np.stack([np.stack([x * 3 + 2 * t, y * 4, np.full_like(x, 100 + 3 * t)], -1) for t in range(T)])
    intrinsics = np.array([[60.0, 0, W / 2], [0, 60.0, H / 2], [0, 0, 1]])
    arms = {side: make_arm(rng, side) for side in sides}
    return TeleEpisode(key, "pick up the red cup", FPS, intrinsics, arms, frames.astype(np.uint8))


def write_corpus(root: Path, teles: list[TeleEpisode]) -> None:
    with CorpusWriter(root, fps=FPS, cameras={CAMERA: (W, H)}, robot_type=ROBOT_TYPE, video=X264) as writer:
        for tele in teles:
            writer.add(episode_from_tele(tele))


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register_into(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[TeleEpisode], Path, Path]:
    """Two robot episodes (right arm; both arms) -> corpus -> export (CLI) -> import (CLI) -> corpus."""
    base = tmp_path_factory.mktemp("teledata")
    teles = [make_tele("right_arm", ("right",), 1), make_tele("two_arms", ("left", "right"), 2)]
    write_corpus(base / "corpus", teles)
    assert run_cli(["export-teledata", str(base / "corpus"), "--out", str(base / "files")]) == 0
    argv = ["import-teledata", "--episodes", str(base / "files"), "--out", str(base / "again")]
    assert run_cli([*argv, "--width", str(W), "--height", str(H)]) == 0
    return teles, base / "files", base / "again"


def test_export_import_round_trip(round_trip: tuple[list[TeleEpisode], Path, Path]) -> None:
    teles, files, again = round_trip
    assert sorted(p.name for p in files.iterdir()) == ["right_arm.h5", "right_arm.mp4", "two_arms.h5", "two_arms.mp4"]
    assert validate_corpus(again) == []
    with Corpus(again) as corpus:
        for tele in teles:
            episode = corpus.episode(tele.key)
            back = tele_from_episode(episode, corpus.frames(tele.key))
            assert sorted(back.arms) == sorted(tele.arms) and back.instruction == tele.instruction
            for side, arm in tele.arms.items():
                for name in ("arm_joint", "hand_joint", "arm_target", "hand_target", "arm_mask", "hand_mask"):
                    np.testing.assert_array_equal(getattr(back.arms[side], name), getattr(arm, name), err_msg=name)
                for name in ("ee_to_mount", "camera_to_base"):
                    np.testing.assert_allclose(getattr(back.arms[side], name), getattr(arm, name), atol=1e-12)
                pose = mount_in_camera(arm.arm_joint, arm.ee_to_mount, arm.camera_to_base)
                track = episode.hands[side]
                kept = arm.arm_mask & arm.hand_mask
                np.testing.assert_array_equal(track.kept, kept)
                np.testing.assert_allclose(track.wrist_world[kept], pose[kept, :3, 3], atol=1e-6)
                np.testing.assert_allclose(track.wrist_orient_cam[kept], to_pose6(pose)[kept, 3:], atol=1e-5)
            for ours, theirs in zip(robot_vectors(back), robot_vectors(tele), strict=True):
                np.testing.assert_allclose(ours, theirs, atol=1e-5)
            np.testing.assert_allclose(back.intrinsics, tele.intrinsics)
            assert np.abs(back.frames.astype(int) - tele.frames).mean() < 4  # lossy video, same content
        assert not corpus.episode("right_arm").hands["left"].kept.any()  # the absent arm: untracked


def test_released_layout_and_zero_filled_left_arm(round_trip: tuple[list[TeleEpisode], Path, Path]) -> None:
    _, files, _ = round_trip
    with h5py.File(files / "right_arm.h5", "r") as h5:
        assert h5["meta/has_right"][()] and not h5["meta/has_left"][()]
        assert h5["meta/frame_count"][()] == T and h5["meta/video_path"][()].decode() == "right_arm.mp4"
        assert h5["state/left_arm_joint"].shape == (T, 7) and not h5["state/left_arm_joint"][()].any()
        assert not h5["mask/left_arm"][()].any() and not h5["mask/left_hand"][()].any()
        assert h5["state/right_hand_mount_pose_in_cam"].shape == (T, 6)
        assert h5["action/right_hand_joint"].shape == (T, 12)


def test_robot_dims_land_in_the_release_slots() -> None:
    tele = make_tele("slots", ("right",), 3)
    state, state_mask, action, action_mask = robot_vectors(tele)
    arm = tele.arms["right"]
    right = layout.ACTION_SLICES["right"]
    assert not action_mask[:, layout.LEFT_ACTION].any() and not state_mask[:, layout.LEFT_STATE].any()
    assert (
        action_mask[0, right].sum() == 6 + 12 and not state_mask[:, layout.STATE_SLICES["right"]][:, layout.BETA].any()
    )
    # Release pairs (robot index - 6 = SDK joint, human index in the 51-dim hand vector):
    # index_joint1 (10) -> 8, thumb_rota1 (7) -> 43 with a minus sign in MANO's axes (plus in ours).
    np.testing.assert_allclose(action[:, right][:, 8], arm.hand_target[:, 4] * arm.hand_mask, atol=1e-6)
    np.testing.assert_allclose(state[:, layout.STATE_SLICES["right"]][:, 43], arm.hand_joint[:, 1], atol=1e-6)
    # Wrist action: measured pose at t composed with the step gives the commanded pose.
    now = mount_in_camera(arm.arm_joint, arm.ee_to_mount, arm.camera_to_base)
    command = mount_in_camera(arm.arm_target, arm.ee_to_mount, arm.camera_to_base)
    step = action[:, right]
    dr = Rotation.from_euler(layout.EULER, step[:, 3:6]).as_matrix()
    valid = arm.arm_mask
    np.testing.assert_allclose((dr @ now[:, :3, :3])[valid], command[valid, :3, :3], atol=1e-9)
    np.testing.assert_allclose((now[:, :3, 3] + step[:, :3])[valid], command[valid, :3, 3], atol=1e-9)


def test_composed_pose_matches_known_kinematics(tmp_path: Path) -> None:
    tele = make_tele("known", ("right",), 4)
    path = write_teledata(tele, tmp_path, video=X264)
    arm = tele.arms["right"]
    in_base = urdf_fk(arm.arm_joint) @ arm.ee_to_mount  # the vendor table, not MuJoCo
    in_cam = np.linalg.inv(arm.camera_to_base) @ in_base
    with h5py.File(path, "r+") as h5:
        h5["state/right_hand_mount_pose"][...] = np.where(arm.arm_mask[:, None], to_pose6(in_base), 0)
        h5["state/right_hand_mount_pose_in_cam"][...] = np.where(arm.arm_mask[:, None], to_pose6(in_cam), 0)
        stored = h5["state/right_hand_mount_pose_in_cam"][()]
    back = read_teledata(path).arms["right"]
    composed = to_pose6(mount_in_camera(back.arm_joint, back.ee_to_mount, back.camera_to_base))
    np.testing.assert_allclose(composed[arm.arm_mask], stored[arm.arm_mask], atol=2e-6)


def _mutate(h5: h5py.File, field: str, data: np.ndarray) -> None:
    del h5[field]
    h5.create_dataset(field, data=data)


def _bad_files(folder: Path, good: Path) -> dict[str, str]:
    """Copies of ``good`` each broken in one way -> the field its error must name."""
    cases = {
        "missing_group": ("kinematics", lambda h5: h5.__delitem__("kinematics")),
        "wrong_shape": ("state/right_arm_joint", lambda h5: _mutate(h5, "state/right_arm_joint", np.zeros((T, 6)))),
        "mask_out_of_range": ("mask/right_hand", lambda h5: _mutate(h5, "mask/right_hand", np.full(T, 2, np.uint8))),
        "pose_off": (
            "state/right_hand_mount_pose_in_cam",
            lambda h5: _mutate(
                h5, "state/right_hand_mount_pose_in_cam", h5["state/right_hand_mount_pose_in_cam"][()] + 0.01
            ),
        ),
        "absent_arm_masked_in": ("mask/left_arm", lambda h5: _mutate(h5, "mask/left_arm", np.ones(T, bool))),
        "short_video": ("meta/frame_count", None),
    }
    for name, (_, change) in cases.items():
        shutil.copy(good.with_suffix(".h5"), folder / f"{name}.h5")
        shutil.copy(good.with_suffix(".mp4"), folder / f"{name}.mp4")
        with h5py.File(folder / f"{name}.h5", "r+") as h5:
            h5["meta/video_path"][()] = f"{name}.mp4"
            if change is not None:
                change(h5)
    encode_video(make_tele("x", ("right",), 0).frames[: T - 1], folder / "short_video.mp4", FPS, X264)
    (folder / "not_hdf5.h5").write_bytes(b"this is not an HDF5 file")
    return {**{name: field for name, (field, _) in cases.items()}, "not_hdf5": "(file)"}


def test_malformed_files_are_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    files = tmp_path / "files"
    good = write_teledata(make_tele("good", ("right",), 5), files, video=X264)
    expected = _bad_files(files, good)
    report = import_teledata(files, tmp_path / "corpus", size=(W, H), video=X264)
    assert report.imported == ["good"]
    assert sorted(report.errors) == sorted(f"{name}.h5" for name in expected)
    for name, field in expected.items():
        message = report.errors[f"{name}.h5"]
        assert message.startswith(f"{name}.h5: {field}: "), message
    assert "(20, 7)" in report.errors["wrong_shape.h5"] and "19" in report.errors["short_video.h5"]
    again = import_teledata(files, tmp_path / "corpus", size=(W, H), video=X264)
    assert again.skipped == ["good"] and again.imported == [] and len(again.errors) == len(expected)


# ---------------------------------------------------------------------- the embodiment guard


def checkpoint(folder: Path, teles: list[TeleEpisode], action_dim: int = layout.ACTION_DIM) -> Path:
    """A checkpoint's JSON files with statistics of the robot vectors of ``teles``."""
    vectors = [robot_vectors(tele) for tele in teles]
    state, state_mask, action, action_mask = (np.concatenate(parts) for parts in zip(*vectors, strict=True))
    stats = {
        "action": stats_to_json(layout.normalization_stats(action, action_mask)),
        "state": stats_to_json(layout.normalization_stats(state, state_mask)),
    }
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"action_dim": action_dim, "state_dim": layout.STATE_DIM}))
    (folder / "stats.json").write_text(json.dumps(stats))
    return folder


def test_guard_accepts_matching_and_rejects_mismatched_checkpoints(tmp_path: Path) -> None:
    right = checkpoint(tmp_path / "right", [make_tele("a", ("right",), 6)])
    both = checkpoint(tmp_path / "both", [make_tele("b", ("left", "right"), 7)])
    check_compatible(right, XHAND1_RIGHT)
    check_compatible(both, XHAND1_BIMANUAL)
    with pytest.raises(EmbodimentMismatch, match=r"never valid in training: left\.dt\.x"):
        check_compatible(right, XHAND1_BIMANUAL)
    with pytest.raises(EmbodimentMismatch, match="lacks"):
        check_compatible(both, XHAND1_RIGHT)
    with pytest.raises(EmbodimentMismatch, match="never valid"):
        check_compatible(right, xhand1(["right"], table="project"))  # other joint table, other slots
    with pytest.raises(EmbodimentMismatch, match="action_dim is 36, xhand1_right needs 102"):
        check_compatible(checkpoint(tmp_path / "dims", [make_tele("c", ("right",), 8)], action_dim=36), XHAND1_RIGHT)
    with pytest.raises(EmbodimentMismatch, match="no normalisation statistics"):
        check_compatible({"config": {"action_dim": 102, "state_dim": 122}, "stats": None}, XHAND1_RIGHT)


def test_guard_on_human_statistics() -> None:
    ones = lambda d: {"mean": [0.0] * d, "std": [1.0] * d, "min": [0.0] * d, "max": [0.0] * d, "count": [5] * d}  # noqa: E731
    human = {"action": ones(layout.ACTION_DIM), "state": ones(layout.STATE_DIM)}
    check_compatible(human, HUMAN)
    with pytest.raises(EmbodimentMismatch, match="statistics of another embodiment"):
        check_compatible(human, XHAND1_RIGHT)
    check_compatible(human, XHAND1_RIGHT, exact=False)  # zero-shot on purpose
    short = {"action": ones(36), "state": ones(layout.STATE_DIM)}
    with pytest.raises(EmbodimentMismatch, match="action statistics have 36 dims"):
        check_compatible(short, HUMAN)


def test_training_samples_of_a_robot_corpus_mask_the_slots_the_robot_lacks(
    round_trip: tuple[list[TeleEpisode], Path, Path],
) -> None:
    from vitra_bench.corpus.dataset import HandActionDataset

    _, _, again = round_trip
    dataset = HandActionDataset(again)
    sample = dataset.raw_sample(0)
    robot = XHAND1_BIMANUAL
    assert not (sample["action_mask"] & ~robot.action_mask).any()
    assert not (sample["state_mask"] & ~robot.state_mask).any()  # beta and unmapped finger slots
    assert sample["action_mask"].any() and sample["state_mask"].any()
    assert (sample["actions"][~sample["action_mask"]] == 0).all()
    assert (sample["state"][~sample["state_mask"]] == 0).all()


def test_robot_corpus_statistics_leave_the_missing_slots_empty(round_trip: tuple[list[TeleEpisode], Path, Path]) -> None:
    from vitra_bench.corpus import Corpus
    from vitra_bench.corpus.dataset import corpus_sample_stats

    stats = corpus_sample_stats(Corpus(round_trip[2]))
    missing = ~XHAND1_BIMANUAL.action_mask
    assert (stats.action.count[missing] == 0).all() and (stats.action.std[missing] == 1.0).all()
    assert (stats.action.count[XHAND1_RIGHT.action_mask] > 0).all()
    check_compatible({"action": stats.action, "state": stats.state}, XHAND1_BIMANUAL)  # both arms in the corpus


def test_sent_commands_are_the_step_actions_of_a_robot_that_reaches_its_targets() -> None:
    """When every target is reached one step later (target t = measured t + 1), the commands are
    exactly the step actions of the measured track, for each arm; before that they differ."""
    from dataclasses import replace

    from vitra_bench.corpus.importers.teledata import sent_commands

    tele = make_tele("reach", ("left", "right"), seed=5)
    lagging = {
        side: replace(arm, arm_target=np.concatenate([arm.arm_joint[1:], arm.arm_joint[-1:]]),
                      hand_target=np.concatenate([arm.hand_joint[1:], arm.hand_joint[-1:]]),
                      arm_mask=np.ones(T, bool), hand_mask=np.ones(T, bool))
        for side, arm in tele.arms.items()
    }
    reached = replace(tele, arms=lagging)
    commands = sent_commands(reached, "release")
    track, mask = layout.episode_step_actions(episode_from_tele(reached))
    np.testing.assert_allclose(commands[:-1][mask[:-1]], track[:-1][mask[:-1]], atol=1e-5)
    assert np.abs(sent_commands(tele, "release") - commands).max() > 1e-3
    assert episode_from_tele(reached).commands is not None

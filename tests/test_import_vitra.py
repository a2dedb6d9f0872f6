"""VITRA-1M importer: restricted unpickling, episode conversion and the CLI, on files written here."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from vitra_bench.cli.main import main
from vitra_bench.corpus import Corpus, validate_corpus
from vitra_bench.corpus.importers import NpyFormatError, UnsafePickleError, import_vitra, load_npy_object
from vitra_bench.corpus.video import VideoSettings, encode_video
from vitra_bench.hand import forward_kinematics, sample_pose, to_mano

T, VIDEO_FRAMES, SRC_W, SRC_H = 10, 16, 64, 48
SIZE = (32, 24)
X264 = VideoSettings(codec="libx264", gop=30, crf=20)


def release_hand(rng: np.random.Generator, extrinsics: np.ndarray, side: str, kept: np.ndarray) -> dict:
    """One hand in the release format, from our skeleton's FK and ``to_mano``; untracked frames zeroed."""
    rotation = Rotation.random(T, random_state=rng).as_matrix()
    transl = rng.normal([0, 0.1, 0.4], 0.05, (T, 3))
    theta = sample_pose(rng, T)
    world = forward_kinematics(rotation, transl, theta, side=side)
    cam = np.einsum("tij,tkj->tki", extrinsics[:, :3, :3], world) + extrinsics[:, None, :3, 3]
    orient_world, pose = to_mano(rotation, theta)
    mask = lambda a: np.where(kept.reshape((-1,) + (1,) * (a.ndim - 1)), a, 0.0)  # noqa: E731
    return {
        "beta": rng.normal(size=10),
        "global_orient_camspace": mask(extrinsics[:, :3, :3] @ orient_world),
        "global_orient_worldspace": mask(orient_world),
        "hand_pose": mask(pose),
        "transl_worldspace": mask(transl),
        "joints_camspace": mask(cam),
        "joints_worldspace": mask(world),
        "kept_frames": kept.astype(np.uint8),
        "_truth": (rotation, theta),
    }


def release_episode(seed: int, video_name: str) -> dict:
    rng = np.random.default_rng(seed)
    extrinsics = np.tile(np.eye(4), (T, 1, 1))
    extrinsics[:, :3, :3] = Rotation.from_rotvec(rng.normal(0, 0.1, (T, 3))).as_matrix()
    extrinsics[:, :3, 3] = rng.normal(0, 0.05, (T, 3))
    half = np.arange(T) < T // 2
    return {
        "video_name": video_name,
        "video_decode_frame": np.arange(3, 3 + T),
        "extrinsics": extrinsics,
        "intrinsics": np.array([[50.0, 0, SRC_W / 2], [0, 50.0, SRC_H / 2], [0, 0, 1]]),
        "anno_type": "right",
        "text": {"right": [("pick up the cup", (0, 6)), ("put it down", (6, T))], "left": [("None", (0, 0))]},
        "text_rephrase": {"right": [(["grab the cup", "lift the mug"], (0, 6))], "left": []},
        "avg_speed": 0.1,
        "left": release_hand(rng, extrinsics, "left", half),
        "right": release_hand(rng, extrinsics, "right", np.ones(T, bool)),
    }


def save_release(path: Path, episode: dict) -> None:
    hands = {side: {f: v for f, v in episode[side].items() if f != "_truth"} for side in ("left", "right")}
    clean = {**episode, **hands}
    np.save(path, np.array(clean, dtype=object), allow_pickle=True)


class Exploit:
    """A pickle payload that would run a shell command when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture()
def release(tmp_path: Path) -> tuple[Path, Path, dict]:
    annotations, videos = tmp_path / "anno", tmp_path / "videos"
    annotations.mkdir()
    videos.mkdir()
    x = np.linspace(0, 255, SRC_W).astype(np.int64)
    ramps = [((x + 16 * k) % 256).astype(np.uint8) for k in range(VIDEO_FRAMES)]
    frames = np.stack([np.broadcast_to(r[None, :, None], (SRC_H, SRC_W, 3)) for r in ramps])
    encode_video(frames, videos / "clip.mp4", 30.0, X264)
    episode = release_episode(0, "clip")
    save_release(annotations / "ep_0.npy", episode)
    return annotations, videos, episode


def test_malicious_pickle_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npy"
    np.save(path, np.array({"video_name": Exploit(marker)}, dtype=object), allow_pickle=True)
    with pytest.raises(UnsafePickleError, match=r"posix\.system|nt\.system"):
        load_npy_object(path)
    assert not marker.exists()


def test_safe_loader_reads_arrays_scalars_and_containers(tmp_path: Path) -> None:
    data = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "s": np.float64(1.5), "t": {"left": [("x", (0, 3))]}}
    np.save(tmp_path / "ok.npy", np.array(data, dtype=object), allow_pickle=True)
    loaded = load_npy_object(tmp_path / "ok.npy")
    np.testing.assert_array_equal(loaded["a"], data["a"])
    assert loaded["s"] == 1.5 and loaded["t"] == data["t"]


def test_non_object_and_truncated_files_are_format_errors(tmp_path: Path) -> None:
    np.save(tmp_path / "plain.npy", np.zeros(3))
    with pytest.raises(NpyFormatError, match="0-d object array"):
        load_npy_object(tmp_path / "plain.npy")
    np.save(tmp_path / "full.npy", np.array({"a": np.zeros(100)}, dtype=object), allow_pickle=True)
    data = (tmp_path / "full.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[: len(data) - 200])
    with pytest.raises(NpyFormatError, match="truncated"):
        load_npy_object(tmp_path / "cut.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy at all")
    with pytest.raises(NpyFormatError, match="not a valid .npy"):
        load_npy_object(tmp_path / "junk.npy")


def test_import_round_trips_keypoints_rotations_and_instructions(release, tmp_path: Path) -> None:
    annotations, videos, source = release
    out = tmp_path / "corpus"
    report = import_vitra(annotations, videos, out, size=SIZE, video=X264)
    assert report.imported == ["ep_0"] and not report.errors
    assert validate_corpus(out) == []
    with Corpus(out) as corpus:
        episode = corpus.episode("ep_0")
        frames = corpus.frames(0)
    assert episode.caption_source == "import" and episode.main_hand == "right"
    np.testing.assert_array_equal(episode.video_frame_index, source["video_decode_frame"])
    np.testing.assert_allclose(episode.intrinsics, [[25.0, 0, 16], [0, 25.0, 12], [0, 0, 1]], atol=1e-5)
    assert frames.shape == (T, SIZE[1], SIZE[0], 3)
    for side in ("left", "right"):
        track, released = episode.hands[side], source[side]
        kept = released["kept_frames"].astype(bool)
        np.testing.assert_array_equal(track.kept, kept)
        np.testing.assert_allclose(track.joints_world, released["joints_worldspace"], atol=1e-6)
        np.testing.assert_allclose(track.joints_cam, released["joints_camspace"], atol=1e-6)
        np.testing.assert_allclose(track.wrist_world[kept], released["joints_worldspace"][kept, 0], atol=1e-6)
        rotation, theta = released["_truth"]
        got = Rotation.from_rotvec(track.wrist_orient_world[kept]).as_matrix()
        np.testing.assert_allclose(got, rotation[kept], atol=1e-5)
        np.testing.assert_allclose(track.hand_pose[kept], theta[kept], atol=1e-5)
        refit = forward_kinematics(got, track.wrist_world[kept], track.hand_pose[kept], side=side)
        np.testing.assert_allclose(refit, released["joints_worldspace"][kept], atol=1e-5)
        np.testing.assert_array_equal(track.beta, 0.0)
        np.testing.assert_allclose(episode.extra["mano_beta"][side], released["beta"])
    right = episode.instructions["right"]
    assert [(i.text, i.start, i.end) for i in right] == [("pick up the cup", 0, 6), ("put it down", 6, T)]
    assert right[0].rephrases == ["grab the cup", "lift the mug"] and right[1].rephrases == []
    assert episode.instructions["left"] == []


def test_cli_records_bad_files_continues_and_resumes(release, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    annotations, videos, source = release
    marker = tmp_path / "pwned"
    np.save(annotations / "evil.npy", np.array({"x": Exploit(marker)}, dtype=object), allow_pickle=True)
    np.save(annotations / "plain.npy", np.zeros((2, 2)))
    data = (annotations / "ep_0.npy").read_bytes()
    (annotations / "cut.npy").write_bytes(data[: len(data) // 2])
    save_release(annotations / "novideo.npy", {**source, "video_name": "missing"})
    save_release(annotations / "ep_1.npy", release_episode(1, "clip"))
    out = tmp_path / "corpus"
    args = ["corpus", "import-vitra", f"--annotations={annotations}", f"--videos={videos}", f"--out={out}",
            f"--width={SIZE[0]}", f"--height={SIZE[1]}"]
    assert main(args) == 1
    text = capsys.readouterr().out
    assert "imported 2, already present 0, failed 4" in text
    assert "evil.npy: UnsafePickleError" in text and "refusing to load global" in text
    assert "plain.npy: NpyFormatError" in text and "cut.npy: NpyFormatError" in text
    assert "novideo.npy: FileNotFoundError: source video 'missing' not found" in text
    assert not marker.exists()
    assert validate_corpus(out) == []
    assert main(args) == 1
    assert "imported 0, already present 2, failed 4" in capsys.readouterr().out
    with Corpus(out) as corpus:
        assert sorted(corpus.episode_keys) == ["ep_0", "ep_1"]

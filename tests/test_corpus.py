"""Corpus write -> read: LeRobot v3 layout, exact round trip, random access, statistics, resume rules."""

from __future__ import annotations

import json
import pickle
import shutil
from copy import deepcopy
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from episode_factory import FPS, HEIGHT, WIDTH, assert_same_episode, corpus_episodes, make_episode

from vitra_bench import layout
from vitra_bench.corpus import Corpus, CorpusError, CorpusLockedError, CorpusWriter, VideoSettings, validate_corpus
from vitra_bench.corpus.video import check_frame_size

CAMERAS = {"ego": (WIDTH, HEIGHT), "side": (WIDTH, HEIGHT)}
FRAME_MAE = 6.0  # mean abs error per pixel channel of AV1 at CRF 30 on the factory's smooth frames


def open_writer(root: Path, **kwargs) -> CorpusWriter:
    kwargs.setdefault("max_episodes_per_shard", 2)
    return CorpusWriter(root, fps=FPS, cameras=kwargs.pop("cameras", CAMERAS), **kwargs)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """A 5-episode, 2-camera corpus in 3 shards, and the episodes written."""
    root = tmp_path_factory.mktemp("corpus")
    episodes = corpus_episodes(5, cameras=tuple(CAMERAS))
    with open_writer(root) as writer:
        for episode in episodes:
            assert writer.add(episode)
    return root, episodes


@pytest.fixture
def corpus(written: tuple[Path, list]) -> Corpus:
    with Corpus(written[0]) as c:
        yield c


def test_lerobot_v3_layout_and_info(written: tuple[Path, list]) -> None:
    root, episodes = written
    for shard in range(3):
        name = f"chunk-000/file-{shard:03d}"
        assert (root / f"data/{name}.parquet").is_file()
        assert (root / f"meta/episodes/{name}.parquet").is_file()
        for camera in CAMERAS:
            assert (root / f"videos/observation.images.{camera}/{name}.mp4").is_file()
    assert not (root / "staging").exists()
    info = json.loads((root / "meta/info.json").read_text())
    total_frames = sum(e.num_frames for e in episodes)
    assert info["codebase_version"] == "v3.0"
    assert info["fps"] == 30 and info["robot_type"] == "mano_hands"
    assert (info["total_episodes"], info["total_frames"]) == (5, total_frames)
    assert info["total_tasks"] == len(pd.read_parquet(root / "meta/tasks.parquet"))
    assert (info["chunks_size"], info["data_files_size_in_mb"], info["video_files_size_in_mb"]) == (1000, 100, 200)
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["video_path"] == "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    assert info["splits"] == {"train": "0:5"}
    features = info["features"]
    for key in ("frame_index", "episode_index", "index", "task_index"):
        assert (features[key]["dtype"], features[key]["shape"]) == ("int64", [1])
    assert (features["timestamp"]["dtype"], features["timestamp"]["shape"]) == ("float32", [1])
    expected_shapes = {
        "observation.state": ("float32", 122),
        "observation.state_mask": ("bool", 122),
        "action": ("float32", 102),
        "action_mask": ("bool", 102),
        "camera.extrinsics": ("float32", 16),
        "source.frame_index": ("int64", 1),
        "hand.left.kept": ("bool", 1),
        "hand.right.hand_pose": ("float32", 45),
        "hand.right.joints_world": ("float32", 63),
        "hand.left.wrist_orient_cam": ("float32", 3),
    }
    for key, (dtype, size) in expected_shapes.items():
        assert (features[key]["dtype"], features[key]["shape"]) == (dtype, [size]), key
    for key, ft in features.items():
        assert set(ft) >= {"dtype", "shape", "names"}, key
        if ft["names"] is not None and ft["dtype"] != "video":
            assert len(ft["names"]) == ft["shape"][0], key
    video = features["observation.images.ego"]
    assert (video["dtype"], video["shape"]) == ("video", [HEIGHT, WIDTH, 3])
    assert video["info"] | {"video.fps": 30} == video["info"]
    assert (video["info"]["video.codec"], video["info"]["video.pix_fmt"]) == ("av1", "yuv420p")
    assert (video["info"]["video.width"], video["info"]["video.height"]) == (WIDTH, HEIGHT)
    # Episodes metadata carries LeRobot's columns and ours.
    meta = pq.read_table(root / "meta/episodes/chunk-000/file-001.parquet").to_pandas()
    for column in (
        "episode_index",
        "tasks",
        "length",
        "data/chunk_index",
        "data/file_index",
        "dataset_from_index",
        "dataset_to_index",
        "videos/observation.images.side/from_timestamp",
        "videos/observation.images.side/to_timestamp",
        "meta/episodes/chunk_index",
        "meta/episodes/file_index",
        "stats/action/mean",
        "stats/observation.images.ego/std",
        "vitra/key",
        "vitra/intrinsics",
        "vitra/beta/left",
        "vitra/instructions",
        "vitra/extra",
    ):
        assert column in meta.columns, column
    assert list(meta["episode_index"]) == [2, 3]
    assert meta["videos/observation.images.ego/from_timestamp"].iloc[1] == pytest.approx(episodes[2].num_frames / FPS)
    assert validate_corpus(root) == []


def test_round_trip_is_exact(corpus: Corpus, written: tuple[Path, list]) -> None:
    _, episodes = written
    assert corpus.num_episodes == 5 and corpus.num_frames == sum(e.num_frames for e in episodes)
    assert corpus.episode_keys == [e.key for e in episodes]
    for index, want in enumerate(episodes):
        got = corpus.episode(want.key, with_frames=True)
        assert_same_episode(got, want)
        for camera in CAMERAS:
            assert got.frames[camera].shape == want.frames[camera].shape
            assert np.abs(got.frames[camera].astype(int) - want.frames[camera]).mean() < FRAME_MAE
        assert_same_episode(corpus.episode(index), want)


def test_frame_seeks_and_decodes_at_most_a_gop(corpus: Corpus, written: tuple[Path, list]) -> None:
    _, episodes = written
    for index in (4, 1):  # out of order, across shards
        want = episodes[index].frames["side"]
        for frame in (7, 0, len(want) - 1, 3):
            got = corpus.frame(index, frame, camera="side")
            assert corpus.last_decoded <= VideoSettings().gop
            assert np.abs(got.astype(int) - want[frame]).mean() < FRAME_MAE
            # The right frame, not a neighbour: it is closer to its own source than to the next one.
            other = want[frame + 1 if frame + 1 < len(want) else frame - 1]
            assert np.abs(got.astype(int) - want[frame]).mean() < np.abs(got.astype(int) - other).mean()
    assert corpus.frame(0, 0).shape == (HEIGHT, WIDTH, 3)  # the first camera by default
    with pytest.raises(IndexError):
        corpus.frame(0, episodes[0].num_frames)


def test_frame_table_holds_layout_vectors_and_tasks(corpus: Corpus, written: tuple[Path, list]) -> None:
    _, episodes = written
    start = 0
    for index, episode in enumerate(episodes):
        table = corpus.frame_table(index)
        actions, action_mask = layout.episode_step_actions(episode)
        states, state_mask = layout.episode_states(episode)
        assert np.array_equal(table["action"], actions) and np.array_equal(table["action_mask"], action_mask)
        assert np.array_equal(table["observation.state"], states)
        assert np.array_equal(table["observation.state_mask"], state_mask)
        assert np.array_equal(table["index"], np.arange(start, start + episode.num_frames))
        assert np.array_equal(table["episode_index"], np.full(episode.num_frames, index))
        assert np.array_equal(table["timestamp"], (np.arange(episode.num_frames) / FPS).astype(np.float32))
        tasks = [corpus.task_strings[i] for i in table["task_index"]]
        assert tasks == [episode.instruction_at(t) for t in range(episode.num_frames)]
        assert not table["action"].flags.writeable  # views into the cached shard
        start += episode.num_frames
    subset = corpus.frame_table("ep-3", columns=["action"])
    assert list(subset) == ["action"]


def test_stats_pool_episodes_exactly(corpus: Corpus, written: tuple[Path, list]) -> None:
    _, episodes = written
    for key, builder in (("action", layout.episode_step_actions), ("observation.state", layout.episode_states)):
        values, masks = zip(*(builder(e) for e in episodes), strict=True)
        want = layout.normalization_stats(np.concatenate(values), np.concatenate(masks))
        got = corpus.stats[key]
        for name in ("mean", "std", "min", "max"):
            np.testing.assert_allclose(
                getattr(got, name), getattr(want, name), rtol=1e-6, atol=1e-9, err_msg=f"{key}.{name}"
            )
        assert np.array_equal(got.count, want.count)
    joints = np.concatenate([e.hands["left"].joints_cam.reshape(e.num_frames, -1) for e in episodes]).astype(np.float64)
    got = corpus.stats["hand.left.joints_cam"]
    np.testing.assert_allclose(got.mean, joints.mean(0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.std, joints.std(0), rtol=1e-9, atol=1e-12)
    assert got.count.tolist() == [len(joints)]
    frames = np.concatenate([e.frames["ego"] for e in episodes]) / 255.0
    image = corpus.stats["observation.images.ego"]
    assert image.mean.shape == (3, 1, 1)
    np.testing.assert_allclose(image.mean.ravel(), frames.mean(axis=(0, 1, 2)), rtol=1e-9)
    np.testing.assert_allclose(image.std.ravel(), frames.std(axis=(0, 1, 2)), rtol=1e-6)


def test_resume_appends_shards_and_keeps_task_indices(written: tuple[Path, list], tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    shutil.copytree(written[0], root)
    before = pd.read_parquet(root / "meta/tasks.parquet")["task_index"].to_dict()
    more = corpus_episodes(3, first_seed=5, cameras=tuple(CAMERAS)) + [written[1][0]]
    with open_writer(root) as writer:
        assert writer.done_keys() == {e.key for e in written[1]}
        added = [writer.add(e) for e in more]
    assert added == [True, True, True, False]  # the duplicate key is skipped
    after = pd.read_parquet(root / "meta/tasks.parquet")["task_index"].to_dict()
    assert {task: after[task] for task in before} == before
    with Corpus(root) as corpus:
        assert corpus.episode_keys == [e.key for e in written[1] + more[:3]]
        assert_same_episode(corpus.episode(6), more[1])
        assert int(corpus.episodes["dataset_from_index"].iloc[5]) == sum(e.num_frames for e in written[1])
    assert (root / "data/chunk-000/file-004.parquet").exists()
    assert validate_corpus(root) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fps": 15}, "fps"),
        ({"robot_type": "xhand1"}, "robot_type"),
        ({"cameras": {"ego": (WIDTH, HEIGHT)}}, "cameras"),
        ({"cameras": {"ego": (WIDTH, HEIGHT), "side": (96, 64)}}, "cameras"),
        ({"video": VideoSettings(codec="libx264")}, "codec"),
    ],
)
def test_resume_rejects_an_incompatible_writer(written: tuple[Path, list], change: dict, message: str) -> None:
    kwargs = {"fps": FPS, "cameras": CAMERAS} | change
    with pytest.raises(CorpusError, match=message):
        CorpusWriter(written[0], **kwargs)


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    with open_writer(tmp_path / "c"):
        with pytest.raises(CorpusLockedError, match="another CorpusWriter"):
            open_writer(tmp_path / "c")
    open_writer(tmp_path / "c").close()  # released on close


def test_rejects_wrong_frames(tmp_path: Path) -> None:
    with open_writer(tmp_path / "c") as writer:
        with pytest.raises(CorpusError, match=r"camera 'side' frames are 96x64 \(WxH\), the corpus declares 64x48"):
            episode = make_episode("a", 1, cameras=("ego",))
            episode.frames["side"] = make_episode("b", 2, cameras=("side",), width=96, height=64).frames["side"]
            writer.add(episode)
        with pytest.raises(CorpusError, match="cameras"):
            writer.add(make_episode("c", 3, cameras=("ego",)))
        with pytest.raises(CorpusError, match="fps"):
            writer.add(make_episode("d", 4, cameras=tuple(CAMERAS), fps=15))
        assert writer.done_keys() == frozenset()


def test_frame_size_limits_are_explained() -> None:
    with pytest.raises(CorpusError, match="must be even"):
        check_frame_size(63, 48, VideoSettings())
    with pytest.raises(CorpusError, match="at least 4x4"):
        check_frame_size(2, 2, VideoSettings())
    check_frame_size(8, 6, VideoSettings())


def test_missing_codec_falls_back_to_h264_and_h264_round_trips(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="'no-such-codec' is not available.*falling back to 'libx264'"):
        settings = VideoSettings(codec="no-such-codec", crf=18).resolved()
    episodes = corpus_episodes(3)
    with open_writer(tmp_path / "c", cameras={"ego": (WIDTH, HEIGHT)}, video=settings) as writer:
        for episode in episodes:
            writer.add(episode)
    with Corpus(tmp_path / "c") as corpus:
        assert corpus.info["features"]["observation.images.ego"]["info"]["video.codec"] == "h264"
        got = corpus.frame(2, 5)
        assert corpus.last_decoded <= settings.gop
        assert np.abs(got.astype(int) - episodes[2].frames["ego"][5]).mean() < FRAME_MAE
    assert validate_corpus(tmp_path / "c") == []


def test_size_limit_cuts_shards_and_an_exception_keeps_staged_episodes(tmp_path: Path) -> None:
    root = tmp_path / "c"
    episodes = corpus_episodes(4)
    with pytest.raises(RuntimeError, match="producer failed"):
        with CorpusWriter(root, fps=FPS, cameras={"ego": (WIDTH, HEIGHT)}, data_files_size_in_mb=1e-9) as writer:
            writer.add(episodes[0])  # a shard of its own: the data size limit is always reached
            writer.max_episodes_per_shard, writer.data_files_size_in_mb = 10, 100
            writer.add(episodes[1])
            writer.add(episodes[2])
            raise RuntimeError("producer failed")
    assert len(list((root / "staging").iterdir())) == 2  # durable, not yet committed
    with Corpus(root) as corpus:
        assert corpus.episode_keys == ["ep-0"]
    with CorpusWriter(root, fps=FPS, cameras={"ego": (WIDTH, HEIGHT)}) as writer:
        assert writer.contains("ep-2") and not writer.contains("ep-3")
        writer.add(episodes[3])
    with Corpus(root) as corpus:
        assert corpus.episode_keys == [e.key for e in episodes]
        assert sorted(set(corpus.episodes["data/file_index"])) == [0, 1]
    assert validate_corpus(root) == []


def test_not_a_corpus(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="missing"):
        Corpus(tmp_path)
    (tmp_path / "something.txt").write_text("x")
    with pytest.raises(CorpusError, match="not empty"):
        open_writer(tmp_path)


def test_corpus_pickles_without_its_caches(corpus: Corpus, written: tuple[Path, list]) -> None:
    corpus.frame(1, 2)  # opens a container and loads a shard
    assert pickle.dumps(corpus)  # what a DataLoader worker receives must serialise...
    copy = deepcopy(corpus)  # ...and come back through __getstate__ (deepcopy takes the same path)
    assert np.array_equal(copy.frame(1, 2), corpus.frame(1, 2))
    assert np.array_equal(copy.frame_table(3)["action"], corpus.frame_table(3)["action"])


def test_shards_hold_few_row_groups(written: tuple[Path, list]) -> None:
    metadata = pq.ParquetFile(written[0] / "data/chunk-000/file-000.parquet").metadata
    assert metadata.num_row_groups == 1 and metadata.num_rows == sum(e.num_frames for e in written[1][:2])


def test_a_corpus_without_episodes_is_valid(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    with CorpusWriter(root, fps=30.0, cameras={"ego": (64, 48)}):
        pass
    assert validate_corpus(root) == []
    with Corpus(root) as corpus:
        assert corpus.num_episodes == 0 and corpus.num_frames == 0

"""``validate_corpus``: each kind of malformed corpus, built by corrupting a good one, names file and field."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from episode_factory import FPS, HEIGHT, WIDTH, corpus_episodes, smooth_frames

from vitra_bench.corpus import CorpusWriter, validate_corpus
from vitra_bench.corpus.video import VideoSettings, encode_video

DATA0 = "data/chunk-000/file-000.parquet"
DATA1 = "data/chunk-000/file-001.parquet"
META0 = "meta/episodes/chunk-000/file-000.parquet"
META1 = "meta/episodes/chunk-000/file-001.parquet"
VIDEO1 = "videos/observation.images.ego/chunk-000/file-001.mp4"


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """4 episodes in 2 shards of 2."""
    root = tmp_path_factory.mktemp("good") / "corpus"
    episodes = corpus_episodes(4)
    with CorpusWriter(root, fps=FPS, cameras={"ego": (WIDTH, HEIGHT)}, max_episodes_per_shard=2) as writer:
        for episode in episodes:
            writer.add(episode)
    return root, episodes


@pytest.fixture
def root(good: tuple[Path, list], tmp_path: Path) -> Path:
    copy = tmp_path / "corpus"
    shutil.copytree(good[0], copy)
    return copy


def messages(root: Path) -> list[str]:
    return [str(problem) for problem in validate_corpus(root)]


def assert_reported(root: Path, *expected: str) -> None:
    found = messages(root)
    for text in expected:
        assert any(text in message for message in found), f"{text!r} not in {found}"


def edit_json(path: Path, edit: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def edit_column(path: Path, name: str, edit: Callable[[list], list], type: pa.DataType | None = None) -> None:
    """Rewrite one column of a parquet file through Python lists (keeping its type unless given)."""
    table = pq.read_table(path)
    i = table.column_names.index(name)
    column = table.column(i)
    table = table.set_column(i, name, pa.array(edit(column.to_pylist()), type or column.type))
    pq.write_table(table, path)


def test_good_corpus_has_no_problems(root: Path) -> None:
    assert validate_corpus(root) == []


def test_missing_info(root: Path) -> None:
    (root / "meta/info.json").unlink()
    assert messages(root) == ["meta/info.json: missing"]


def test_info_not_json(root: Path) -> None:
    (root / "meta/info.json").write_text("{not json")
    assert_reported(root, "meta/info.json: not valid JSON")


def test_wrong_codebase_version(root: Path) -> None:
    edit_json(root / "meta/info.json", lambda info: info.update(codebase_version="v2.1"))
    assert messages(root) == ["meta/info.json: codebase_version 'v2.1', expected 'v3.0'"]


def test_missing_info_keys(root: Path) -> None:
    def drop(info: dict) -> None:
        del info["chunks_size"], info["splits"]

    edit_json(root / "meta/info.json", drop)
    assert messages(root) == ["meta/info.json: missing keys ['chunks_size', 'splits']"]


def test_feature_missing_from_data_file(root: Path) -> None:
    table = pq.read_table(root / DATA0)
    pq.write_table(table.drop_columns(["hand.left.joints_cam"]), root / DATA0)
    assert messages(root) == [f"{DATA0}: feature 'hand.left.joints_cam' missing (declared in meta/info.json)"]


def test_vector_column_of_wrong_length_or_dtype(root: Path) -> None:
    edit_column(root / DATA0, "action", lambda rows: [r[:101] for r in rows], pa.list_(pa.float32(), 101))
    edit_column(root / DATA1, "camera.extrinsics", lambda rows: rows, pa.list_(pa.float64(), 16))
    assert messages(root) == [
        f"{DATA0}: column 'action': float32 x 101, expected float32 x 102",
        f"{DATA1}: column 'camera.extrinsics': float64 x 16, expected float32 x 16",
    ]


def test_nan_in_a_float_column(root: Path) -> None:
    def poison(rows: list) -> list:
        rows[5][7] = float("nan")
        return rows

    edit_column(root / DATA0, "observation.state", poison)
    assert messages(root) == [f"{DATA0}: column 'observation.state': NaN or inf in 1 rows (first at index 5)"]


def test_episodes_reference_missing_files(root: Path) -> None:
    (root / DATA1).unlink()
    (root / VIDEO1).unlink()
    assert_reported(
        root,
        f"{META1}: episode 2: data/chunk_index, data/file_index name {DATA1}, which is missing",
        f"{META1}: episode 3: videos/observation.images.ego/chunk_index, file_index name {VIDEO1}, which is missing",
    )


def test_index_ranges_inconsistent(root: Path, good: tuple[Path, list]) -> None:
    lengths = [e.num_frames for e in good[1]]
    edit_column(root / META0, "dataset_to_index", lambda rows: [rows[0], rows[1] + 5])
    edit_column(root / META1, "episode_index", lambda rows: [rows[0], 7])
    edit_column(root / DATA0, "frame_index", lambda rows: rows[:3] + [99] + rows[4:])
    stop = lengths[0] + lengths[1]
    assert_reported(
        root,
        f"{META0}: episode 1: dataset_to_index {stop + 5} != dataset_from_index {lengths[0]} + length {lengths[1]}",
        f"{META1}: episode 2: dataset_from_index {stop} != previous episode's dataset_to_index {stop + 5}",
        f"{META1}: episode 7: episode_index 7, expected 3",
        f"{DATA0}: episode 0: frame_index at frame 3 is 99, expected 3",
    )


def test_task_index_out_of_range(root: Path) -> None:
    num_tasks = len(pq.read_table(root / "meta/tasks.parquet"))
    edit_column(root / DATA1, "task_index", lambda rows: [num_tasks + 3] + rows[1:])
    assert messages(root) == [
        f"{DATA1}: episode 2: task_index {num_tasks + 3} out of range: meta/tasks.parquet has {num_tasks} tasks"
    ]


def test_video_shorter_than_its_episodes(root: Path, good: tuple[Path, list]) -> None:
    encode_video(smooth_frames(5, WIDTH, HEIGHT, 0), root / VIDEO1, FPS, VideoSettings())
    end = (good[1][2].num_frames + good[1][3].num_frames) / FPS
    assert_reported(
        root,
        f"{VIDEO1}: video has 5 frames (0.1667 s) but episode 3 ends at "
        f"videos/observation.images.ego/to_timestamp {end:.4f} s ({META1})",
    )


def test_instructions_outside_the_episode_or_not_json(root: Path, good: tuple[Path, list]) -> None:
    def stretch(rows: list) -> list:
        data = json.loads(rows[1])
        main = good[1][1].main_hand
        data[main][0]["end"] = 500
        return [rows[0], json.dumps(data)]

    edit_column(root / META0, "vitra/instructions", stretch)
    edit_column(root / META1, "vitra/instructions", lambda rows: ["{broken", rows[1]])
    edit_column(root / META1, "vitra/extra", lambda rows: [rows[0], "not json"])
    main, length = good[1][1].main_hand, good[1][1].num_frames
    assert_reported(
        root,
        f"{META0}: episode 1: vitra/instructions: {main} span [0, 500) outside the episode's {length} frames",
        f"{META1}: episode 2: vitra/instructions is not valid JSON",
        f"{META1}: episode 3: vitra/extra is not valid JSON",
    )


def test_camera_keypoints_inconsistent_with_extrinsics(root: Path) -> None:
    def shift(rows: list) -> list:
        rows[4] = [v + (0.005 if k == 2 else 0.0) for k, v in enumerate(rows[4])]  # 5 mm on one coordinate
        return rows

    edit_column(root / DATA0, "hand.right.joints_cam", shift)
    assert messages(root) == [
        f"{DATA0}: episode 0: hand.right.joints_cam at frame 4 is 0.0050 m from camera.extrinsics @ "
        "hand.right.joints_world (tolerance 0.001 m)"
    ]


def test_totals_in_info_do_not_match(root: Path, good: tuple[Path, list]) -> None:
    frames = sum(e.num_frames for e in good[1])
    edit_json(root / "meta/info.json", lambda info: info.update(total_frames=frames + 1, total_episodes=5))
    assert_reported(
        root,
        f"meta/info.json: total_frames {frames + 1} != {frames} found in the corpus",
        "meta/info.json: total_episodes 5 != 4 found in the corpus",
    )


def test_unreferenced_shard_files_until_a_writer_recovers(root: Path) -> None:
    orphan = "data/chunk-000/file-002.parquet"
    shutil.copy(root / DATA1, root / orphan)
    assert messages(root) == [
        f"{orphan}: not referenced by any episode in meta/episodes (left by an interrupted writer? "
        "opening a CorpusWriter on the corpus removes it)"
    ]
    CorpusWriter(root, fps=FPS, cameras={"ego": (WIDTH, HEIGHT)}).close()
    assert not (root / orphan).exists()
    assert validate_corpus(root) == []


def test_keypoint_check_ignores_untracked_frames(root: Path) -> None:
    kept = np.array(pq.read_table(root / DATA0).column("hand.left.kept").to_pylist())
    frame = int(np.flatnonzero(~kept)[0])

    def garbage(rows: list) -> list:
        rows[frame] = [1.0] * 63
        return rows

    edit_column(root / DATA0, "hand.left.joints_cam", garbage)
    assert validate_corpus(root) == []

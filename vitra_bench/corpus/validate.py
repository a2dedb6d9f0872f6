"""``validate_corpus``: every way a corpus can be malformed, reported with the file and the field.

The validator trusts nothing the writer guarantees, so it also catches corpora written by other
tools or edited by hand. It reads one data shard at a time and decodes no video (frame counts come
from demuxing packets), so it runs on corpora larger than memory.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vitra_bench.corpus import metadata
from vitra_bench.corpus.arrow import column_to_numpy, matches
from vitra_bench.corpus.episode_table import METADATA_TYPES
from vitra_bench.corpus.errors import CorpusError
from vitra_bench.corpus.files import is_temp
from vitra_bench.corpus.schema import (
    CODEBASE_VERSION,
    DATA_PATH,
    INDEX_FEATURES,
    INFO_PATH,
    REQUIRED_INFO_KEYS,
    STATS_PATH,
    TASKS_PATH,
    VIDEO_PATH,
    Feature,
    data_path,
    features_from_info,
    hand_feature,
    shard_location,
    video_path,
)
from vitra_bench.corpus.video import probe_video
from vitra_bench.episode import HANDS, NUM_KEYPOINTS

KEYPOINT_TOLERANCE_M = 1e-3
TIMESTAMP_TOLERANCE_S = 1e-4


@dataclass(frozen=True)
class Problem:
    """One defect: ``file`` relative to the corpus root, ``message`` naming the field."""

    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class _EpisodeRef:
    """What the episodes metadata says about one episode, for checks against data and video files."""

    index: int
    meta_file: str
    start: int
    length: int
    videos: dict[str, tuple[str, float, float]]


def validate_corpus(root: str | Path, keypoint_tolerance_m: float = KEYPOINT_TOLERANCE_M) -> list[Problem]:
    """All problems found in the corpus at ``root``; an empty list means it is well formed."""
    return _Validator(Path(root), keypoint_tolerance_m).run()


def _type_name(feature: Feature) -> str:
    return f"{feature.dtype}" if feature.is_scalar else f"{feature.dtype} x {feature.size}"


def _describe(column_type: pa.DataType) -> str:
    """An Arrow column type in the features' vocabulary (``float32 x 102``)."""
    if pa.types.is_fixed_size_list(column_type):
        return f"{_describe(column_type.value_type)} x {column_type.list_size}"
    if pa.types.is_list(column_type) or pa.types.is_large_list(column_type):
        return f"variable-length list of {_describe(column_type.value_type)}"
    try:
        return np.dtype(column_type.to_pandas_dtype()).name
    except (NotImplementedError, TypeError):
        return str(column_type)


class _Validator:
    def __init__(self, root: Path, keypoint_tolerance_m: float) -> None:
        self.root = root
        self._data_files: dict[str, list[_EpisodeRef]] = defaultdict(list)
        self.tolerance = keypoint_tolerance_m
        self.problems: list[Problem] = []
        self.fps = 1.0
        self.features: dict[str, Feature] = {}
        self.tasks: dict[str, int] = {}
        # Running state of the episodes-metadata pass.
        self._next_episode, self._next_frame = 0, 0
        self._keys: dict[str, int] = {}

    @property
    def video_keys(self) -> list[str]:
        return [key for key, feature in self.features.items() if feature.dtype == "video"]

    def report(self, file: str, message: str) -> None:
        self.problems.append(Problem(file, message))

    def run(self) -> list[Problem]:
        info = self._check_info()
        if info is None:
            return self.problems
        self._load_tasks()
        self._check_stats_file()
        refs = self._check_episodes()
        by_video: dict[tuple[str, str], list[_EpisodeRef]] = defaultdict(list)
        for ref in refs:
            for key, (file, _, _) in ref.videos.items():
                by_video[(key, file)].append(ref)
        for file, episodes in self._data_files.items():
            self._check_data_file(file, episodes)
        for (key, file), episodes in by_video.items():
            self._check_video_file(key, file, episodes)
        self._check_unreferenced({*self._data_files, *(file for _, file in by_video)})
        self._check_totals(info, refs)
        return self.problems

    # ------------------------------------------------------------------ meta/info.json

    def _check_info(self) -> dict[str, Any] | None:
        path = self.root / INFO_PATH
        if not path.exists():
            self.report(INFO_PATH, "missing")
            return None
        try:
            info = json.loads(path.read_text())
        except ValueError as exc:
            self.report(INFO_PATH, f"not valid JSON ({exc})")
            return None
        if not isinstance(info, dict):
            self.report(INFO_PATH, "not a JSON object")
            return None
        if info.get("codebase_version") != CODEBASE_VERSION:
            self.report(INFO_PATH, f"codebase_version {info.get('codebase_version')!r}, expected {CODEBASE_VERSION!r}")
        missing = [key for key in REQUIRED_INFO_KEYS if key not in info]
        if missing:
            self.report(INFO_PATH, f"missing keys {missing}")
        for key, expected in (("data_path", DATA_PATH), ("video_path", VIDEO_PATH)):
            if key in info and info[key] != expected:
                self.report(INFO_PATH, f"{key} {info[key]!r}, expected {expected!r}")
        fps = info.get("fps")
        if not isinstance(fps, (int, float)) or fps <= 0:
            self.report(INFO_PATH, f"fps {fps!r} is not a positive number")
            return None
        self.fps = float(fps)
        if not isinstance(info.get("features"), dict):
            return None
        for key, feature in info["features"].items():
            absent = [k for k in ("dtype", "shape", "names") if not isinstance(feature, dict) or k not in feature]
            if absent:
                self.report(INFO_PATH, f"features.{key}: missing {absent}")
        try:
            self.features = features_from_info(info)
        except (KeyError, TypeError):
            return None
        for key in INDEX_FEATURES:
            want = Feature("float32" if key == "timestamp" else "int64", (1,))
            got = self.features.get(key)
            if got is None:
                self.report(INFO_PATH, f"features.{key}: missing (LeRobot requires it)")
            elif (got.dtype, got.shape) != (want.dtype, want.shape):
                self.report(
                    INFO_PATH, f"features.{key}: dtype {got.dtype} shape {list(got.shape)}, expected {want.dtype} [1]"
                )
        return info

    def _load_tasks(self) -> None:
        path = self.root / TASKS_PATH
        if not path.exists():
            self.report(TASKS_PATH, "missing")
            return
        try:
            table = metadata.read_tasks(self.root)
            self.tasks = {str(task): int(index) for task, index in table["task_index"].items()}
        except (OSError, ValueError, KeyError) as exc:
            self.report(TASKS_PATH, f"unreadable or without a task_index column ({exc})")
            return
        if sorted(self.tasks.values()) != list(range(len(self.tasks))):
            self.report(TASKS_PATH, f"task_index values are not 0..{len(self.tasks) - 1}, each once")

    def _check_stats_file(self) -> None:
        path = self.root / STATS_PATH
        if not path.exists():
            self.report(STATS_PATH, "missing")
            return
        try:
            stats = json.loads(path.read_text())
        except ValueError as exc:
            self.report(STATS_PATH, f"not valid JSON ({exc})")
            return
        for key, value in stats.items():
            absent = [s for s in ("mean", "std", "min", "max", "count") if s not in value]
            if absent:
                self.report(STATS_PATH, f"{key}: missing {absent}")

    # ------------------------------------------------------------------ meta/episodes

    def _check_episodes(self) -> list[_EpisodeRef]:
        refs: list[_EpisodeRef] = []
        required = [*metadata.location_columns(self.video_keys), *METADATA_TYPES]
        for shard, path in metadata.episode_shards(self.root):
            file = path.relative_to(self.root).as_posix()
            table = pq.read_table(path)
            absent = [c for c in required if c not in table.column_names]
            if absent:
                self.report(file, f"missing columns {absent}")
                continue
            for row in table.select(required).to_pylist():
                refs.append(self._check_episode_row(file, shard_location(shard), row))
        return refs

    def _check_episode_row(self, file: str, location: tuple[int, int], row: Mapping[str, Any]) -> _EpisodeRef:
        """Checks of one metadata row on its own and against the rows before it."""
        i, length = row["episode_index"], row["length"]
        start, stop = row["dataset_from_index"], row["dataset_to_index"]
        where = f"episode {i}"
        if i != self._next_episode:
            self.report(file, f"{where}: episode_index {i}, expected {self._next_episode} (numbered 0..N-1 in order)")
        if length < 1:
            self.report(file, f"{where}: length {length} < 1")
        if start != self._next_frame:
            self.report(
                file, f"{where}: dataset_from_index {start} != previous episode's dataset_to_index {self._next_frame}"
            )
        if stop != start + length:
            self.report(file, f"{where}: dataset_to_index {stop} != dataset_from_index {start} + length {length}")
        self._next_episode, self._next_frame = i + 1, stop
        if (row["meta/episodes/chunk_index"], row["meta/episodes/file_index"]) != location:
            self.report(file, f"{where}: meta/episodes/chunk_index, file_index do not name this file")
        key = row["vitra/key"]
        if key in self._keys:
            self.report(file, f"{where}: vitra/key {key!r} already used by episode {self._keys[key]}")
        self._keys[key] = i
        unknown = [t for t in row["tasks"] if t not in self.tasks]
        if unknown:
            self.report(file, f"{where}: tasks {unknown} not in {TASKS_PATH}")
        self._check_vitra_json(file, where, row, length)
        ref = _EpisodeRef(i, file, start, length, {})
        data_file = data_path(row["data/chunk_index"], row["data/file_index"])
        if (self.root / data_file).exists():
            self._data_files[data_file].append(ref)
        else:
            self.report(file, f"{where}: data/chunk_index, data/file_index name {data_file}, which is missing")
        for key in self.video_keys:
            self._check_video_span(file, where, row, key, ref)
        return ref

    def _check_video_span(self, file: str, where: str, row: Mapping[str, Any], key: str, ref: _EpisodeRef) -> None:
        video_file = video_path(key, row[f"videos/{key}/chunk_index"], row[f"videos/{key}/file_index"])
        t0, t1 = row[f"videos/{key}/from_timestamp"], row[f"videos/{key}/to_timestamp"]
        if abs((t1 - t0) - ref.length / self.fps) > TIMESTAMP_TOLERANCE_S:
            self.report(
                file,
                f"{where}: videos/{key}/to_timestamp - from_timestamp = {t1 - t0:.6f} s "
                f"!= length / fps = {ref.length / self.fps:.6f} s",
            )
        if (self.root / video_file).exists():
            ref.videos[key] = (video_file, t0, t1)
        else:
            self.report(file, f"{where}: videos/{key}/chunk_index, file_index name {video_file}, which is missing")

    def _check_vitra_json(self, file: str, where: str, row: Mapping[str, Any], length: int) -> None:
        try:
            json.loads(row["vitra/extra"])
        except (TypeError, ValueError) as exc:
            self.report(file, f"{where}: vitra/extra is not valid JSON ({exc})")
        try:
            instructions = json.loads(row["vitra/instructions"])
            items = {hand: instructions.get(hand, []) for hand in HANDS}
        except (TypeError, ValueError, AttributeError) as exc:
            self.report(file, f"{where}: vitra/instructions is not valid JSON with per-hand lists ({exc})")
            return
        for hand, entries in items.items():
            for entry in entries:
                try:
                    text, start, end = entry["text"], int(entry["start"]), int(entry["end"])
                except (TypeError, KeyError, ValueError):
                    self.report(file, f"{where}: vitra/instructions: {hand} entry {entry!r} lacks text/start/end")
                    continue
                if not 0 <= start <= end <= length:
                    self.report(
                        file,
                        f"{where}: vitra/instructions: {hand} span [{start}, {end}) "
                        f"outside the episode's {length} frames",
                    )
                if not str(text).strip():
                    self.report(file, f"{where}: vitra/instructions: {hand} instruction text is empty")
        main = row["vitra/main_hand"]
        if main not in HANDS:
            self.report(file, f"{where}: vitra/main_hand {main!r} is not 'left' or 'right'")
        elif not items[main]:
            self.report(file, f"{where}: vitra/instructions: main hand {main} has no instruction")

    # ------------------------------------------------------------------ data files

    def _check_data_file(self, file: str, episodes: list[_EpisodeRef]) -> None:
        schema = pq.read_schema(self.root / file)
        usable = []
        for key, feature in self.features.items():
            if feature.dtype == "video":
                continue
            if key not in schema.names:
                self.report(file, f"feature {key!r} missing (declared in {INFO_PATH})")
            elif not matches(schema.field(key).type, feature):
                self.report(
                    file, f"column {key!r}: {_describe(schema.field(key).type)}, expected {_type_name(feature)}"
                )
            else:
                usable.append(key)
        table = pq.read_table(self.root / file, columns=usable)
        columns = {name: column_to_numpy(table.column(name)) for name in usable}
        rows = len(next(iter(columns.values()))) if columns else 0
        for name, values in columns.items():
            if values.dtype.kind == "f":
                bad = ~np.isfinite(values).reshape(rows, -1).all(axis=1)
                if bad.any():
                    index = columns["index"][bad][0] if "index" in columns else int(np.flatnonzero(bad)[0])
                    self.report(file, f"column {name!r}: NaN or inf in {int(bad.sum())} rows (first at index {index})")
        if "index" not in columns:
            return
        covered = sum(ref.length for ref in episodes)
        if covered != rows:
            self.report(file, f"{rows} rows, but the episodes metadata places {covered} frames in this file")
        for ref in episodes:
            self._check_episode_rows(file, ref, columns)

    def _check_episode_rows(self, file: str, ref: _EpisodeRef, columns: Mapping[str, np.ndarray]) -> None:
        index = columns["index"]
        first = (
            int(np.searchsorted(index, ref.start))
            if np.all(index[:-1] <= index[1:])
            else int(np.argmax(index == ref.start))
        )
        sl = slice(first, first + ref.length)
        where = f"episode {ref.index}"
        if first + ref.length > len(index) or not np.array_equal(
            index[sl], np.arange(ref.start, ref.start + ref.length)
        ):
            self.report(
                file,
                f"{where}: index column does not hold {ref.start}..{ref.start + ref.length - 1} (from {ref.meta_file})",
            )
            return
        frame_index = np.arange(ref.length)
        checks = {
            "frame_index": (frame_index, lambda got, want: np.array_equal(got, want)),
            "episode_index": (np.full(ref.length, ref.index), lambda got, want: np.array_equal(got, want)),
            "timestamp": (
                frame_index / self.fps,
                lambda got, want: np.allclose(got, want, atol=TIMESTAMP_TOLERANCE_S, rtol=0),
            ),
        }
        for name, (want, ok) in checks.items():
            if name in columns and not ok(columns[name][sl], want):
                bad = int(np.flatnonzero(~np.isclose(columns[name][sl], want, atol=TIMESTAMP_TOLERANCE_S, rtol=0))[0])
                self.report(file, f"{where}: {name} at frame {bad} is {columns[name][sl][bad]}, expected {want[bad]}")
        if "task_index" in columns:
            tasks = columns["task_index"][sl]
            out = (tasks < 0) | (tasks >= len(self.tasks))
            if out.any():
                self.report(
                    file,
                    f"{where}: task_index {int(tasks[out][0])} out of range: {TASKS_PATH} has {len(self.tasks)} tasks",
                )
        self._check_keypoints(file, where, sl, columns)

    def _check_keypoints(self, file: str, where: str, sl: slice, columns: Mapping[str, np.ndarray]) -> None:
        if "camera.extrinsics" not in columns:
            return
        ext = columns["camera.extrinsics"][sl].astype(np.float64).reshape(-1, 4, 4)
        for hand in HANDS:
            names = [hand_feature(hand, n) for n in ("kept", "joints_cam", "joints_world")]
            if not all(n in columns for n in names):
                continue
            kept = columns[names[0]][sl].astype(bool)
            cam = columns[names[1]][sl].astype(np.float64).reshape(-1, NUM_KEYPOINTS, 3)
            world = columns[names[2]][sl].astype(np.float64).reshape(-1, NUM_KEYPOINTS, 3)
            expected = np.einsum("tij,tkj->tki", ext[:, :3, :3], world) + ext[:, None, :3, 3]
            error = np.where(kept, np.linalg.norm(cam - expected, axis=-1).max(axis=-1), 0.0)
            if error.max(initial=0.0) > self.tolerance:
                frame = int(np.argmax(error))
                self.report(
                    file,
                    f"{where}: {names[1]} at frame {frame} is {error[frame]:.4f} m from camera.extrinsics @ {names[2]} "
                    f"(tolerance {self.tolerance} m)",
                )

    # ------------------------------------------------------------------ videos and totals

    def _check_video_file(self, key: str, file: str, episodes: list[_EpisodeRef]) -> None:
        try:
            probe = probe_video(self.root / file)
        except (OSError, ValueError, CorpusError) as exc:
            self.report(file, f"unreadable video ({exc})")
            return
        feature = self.features[key]
        if (probe.height, probe.width) != feature.shape[:2]:
            self.report(
                file,
                f"frames are {probe.width}x{probe.height}, "
                f"features.{key}.shape says {feature.shape[1]}x{feature.shape[0]}",
            )
        duration = probe.num_frames / self.fps
        for ref in episodes:
            _, _, to_timestamp = ref.videos[key]
            if to_timestamp > duration + TIMESTAMP_TOLERANCE_S:
                self.report(
                    file,
                    f"video has {probe.num_frames} frames ({duration:.4f} s) but episode {ref.index} ends at "
                    f"videos/{key}/to_timestamp {to_timestamp:.4f} s ({ref.meta_file})",
                )

    def _check_unreferenced(self, referenced: set[str]) -> None:
        """Shard files no episode points to: what a killed writer leaves until a writer reopens the corpus."""
        for path in [*self.root.glob("data/chunk-*/file-*.parquet"), *self.root.glob("videos/*/chunk-*/file-*.mp4")]:
            file = path.relative_to(self.root).as_posix()
            if file not in referenced and not is_temp(path):
                self.report(
                    file,
                    "not referenced by any episode in meta/episodes (left by an interrupted writer? "
                    "opening a CorpusWriter on the corpus removes it)",
                )

    def _check_totals(self, info: Mapping[str, Any], refs: list[_EpisodeRef]) -> None:
        actual = {
            "total_episodes": len(refs),
            "total_frames": sum(ref.length for ref in refs),
            "total_tasks": len(self.tasks),
        }
        for key, value in actual.items():
            if key in info and info[key] != value:
                self.report(INFO_PATH, f"{key} {info[key]} != {value} found in the corpus")
        if "splits" in info and info["splits"] != {"train": f"0:{len(refs)}"}:
            self.report(INFO_PATH, f"splits {info['splits']} != {{'train': '0:{len(refs)}'}}")

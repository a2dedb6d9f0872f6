"""``Corpus``: read access to a corpus for training and inspection, built for random access.

A training sampler touches any frame of any episode; so data shards are read whole, once, into
numpy arrays per column (a small LRU of shards), and an episode's arrays are views into them;
video frames are decoded one at a time by seeking to the nearest keyframe through cached open
containers. The set of episodes is the one committed when the corpus was opened.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from vitra_bench.corpus import metadata
from vitra_bench.corpus.arrow import table_to_numpy
from vitra_bench.corpus.episode_table import METADATA_TYPES, episode_from_storage
from vitra_bench.corpus.errors import CorpusError
from vitra_bench.corpus.feature_stats import stats_from_json
from vitra_bench.corpus.schema import (
    CODEBASE_VERSION,
    INFO_PATH,
    REQUIRED_INFO_KEYS,
    STATS_PATH,
    Feature,
    cameras_from_info,
    data_path,
    features_from_info,
    video_key,
    video_path,
)
from vitra_bench.corpus.video import VideoFrameReader
from vitra_bench.episode import Episode
from vitra_bench.layout import NormStats


def load_info(root: Path) -> dict[str, Any]:
    """``meta/info.json``, checked just enough that the rest of the reader can rely on it."""
    path = root / INFO_PATH
    if not path.exists():
        raise CorpusError(f"{path}: missing; {root} is not a corpus")
    try:
        info = json.loads(path.read_text())
    except ValueError as exc:
        raise CorpusError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(info, dict):
        raise CorpusError(f"{path}: expected a JSON object")
    if info.get("codebase_version") != CODEBASE_VERSION:
        raise CorpusError(f"{path}: codebase_version {info.get('codebase_version')!r}, expected {CODEBASE_VERSION!r}")
    missing = [key for key in REQUIRED_INFO_KEYS if key not in info]
    if missing:
        raise CorpusError(f"{path}: missing keys {missing}")
    return info


class Corpus:
    """A corpus opened for reading.

    Args:
        root: corpus directory.
        max_cached_shards: data shards kept in memory as numpy arrays (each up to
            ``data_files_size_in_mb`` on disk, a little more in memory).
        max_open_videos: video containers kept open for seeking.
    """

    def __init__(self, root: str | Path, *, max_cached_shards: int = 8, max_open_videos: int = 16) -> None:
        self.root = Path(root)
        self.info = load_info(self.root)
        self.fps = float(self.info["fps"])
        self.features: dict[str, Feature] = features_from_info(self.info)
        self.cameras = cameras_from_info(self.info)
        self.episodes: pd.DataFrame = metadata.read_episodes(self.root)
        keys = self.episodes["vitra/key"] if "vitra/key" in self.episodes else []
        self._index_of_key = {str(key): i for i, key in enumerate(keys)}
        self._max_cached_shards = max_cached_shards
        self._shards: OrderedDict[tuple[int, int], dict[str, np.ndarray]] = OrderedDict()
        self._videos = VideoFrameReader(max_open_videos)

    # ------------------------------------------------------------------ corpus-level

    @property
    def num_episodes(self) -> int:
        return len(self.episodes)

    @property
    def num_frames(self) -> int:
        return int(self.episodes["length"].sum()) if self.num_episodes else 0

    @property
    def episode_keys(self) -> list[str]:
        return list(self._index_of_key)

    @cached_property
    def stats(self) -> dict[str, NormStats]:
        """``meta/stats.json`` per feature (masked features: over valid entries only)."""
        path = self.root / STATS_PATH
        if not path.exists():
            raise CorpusError(f"{path}: missing")
        return {key: stats_from_json(value) for key, value in json.loads(path.read_text()).items()}

    @cached_property
    def tasks(self) -> pd.DataFrame:
        """Task strings (the index) and their ``task_index``."""
        return metadata.read_tasks(self.root)

    @cached_property
    def task_strings(self) -> list[str]:
        """Task string by ``task_index``."""
        out = [""] * len(self.tasks)
        for task, index in self.tasks["task_index"].items():
            out[int(index)] = str(task)
        return out

    def episode_index(self, index_or_key: int | str) -> int:
        """Position of an episode given its index or its ``Episode.key``."""
        if isinstance(index_or_key, str):
            if index_or_key not in self._index_of_key:
                raise KeyError(f"no episode with key {index_or_key!r} in {self.root}")
            return self._index_of_key[index_or_key]
        index = int(index_or_key)
        if not 0 <= index < self.num_episodes:
            raise IndexError(f"episode {index} out of range (corpus has {self.num_episodes})")
        return index

    # ------------------------------------------------------------------ per-frame arrays

    def _data_shard(self, chunk: int, file: int) -> dict[str, np.ndarray]:
        key = (chunk, file)
        shard = self._shards.pop(key, None)
        if shard is None:
            path = self.root / data_path(chunk, file)
            if not path.exists():
                raise CorpusError(f"{path}: data file is missing")
            shard = table_to_numpy(pq.read_table(path))
        self._shards[key] = shard
        while len(self._shards) > self._max_cached_shards:
            self._shards.popitem(last=False)
        return shard

    def frame_table(self, episode: int | str, columns: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Per-frame arrays of one episode: (T,) or (T, D) read-only views into the cached shard.

        ``columns`` selects features (default: every column of the data file).
        """
        row = self.episodes.iloc[self.episode_index(episode)]
        shard = self._data_shard(int(row["data/chunk_index"]), int(row["data/file_index"]))
        start, length = int(row["dataset_from_index"]), int(row["length"])
        first = int(np.searchsorted(shard["index"], start))
        if first >= len(shard["index"]) or shard["index"][first] != start:
            raise CorpusError(
                f"{data_path(int(row['data/chunk_index']), int(row['data/file_index']))}: "
                f"no row with index {start} (episode {row['episode_index']})"
            )
        out = {}
        for name in columns if columns is not None else shard:
            if name not in shard:
                raise KeyError(f"no column {name!r} in the data files of {self.root}")
            view = shard[name][first : first + length]
            view.flags.writeable = False
            out[name] = view
        return out

    # ------------------------------------------------------------------ episodes and frames

    def episode(self, index_or_key: int | str, with_frames: bool = False) -> Episode:
        """The stored ``Episode``, exactly as written (frames decoded only with ``with_frames``)."""
        index = self.episode_index(index_or_key)
        row = self.episodes.iloc[index]
        missing = [key for key in METADATA_TYPES if key not in row]
        if missing:
            raise CorpusError(f"{self.root}: episodes metadata lacks VITRA columns {missing}; not a vitra-bench corpus")
        columns = {name: np.array(values) for name, values in self.frame_table(index).items()}
        frames = {camera: self.frames(index, camera) for camera in self.cameras} if with_frames else None
        return episode_from_storage(row, columns, frames)

    def _video_location(self, index: int, camera: str | None) -> tuple[Path, int, int]:
        """Video file of an episode's camera, its first frame in that file, and its length."""
        if not self.cameras:
            raise CorpusError(f"{self.root}: corpus has no cameras")
        camera = next(iter(self.cameras)) if camera is None else camera
        if camera not in self.cameras:
            raise KeyError(f"no camera {camera!r}; the corpus has {list(self.cameras)}")
        key = video_key(camera)
        row = self.episodes.iloc[index]
        path = self.root / video_path(key, int(row[f"videos/{key}/chunk_index"]), int(row[f"videos/{key}/file_index"]))
        return path, round(float(row[f"videos/{key}/from_timestamp"]) * self.fps), int(row["length"])

    def frame(self, episode: int | str, frame: int, camera: str | None = None) -> np.ndarray:
        """One (H, W, 3) uint8 RGB frame, decoded by seeking (at most a GOP of frames is decoded).

        ``camera`` defaults to the corpus's first camera.
        """
        index = self.episode_index(episode)
        path, first, length = self._video_location(index, camera)
        if not 0 <= frame < length:
            raise IndexError(f"frame {frame} out of range for episode {index} of {length} frames")
        return self._videos.read(path, first + frame, self.fps)[0]

    def frames(
        self, episode: int | str, camera: str | None = None, start: int = 0, stop: int | None = None
    ) -> np.ndarray:
        """Frames ``start..stop-1`` of an episode as (N, H, W, 3) uint8, decoded in one sequential pass."""
        index = self.episode_index(episode)
        path, first, length = self._video_location(index, camera)
        stop = length if stop is None else stop
        if not 0 <= start < stop <= length:
            raise IndexError(f"frames [{start}, {stop}) out of range for episode {index} of {length} frames")
        return self._videos.read(path, first + start, self.fps, count=stop - start)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without caches, so a spawned DataLoader worker opens its own shards and containers."""
        state = self.__dict__.copy()
        state["_shards"] = OrderedDict()
        state["_videos"] = VideoFrameReader(self._videos.max_open)
        return state

    @property
    def last_decoded(self) -> int:
        """Frames decoded by the last video read (a bound check for random access)."""
        return self._videos.last_decoded

    def close(self) -> None:
        self._videos.close()
        self._shards.clear()

    def __enter__(self) -> Corpus:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

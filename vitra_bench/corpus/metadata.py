"""The corpus-level tables: ``meta/episodes/*.parquet`` (one row per episode) and ``meta/tasks.parquet``.

Episode rows carry LeRobot v3's columns (file locations, index ranges, video time spans, flattened
``stats/<feature>/<stat>``) plus the ``vitra/...`` metadata. Episodes-metadata shards are written
last when a shard is committed, so *their* presence defines which episodes exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vitra_bench.corpus.episode_table import METADATA_TYPES
from vitra_bench.corpus.errors import CorpusError
from vitra_bench.corpus.feature_stats import STAT_NAMES, pool
from vitra_bench.corpus.files import is_temp
from vitra_bench.corpus.schema import EPISODES_GLOB, TASKS_PATH, Feature, shard_number
from vitra_bench.layout import NormStats

_SHARD_RE = re.compile(r"chunk-(\d+)/file-(\d+)\.(parquet|mp4)$")


def shard_of(path: Path) -> int | None:
    """The shard number of a data, video or episodes file from its ``chunk-XXX/file-YYY`` name."""
    match = _SHARD_RE.search(path.as_posix())
    return shard_number(int(match.group(1)), int(match.group(2))) if match else None


def episode_shards(root: Path) -> list[tuple[int, Path]]:
    """``(shard, path)`` of every committed episodes-metadata file, in shard order."""
    found = [(shard_of(p), p) for p in root.glob(EPISODES_GLOB) if not is_temp(p)]
    return sorted((s, p) for s, p in found if s is not None)


def location_columns(video_keys: Iterable[str]) -> dict[str, pa.DataType]:
    """LeRobot v3's per-episode location columns and their types."""
    i64, f64 = pa.int64(), pa.float64()
    columns = {
        "episode_index": i64,
        "tasks": pa.list_(pa.string()),
        "length": i64,
        "data/chunk_index": i64,
        "data/file_index": i64,
        "dataset_from_index": i64,
        "dataset_to_index": i64,
    }
    for key in video_keys:
        columns |= {
            f"videos/{key}/chunk_index": i64,
            f"videos/{key}/file_index": i64,
            f"videos/{key}/from_timestamp": f64,
            f"videos/{key}/to_timestamp": f64,
        }
    return columns | {"meta/episodes/chunk_index": i64, "meta/episodes/file_index": i64}


def episodes_table(rows: Sequence[Mapping[str, Any]], video_keys: Sequence[str]) -> pa.Table:
    """One episodes-metadata shard; stats columns are typed by inference (nested lists for images)."""
    types = location_columns(video_keys)
    stats_keys = [k for k in rows[0] if k.startswith("stats/")]
    arrays = {key: pa.array([row[key] for row in rows], type) for key, type in types.items()}
    arrays |= {key: pa.array([row[key] for row in rows]) for key in stats_keys}
    arrays |= {key: pa.array([row[key] for row in rows], type) for key, type in METADATA_TYPES.items()}
    return pa.table(arrays)


def read_episodes(root: Path, columns: Sequence[str] | None = None, with_stats: bool = False) -> pd.DataFrame:
    """All episode rows, in order; per-episode stats columns are left out unless asked for (they are large)."""
    frames = []
    for _, path in episode_shards(root):
        names = pq.read_schema(path).names
        wanted = [n for n in names if (columns is None or n in columns) and (with_stats or not n.startswith("stats/"))]
        frames.append(pq.read_table(path, columns=wanted).to_pandas())
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _stacked(column: pa.ChunkedArray, rows: int) -> np.ndarray:
    """A column of (nested) lists with equal sizes per row as a (rows, size) array."""
    array = column.combine_chunks()
    while pa.types.is_list(array.type) or pa.types.is_fixed_size_list(array.type) or pa.types.is_large_list(array.type):
        array = pc.list_flatten(array)
    return array.to_numpy(zero_copy_only=False).reshape(rows, -1)


def pooled_stats(table: pa.Table, features: Mapping[str, Feature]) -> dict[str, NormStats]:
    """The statistics over all episodes of one episodes-metadata table, feature by feature."""
    out = {}
    for key, feature in features.items():
        columns = [f"stats/{key}/{name}" for name in STAT_NAMES]
        if not all(c in table.column_names for c in columns):
            raise CorpusError(f"episodes metadata lacks stats columns of feature {key!r}")
        stacked = [_stacked(table.column(c), table.num_rows) for c in columns]
        if feature.dtype == "video":
            stacked[:4] = [s.reshape(table.num_rows, 3, 1, 1) for s in stacked[:4]]
        out[key] = pool(NormStats(*stacked))
    return out


def tasks_table(tasks: Sequence[str]) -> pa.Table:
    """``meta/tasks.parquet`` as LeRobot writes it: task strings as the pandas index, ``task_index`` column."""
    frame = pd.DataFrame(
        {"task_index": np.arange(len(tasks), dtype=np.int64)}, index=pd.Index(list(tasks), name="task")
    )
    return pa.Table.from_pandas(frame, preserve_index=True)


def read_tasks(root: Path) -> pd.DataFrame:
    """Tasks indexed by string, with their ``task_index``; empty when the corpus has none yet."""
    path = root / TASKS_PATH
    if not path.exists():
        return pd.DataFrame({"task_index": np.zeros(0, np.int64)}, index=pd.Index([], name="task", dtype=object))
    return pd.read_parquet(path)

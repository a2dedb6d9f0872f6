"""``CorpusWriter``: adds episodes to a LeRobot v3 corpus so that a crash never loses or duplicates one.

Protocol (each step durable before the next: temp name, fsync, rename, fsync of the directory):

1. ``add`` *stages* the episode: its frame table, one encoded mp4 per camera and its metadata go
   into ``staging/ep-<seq>/``, committed by renaming the finished directory. Once ``add``
   returns, the episode survives any crash.
2. When the staged episodes fill a shard (data or video size, or an episode count), or on
   ``close``, they are *consolidated* into shard n: ``data/.../file-n.parquet`` (frames
   concatenated, indices assigned), ``videos/<key>/.../file-n.mp4`` (packets copied, not
   re-encoded), then ``meta/tasks.parquet`` (append-only, so a superset is harmless), then
   ``meta/episodes/.../file-n.parquet``, written LAST: it is the commit marker of the shard.
3. ``meta/info.json`` and ``meta/stats.json`` are rewritten from the committed state, and the
   staged directories are deleted.

Opening a corpus recovers from a crash at any point: temporary files are deleted; data and video
files of shards without their episodes-metadata file are deleted (their episodes are still
staged); staged episodes whose key is already committed are deleted (crash between commit and
cleanup); the rest are committed with the next shard; ``info.json`` and ``stats.json`` are
recomputed from the committed episodes metadata. An ``fcntl`` lock keeps out a second writer.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vitra_bench.corpus import feature_stats as fstats
from vitra_bench.corpus import metadata, staging
from vitra_bench.corpus.arrow import table_from_columns
from vitra_bench.corpus.episode_table import episode_metadata, frame_columns, frame_tasks
from vitra_bench.corpus.errors import CorpusError
from vitra_bench.corpus.files import (
    LOCK_NAME,
    WriterLock,
    atomic_write,
    atomic_write_json,
    atomic_write_table,
    fsync_dir,
    remove_debris,
)
from vitra_bench.corpus.schema import (
    COMMIT_FEATURES,
    DATA_FILES_SIZE_IN_MB,
    HUMAN_ROBOT_TYPE,
    INFO_PATH,
    MASKED_FEATURES,
    STAGING_DIR,
    STATS_PATH,
    TASKS_PATH,
    VIDEO_FILES_SIZE_IN_MB,
    build_features,
    build_info,
    cameras_from_info,
    data_path,
    data_schema,
    episodes_path,
    shard_location,
    video_key,
    video_path,
)
from vitra_bench.corpus.video import VideoSettings, check_frame_size, encode_video, remux_videos
from vitra_bench.episode import Episode
from vitra_bench.layout import NormStats

log = logging.getLogger(__name__)

MIB = 1024 * 1024
ROW_GROUP_ROWS = 16384


class CorpusWriter:
    """Creates a corpus at ``root`` or resumes the one there; usable as a context manager.

    Args:
        root: corpus directory (created if missing).
        fps: frame rate of every episode (LeRobot corpora have one).
        cameras: ``camera name -> (width, height)``; every episode must bring frames of exactly
            these cameras and sizes. Stored as ``observation.images.<camera>``.
        robot_type: ``"mano_hands"`` for human corpora.
        video: encoder settings (LeRobot's AV1 defaults; falls back to H.264 with a warning when
            the AV1 encoder is missing).
        data_files_size_in_mb / video_files_size_in_mb: a shard is consolidated once its staged
            frame tables (or one camera's staged videos) reach this size, as LeRobot sizes files.
        max_episodes_per_shard: also consolidate after this many episodes (``None``: no limit).

    Resuming requires the same fps, cameras, robot type, video codec and feature schema as the
    corpus was created with; anything else raises ``CorpusError`` rather than mixing shards.
    Adding an episode whose key is already in the corpus (committed or staged) is a no-op that
    returns ``False``, so a producer can simply re-run over its whole input after a crash.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        fps: float,
        cameras: Mapping[str, tuple[int, int]],
        robot_type: str = HUMAN_ROBOT_TYPE,
        video: VideoSettings | None = None,
        data_files_size_in_mb: float = DATA_FILES_SIZE_IN_MB,
        video_files_size_in_mb: float = VIDEO_FILES_SIZE_IN_MB,
        max_episodes_per_shard: int | None = None,
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        if max_episodes_per_shard is not None and max_episodes_per_shard < 1:
            raise ValueError(f"max_episodes_per_shard must be at least 1, got {max_episodes_per_shard}")
        self.root = Path(root)
        self.fps = float(fps)
        self.robot_type = robot_type
        self.video = (video or VideoSettings()).resolved()
        self.cameras = {str(name): (int(w), int(h)) for name, (w, h) in cameras.items()}
        for name, (w, h) in self.cameras.items():
            if not name or "/" in name:
                raise ValueError(f"camera name {name!r} must be non-empty and contain no '/'")
            check_frame_size(w, h, self.video)
        self.data_files_size_in_mb = data_files_size_in_mb
        self.video_files_size_in_mb = video_files_size_in_mb
        self.max_episodes_per_shard = max_episodes_per_shard

        self.features = build_features(self.cameras, self.fps, self.video.codec_name, self.video.pix_fmt)
        self._video_keys = [video_key(c) for c in self.cameras]
        self._data_schema = data_schema(self.features)
        frame = {k: f for k, f in self.features.items() if f.dtype != "video"}
        self._staged_features = {k: f for k, f in frame.items() if k not in COMMIT_FEATURES}

        self._committed_keys: set[str] = set()
        self._pending: list[staging.StagedEpisode] = []
        self._staged_keys: set[str] = set()
        self._pending_bytes: dict[str, int] = {}
        self._tasks: dict[str, int] = {}
        self._stats: dict[str, NormStats] = {}
        self._num_shards = 0
        self._total_episodes = 0
        self._total_frames = 0
        self._next_seq = 0

        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = WriterLock(self.root)
        self._lock.acquire()
        try:
            self._open()
        except BaseException:
            self._lock.release()
            raise

    # ------------------------------------------------------------------ opening and recovery

    def _open(self) -> None:
        info_file = self.root / INFO_PATH
        if info_file.exists():
            try:
                info = json.loads(info_file.read_text())
            except ValueError as exc:
                raise CorpusError(f"{info_file}: not valid JSON ({exc}); run validate_corpus") from exc
            self._check_compatible(info)
        elif any(p.name != LOCK_NAME for p in self.root.iterdir()):
            raise CorpusError(f"{self.root}: directory is not empty and has no {INFO_PATH}; not a corpus to resume")
        for sub in ("meta", "data", "videos", STAGING_DIR):
            for path in remove_debris(self.root / sub):
                log.info("removed debris of an interrupted writer: %s", path)
        self._load_committed()
        self._remove_orphans()
        self._tasks = {task: int(i) for task, i in metadata.read_tasks(self.root)["task_index"].items()}
        for staged in staging.list_staged(self.root / STAGING_DIR):
            if staged.key in self._committed_keys:
                staging.discard(staged)  # committed before a crash interrupted the cleanup
            else:
                self._track(staged)
            self._next_seq = max(self._next_seq, staged.seq + 1)
        self._write_summaries()

    def _check_compatible(self, info: Mapping[str, Any]) -> None:
        ours = build_info(
            fps=self.fps,
            robot_type=self.robot_type,
            features=self.features,
            total_episodes=0,
            total_frames=0,
            total_tasks=0,
        )
        differences = []
        if not math.isclose(float(info.get("fps", -1)), self.fps, rel_tol=1e-9):
            differences.append(f"fps {info.get('fps')} != {self.fps}")
        if info.get("robot_type") != self.robot_type:
            differences.append(f"robot_type {info.get('robot_type')!r} != {self.robot_type!r}")
        theirs_cameras = cameras_from_info(info)
        if theirs_cameras != self.cameras:
            differences.append(f"cameras (name: (width, height)) {theirs_cameras} != {self.cameras}")
        elif info.get("features") != ours["features"]:
            differences.append("feature schema or video codec differs (was it written by another version or codec?)")
        if differences:
            raise CorpusError(
                f"{self.root}: existing corpus is incompatible with this writer: " + "; ".join(differences)
            )

    def _load_committed(self) -> None:
        """Committed state from the episodes-metadata shards (the only source of truth)."""
        for expected, (shard, path) in enumerate(metadata.episode_shards(self.root)):
            if shard != expected:
                raise CorpusError(f"{path}: episodes metadata shard {shard} found where shard {expected} was expected")
            table = pq.read_table(path)
            keys = table.column("vitra/key").to_pylist()
            self._committed_keys.update(keys)
            self._total_episodes += table.num_rows
            self._total_frames += int(table.column("length").to_numpy().sum())
            self._stats = fstats.merge(self._stats, metadata.pooled_stats(table, self.features))
            self._num_shards = shard + 1

    def _remove_orphans(self) -> None:
        """Data and video files of shards whose commit marker never got written."""
        for path in [
            *(self.root / "data").glob("chunk-*/file-*.parquet"),
            *(self.root / "videos").glob("*/chunk-*/file-*.mp4"),
        ]:
            shard = metadata.shard_of(path)
            if shard is not None and shard >= self._num_shards:
                log.info("removing %s: its shard was never committed", path)
                path.unlink()
                fsync_dir(path.parent)

    # ------------------------------------------------------------------ public API

    def contains(self, key: str) -> bool:
        """Whether an episode with ``key`` was added (committed or staged): skip it when producing."""
        return key in self._committed_keys or key in self._staged_keys

    def done_keys(self) -> frozenset[str]:
        """Keys of every episode added so far, committed or staged."""
        return frozenset(self._committed_keys | self._staged_keys)

    def add(self, episode: Episode) -> bool:
        """Durably stage ``episode`` (and commit a shard when one is full).

        Returns ``False`` without writing when the key is already in the corpus.
        """
        if not self._lock.held:
            raise CorpusError(f"{self.root}: writer is closed")
        if self.contains(episode.key):
            log.debug("episode %r already in the corpus; skipped", episode.key)
            return False
        self._check_episode(episode)
        columns = frame_columns(episode)
        tasks = frame_tasks(episode)
        stats = self._episode_stats(columns, episode)
        table = table_from_columns(columns, self._staged_features).append_column("task", pa.array(tasks, pa.string()))

        def fill(directory: Path) -> None:
            pq.write_table(table, directory / staging.FRAMES_FILE)
            for camera, key in zip(self.cameras, self._video_keys, strict=True):
                encode_video(episode.frames[camera], directory / f"{key}.mp4", self.fps, self.video)

        meta = {
            "key": episode.key,
            "length": episode.num_frames,
            "tasks": list(dict.fromkeys(tasks)),
            "metadata": episode_metadata(episode),
            "stats": {key: fstats.stats_to_json(s) for key, s in stats.items()},
        }
        staged = staging.stage(self.root / STAGING_DIR, self._next_seq, meta, fill)
        self._next_seq += 1
        self._track(staged)
        if self._shard_full():
            self.flush()
        return True

    def flush(self) -> None:
        """Commit every staged episode into new shards now (``close`` does this too)."""
        while self._pending:
            group = self._pending[: self._group_size()]
            self._consolidate(group)
            self._pending = self._pending[len(group) :]
            self._pending_bytes = {}
            for staged in self._pending:
                self._count_bytes(staged)

    def close(self) -> None:
        """Commit staged episodes, update ``info.json``/``stats.json`` and release the lock."""
        if not self._lock.held:
            return
        try:
            self.flush()
            self._write_summaries()
            staging_dir = self.root / STAGING_DIR
            if staging_dir.exists() and not any(staging_dir.iterdir()):
                staging_dir.rmdir()
                fsync_dir(self.root)
        finally:
            self._lock.release()

    def __enter__(self) -> CorpusWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            # Staged episodes are already durable; the next writer commits them. Do not risk a
            # second failure (or a long consolidation) while an exception is propagating.
            self._lock.release()

    # ------------------------------------------------------------------ staging

    def _check_episode(self, episode: Episode) -> None:
        if not math.isclose(episode.fps, self.fps, rel_tol=1e-9):
            raise CorpusError(f"episode {episode.key!r}: fps {episode.fps} differs from the corpus's {self.fps}")
        if set(episode.frames) != set(self.cameras):
            raise CorpusError(
                f"episode {episode.key!r}: has frames of cameras {sorted(episode.frames)}, "
                f"the corpus declares {sorted(self.cameras)}"
            )
        for camera, (width, height) in self.cameras.items():
            got = episode.frames[camera].shape
            if got[1:3] != (height, width):
                raise CorpusError(
                    f"episode {episode.key!r}: camera {camera!r} frames are {got[2]}x{got[1]} (WxH), "
                    f"the corpus declares {width}x{height}"
                )

    def _episode_stats(self, columns: Mapping[str, np.ndarray], episode: Episode) -> dict[str, NormStats]:
        stats = {}
        for key in self._staged_features:
            if key in MASKED_FEATURES:
                stats[key] = fstats.masked_stats(columns[key], columns[MASKED_FEATURES[key]])
            else:
                stats[key] = fstats.vector_stats(columns[key])
        for camera, key in zip(self.cameras, self._video_keys, strict=True):
            stats[key] = fstats.image_stats(episode.frames[camera])
        return stats

    def _track(self, staged: staging.StagedEpisode) -> None:
        self._pending.append(staged)
        self._staged_keys.add(staged.key)
        self._count_bytes(staged)

    def _count_bytes(self, staged: staging.StagedEpisode) -> None:
        sizes = {"data": staged.data_bytes(), **{key: staged.video_bytes(key) for key in self._video_keys}}
        for name, size in sizes.items():
            self._pending_bytes[name] = self._pending_bytes.get(name, 0) + size

    def _limits(self) -> dict[str, float]:
        return {
            "data": self.data_files_size_in_mb * MIB,
            **{key: self.video_files_size_in_mb * MIB for key in self._video_keys},
        }

    def _shard_full(self) -> bool:
        if self.max_episodes_per_shard is not None and len(self._pending) >= self.max_episodes_per_shard:
            return True
        return any(self._pending_bytes.get(name, 0) >= limit for name, limit in self._limits().items())

    def _group_size(self) -> int:
        """How many of the pending episodes make the next shard (at least one, however large)."""
        limits = self._limits()
        used: dict[str, int] = {}
        for n, staged in enumerate(self._pending):
            if self.max_episodes_per_shard is not None and n >= self.max_episodes_per_shard:
                return n
            sizes = {"data": staged.data_bytes(), **{key: staged.video_bytes(key) for key in self._video_keys}}
            if n > 0 and any(used.get(k, 0) + v > limits[k] for k, v in sizes.items()):
                return n
            for k, v in sizes.items():
                used[k] = used.get(k, 0) + v
        return len(self._pending)

    # ------------------------------------------------------------------ consolidation

    def _task_index(self, task: str) -> int:
        index = self._tasks.get(task)
        if index is None:
            index = self._tasks[task] = len(self._tasks)
        return index

    def _consolidate(self, group: list[staging.StagedEpisode]) -> None:
        """Commit ``group`` as the next shard; see the module docstring for the order of writes."""
        shard = self._num_shards
        chunk, file = shard_location(shard)
        num_tasks_before = len(self._tasks)
        rows: list[dict[str, Any]] = []

        def write_data(tmp: Path) -> None:
            start = self._total_frames
            with pq.ParquetWriter(tmp, self._data_schema) as out:
                batch: list[pa.Table] = []
                for n, staged in enumerate(group):
                    table = pq.read_table(staged.frames_file)
                    length, tasks = table.num_rows, table.column("task").to_pylist()
                    assigned = {
                        "episode_index": np.full(length, self._total_episodes + n, np.int64),
                        "index": np.arange(start, start + length, dtype=np.int64),
                        "task_index": np.array([self._task_index(t) for t in tasks], np.int64),
                    }
                    columns = [
                        pa.array(assigned[name], pa.int64()) if name in assigned else table.column(name)
                        for name in self._data_schema.names
                    ]
                    batch.append(pa.table(columns, schema=self._data_schema))
                    rows.append(self._episode_row(staged, n, start, assigned, chunk, file))
                    start += length
                    # Episodes are short: one row group each would bloat the footer and slow reads.
                    if sum(t.num_rows for t in batch) >= ROW_GROUP_ROWS or n == len(group) - 1:
                        out.write_table(pa.concat_tables(batch), row_group_size=ROW_GROUP_ROWS)
                        batch = []

        atomic_write(self.root / data_path(chunk, file), write_data)
        lengths = [staged.length for staged in group]
        for key in self._video_keys:
            inputs = [staged.video_file(key) for staged in group]
            atomic_write(
                self.root / video_path(key, chunk, file),
                lambda tmp, inputs=inputs: remux_videos(inputs, lengths, tmp, self.fps),
            )
        if len(self._tasks) > num_tasks_before:
            atomic_write_table(self.root / TASKS_PATH, metadata.tasks_table(list(self._tasks)))
        table = metadata.episodes_table(rows, self._video_keys)
        atomic_write_table(self.root / episodes_path(chunk, file), table)  # the commit point

        self._num_shards += 1
        self._total_episodes += len(group)
        self._total_frames += sum(lengths)
        self._committed_keys.update(staged.key for staged in group)
        self._stats = fstats.merge(self._stats, metadata.pooled_stats(table, self.features))
        self._write_summaries()
        for staged in group:
            staging.discard(staged)
            self._staged_keys.discard(staged.key)

    def _episode_row(
        self,
        staged: staging.StagedEpisode,
        n: int,
        start: int,
        assigned: Mapping[str, np.ndarray],
        chunk: int,
        file: int,
    ) -> dict[str, Any]:
        meta = staged.meta()
        stats = {key: fstats.stats_from_json(s) for key, s in meta["stats"].items()}
        stats.update({key: fstats.vector_stats(values) for key, values in assigned.items()})
        row: dict[str, Any] = {
            "episode_index": self._total_episodes + n,
            "tasks": meta["tasks"],
            "length": staged.length,
            "data/chunk_index": chunk,
            "data/file_index": file,
            "dataset_from_index": start,
            "dataset_to_index": start + staged.length,
        }
        offset = start - self._total_frames  # frames of this shard before the episode
        for key in self._video_keys:
            row |= {
                f"videos/{key}/chunk_index": chunk,
                f"videos/{key}/file_index": file,
                f"videos/{key}/from_timestamp": offset / self.fps,
                f"videos/{key}/to_timestamp": (offset + staged.length) / self.fps,
            }
        row |= {"meta/episodes/chunk_index": chunk, "meta/episodes/file_index": file}
        row |= fstats.stats_columns({key: stats[key] for key in self.features})
        row |= meta["metadata"]
        return row

    def _write_summaries(self) -> None:
        """``info.json`` and ``stats.json`` from the committed state (derived files, rewritten whole).

        A corpus with no shard yet still gets its (empty) ``tasks.parquet``, so that a producer that
        found nothing to write leaves a valid, empty corpus rather than a malformed one.
        """
        if not (self.root / TASKS_PATH).exists():
            atomic_write_table(self.root / TASKS_PATH, metadata.tasks_table([]))
        info = build_info(
            fps=self.fps,
            robot_type=self.robot_type,
            features=self.features,
            total_episodes=self._total_episodes,
            total_frames=self._total_frames,
            total_tasks=len(self._tasks),
            data_files_size_in_mb=self.data_files_size_in_mb,
            video_files_size_in_mb=self.video_files_size_in_mb,
        )
        atomic_write_json(self.root / STATS_PATH, fstats.stats_json(self._stats))
        atomic_write_json(self.root / INFO_PATH, info)

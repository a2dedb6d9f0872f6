"""Staged episodes: each added episode is durable on disk before ``CorpusWriter.add`` returns.

An episode is staged as one directory ``staging/ep-<seq>/`` holding its frame table, one encoded
mp4 per camera and a ``meta.json``. The directory is filled under a temporary name, fsynced, and
renamed: a directory named ``ep-*`` is therefore always complete, and anything else in ``staging/``
is debris of a killed writer. ``seq`` orders episodes as they were added, which is the order they
are committed in.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vitra_bench.corpus.errors import CorpusError
from vitra_bench.corpus.files import TMP_MARK, commit_rename, fsync_tree, is_temp, remove_tree

PREFIX = "ep-"
FRAMES_FILE = "frames.parquet"
META_FILE = "meta.json"


@dataclass(frozen=True)
class StagedEpisode:
    """A committed staging directory; sizes let the writer decide when a shard is full."""

    path: Path
    seq: int
    key: str
    length: int

    @property
    def frames_file(self) -> Path:
        return self.path / FRAMES_FILE

    def video_file(self, video_key: str) -> Path:
        return self.path / f"{video_key}.mp4"

    def meta(self) -> dict[str, Any]:
        return json.loads((self.path / META_FILE).read_text())

    def data_bytes(self) -> int:
        return self.frames_file.stat().st_size

    def video_bytes(self, video_key: str) -> int:
        return self.video_file(video_key).stat().st_size


def stage(staging: Path, seq: int, meta: dict[str, Any], fill: Callable[[Path], None]) -> StagedEpisode:
    """Create ``staging/ep-<seq>`` atomically: ``fill(dir)`` writes frames and videos, then ``meta.json``.

    ``meta`` must hold at least ``key`` and ``length``.
    """
    staging.mkdir(parents=True, exist_ok=True)
    final = staging / f"{PREFIX}{seq:09d}"
    tmp = staging / f".{final.name}{TMP_MARK}{os.getpid()}"
    tmp.mkdir()
    fill(tmp)
    (tmp / META_FILE).write_text(json.dumps(meta))
    fsync_tree(tmp)
    commit_rename(tmp, final)
    return StagedEpisode(final, seq, meta["key"], int(meta["length"]))


def list_staged(staging: Path) -> list[StagedEpisode]:
    """The committed staged episodes in the order they were added."""
    if not staging.exists():
        return []
    out = []
    for path in sorted(staging.iterdir()):
        if not path.name.startswith(PREFIX) or is_temp(path):
            continue
        try:
            meta = json.loads((path / META_FILE).read_text())
            out.append(StagedEpisode(path, int(path.name[len(PREFIX) :]), meta["key"], int(meta["length"])))
        except (OSError, ValueError, KeyError) as exc:
            raise CorpusError(
                f"{path}: staged episode is unreadable ({exc}); it was committed complete, so the disk "
                "or another program changed it. Move it away to resume."
            ) from exc
    return out


def discard(staged: StagedEpisode) -> None:
    remove_tree(staged.path)

"""Durable file operations: every file of a corpus appears on disk complete or not at all.

A writer may be killed at any instruction (or the machine may lose power), so nothing is ever
written in place: content goes to a temporary name in the same directory, is fsynced, then renamed
over its final name, and the directory is fsynced so the rename itself survives a crash. Temporary
names carry ``TMP_MARK`` so that a later writer can find and delete the debris of a killed one.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vitra_bench.corpus.errors import CorpusLockedError

TMP_MARK = ".tmp-"
LOCK_NAME = ".writer.lock"


def temp_path(path: Path) -> Path:
    """A sibling temporary name for ``path`` (hidden, unique per process, recognisable as debris)."""
    return path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")


def is_temp(path: Path) -> bool:
    return TMP_MARK in path.name


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make the creation, renaming or deletion of entries of ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    """Fsync every file and directory under ``path`` (a staged episode before its commit rename)."""
    for sub in sorted(path.rglob("*"), reverse=True):
        (fsync_dir if sub.is_dir() else fsync_file)(sub)
    fsync_dir(path)


def commit_rename(src: Path, dst: Path) -> None:
    """Atomically move ``src`` (file or directory, already fsynced) to ``dst`` and make it durable."""
    os.replace(src, dst)
    fsync_dir(dst.parent)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Produce ``path`` by calling ``write(tmp)``; readers see the old file or the complete new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        write(tmp)
        fsync_file(tmp)
        commit_rename(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2) + "\n"))


def atomic_write_table(path: Path, table: pa.Table) -> None:
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def remove_tree(path: Path) -> None:
    """Delete a directory so that a crash midway leaves either it whole or only recognisable debris.

    The directory is first renamed to a temporary name: a half-deleted directory must never keep a
    name that marks it as valid content.
    """
    doomed = temp_path(path)
    commit_rename(path, doomed)
    shutil.rmtree(doomed)


def remove_debris(root: Path) -> list[Path]:
    """Delete what killed writers left under ``root``: temporary files and directories."""
    removed = []
    if not root.exists():
        return removed
    for path in sorted(root.rglob(f"*{TMP_MARK}*"), key=lambda p: len(p.parts)):
        if path.exists() and is_temp(path):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
            removed.append(path)
    return removed


class WriterLock:
    """An exclusive, non-blocking ``flock`` on ``<root>/.writer.lock``.

    The kernel drops the lock when its holder dies, even by SIGKILL, so a crashed writer never
    leaves a stale lock behind; the lock file itself is left in place (deleting it would race
    with a writer that has just opened it).
    """

    def __init__(self, root: Path) -> None:
        self.path = root / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise CorpusLockedError(
                f"{self.path.parent}: another CorpusWriter holds {self.path.name}; "
                "only one writer may add to a corpus at a time"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

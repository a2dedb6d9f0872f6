"""Errors of the corpus package, so callers can tell a bad corpus from a bad argument or a busy one."""

from __future__ import annotations


class CorpusError(RuntimeError):
    """A corpus on disk is missing, malformed, or incompatible with what the caller asked for."""


class CorpusLockedError(CorpusError):
    """Another writer holds the corpus; two writers would interleave shards and corrupt it."""

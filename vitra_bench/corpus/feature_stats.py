"""Per-feature statistics in LeRobot's format (``mean``, ``std``, ``min``, ``max``, ``count``).

Each episode's statistics are computed once, when it is added, and stored in its metadata row
(``stats/<feature>/<stat>``); the corpus statistics (``meta/stats.json``) are their exact pooled
aggregate, so they never require a pass over the frames. Masked features (``action``,
``observation.state``) count only valid entries, per dimension, as ``vitra_bench.layout`` defines
them: a dimension with no valid entry gets mean 0, std 1, min = max = 0.

A feature's statistics are a ``layout.NormStats``; ``count`` is (1,) (frames) for unmasked features
and one count per dimension for masked ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vitra_bench import layout
from vitra_bench.layout import NormStats

STAT_NAMES = ("mean", "std", "min", "max", "count")


def stats_to_json(stats: NormStats) -> dict[str, list]:
    """One feature's statistics as ``meta/stats.json`` stores them (nested lists per stat)."""
    return {name: getattr(stats, name).tolist() for name in STAT_NAMES}


def stats_from_json(obj: Mapping[str, Any]) -> NormStats:
    """Inverse of ``stats_to_json``: float64 statistics and int64 counts."""
    return NormStats(*(np.asarray(obj[name], np.int64 if name == "count" else np.float64) for name in STAT_NAMES))


def vector_stats(values: np.ndarray) -> NormStats:
    """Statistics over frames of a (T,) or (T, D) feature."""
    x = np.asarray(values, np.float64).reshape(len(values), -1)
    return NormStats(x.mean(0), x.std(0), x.min(0), x.max(0), np.array([len(x)], np.int64))


def masked_stats(values: np.ndarray, mask: np.ndarray) -> NormStats:
    """Statistics over valid entries only, computed by the layout so that training normalises the same way."""
    return layout.normalization_stats(values, mask)


def image_stats(frames: np.ndarray) -> NormStats:
    """Per-channel statistics of (T, H, W, 3) uint8 frames scaled to [0, 1], shaped (3, 1, 1) as LeRobot's.

    A histogram per channel gives exact moments without materialising a float copy of the video.
    """
    levels = np.arange(256, dtype=np.float64) / 255.0
    mean, std, lo, hi = (np.empty((3, 1, 1)) for _ in range(4))
    for c in range(3):
        hist = np.bincount(frames[..., c].ravel(), minlength=256).astype(np.float64)
        n = hist.sum()
        mean[c] = (hist @ levels) / n
        std[c] = np.sqrt(max((hist @ levels**2) / n - mean[c, 0, 0] ** 2, 0.0))
        present = np.flatnonzero(hist)
        lo[c], hi[c] = levels[present[0]], levels[present[-1]]
    return NormStats(mean, std, lo, hi, np.array([len(frames)], np.int64))


def aggregate(parts: Sequence[NormStats]) -> NormStats:
    """Pool statistics of disjoint sets of frames, as if computed over their union."""
    return pool(NormStats(*(np.stack([getattr(p, name) for p in parts]) for name in STAT_NAMES)))


def pool(stacked: NormStats) -> NormStats:
    """Pool statistics stacked along a leading axis (one row per episode, say).

    Uses the parallel-variance identity ``N var = sum n_i (var_i + (mean_i - mean)^2)``; rows or
    dimensions with count 0 contribute nothing.
    """
    mean = np.asarray(stacked.mean, np.float64)
    count = np.asarray(stacked.count, np.int64)
    n = np.broadcast_to(count.reshape(count.shape + (1,) * (mean.ndim - count.ndim)), mean.shape).astype(np.float64)
    total = n.sum(0)
    some = total > 0
    safe = np.maximum(total, 1.0)
    pooled = (n * mean).sum(0) / safe
    var = (n * (np.asarray(stacked.std, np.float64) ** 2 + (mean - pooled) ** 2)).sum(0) / safe
    has = n > 0
    lo = np.where(has, stacked.min, np.inf).min(0)
    hi = np.where(has, stacked.max, -np.inf).max(0)
    return NormStats(
        mean=np.where(some, pooled, 0.0),
        std=np.where(some, np.sqrt(var), 1.0),
        min=np.where(some, lo, 0.0),
        max=np.where(some, hi, 0.0),
        count=count.sum(0),
    )


def merge(a: Mapping[str, NormStats], b: Mapping[str, NormStats]) -> dict[str, NormStats]:
    """Feature-wise ``aggregate`` of two statistics dicts (either may be empty)."""
    return {key: aggregate([a[key], b[key]]) if key in a and key in b else (a.get(key) or b[key]) for key in {**a, **b}}


def stats_columns(stats: Mapping[str, NormStats]) -> dict[str, Any]:
    """An episode's statistics as LeRobot's flattened metadata columns ``stats/<feature>/<stat>``."""
    return {f"stats/{key}/{name}": value for key, s in stats.items() for name, value in stats_to_json(s).items()}


def stats_json(stats: Mapping[str, NormStats]) -> dict[str, dict[str, list]]:
    return {key: stats_to_json(stats[key]) for key in sorted(stats)}

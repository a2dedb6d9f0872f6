"""Confidence intervals for every number the suite reports.

A success rate over 8 trials or a mean distance over 40 objects means little without its
uncertainty (the paper's robot table rests on 8 to 40 trials per cell), so every result carries
an interval. Success rates use the Wilson score interval, which unlike the normal approximation
stays inside [0, 1] and keeps near-nominal coverage at 0/n and n/n. Continuous metrics use the
bootstrap (scipy's implementation, percentile or BCa), which needs no distributional assumption;
``mean_t_interval`` serves the case the bootstrap handles badly, a mean over a handful of seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as scipy_stats


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval and the number of observations behind it."""

    estimate: float
    low: float
    high: float
    n: int

    def format(self, scale: float = 1.0, digits: int = 1) -> str:
        """``"8.8 [6.1, 11.2]"`` after multiplying by ``scale`` (100 for m -> cm or rate -> %)."""
        a, b, c = (scale * v for v in (self.estimate, self.low, self.high))
        return f"{a:.{digits}f} [{b:.{digits}f}, {c:.{digits}f}]"


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval (without continuity correction) for a success rate k / n."""
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1, got {successes} / {trials}")
    z = scipy_stats.norm.ppf(0.5 + confidence / 2)
    p = successes / trials
    denominator = 1 + z**2 / trials
    centre = (p + z**2 / (2 * trials)) / denominator
    half = z / denominator * np.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2))
    # Clip only rounding: at k = 0 (or n) the bound is 0 (or 1) exactly in exact arithmetic.
    return Interval(p, float(max(0.0, centre - half)), float(min(1.0, centre + half)), trials)


def rate_difference_interval(k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95) -> Interval:
    """Newcombe's hybrid score interval for the difference of two rates k1/n1 - k2/n2.

    Built from the two Wilson intervals (Newcombe 1998, method 10), so it behaves at 0/n and n/n
    where the Wald difference interval collapses; it answers "by how much" where a p answers
    only "whether".
    """
    a, b = wilson_interval(k1, n1, confidence), wilson_interval(k2, n2, confidence)
    difference = a.estimate - b.estimate
    low = difference - np.hypot(a.estimate - a.low, b.high - b.estimate)
    high = difference + np.hypot(a.high - a.estimate, b.estimate - b.low)
    return Interval(difference, float(low), float(high), n1 + n2)


def bootstrap_interval(
    values: ArrayLike,
    statistic: Callable[..., float] = np.mean,
    *,
    confidence: float = 0.95,
    n_resamples: int = 9999,
    method: Literal["percentile", "BCa"] = "percentile",
    seed: int | np.random.Generator = 0,
) -> Interval:
    """Bootstrap interval for ``statistic`` of a 1-D sample; the same seed gives the same interval.

    ``statistic`` is called as ``statistic(sample)``; one accepting ``axis=`` (``np.mean``,
    ``np.median``) is evaluated on all resamples at once. BCa corrects the percentile interval's
    bias and skew at the cost of a jackknife (n extra evaluations). A sample whose values are
    all equal has nothing to resample: its interval is the point itself.
    """
    values = np.asarray(values, np.float64)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"values: expected a non-empty 1-D sample, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("values: contains NaN or inf (drop missing results before computing intervals)")
    estimate = float(statistic(values))
    if np.ptp(values) == 0:
        return Interval(estimate, estimate, estimate, len(values))
    result = scipy_stats.bootstrap(
        (values,),
        statistic,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method=method,
        rng=np.random.default_rng(seed),
    )
    ci = result.confidence_interval
    return Interval(estimate, float(ci.low), float(ci.high), len(values))


def mean_t_interval(values: ArrayLike, confidence: float = 0.95) -> Interval:
    """Student-t interval for a mean; NaN bounds for fewer than two values.

    Use it for means over a few seeds: with n = 3 a bootstrap can only recombine three numbers
    and its interval is far too narrow, while the t quantile widens honestly.
    """
    values = np.asarray(values, np.float64)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"values: expected a non-empty 1-D sample, got shape {values.shape}")
    mean = float(values.mean())
    if len(values) < 2:
        return Interval(mean, np.nan, np.nan, len(values))
    half = scipy_stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return Interval(mean, float(mean - half), float(mean + half), len(values))

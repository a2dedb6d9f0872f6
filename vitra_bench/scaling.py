"""Error versus training-data size: the fits and the figure of a data-scaling sweep.

The paper reports that hand-prediction error falls roughly log-linearly with pretraining data
(1 to 100 %, VITRA_FACTS.md "Evaluation"); the scaling-law literature fits power laws, which
bend where a log-linear law goes straight and, with a floor, level off. Both are fitted here so
that the question "which law?" is answered by the data (compare ``aic``), not assumed.

Every model is fitted by least squares on the error itself (``scipy.optimize.curve_fit``), so
R², RMSE and AIC are comparable across models. Parameter intervals come from a bootstrap over
seeds by default: the runs at each data size are resampled with replacement and the model
refitted, which captures the run-to-run spread a sweep actually has. With one run per size
there is nothing to resample, and ``ci="covariance"`` gives the asymptotic interval from the
fit's covariance (t quantile) instead. Each fit says which one it carries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from scipy import optimize
from scipy import stats as scipy_stats

from vitra_bench.stats import mean_t_interval

Model = Literal["log_linear", "power_law", "power_law_floor"]
CiMethod = Literal["bootstrap", "covariance"]


def log_linear(n: np.ndarray, a: float, b: float) -> np.ndarray:
    """``a + b log10(n)``: the paper's description of its scaling curve."""
    return a + b * np.log10(n)


def power_law(n: np.ndarray, c: float, alpha: float) -> np.ndarray:
    """``c n^-alpha``."""
    return c * np.power(n, -alpha)


def power_law_floor(n: np.ndarray, c: float, alpha: float, floor: float) -> np.ndarray:
    """``floor + c n^-alpha``: a power law approaching an irreducible error."""
    return floor + c * np.power(n, -alpha)


_MODELS: dict[str, tuple[Callable[..., np.ndarray], tuple[str, ...]]] = {
    "log_linear": (log_linear, ("a", "b")),
    "power_law": (power_law, ("c", "alpha")),
    "power_law_floor": (power_law_floor, ("c", "alpha", "floor")),
}


@dataclass(frozen=True)
class ScalingFit:
    """A fitted scaling law with parameter intervals and goodness of fit over all runs.

    Attributes:
        model: ``log_linear``, ``power_law`` or ``power_law_floor``.
        params: parameter name -> estimate (fit to all runs).
        ci: parameter name -> (low, high).
        ci_method: ``bootstrap`` (over seeds within each size) or ``covariance``.
        r2, rmse: over individual runs, so seed noise bounds R² below 1 even for the true law.
        aic: Gaussian AIC, ``n ln(RSS/n) + 2k``; lower is better, comparable across models.
        n_points: runs fitted.
    """

    model: Model
    params: dict[str, float]
    ci: dict[str, tuple[float, float]]
    ci_method: CiMethod
    r2: float
    rmse: float
    aic: float
    n_points: int

    def predict(self, size: ArrayLike) -> np.ndarray:
        function, _ = _MODELS[self.model]
        return function(np.asarray(size, np.float64), **self.params)

    def label(self) -> str:
        """A legend entry: the law with its key parameter and interval."""
        key = "b" if self.model == "log_linear" else "alpha"
        low, high = self.ci[key]
        law = {"log_linear": "a + b log10 n", "power_law": "c n^-alpha", "power_law_floor": "floor + c n^-alpha"}
        return f"{law[self.model]}: {key}={self.params[key]:.3g} [{low:.3g}, {high:.3g}], R²={self.r2:.2f}"


def fit_scaling(
    size: ArrayLike,
    error: ArrayLike,
    model: Model,
    *,
    ci: CiMethod = "bootstrap",
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> ScalingFit:
    """Fit ``model`` to runs (``size[i]``, ``error[i]``), several runs (seeds) per size.

    Args:
        size: data size of each run (percent of the corpus, episodes, hours: any positive unit;
            a power law's ``c`` is the error at size 1 in that unit).
        error: the metric of each run.
        model: which law.
        ci: ``bootstrap`` needs at least two runs at every size; ``covariance`` does not.
        n_boot, seed: bootstrap replicates and their seed (same seed, same intervals).
    """
    if model not in _MODELS or ci not in ("bootstrap", "covariance"):
        raise ValueError(f"model must be one of {list(_MODELS)} and ci 'bootstrap' or 'covariance'")
    x, y = _check_runs(size, error)
    function, names = _MODELS[model]
    if len(np.unique(x)) < len(names) + 1:
        raise ValueError(f"{model} has {len(names)} parameters: fit it to at least {len(names) + 1} distinct sizes")
    estimate, covariance = _least_squares(model, x, y)
    if ci == "bootstrap":
        low, high = _bootstrap_ci(model, x, y, confidence, n_boot, seed)
    else:
        half = scipy_stats.t.ppf(0.5 + confidence / 2, len(x) - len(names)) * np.sqrt(np.diag(covariance))
        low, high = estimate - half, estimate + half
    residual = y - function(x, *estimate)
    rss = float(residual @ residual)
    tss = float(((y - y.mean()) ** 2).sum())
    return ScalingFit(
        model=model,
        params=dict(zip(names, map(float, estimate))),
        ci={name: (float(lo), float(hi)) for name, lo, hi in zip(names, low, high)},
        ci_method=ci,
        r2=1.0 - rss / tss if tss > 0 else float("nan"),
        rmse=float(np.sqrt(rss / len(x))),
        aic=float(len(x) * np.log(max(rss, np.finfo(float).tiny) / len(x)) + 2 * len(names)),
        n_points=len(x),
    )


def summarize_by_size(size: ArrayLike, error: ArrayLike, confidence: float = 0.95) -> pd.DataFrame:
    """Per size: runs, mean error and its t interval (a mean over a few seeds; see ``stats``)."""
    x, y = _check_runs(size, error)
    rows = []
    for value in np.unique(x):
        interval = mean_t_interval(y[x == value], confidence)
        rows.append(
            {"size": value, "runs": interval.n, "mean": interval.estimate, "low": interval.low, "high": interval.high}
        )
    return pd.DataFrame(rows)


def plot_scaling(
    size: ArrayLike,
    error: ArrayLike,
    fits: Sequence[ScalingFit],
    out: Path,
    *,
    xlabel: str = "training data (%)",
    ylabel: str = "error",
    title: str | None = None,
) -> Path:
    """Save a log-x figure of the runs, the per-size mean with its 95 % interval and the fits.

    Drawn on a bare ``Figure`` (Agg when saved to PNG), so it neither needs a display nor
    changes pyplot's backend for the caller.
    """
    x, y = _check_runs(size, error)
    summary = summarize_by_size(x, y)
    fig = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(x, y, s=12, color="0.6", label="runs", zorder=2)
    below = (summary["mean"] - summary["low"]).fillna(0.0)
    above = (summary["high"] - summary["mean"]).fillna(0.0)
    ax.errorbar(summary["size"], summary["mean"], yerr=[below, above], fmt="o", color="black", capsize=3,
                label="mean, 95 % CI", zorder=3)  # fmt: skip
    grid = np.geomspace(x.min(), x.max(), 200)
    for fit in fits:
        ax.plot(grid, fit.predict(grid), label=fit.label(), zorder=1)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    return out


def _check_runs(size: ArrayLike, error: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(size, np.float64)
    y = np.asarray(error, np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"size {x.shape} and error {y.shape} must be matching 1-D arrays")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))) or np.any(x <= 0):
        raise ValueError("sizes must be positive and every value finite (drop failed runs first)")
    return x, y


def _initial_guess(model: Model, x: np.ndarray, y: np.ndarray) -> list[float]:
    """Starting values from straight-line fits in log space, where each law is (nearly) linear."""
    log_x = np.log10(x)
    if model == "log_linear":
        b, a = np.polyfit(log_x, y, 1)
        return [a, b]
    floor = 0.9 * y.min() if model == "power_law_floor" and y.min() > 0 else 0.0
    excess = y - floor
    if np.any(excess <= 0):
        return [float(y.mean()), 0.1] + ([floor] if model == "power_law_floor" else [])
    slope, intercept = np.polyfit(log_x, np.log10(excess), 1)
    return [10.0**intercept, -slope] + ([floor] if model == "power_law_floor" else [])


def _least_squares(model: Model, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    function, _ = _MODELS[model]
    # An error metric cannot go below zero, so neither can its floor.
    bounds = ([-np.inf, -np.inf, 0.0], [np.inf] * 3) if model == "power_law_floor" else (-np.inf, np.inf)
    estimate, covariance = optimize.curve_fit(
        function, x, y, p0=_initial_guess(model, x, y), bounds=bounds, maxfev=20000
    )
    return estimate, covariance


def _bootstrap_ci(
    model: Model, x: np.ndarray, y: np.ndarray, confidence: float, n_boot: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile intervals from refits on runs resampled within each size (stratified by size)."""
    groups = [np.flatnonzero(x == value) for value in np.unique(x)]
    if min(len(g) for g in groups) < 2:
        raise ValueError("a bootstrap over seeds needs at least two runs at every size; use ci='covariance'")
    rng = np.random.default_rng(seed)
    replicates = []
    for _ in range(n_boot):
        picks = np.concatenate([rng.choice(g, size=len(g)) for g in groups])
        try:
            replicates.append(_least_squares(model, x[picks], y[picks])[0])
        except (RuntimeError, ValueError):  # a resample on which the fit does not converge
            continue
    if len(replicates) < n_boot / 2:
        raise RuntimeError(f"{model}: only {len(replicates)} of {n_boot} bootstrap refits converged")
    tail = 50 * (1 - confidence)
    return np.percentile(replicates, tail, axis=0), np.percentile(replicates, 100 - tail, axis=0)

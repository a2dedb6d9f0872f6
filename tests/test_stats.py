"""Confidence intervals against published values and known distributions (vitra_bench.stats)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from vitra_bench import scaling
from vitra_bench.stats import Interval, bootstrap_interval, mean_t_interval, rate_difference_interval, wilson_interval


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        # Newcombe (1998), Stat. Med. 17:857-872, Table I, method 3 (score, no continuity correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_published_values(k: int, n: int, low: float, high: float) -> None:
    interval = wilson_interval(k, n)
    assert interval.estimate == k / n and interval.n == n
    assert interval.low == pytest.approx(low, abs=5e-5)
    assert interval.high == pytest.approx(high, abs=5e-5)


def test_wilson_agrees_with_scipy() -> None:
    for k, n in [(3, 8), (19, 24), (33, 40)]:
        want = scipy_stats.binomtest(k, n).proportion_ci(0.9, method="wilson")
        got = wilson_interval(k, n, confidence=0.9)
        assert (got.low, got.high) == pytest.approx((want.low, want.high), abs=1e-12)


def test_wilson_rejects_impossible_counts() -> None:
    for k, n in [(3, 2), (-1, 5), (0, 0)]:
        with pytest.raises(ValueError):
            wilson_interval(k, n)


@pytest.mark.parametrize("method", ["percentile", "BCa"])
def test_bootstrap_covers_the_true_mean_about_95_percent(method: str) -> None:
    rng = np.random.default_rng(123)
    repetitions, n, true_mean = 200, 40, 2.0
    hits = 0
    for rep in range(repetitions):
        sample = rng.gamma(4.0, true_mean / 4.0, size=n)  # skewed, like distances
        interval = bootstrap_interval(sample, n_resamples=1000, method=method, seed=rep)
        assert interval.low <= interval.estimate <= interval.high
        hits += interval.low <= true_mean <= interval.high
    # 200 Bernoulli(0.95) draws have a standard deviation of 1.5 points; bootstrap intervals of a
    # skewed mean at n = 40 also undercover by a point or two.
    assert 0.88 <= hits / repetitions <= 0.99


def test_bootstrap_is_reproducible_by_seed() -> None:
    sample = np.random.default_rng(0).normal(size=30)
    a = bootstrap_interval(sample, np.median, seed=7)
    assert a == bootstrap_interval(sample, np.median, seed=7)
    assert a != bootstrap_interval(sample, np.median, seed=8)
    assert a.estimate == np.median(sample) and a.n == 30


def test_bootstrap_any_statistic_and_degenerate_sample() -> None:
    sample = np.arange(20.0)
    trimmed = bootstrap_interval(sample, lambda x: float(np.sort(x)[2:-2].mean()), n_resamples=500)
    assert trimmed.low < 9.5 < trimmed.high
    assert bootstrap_interval(np.full(5, 0.2), method="BCa") == Interval(0.2, 0.2, 0.2, 5)
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_interval([1.0, np.nan])


def test_t_interval_for_few_seeds() -> None:
    interval = mean_t_interval([1.0, 2.0, 3.0])
    half = scipy_stats.t.ppf(0.975, 2) * 1.0 / np.sqrt(3)  # sample sd of 1, 2, 3 is 1
    assert (interval.estimate, interval.low, interval.high) == pytest.approx((2.0, 2.0 - half, 2.0 + half))
    single = mean_t_interval([4.0])
    assert single.estimate == 4.0 and np.isnan(single.low) and np.isnan(single.high)


def test_format_scales_to_report_units() -> None:
    assert Interval(0.088, 0.061, 0.112, 40).format(scale=100) == "8.8 [6.1, 11.2]"


# ---------------------------------------------------------------- scaling fits (vitra_bench.scaling)

SIZES = np.array([1.0, 10.0, 20.0, 50.0, 100.0])  # the paper's data fractions, percent


def _runs(law, seeds: int, noise: float, sizes: np.ndarray = SIZES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``seeds`` runs per size of ``law(size)`` with multiplicative noise, like training-seed spread."""
    rng = np.random.default_rng(seed)
    size = np.repeat(sizes, seeds)
    return size, law(size) * np.exp(rng.normal(0.0, noise, size.shape))


def test_power_law_recovers_alpha_with_bootstrap_interval() -> None:
    size, error = _runs(lambda n: 0.4 * n**-0.25, seeds=5, noise=0.03)
    fit = scaling.fit_scaling(size, error, "power_law", n_boot=200)
    assert fit.params["alpha"] == pytest.approx(0.25, abs=0.02)
    assert fit.params["c"] == pytest.approx(0.4, rel=0.05)
    low, high = fit.ci["alpha"]
    assert low < 0.25 < high and high - low < 0.06
    assert fit.ci_method == "bootstrap" and fit.n_points == 25 and fit.r2 > 0.9
    assert fit == scaling.fit_scaling(size, error, "power_law", n_boot=200)  # same seed, same intervals


def test_power_law_with_floor_recovers_floor_and_alpha() -> None:
    size, error = _runs(lambda n: 0.05 + 0.3 * n**-0.5, seeds=4, noise=0.01, sizes=np.geomspace(1, 100, 8))
    fit = scaling.fit_scaling(size, error, "power_law_floor", n_boot=200)
    assert fit.params["alpha"] == pytest.approx(0.5, abs=0.05)
    assert fit.params["floor"] == pytest.approx(0.05, abs=0.005)
    assert fit.ci["floor"][0] <= 0.05 <= fit.ci["floor"][1]


def test_log_linear_recovers_slope_and_both_interval_kinds_cover_it() -> None:
    rng = np.random.default_rng(3)
    size = np.repeat(SIZES, 3)
    error = 0.20 - 0.05 * np.log10(size) + rng.normal(0.0, 0.003, size.shape)
    for ci in ("bootstrap", "covariance"):
        fit = scaling.fit_scaling(size, error, "log_linear", ci=ci, n_boot=200)
        assert fit.params["b"] == pytest.approx(-0.05, abs=0.005) and fit.params["a"] == pytest.approx(0.2, abs=0.005)
        assert fit.ci["b"][0] < -0.05 < fit.ci["b"][1] and fit.ci_method == ci


def test_aic_prefers_the_true_law() -> None:
    size, error = _runs(lambda n: 0.5 * n**-0.5, seeds=3, noise=0.02)
    power = scaling.fit_scaling(size, error, "power_law", ci="covariance")
    linear = scaling.fit_scaling(size, error, "log_linear", ci="covariance")
    assert power.aic < linear.aic and power.rmse < linear.rmse


def test_bootstrap_over_seeds_needs_two_runs_per_size() -> None:
    size, error = _runs(lambda n: 0.4 * n**-0.25, seeds=1, noise=0.03)
    with pytest.raises(ValueError, match="covariance"):
        scaling.fit_scaling(size, error, "power_law")
    fit = scaling.fit_scaling(size, error, "power_law", ci="covariance")
    assert fit.ci["alpha"][0] < 0.25 < fit.ci["alpha"][1]


def test_scaling_plot_and_summary(tmp_path) -> None:
    size, error = _runs(lambda n: 0.4 * n**-0.25, seeds=3, noise=0.03)
    summary = scaling.summarize_by_size(size, error)
    assert list(summary["size"]) == list(SIZES) and (summary["runs"] == 3).all()
    assert (summary["low"] < summary["mean"]).all() and (summary["mean"] < summary["high"]).all()
    fits = [scaling.fit_scaling(size, error, m, ci="covariance") for m in ("log_linear", "power_law")]
    out = scaling.plot_scaling(size, error, fits, tmp_path / "plots" / "scaling.png", ylabel="ADE (m)")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "low", "high"),
    [  # Newcombe (1998), Statistics in Medicine 17:873, Table II, method 10
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (5, 56, 0, 29, -0.0381, 0.1926),
    ],
)
def test_rate_difference_matches_newcombe(k1: int, n1: int, k2: int, n2: int, low: float, high: float) -> None:
    interval = rate_difference_interval(k1, n1, k2, n2)
    assert interval.estimate == pytest.approx(k1 / n1 - k2 / n2)
    assert (interval.low, interval.high) == pytest.approx((low, high), abs=1e-4)


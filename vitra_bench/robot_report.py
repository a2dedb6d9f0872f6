"""The robot table of a run: success per pretraining source, task and split, and its relation to zero-shot error.

Reads what the run's stages wrote: ``<robot>/<source>/<task>/<split>/eval_info.json`` for success
(Wilson 95 % intervals) and each source's zero-shot grasp cases for d_hand_obj. The paper reports
that robot success rises as hand-prediction error falls; the correlation here is over the run's
checkpoints, with its n, so a reader sees how little (or much) it rests on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from vitra_bench.benchmarking import markdown_table
from vitra_bench.stats import rate_difference_interval, wilson_interval


def zero_shot_error(run_dir: Path | None, source: str) -> float:
    """Mean zero-shot d_hand_obj (cm) of a pretraining source's checkpoint, NaN when not evaluated
    (or when there is no run to look in)."""
    if run_dir is None:
        return math.nan
    run_dir = Path(run_dir)
    if source == "pretrained":
        path = run_dir / "zero_shot" / "pretrained_cases.csv"
        return float(pd.read_csv(path)["d_hand_obj_cm"].mean()) if path.exists() else math.nan
    if source == "pretrained_lab":
        path = run_dir / "conditions" / "runs" / "lab" / "seed0" / "result.json"
        return float(pd.DataFrame(json.loads(path.read_text())["cases"])["d_hand_obj_cm"].mean()) if path.exists() else math.nan
    if source.startswith("pretrained_") and source.endswith("pct"):
        fraction = source.removeprefix("pretrained_").removesuffix("pct")
        path = run_dir / "sweep" / "points" / f"frac{fraction}_seed0" / "grasp_cases.csv"
        return float(pd.read_csv(path)["d_hand_obj_cm"].mean()) if path.exists() else math.nan
    return math.nan


Counts = list[tuple[int, int]]  # per training run: (trials that reached an outcome, trials)


def robot_tables(run_dir: Path | None, out: Path, sources: list[str], evals: Sequence[Path] = (),
                 baseline: str | None = None, splits: Sequence[str] = ()) -> Path:
    """Write ``out/robot.md`` (and ``out/robot_correlation.png`` when 3+ sources have both numbers).

    ``evals`` are directories laid out as ``<source>/<task>/<split>/`` (default: ``out`` alone). Several
    directories are several training runs of the same sources (e.g. fine-tuning seeds): their trials
    are pooled in the first table, and a second table shows each run's count and tests whether the
    runs differ more than their trials explain, because a pooled Wilson interval counts trials only
    and would hide how much one training run differs from the next. With ``baseline`` (e.g.
    ``no_pretraining``) every other source gets, per outcome, its difference from the baseline with
    a Newcombe interval and a two-sided Fisher exact p: overlapping intervals are a poor test of a
    difference, and readers ask "by how much" and "how sure". ``splits`` keeps only those splits
    (default: all), so the statistics can be read per split.
    """
    out = Path(out)
    evals = [Path(e) for e in evals] or [out]
    rows, points = [], {}  # outcome -> [(source, error, rate %)]
    outcomes: dict[str, dict[str, Counts]] = {}  # source -> outcome -> per-run counts
    for source in sources:
        row: dict[str, str] = {"pretraining": source}
        cells, outcomes[source] = _read_counts(source, evals, splits)
        for column, (k, n) in cells.items():
            row[column] = f"{wilson_interval(k, n).format(100, 0)} (n={n})"
        if cells:
            error = zero_shot_error(run_dir, source)
            for name, per_run in outcomes[source].items():
                k, n = _pooled(per_run)
                row["all" if name == "success" else f"all: {name}"] = f"{wilson_interval(k, n).format(100, 0)} (n={n})"
                if not math.isnan(error):
                    points.setdefault(name, []).append((source, error, 100 * k / n))
            row["zero-shot d_hand_obj cm"] = "-" if math.isnan(error) else f"{error:.1f}"
        rows.append(row)
    # Every source's task/split cells first, whichever source has them, then the pooled columns.
    cells_first = sorted({key for row in rows for key in row}, key=lambda c: (c.startswith(("all", "zero-shot")), c))
    columns = ["pretraining", *(c for c in cells_first if c != "pretraining")]
    text = markdown_table([{c: row.get(c, "-") for c in columns} for row in rows])
    text += ("\n\nSuccess in % with Wilson 95 % intervals; trials and step caps as each evaluation recorded them"
             " (its eval_info.json, 'config'). 'all: lifted' (and the like) is the share of trials that reached that milestone of the task"
             " (envs/robot/tasks.py EVENTS), success or not.")
    if len(evals) > 1:
        text += f" Pooled over {len(evals)} training runs ({', '.join(str(e) for e in evals)})."
    if len(evals) > 1 or baseline is not None:
        text += "\n\n" + _statistics(outcomes, len(evals), baseline)
    text += "\n\n" + _correlation(points, out)
    path = out / "robot.md"
    path.write_text(text + "\n")
    return path


def _read_counts(source: str, evals: list[Path], splits: Sequence[str]) -> tuple[dict[str, list[int]], dict[str, Counts]]:
    """A source's success per ``"<task> <split>"`` pooled over the runs, and every outcome's count per run."""
    cells: dict[str, list[int]] = {}
    outcomes: dict[str, Counts] = {}
    for run_index, directory in enumerate(evals):
        for info_path in sorted((directory / source).glob("*/*/eval_info.json")):
            if splits and info_path.parent.name not in splits:
                continue
            aggregated = json.loads(info_path.read_text())["aggregated"]
            n = aggregated["n_episodes"]
            rates = {"success": aggregated["pc_success"], **aggregated.get("pc_events", {})}
            cell = cells.setdefault(f"{info_path.parent.parent.name} {info_path.parent.name}", [0, 0])
            cell[0], cell[1] = cell[0] + round(rates["success"] * n / 100), cell[1] + n
            for name, pc in rates.items():
                per_run = outcomes.setdefault(name, [(0, 0)] * len(evals))
                k, trials = per_run[run_index]
                per_run[run_index] = (k + round(pc * n / 100), trials + n)
    return cells, outcomes


def _pooled(per_run: Counts) -> tuple[int, int]:
    return sum(k for k, _ in per_run), sum(n for _, n in per_run)


def _statistics(outcomes: dict[str, dict[str, Counts]], runs: int, baseline: str | None) -> str:
    """The long table: per source and outcome, each run's count, whether runs differ, and p against the baseline."""
    from scipy.stats import fisher_exact

    if baseline is not None and not outcomes.get(baseline):
        raise ValueError(f"baseline {baseline!r} has no evaluations; sources with some: {sorted(s for s, o in outcomes.items() if o)}")
    rows = []
    for source, by_outcome in outcomes.items():
        for outcome, per_run in by_outcome.items():
            k, n = _pooled(per_run)
            row = {"pretraining": source, "outcome": outcome, "pooled": f"{k}/{n}"}
            if runs > 1:
                row["per run"] = ", ".join(f"{a}/{b}" if b else "-" for a, b in per_run)
                row["runs differ (p)"] = _runs_differ(per_run)
            if baseline is not None:
                reference = outcomes[baseline].get(outcome)
                if source == baseline or reference is None:
                    row[f"vs {baseline}: points"] = row[f"vs {baseline} (p)"] = "-"
                else:
                    k0, n0 = _pooled(reference)
                    row[f"vs {baseline}: points"] = rate_difference_interval(k, n, k0, n0).format(100, 0)
                    row[f"vs {baseline} (p)"] = f"{fisher_exact([[k, n - k], [k0, n0 - k0]]).pvalue:.2g}"
            rows.append(row)
    notes = []
    if runs > 1:
        notes.append("'runs differ' tests whether a source's training runs share one rate (chi-square of the"
                     " runs x outcome table, p by 9,999 permutations): a small p means the run, not only the"
                     " trial, moves the rate, so the pooled interval is too narrow")
    if baseline is not None:
        notes.append(f"'vs {baseline}' gives the difference of the pooled rates in percentage points with its"
                     " Newcombe 95 % interval, and a two-sided Fisher exact p, one per outcome, not corrected for"
                     " the number of comparisons; both count trials, not training runs")
    return markdown_table(rows) + "\n\n" + "; ".join(notes) + "."


def _runs_differ(per_run: Counts) -> str:
    """Permutation p of the chi-square homogeneity test over the runs that have trials ("-" under two)."""
    from scipy.stats import PermutationMethod, chi2_contingency

    table = np.array([(k, n - k) for k, n in per_run if n])
    if len(table) < 2:
        return "-"
    if (table.sum(axis=0) == 0).any():  # every trial of every run alike: nothing differs
        return "1"
    method = PermutationMethod(n_resamples=9999, rng=0)
    return f"{chi2_contingency(table, correction=False, method=method).pvalue:.2g}"


def _correlation(points: dict[str, list[tuple[str, float, float]]], out: Path) -> str:
    """Spearman correlation of zero-shot error with success and with each milestone rate, with a
    scatter panel per outcome: while success is 0 everywhere, a milestone may still rank checkpoints."""
    checkpoints = len(points.get("success", []))
    if checkpoints < 3:
        return f"Zero-shot error vs success: {checkpoints} checkpoint(s) with both numbers; at least 3 are needed for a correlation."
    from matplotlib.figure import Figure
    from scipy.stats import spearmanr

    figure = Figure(figsize=(4.2 * len(points), 3.6), layout="constrained")
    lines = []
    for axes, (outcome, outcome_points) in zip(figure.subplots(1, len(points), squeeze=False)[0], points.items(), strict=True):
        names, errors, rates = zip(*outcome_points, strict=True)
        constant = len(set(rates)) == 1 or len(set(errors)) == 1
        rho, p_value = (math.nan, math.nan) if constant else spearmanr(errors, rates)
        axes.scatter(errors, rates, color="black")
        for name, x, y in outcome_points:
            axes.annotate(name.removeprefix("pretrained_"), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        axes.set_xlabel("zero-shot d_hand_obj (cm)")
        axes.set_ylabel(f"robot {outcome} (%)" if outcome == "success" else f"trials reaching '{outcome}' (%)")
        axes.set_title(f"Spearman rho = {rho:.2f} (n = {len(names)})" if np.isfinite(rho) else f"n = {len(names)}")
        rho_text = (f"{rho:.2f} (p = {p_value:.2f})" if np.isfinite(rho)
                    else f"undefined ({outcome} or error is the same for every checkpoint)")
        lines.append(f"Zero-shot error vs {outcome} over {len(names)} checkpoints: Spearman rho = {rho_text}.")
    figure.savefig(out / "robot_correlation.png", dpi=120)
    return "\n".join(lines) + "\n\n(plot: robot_correlation.png)"

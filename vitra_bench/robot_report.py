"""The robot table of a run: success per pretraining source, task and split, and its relation to zero-shot error.

Reads what the run's stages wrote: ``<robot>/<source>/<task>/<split>/eval_info.json`` for success
(Wilson 95 % intervals) and each source's zero-shot grasp cases for d_hand_obj. The paper reports
that robot success rises as hand-prediction error falls; the correlation here is over the run's
checkpoints, with its n, so a reader sees how little (or much) it rests on.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from vitra_bench.benchmarking import markdown_table
from vitra_bench.stats import wilson_interval


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


def robot_tables(run_dir: Path | None, out: Path, sources: list[str]) -> Path:
    """Write ``out/robot.md`` (and ``out/robot_correlation.png`` when 3+ sources have both numbers)."""
    out = Path(out)
    rows, points = [], []
    for source in sources:
        row: dict[str, str] = {"pretraining": source}
        wins = trials = 0
        reached: dict[str, list[int]] = {}  # milestone -> [trials that reached it, trials]
        for info_path in sorted((out / source).glob("*/*/eval_info.json")):
            aggregated = json.loads(info_path.read_text())["aggregated"]
            n = aggregated["n_episodes"]
            k = round(aggregated["pc_success"] * n / 100)
            interval = wilson_interval(k, n)
            row[f"{info_path.parent.parent.name} {info_path.parent.name}"] = f"{interval.format(100, 0)} (n={n})"
            wins, trials = wins + k, trials + n
            for name, pc in aggregated.get("pc_events", {}).items():
                count = reached.setdefault(name, [0, 0])
                count[0], count[1] = count[0] + round(pc * n / 100), count[1] + n
        if trials:
            row["all"] = f"{wilson_interval(wins, trials).format(100, 0)} (n={trials})"
            for name, (k, n) in reached.items():
                row[f"all: {name}"] = f"{wilson_interval(k, n).format(100, 0)} (n={n})"
            error = zero_shot_error(run_dir, source)
            row["zero-shot d_hand_obj cm"] = "-" if math.isnan(error) else f"{error:.1f}"
            if not math.isnan(error):
                points.append((source, error, 100 * wins / trials))
        rows.append(row)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    text = markdown_table([{c: row.get(c, "-") for c in columns} for row in rows])
    text += ("\n\nSuccess in % with Wilson 95 % intervals; trials and step caps as each evaluation recorded them"
             " (its eval_info.json, 'config'). 'all: lifted' (and the like) is the share of trials that reached that milestone of the task"
             " (envs/robot/tasks.py EVENTS), success or not.")
    text += "\n\n" + _correlation(points, out)
    path = out / "robot.md"
    path.write_text(text + "\n")
    return path


def _correlation(points: list[tuple[str, float, float]], out: Path) -> str:
    """Spearman correlation of zero-shot error and success over the sources, with a scatter plot."""
    if len(points) < 3:
        return f"Zero-shot error vs success: {len(points)} checkpoint(s) with both numbers; at least 3 are needed for a correlation."
    from matplotlib.figure import Figure
    from scipy.stats import spearmanr

    names, errors, success = zip(*points, strict=True)
    constant = len(set(success)) == 1 or len(set(errors)) == 1
    rho, p_value = (math.nan, math.nan) if constant else spearmanr(errors, success)
    figure = Figure(figsize=(5.0, 3.6), layout="constrained")
    axes = figure.add_subplot()
    axes.scatter(errors, success, color="black")
    for name, x, y in points:
        axes.annotate(name.removeprefix("pretrained_"), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    axes.set_xlabel("zero-shot d_hand_obj (cm)")
    axes.set_ylabel("robot success (%)")
    axes.set_title(f"Spearman rho = {rho:.2f} (n = {len(points)})" if np.isfinite(rho) else f"n = {len(points)}")
    figure.savefig(out / "robot_correlation.png", dpi=120)
    rho_text = f"{rho:.2f} (p = {p_value:.2f})" if np.isfinite(rho) else "undefined (success or error is the same for every checkpoint)"
    return f"Zero-shot error vs success over {len(points)} checkpoints (plot: robot_correlation.png): Spearman rho = {rho_text}."

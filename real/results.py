"""The real-robot results table: success rate with its Wilson 95 % interval per task and split.

Same columns as a simulated evaluation (task, split, policy, trials, successes, success rate with
its interval; ``vitra_bench.stats.wilson_interval``), written as ``results.csv`` and LeRobot's
``eval_info.json`` schema (``per_episode`` + ``aggregated``) with the intervals LeRobot lacks.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vitra_bench.stats import wilson_interval

COLUMNS = ("task", "split", "policy", "trials", "successes", "success_rate", "ci_low", "ci_high")


@dataclass
class TrialResult:
    """One executed trial: what was asked, what the operator labelled, how long steps took."""

    index: int
    task: str
    split: str
    policy: str
    instruction: str
    success: bool
    steps: int
    episode_key: str
    latency_ms: dict[str, float] = field(default_factory=dict)
    clamps: int = 0
    events: dict[str, bool] = field(default_factory=dict)
    """The task's milestones (``envs.robot.tasks.EVENTS``) as the operator labelled them."""


def rows(trials: list[TrialResult]) -> list[dict[str, Any]]:
    """One row per (task, split, policy) with the Wilson interval of its success rate."""
    groups: dict[tuple[str, str, str], list[bool]] = {}
    for trial in trials:
        groups.setdefault((trial.task, trial.split, trial.policy), []).append(trial.success)
    out = []
    for (task, split, policy), successes in groups.items():
        interval = wilson_interval(sum(successes), len(successes))
        out.append(dict(zip(COLUMNS, (task, split, policy, len(successes), sum(successes),
                                      interval.estimate, interval.low, interval.high))))
    return out


def format_table(trials: list[TrialResult]) -> str:
    """Plain-text table: success rate in percent with its 95 % interval."""
    lines = [f"{'task':<16} {'split':<26} {'policy':<20} {'n':>4} {'k':>4}  success % [95% CI]"]
    for row in rows(trials):
        lines.append(f"{row['task']:<16} {row['split']:<26} {row['policy'][-20:]:<20} {row['trials']:>4} "
                     f"{row['successes']:>4}  {100 * row['success_rate']:.1f} "
                     f"[{100 * row['ci_low']:.1f}, {100 * row['ci_high']:.1f}]")
    return "\n".join(lines)


def write(out_dir: str | Path, trials: list[TrialResult]) -> Path:
    """``results.csv`` and ``eval_info.json`` in ``out_dir``; returns the directory."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = rows(trials)
    with open(out / "results.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(table)
    latencies = [t.latency_ms.get("total_mean", np.nan) for t in trials]
    info = {
        "per_episode": [asdict(t) for t in trials],
        "aggregated": {
            "pc_success": 100 * float(np.mean([t.success for t in trials])) if trials else None,
            "n_episodes": len(trials),
            "mean_step_latency_ms": float(np.nanmean(latencies)) if trials else None,
            "pc_events": _pc_events(trials),
        },
        "per_task": table,
    }
    (out / "eval_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return out


def _pc_events(trials: list[TrialResult]) -> dict[str, float]:
    """Percent of trials that reached each milestone, as a simulated evaluation reports it, so
    ``vitra-bench robot table`` reads real and simulated runs alike."""
    names = dict.fromkeys(name for trial in trials for name in trial.events)
    return {name: 100 * float(np.mean([trial.events.get(name, False) for trial in trials])) for name in names}

"""How often each scripted expert succeeds, per task and split (``vitra-bench robot experts``).

``vitra-bench robot demos`` reports a success rate too, but only over the attempts it records (a
handful, rendered and encoded), and only on one split. Whoever changes an expert needs the rate on
many layouts of every split, with an interval, and the layouts and objects it fails on; this runs
the experts state-only (no rendering, ~1-3 s an episode here) on seeds ``0..seeds-1`` of each
split, in parallel processes, and writes that table.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from vitra_bench.benchmarking import machine_info, markdown_table
from vitra_bench.stats import wilson_interval


@dataclass(frozen=True)
class ExpertTrial:
    """One expert episode: what was attempted and how far it got."""

    task: str
    split: str
    seed: int
    success: bool
    events: dict[str, bool]
    objects: dict[str, str]
    """The TaskSpec's object slots as filled in this layout (slot -> object name)."""
    seconds: float


def run_trial(task: str, split: str, seed: int) -> ExpertTrial:
    """Run ``task``'s expert on layout ``seed`` of ``split`` until success or the horizon."""
    import gymnasium as gym

    import envs.robot  # noqa: F401  (registers the envs)
    from envs.robot.experts import make_expert

    start = time.perf_counter()
    env = gym.make(f"VitraBench/{task}-v0", observe_image=False, split=split)
    robot, expert = env.unwrapped, make_expert(task)
    _, info = env.reset(seed=seed)
    expert.reset(robot)
    for _ in range(robot.task.horizon):
        *_, terminated, truncated, info = env.step(expert.act(robot))
        if terminated or truncated:
            break
    objects = dict(robot.instance.objects)
    env.close()
    return ExpertTrial(task, split, seed, bool(info["is_success"]), dict(info["events"]), objects,
                       time.perf_counter() - start)


def score_experts(tasks: list[str], splits: list[str] | None, seeds: int, workers: int = 1) -> list[ExpertTrial]:
    """Every (task, split, seed) trial; ``splits=None`` means each task's own splits."""
    from vitra_bench.tasks import get_task

    jobs = [(task, split, seed) for task in tasks
            for split in (get_task(task).splits if splits is None else [s for s in splits if s in get_task(task).splits])
            for seed in range(seeds)]  # fmt: skip
    if not jobs:
        raise ValueError(f"no trials: none of the splits {splits} belongs to the tasks {tasks}")
    with tqdm(total=len(jobs), desc="expert trials", unit="trial") as bar:
        if workers <= 1:
            trials = []
            for job in jobs:
                trials.append(run_trial(*job))
                bar.update()
            return trials
        # spawn, not fork: MuJoCo and the IK solver start clean in each worker.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(run_trial, *job) for job in jobs]
            trials = []
            for future in futures:
                trials.append(future.result())
                bar.update()
            return trials


def expert_table(trials: list[ExpertTrial]) -> list[dict[str, Any]]:
    """One row per (task, split): success with its Wilson interval, milestones, and the objects of
    the failed layouts (count per object, slots that vary across the split only), which is where
    an expert needs work."""
    rows = []
    for task, split in dict.fromkeys((t.task, t.split) for t in trials):
        cell = [t for t in trials if (t.task, t.split) == (task, split)]
        wins = sum(t.success for t in cell)
        interval = wilson_interval(wins, len(cell))
        milestones = ", ".join(f"{name} {sum(t.events.get(name, False) for t in cell)}/{len(cell)}"
                               for name in cell[0].events)
        varying = [slot for slot in cell[0].objects if len({t.objects.get(slot) for t in cell}) > 1]
        failed = Counter(", ".join(t.objects[slot] for slot in varying) or "any" for t in cell if not t.success)
        rows.append({
            "task": task, "split": split, "success": f"{wins}/{len(cell)}",
            "rate [95 % CI]": f"{interval.format(100, 0)} %",
            "milestones": milestones or "-",
            "failed layouts (objects)": "; ".join(f"{name} x{n}" for name, n in failed.most_common()) or "-",
            "s/trial": f"{sum(t.seconds for t in cell) / len(cell):.1f}",
        })  # fmt: skip
    return rows


def write_expert_table(trials: list[ExpertTrial], out: Path, seeds: int) -> str:
    """``out`` (Markdown): the table, the machine, and the failed seeds per cell for reproduction."""
    rows = expert_table(trials)
    info = machine_info(seeds=f"0..{seeds - 1} per split", observation="state only")
    failed = {}
    for t in trials:
        if not t.success:
            failed.setdefault(f"{t.task}/{t.split}", []).append(str(t.seed))
    lines = ["# Scripted experts: success per task and split", "", *(f"- {k}: {v}" for k, v in info.items()), "",
             markdown_table(rows), "", "Failed seeds (reproduce one with `gymnasium.make(..., split=S)`, "
             "`env.reset(seed=N)` and the task's expert):", ""]
    lines += [f"- {cell}: {', '.join(seeds_)}" for cell, seeds_ in failed.items()] or ["- none"]
    markdown = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown)
    return markdown

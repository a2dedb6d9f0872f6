"""Scripted demonstrations: time per recorded demonstration per task, and what the paper's ~1,200
robot episodes (VITRA_FACTS.md, "Real robot") would take here.

Each task's expert runs ``--episodes`` attempts through ``envs.robot.demos.record_demos`` into a
temporary corpus (128 x 128 head-camera frames, rendered and encoded as a real run does), one
process. ``s/attempt`` is simulation + rendering of one attempt; ``s/demo`` is the wall time of
the whole recording (encoding and corpus writes included) divided by the demonstrations kept, so
it already pays for the failed attempts. The extrapolation splits 1,200 demonstrations evenly over
the four tasks (the paper gives no split) and divides by ``--workers`` processes, assuming one
core each; a task whose expert kept nothing has no estimate.

    python benchmarks/robot_demos.py [--episodes 5] [--workers 2] [--tasks PickPlace Pour]
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("LP_NUM_THREADS", "1")

import argparse
import math
import tempfile
import time
from pathlib import Path

import mujoco

from envs.robot.demos import DemoRecordConfig, record_demos
from vitra_bench.benchmarking import machine_info, write_results

PAPER_EPISODES = 1200
TASKS = ("PickPlace", "FunctionalGrasp", "Pour", "Sweep")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=5, help="attempts per task")
    parser.add_argument("--workers", type=int, default=2, help="processes assumed for the extrapolation")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    args = parser.parse_args()
    per_task = PAPER_EPISODES / len(args.tasks)
    rows, total_hours = [], 0.0
    for task in args.tasks:
        with tempfile.TemporaryDirectory() as tmp:
            config = DemoRecordConfig(out=Path(tmp) / "demos", tasks=(task,), episodes=args.episodes)
            start = time.perf_counter()
            summary = record_demos(config, progress=False)["tasks"][task]
            wall = time.perf_counter() - start
        kept = summary["succeeded"]
        per_demo = wall / kept if kept else math.nan
        hours = per_task * per_demo / args.workers / 3600
        total_hours += hours
        rows.append({
            "task": task, "attempts": summary["attempted"], "kept": kept,
            "success": f"{100 * summary['success_rate']:.0f} %", "steps/demo": f"{summary['mean_steps']:.0f}",
            "s/attempt": f"{summary['seconds_per_attempt']:.2f}", "s/demo": f"{per_demo:.2f}",
            f"h for {per_task:.0f} demos, {args.workers} workers": f"{hours:.2f}",
        })  # fmt: skip
        print(rows[-1])
    info = machine_info(mujoco=mujoco.__version__, image="128x128", workers_assumed=str(args.workers))
    notes = (f"Total for {PAPER_EPISODES} demonstrations (even split, {args.workers} workers): "
             f"{total_hours:.2f} h" + (" (nan: some task kept no demonstration)" if math.isnan(total_hours) else "")
             + ". s/demo includes the failed attempts, rendering, video encoding and corpus writes.")
    print(write_results("robot_demos", "Scripted robot demonstrations: time per demo", info, rows, notes))


if __name__ == "__main__":
    main()

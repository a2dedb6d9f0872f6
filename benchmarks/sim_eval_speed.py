"""Simulated evaluation throughput: episodes/minute with rendering, policy inference included.

Runs ``vitra-bench eval``'s trial loop (128 px head camera, chunked execution) for a few trials
with the no-motion baseline (the env and rendering alone) and with the tiny VITRA policy
(untrained: inference cost does not depend on the weights), and prints episodes per minute at
the given step cap and at the task's full horizon (extrapolated from steps/s), with the policy's
cost as a ratio to the env-only run measured in the same process.

    python benchmarks/sim_eval_speed.py [--trials 3] [--steps 120] [--task PickPlace]
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import argparse
import tempfile
import time
from pathlib import Path

import torch

from policies.checkpoints import save_policy
from policies.vitra import VitraConfig, VitraPolicy
from vitra_bench.benchmarking import machine_info, write_results
from vitra_bench.sim_eval import EvalConfig, evaluate
from vitra_bench.tasks import get_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="PickPlace")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--steps", type=int, default=120)
    args = parser.parse_args()
    horizon = get_task(args.task).horizon
    rows, baseline = [], None
    with tempfile.TemporaryDirectory() as folder:
        tiny = save_policy(Path(folder) / "tiny", VitraPolicy(VitraConfig.tiny()))
        for name, policy in (("no-motion baseline (env + rendering)", "initial"), ("tiny VITRA policy", str(tiny))):
            config = EvalConfig(policy=policy, task=args.task, trials=args.trials, max_steps=args.steps, videos=0,
                                out=Path(folder) / name.split()[0])  # fmt: skip
            started = time.perf_counter()
            info = evaluate(config)
            seconds = time.perf_counter() - started
            steps = sum(e["steps"] for e in info["per_episode"])
            baseline = baseline or seconds
            rows.append({
                "policy": name, "trials": args.trials, "steps/s": f"{steps / seconds:.1f}",
                f"episodes/min at {args.steps} steps": f"{60 * args.trials / seconds:.1f}",
                f"episodes/min at the {horizon}-step horizon": f"{60 * steps / seconds / horizon:.2f}",
                "time vs baseline": f"{seconds / baseline:.2f}",
            })  # fmt: skip
    info = machine_info(task=args.task, image="128x128", torch_threads=str(torch.get_num_threads()))
    print(write_results("sim_eval_speed", "Simulated evaluation: episodes per minute with rendering", info, rows))


if __name__ == "__main__":
    main()

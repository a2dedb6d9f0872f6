"""``vitra-bench eval``: a policy in a simulated robot task (``vitra_bench.sim_eval``)."""

from __future__ import annotations

import argparse

from vitra_bench.cli.common import add_config_command


def register(commands: argparse._SubParsersAction) -> None:
    from vitra_bench.sim_eval import EvalConfig

    add_config_command(commands, "eval", EvalConfig, run_eval, "evaluate a policy in a simulated robot task (Wilson 95 % CI)")


def run_eval(config) -> int:
    from vitra_bench.config import save_config
    from vitra_bench.sim_eval import evaluate

    info = evaluate(config)
    save_config(config, config.out)
    aggregated = info["aggregated"]
    low, high = aggregated["ci95_pc_success"]
    print(
        f"{info['task']} / {info['split']}: {aggregated['pc_success']:.1f} % success [{low:.1f}, {high:.1f}] "
        f"over {aggregated['n_episodes']} trials -> {config.out}"
    )
    return 0

"""``vitra-bench conditions``: the zero-shot table (VITRA Table 1's conditions) trained and evaluated alike."""

from __future__ import annotations

import argparse

from vitra_bench.cli.common import add_config_command


def _conditions_config() -> type:
    from policies.conditions import ConditionsConfig

    return ConditionsConfig


def register(commands: argparse._SubParsersAction) -> None:
    add_config_command(commands, "conditions", _conditions_config, run, "zero-shot table: each condition trained and evaluated alike")


def run(config) -> int:
    from policies.conditions import condition_rows, ordering_agreement, run_conditions
    from vitra_bench.benchmarking import machine_info, write_results
    from vitra_bench.config import save_config

    config.out.mkdir(parents=True, exist_ok=True)
    save_config(config, config.out)
    results = run_conditions(config)
    results.to_csv(config.out / "cases.csv", index=False)
    info = machine_info(eval_clips=str(config.eval_clips), seeds=str(config.seeds), steps=str(config.train.max_steps))
    notes = ordering_agreement(results)
    print(write_results("conditions", "Zero-shot grasp prediction by condition (d_hand_obj, cm)", info, condition_rows(results), notes, out=config.out))
    return 0

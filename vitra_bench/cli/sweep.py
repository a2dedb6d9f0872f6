"""``vitra-bench sweep``: the data-scaling sweep (train on fractions, evaluate zero-shot, fit, plot)."""

from __future__ import annotations

import argparse

from vitra_bench.cli.common import add_config_command


def _sweep_config() -> type:
    from policies.scaling_sweep import SweepConfig

    return SweepConfig


def register(commands: argparse._SubParsersAction) -> None:
    add_config_command(commands, "sweep", _sweep_config, run_sweep, "data-scaling sweep: train on fractions, evaluate, fit a law")


def run_sweep(config) -> int:
    from policies.scaling_sweep import sweep, sweep_tables
    from vitra_bench.benchmarking import machine_info, write_results
    from vitra_bench.config import save_config

    config.out.mkdir(parents=True, exist_ok=True)
    save_config(config, config.out)
    table = sweep(config)
    rows, notes, plot = sweep_tables(table, config)
    if plot is not None:
        notes += f"\n\n![scaling]({plot.name})"
    info = machine_info(corpus=str(config.corpus), eval_clips=str(config.eval_clips), metric=config.metric)
    print(write_results("sweep", "Data-scaling sweep", info, rows, notes, out=config.out))
    failed = (table["status"] != "ok").sum()
    return 1 if failed else 0

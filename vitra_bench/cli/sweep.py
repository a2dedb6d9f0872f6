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
    from policies.scaling_sweep import METRICS, fit_and_plot, fit_rows, sweep
    from vitra_bench.benchmarking import machine_info, markdown_table, write_results
    from vitra_bench.config import save_config

    config.out.mkdir(parents=True, exist_ok=True)
    save_config(config, config.out)
    table = sweep(config)
    columns = ["id", "fraction", "seed", "status", "train_episodes", *METRICS, "elapsed_s", "error"]
    rows = [{c: row.get(c, "") for c in columns} for row in table.to_dict("records")]
    fits, plot = fit_and_plot(table, config)
    notes = markdown_table(fit_rows(fits)) if fits else "fewer than 3 data sizes finished: no fit"
    if plot is not None:
        notes += f"\n\n![scaling]({plot.name})"
    info = machine_info(corpus=str(config.corpus), eval_clips=str(config.eval_clips), metric=config.metric)
    print(write_results("sweep", "Data-scaling sweep", info, rows, notes, out=config.out))
    failed = (table["status"] != "ok").sum()
    return 1 if failed else 0

"""``vitra-bench demo``: the whole chain on the embedded default (what ``make demo`` runs)."""

from __future__ import annotations

import argparse

from vitra_bench.cli.common import add_config_command


def _demo_config() -> type:
    from vitra_bench.demo import DemoConfig

    return DemoConfig


def register(commands: argparse._SubParsersAction) -> None:
    add_config_command(commands, "demo", _demo_config, run_demo, "run the whole chain, small, on the embedded default")


def run_demo(config) -> int:
    from vitra_bench.demo import run_demo as run

    return run(config)

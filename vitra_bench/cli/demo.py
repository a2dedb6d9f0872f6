"""``vitra-bench demo``: the whole chain on the embedded default (what ``make demo`` runs)."""

from __future__ import annotations

import argparse

from vitra_bench.cli.common import add_config_command
from vitra_bench.demo import DemoConfig, run_demo


def register(commands: argparse._SubParsersAction) -> None:
    add_config_command(commands, "demo", DemoConfig, run_demo, "run the whole chain, small, on the embedded default")

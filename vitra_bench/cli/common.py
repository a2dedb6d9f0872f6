"""Helpers shared by the command-group modules of the CLI."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from vitra_bench.config import parse_config


def add_config_command(
    commands: argparse._SubParsersAction,
    name: str,
    config_class: type,
    job: Callable[[Any], int | None],
    help: str,
) -> None:
    """Register a command whose options are the fields of ``config_class``.

    argparse only routes to the command; the arguments it does not know (``--help`` included) are
    left in ``args.config_args`` by ``main`` and go to draccus, so ``vitra-bench CMD --help`` lists
    the dataclass fields with their docstrings and ``--config_path run.yaml`` loads a saved config.
    """
    parser = commands.add_parser(name, help=help, description=help, add_help=False)
    parser.set_defaults(run=lambda args: job(parse_config(config_class, args.config_args)), takes_config=True)

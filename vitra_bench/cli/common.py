"""Helpers shared by the command-group modules of the CLI."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from vitra_bench.config import parse_config


def add_config_command(
    commands: argparse._SubParsersAction,
    name: str,
    config_class: type | Callable[[], type],
    job: Callable[[Any], int | None],
    help: str,
) -> None:
    """Register a command whose options are the fields of ``config_class``.

    argparse only routes to the command; the arguments it does not know (``--help`` included) are
    left in ``args.config_args`` by ``main`` and go to draccus, so ``vitra-bench CMD --help`` lists
    the dataclass fields with their docstrings and ``--config_path run.yaml`` loads a saved config
    (``--config run.yaml`` too: draccus reserves the longer name, users type the shorter one).

    ``config_class`` may be a function returning the class, so that a command whose config pulls in
    torch does not make every other command pay for that import at start-up.
    """
    parser = commands.add_parser(name, help=help, description=help, add_help=False)

    def run(args: argparse.Namespace) -> int | None:
        resolved = config_class if isinstance(config_class, type) else config_class()
        return job(parse_config(resolved, config_alias(args.config_args)))

    parser.set_defaults(run=run, takes_config=True)


def config_alias(args: Sequence[str]) -> list[str]:
    """``--config FILE`` / ``--config=FILE`` -> ``--config_path ...``."""
    return [
        "--config_path" + arg[len("--config") :] if arg == "--config" or arg.startswith("--config=") else arg
        for arg in args
    ]

"""Entry point of the ``vitra-bench`` command: a tree of command groups, one module per group.

argparse builds the command tree only; every command that runs a job takes a config dataclass
parsed by draccus (YAML file + ``--field=value`` overrides, see ``vitra_bench.config``), so the
options of a job are defined once, in its dataclass.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vitra_bench import __version__
from vitra_bench.cli import conditions, corpus, demo, engine, evaluate, humansim, real, robot, sweep, train, zero_shot
from vitra_bench.corpus.errors import CorpusError

COMMAND_GROUPS = (corpus, humansim, engine, train, zero_shot, sweep, conditions, evaluate, robot, real, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vitra-bench",
        description="Reproduce and extend the VITRA recipe: human videos -> corpus -> policy -> robot.",
    )
    parser.add_argument("--version", action="version", version=f"vitra-bench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "takes_config", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.config_args = unknown
    try:
        return int(args.run(args) or 0)
    except (ValueError, FileNotFoundError, KeyError, CorpusError) as error:
        # Bad input from the user: say what is wrong without a traceback.
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"vitra-bench: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

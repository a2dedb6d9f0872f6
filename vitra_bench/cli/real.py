"""``vitra-bench real ...``: the real-robot commands (``real/``): run, replay, teleop-record, twin, stop.

    vitra-bench real run --task PickPlace --policy CKPT|initial --arm HOST:PORT [--dry-run] [--twin] ...
    vitra-bench real replay --corpus DIR --episode KEY --arm HOST:PORT
    vitra-bench real teleop-record --task PickPlace --demos 5 --arm HOST:PORT
    vitra-bench real twin --port 8080
    vitra-bench real stop --arm HOST:PORT

Options are the fields of the config dataclasses in ``real.config`` (``--help`` lists them; nested
ones as ``--safety.max_step=0.03``; ``--config run.yaml`` loads a file). Dashes and bare boolean
flags are accepted as typed: ``--dry-run`` means ``--dry_run=true``. Nothing under ``real`` (so no
torch, no MuJoCo) is imported until a command runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from vitra_bench.cli.common import config_alias
from vitra_bench.config import parse_config

HELP = "run policies on the Realman + XHAND1 robot (or its digital twin), replay, teleoperate, stop"
_FLAGS = ("dry_run", "twin", "zero_shot", "record")


def flag_alias(args: Sequence[str]) -> list[str]:
    """``--dry-run`` -> ``--dry_run``; a bare boolean flag (``--twin``) -> ``--twin=true``."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg.startswith("--") and not arg.startswith("--config"):
            name, eq, value = arg[2:].partition("=")
            arg = "--" + name.replace("-", "_") + eq + value
            following = args[i + 1] if i + 1 < len(args) else "--"
            if not eq and name.replace("-", "_") in _FLAGS and following.startswith("--"):
                arg += "=true"
        out.append(arg)
    return out


def _command(
    subcommands: argparse._SubParsersAction, name: str, config_class: Callable[[], type],
    job: Callable[[Any], int | None], help: str,
) -> None:
    parser = subcommands.add_parser(name, help=help, description=help, add_help=False)

    def run(args: argparse.Namespace) -> int | None:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        return _interruptible(job)(parse_config(config_class(), config_alias(flag_alias(args.config_args))))

    parser.set_defaults(run=run, takes_config=True)


def _interruptible(job: Callable[[Any], int | None]) -> Callable[[Any], int | None]:
    """Ctrl-C ends a command with exit code 130 after the safety layer has stopped the robot."""

    def run(config: Any) -> int | None:
        try:
            return job(config)
        except KeyboardInterrupt:
            print("interrupted: robot stopped", file=sys.stderr)
            return 130

    return run


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("real", help=HELP, description=HELP)
    sub = parser.add_subparsers(dest="real_command", required=True, metavar="COMMAND")
    _command(sub, "run", _config("RunConfig"), run_run, "execute a TaskSpec's trials with a policy on the robot")
    _command(sub, "replay", _config("ReplayConfig"), run_replay, "send a recorded episode's commands again")
    _command(sub, "teleop-record", _config("TeleopConfig"), run_teleop, "record keyboard-teleoperated demonstrations")
    _command(sub, "twin", _config("TwinServeConfig"), run_twin, "serve the Realman digital twin over TCP")
    _command(sub, "stop", _config("StopConfig"), run_stop, "stop the arm (set_arm_stop on a new connection)")


def _config(name: str) -> Callable[[], type]:
    def load() -> type:
        from real import config

        return getattr(config, name)

    return load


HALTED = 3
"""Exit code of a run or replay that the safety layer halted (Ctrl-C included)."""


def run_run(config: Any) -> int:
    from real.runner import run

    return HALTED if run(config).halted else 0


def run_replay(config: Any) -> int:
    from real.recorder import load_commands
    from real.replay import replay

    total = len(load_commands(config.corpus, config.episode)[0]) if config.episode else 0
    return 0 if replay(config) == total else HALTED


def run_teleop(config: Any) -> int:
    from real.teleop import teleop_record

    teleop_record(config)
    return 0


def run_twin(config: Any) -> int:
    import time

    from real.twin.realman_server import TwinArmServer
    from real.twin.sim import TwinSim

    with TwinSim() as sim, TwinArmServer(sim, host=config.host, port=config.port) as server:
        print(f"Realman twin listening on {server.address_str} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(1.0)
        except KeyboardInterrupt:
            pass
    return 0


def run_stop(config: Any) -> int:
    from real.robots.realman.config import RealmanConfig
    from real.robots.realman.driver import stop_over_new_connection

    confirmed = stop_over_new_connection(RealmanConfig.from_address(config.arm))
    print("arm stopped" if confirmed else "set_arm_stop sent, not confirmed: check the arm, use the E-stop",
          file=sys.stdout if confirmed else sys.stderr)
    return 0 if confirmed else 1

"""``vitra-bench train``: pretrain or fine-tune a VITRA policy on a corpus (``policies.train``).

``vitra-bench train --config run.yaml --max_steps 500`` loads a config file, then applies the
overrides; running it again on the same ``output_dir`` resumes the run.
"""

from __future__ import annotations

import argparse

from vitra_bench.cli.common import add_config_command

HELP = "train a VITRA policy on a corpus (resumes an existing run)"


def _train_config() -> type:
    from policies.train import TrainConfig

    return TrainConfig


def register(commands: argparse._SubParsersAction) -> None:
    add_config_command(commands, "train", _train_config, run_train, HELP)


def run_train(config) -> int:
    from policies.train import train

    print(f"run: {train(config)}")
    return 0

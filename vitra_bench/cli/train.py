"""``vitra-bench train`` / ``finetune``: pretrain, or fine-tune on robot data, a VITRA policy (``policies.train``).

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


def _finetune_config() -> type:
    from policies.train import FinetuneConfig

    return FinetuneConfig


def register(commands: argparse._SubParsersAction) -> None:
    add_config_command(commands, "train", _train_config, run_train, HELP)
    add_config_command(
        commands, "finetune", _finetune_config, run_train,
        "fine-tune a pretrained policy on robot demonstrations (robot loss weights; from scratch without --init_checkpoint)",
    )  # fmt: skip


def run_train(config) -> int:
    from policies.train import train

    print(f"run: {train(config)}")
    return 0

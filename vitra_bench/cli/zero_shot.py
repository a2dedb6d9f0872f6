"""``vitra-bench zero-shot``: hand-motion prediction of one policy, on grasp clips and/or any corpus."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from vitra_bench.cli.common import add_config_command


@dataclass
class ZeroShotConfig:
    """What ``vitra-bench zero-shot`` evaluates and where it writes."""

    policy: str = "initial"
    """A checkpoint directory, a training run directory (its newest checkpoint) or ``initial``."""
    clips: Path | None = None
    """HumanSim ``grasp_eval`` clips (d_hand_obj, ADE/FDE); make them with ``humansim generate --script grasp_eval --split unseen``."""
    corpus: Path | None = None
    """Any corpus: best-of-K ADE/FDE of the recorded futures."""
    samples: int = 5
    """K: action chunks sampled per case."""
    anchors: int = 64
    """Corpus anchors evaluated (random, seeded)."""
    seed: int = 0
    out: Path = Path("results/zero_shot")
    name: str = "zero_shot"
    """Tables are written as ``<out>/<name>_{grasp,corpus}.{md,csv}`` plus per-case CSVs."""


def register(commands: argparse._SubParsersAction) -> None:
    add_config_command(commands, "zero-shot", ZeroShotConfig, run_zero_shot, "zero-shot hand-motion prediction benchmark")


def run_zero_shot(config: ZeroShotConfig) -> int:
    import torch

    from policies.loading import load_named_policy
    from vitra_bench.benchmarking import machine_info, write_results
    from vitra_bench.zero_shot import evaluate_corpus, evaluate_grasp, grasp_cases, summarize

    if config.clips is None and config.corpus is None:
        raise ValueError("give --clips (grasp clips) and/or --corpus")
    torch.set_num_threads(1)  # small models: more threads only add contention on a shared CPU
    policy = load_named_policy(config.policy)
    config.out.mkdir(parents=True, exist_ok=True)
    info = machine_info(policy=str(config.policy), samples=str(config.samples), seed=str(config.seed))
    if config.clips is not None:
        cases = evaluate_grasp(policy, grasp_cases(config.clips), config.samples, config.seed)
        cases.to_csv(config.out / f"{config.name}_grasp_cases.csv", index=False)
        rows = summarize(cases, ["d_hand_obj_cm", "d_hand_obj_best_cm", "ade_cm", "fde_cm", "start_distance_cm"], config.seed)
        print(write_results(f"{config.name}_grasp", "Zero-shot grasp prediction (HumanSim, unseen)", info, rows, out=config.out))
    if config.corpus is not None:
        cases = evaluate_corpus(policy, config.corpus, config.samples, config.anchors, config.seed)
        cases.to_csv(config.out / f"{config.name}_corpus_cases.csv", index=False)
        rows = summarize(cases, ["ade_cm", "fde_cm"], config.seed)
        print(write_results(f"{config.name}_corpus", f"Zero-shot ADE/FDE on {config.corpus}", info, rows, out=config.out))
    return 0

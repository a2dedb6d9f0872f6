"""The zero-shot table's conditions (VITRA Table 1), trained alike and evaluated on the same clips.

Each condition is a corpus plus a change to the training config; everything else (model size,
steps, seeds, evaluation clips, samples) is shared, so differences come from the condition:

=================  ======================================  =================================
condition          corpus                                  training change
=================  ======================================  =================================
initial            (none: the no-motion baseline)          -
lab                the data engine on ``lab``-preset clips -
narrations         wild clips cut at coarse narrations     -
no_augmentation    the data engine on wild clips           ``augment=False``
bidirectional      the data engine on wild clips           ``policy.causal=False``
full               the data engine on wild clips           -
truth              HumanSim truth of the wild clips        - (an upper bound, not in the paper)
=================  ======================================  =================================

Results are kept per (condition, seed) in ``<out>/<condition>/seed<k>/result.json`` (written
last, atomically), so a rerun only trains what is missing.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from policies.train import TrainConfig
from vitra_bench.corpus.files import atomic_write_json

PAPER = {  # VITRA_FACTS.md, "Evaluation": d_hand-obj average / median, cm
    "initial": (20.0, 20.0),
    "lab": (17.6, 18.3),
    "narrations": (14.1, 14.1),
    "no_augmentation": (11.6, 10.7),
    "bidirectional": (9.3, 7.2),
    "full": (8.8, 6.2),
}
CONDITIONS = ("initial", "lab", "narrations", "no_augmentation", "bidirectional", "full", "truth")


@dataclass
class ConditionsConfig:
    """What ``vitra-bench conditions`` trains and evaluates."""

    out: Path = Path("runs/conditions")
    eval_clips: Path = Path("runs/grasp_eval")
    """HumanSim ``grasp_eval`` clips of the unseen split."""
    engine_corpus: Path = Path("runs/engine_corpus")
    """The data engine's corpus of the wild clips (full method and its ablations)."""
    lab_corpus: Path | None = None
    narration_corpus: Path | None = None
    truth_corpus: Path | None = None
    conditions: str = ",".join(CONDITIONS)
    """Comma-separated subset of: """ + ", ".join(CONDITIONS)
    seeds: int = 1
    samples: int = 5
    """Action chunks sampled per evaluation case."""
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_steps=300, progress=False))
    """Shared training settings (corpus, output_dir and seed are set per run)."""

    def selected(self) -> list[str]:
        names = [c.strip() for c in self.conditions.split(",") if c.strip()]
        unknown = sorted(set(names) - set(CONDITIONS))
        if unknown:
            raise ValueError(f"unknown condition(s) {unknown}; choose from {', '.join(CONDITIONS)}")
        return names


def condition_training(config: ConditionsConfig, condition: str) -> TrainConfig | None:
    """The training config of ``condition`` (None for the baseline); errors name a missing corpus."""
    corpora = {
        "lab": config.lab_corpus, "narrations": config.narration_corpus, "truth": config.truth_corpus,
        "no_augmentation": config.engine_corpus, "bidirectional": config.engine_corpus, "full": config.engine_corpus,
    }  # fmt: skip
    if condition == "initial":
        return None
    corpus = corpora[condition]
    if corpus is None:
        raise ValueError(f"condition {condition!r} needs --{condition.replace('narrations', 'narration')}_corpus")
    train = dataclasses.replace(config.train, corpus=corpus)
    if condition == "no_augmentation":
        train = dataclasses.replace(train, augment=False)
    if condition == "bidirectional":
        train = dataclasses.replace(train, policy=dataclasses.replace(train.policy, causal=False))
    return train


def run_conditions(config: ConditionsConfig) -> pd.DataFrame:
    """Train and evaluate every (condition, seed) not done yet; one row per case of every run."""
    import torch

    from policies.loading import load_named_policy
    from policies.train import train
    from vitra_bench.zero_shot import evaluate_grasp, grasp_cases

    torch.set_num_threads(1)
    cases = grasp_cases(config.eval_clips)
    frames = []
    for condition in config.selected():
        for seed in range(config.seeds if condition != "initial" else 1):
            run_dir = Path(config.out) / condition / f"seed{seed}"
            result = run_dir / "result.json"
            if not result.exists():
                started = time.perf_counter()
                training = condition_training(config, condition)
                if training is None:
                    policy = load_named_policy("initial")
                else:
                    run = train(dataclasses.replace(training, output_dir=run_dir / "train", seed=seed, data_seed=seed))
                    policy = load_named_policy(run)
                table = evaluate_grasp(policy, cases, config.samples, seed=seed)
                run_dir.mkdir(parents=True, exist_ok=True)
                atomic_write_json(result, {"cases": table.to_dict("records"), "seconds": time.perf_counter() - started})
            table = pd.DataFrame(json.loads(result.read_text())["cases"])
            frames.append(table.assign(condition=condition, seed=seed))
    return pd.concat(frames, ignore_index=True)


def condition_rows(results: pd.DataFrame, seed: int = 0) -> list[dict[str, Any]]:
    """The table: per condition our d_hand_obj mean/median with 95 % bootstrap intervals, ADE/FDE,
    n (cases x seeds), and the paper's numbers beside."""
    from vitra_bench.stats import bootstrap_interval

    rows = []
    for condition, group in results.groupby("condition", sort=False):
        values = group["d_hand_obj_cm"].to_numpy(float)
        mean, median = (bootstrap_interval(values, f, seed=seed) for f in (np.mean, np.median))
        paper = PAPER.get(str(condition))
        rows.append({
            "condition": condition,
            "d_hand_obj avg [95% CI]": mean.format(digits=1),
            "median [95% CI]": median.format(digits=1),
            "ADE_cm": f"{group['ade_cm'].mean():.1f}",
            "FDE_cm": f"{group['fde_cm'].mean():.1f}",
            "n": len(values),
            "paper avg / median": f"{paper[0]} / {paper[1]}" if paper else "-",
        })  # fmt: skip
    return rows


def ordering_agreement(results: pd.DataFrame) -> str:
    """Whether our averages order the paper's conditions as the paper does, with the pairs that disagree."""
    ours = results.groupby("condition")["d_hand_obj_cm"].mean()
    shared = [c for c in PAPER if c in ours.index]
    disagreements = [
        f"{a} vs {b}"
        for i, a in enumerate(shared)
        for b in shared[i + 1 :]
        if np.sign(ours[a] - ours[b]) != np.sign(PAPER[a][0] - PAPER[b][0])
    ]
    pairs = len(shared) * (len(shared) - 1) // 2
    if not disagreements:
        return f"orderings agree on all {pairs} pairs of the paper's conditions"
    return f"orderings agree on {pairs - len(disagreements)} of {pairs} pairs; they differ on: {', '.join(disagreements)}"

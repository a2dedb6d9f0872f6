"""A data-scaling sweep: train on fractions of a corpus, evaluate each run zero-shot, fit a law.

Each point (fraction, seed) trains a policy on that fraction of the corpus (``policies.train``;
fractions nest for a seed, so 10 % is a subset of 20 %), evaluates it on the grasp clips
(``vitra_bench.zero_shot``) and returns its metrics; ``vitra_bench.sweep`` runs the points
(resumable, local pool or Ray) and ``vitra_bench.scaling`` fits error against the number of
training episodes and plots it, as in the paper's scaling figure.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from policies.train import TrainConfig, split_episodes
from vitra_bench.sweep import SweepPoint, plan_sweep, run_sweep

METRICS = ("d_hand_obj_cm", "ade_cm", "fde_cm")


@dataclass
class SweepConfig:
    """What ``vitra-bench sweep`` trains, evaluates and fits."""

    corpus: Path = Path("runs/humansim_corpus")
    """Pretraining corpus."""
    eval_clips: Path = Path("runs/grasp_eval")
    """HumanSim ``grasp_eval`` clips of the unseen split (``humansim generate --script grasp_eval --split unseen``)."""
    out: Path = Path("runs/sweep")
    """Points go to ``<out>/points/<id>``; tables and the plot to ``<out>``."""
    fractions: str = "1,10,20,50,100"
    """Percent of the corpus's training episodes per point, comma separated."""
    seeds: int = 3
    """Seeds per fraction (data subset and training)."""
    backend: Literal["local", "ray"] = "local"
    workers: int = 1
    """Points trained in parallel (processes or Ray CPUs)."""
    ray_address: str | None = None
    """A running Ray cluster; none starts a local one."""
    samples: int = 5
    """Action chunks sampled per evaluation case."""
    metric: Literal["d_hand_obj_cm", "ade_cm", "fde_cm"] = "d_hand_obj_cm"
    """The error the scaling law is fitted to."""
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_steps=300, progress=False))
    """Training of every point (``corpus``, ``output_dir``, fraction and seeds are set per point)."""

    def fraction_values(self) -> list[float]:
        try:
            return [float(f) for f in self.fractions.split(",") if f.strip()]
        except ValueError as error:
            raise ValueError(f"fractions must be comma-separated percentages, got {self.fractions!r}") from error


def run_point(config: SweepConfig, point: SweepPoint) -> dict[str, float]:
    """Train one point and evaluate it; its checkpoints stay in ``point.out_dir/train``."""
    import torch

    from policies.loading import load_named_policy
    from vitra_bench.corpus import Corpus
    from vitra_bench.zero_shot import evaluate_grasp, grasp_cases

    torch.set_num_threads(1)  # one point per core: threads would only fight over it
    train_config = dataclasses.replace(
        config.train, corpus=config.corpus, output_dir=point.out_dir / "train",
        data_fraction=point.fraction / 100.0, data_seed=point.seed, seed=point.seed, progress=False,
    )  # fmt: skip
    from policies.train import train

    run = train(train_config)
    with Corpus(config.corpus) as corpus:
        episodes = len(split_episodes(corpus.num_episodes, train_config)[0])
    cases = evaluate_grasp(load_named_policy(run), grasp_cases(config.eval_clips), config.samples, seed=point.seed)
    cases.to_csv(point.out_dir / "grasp_cases.csv", index=False)
    return {"train_episodes": float(episodes), **{m: float(cases[m].mean()) for m in METRICS}}


def sweep(config: SweepConfig) -> pd.DataFrame:
    """Run every point not yet done; return the table of all points."""
    points = plan_sweep(config.fraction_values(), config.seeds, config.out)
    return run_sweep(points, functools.partial(run_point, config), config.out, config.backend, config.workers, config.ray_address)


def fit_and_plot(table: pd.DataFrame, config: SweepConfig) -> tuple[list, Path | None]:
    """Fits of the chosen metric against training episodes (both laws when the points allow) and the plot."""
    from vitra_bench.scaling import fit_scaling, plot_scaling

    done = table[table["status"] == "ok"]
    size, error = done["train_episodes"].to_numpy(float), done[config.metric].to_numpy(float)
    if len(np.unique(size)) < 3:
        return [], None
    enough_seeds = done.groupby("train_episodes").size().min() >= 2
    fits = [fit_scaling(size, error, model, ci="bootstrap" if enough_seeds else "covariance") for model in ("log_linear", "power_law")]
    plot = plot_scaling(
        size, error, fits, Path(config.out) / "scaling.png",
        xlabel="training episodes", ylabel=config.metric.replace("_cm", " (cm)"), title="Zero-shot error vs pretraining data",
    )  # fmt: skip
    return fits, plot


def fit_rows(fits: list) -> list[dict[str, str]]:
    rows = []
    for fit in fits:
        for name, value in fit.params.items():
            low, high = fit.ci[name]
            rows.append({
                "model": fit.model, "parameter": name, "estimate": f"{value:.4g}",
                "95% CI": f"[{low:.4g}, {high:.4g}] ({fit.ci_method})", "R2": f"{fit.r2:.3f}",
                "AIC": f"{fit.aic:.2f}" if math.isfinite(fit.aic) else "nan", "runs": str(fit.n_points),
            })  # fmt: skip
    return rows


def sweep_tables(table: pd.DataFrame, config: SweepConfig) -> tuple[list[dict], str, Path | None]:
    """The points as table rows, the fits as Markdown, and their plot (None with too few sizes)."""
    from vitra_bench.benchmarking import markdown_table

    columns = ["id", "fraction", "seed", "status", "train_episodes", *METRICS, "elapsed_s", "error"]
    rows = [{c: row.get(c, "") for c in columns} for row in table.to_dict("records")]
    fits, plot = fit_and_plot(table, config)
    return rows, markdown_table(fit_rows(fits)) if fits else "fewer than 3 data sizes finished: no fit", plot

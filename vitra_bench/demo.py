"""The demo: the whole chain that exists so far, small, on the embedded default, under one run directory.

Each later part of the suite appends its stage here (HumanSim clips -> data engine -> corpus ->
pretraining -> benchmark -> robot...), so ``make demo`` always runs everything that works.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from vitra_bench.config import save_config
from vitra_bench.stages import Stage, run_stages, stage_dir
from vitra_bench.synthetic import SyntheticConfig, write_synthetic_corpus


@dataclass
class DemoConfig:
    """What ``vitra-bench demo`` runs."""

    out: Path = Path("runs/demo")
    """Run directory; each stage writes into its own subfolder and a rerun reuses finished stages."""
    synthetic: SyntheticConfig = field(default_factory=lambda: SyntheticConfig(episodes=16))
    """The input corpus (its ``out`` is replaced by ``<out>/corpus/corpus``)."""


def demo_stages(config: DemoConfig) -> list[Stage]:
    corpus = stage_dir(config.out, "corpus") / "corpus"

    def make_corpus(out: Path) -> None:
        synthetic = replace(config.synthetic, out=corpus)
        save_config(synthetic, out)
        write_synthetic_corpus(synthetic)

    def validate(out: Path) -> None:
        from vitra_bench.corpus import validate_corpus

        problems = [str(problem) for problem in validate_corpus(corpus)]
        (out / "problems.txt").write_text("\n".join(problems) + "\n")
        if problems:
            raise ValueError(f"the demo corpus has {len(problems)} problem(s); see {out / 'problems.txt'}")

    def inspect(out: Path) -> None:
        from vitra_bench.cli.corpus import corpus_summary
        from vitra_bench.corpus import Corpus
        from vitra_bench.plots.episode import plot_episode

        (out / "summary.json").write_text(json.dumps(corpus_summary(corpus), indent=2) + "\n")
        with Corpus(corpus) as reader:
            plot_episode(reader.episode(0), reader.frames(0), out / "episode_000000.png")

    return [
        Stage("corpus", "synthesise a small corpus of two-hand reach-and-grasp episodes", make_corpus),
        Stage("validate", "check the corpus against the schema", validate),
        Stage("inspect", "summarise the corpus and plot its first episode", inspect),
    ]


def run_demo(config: DemoConfig) -> int:
    config.out.mkdir(parents=True, exist_ok=True)
    save_config(config, config.out)
    run_stages(config.out, demo_stages(config))
    print(f"demo finished: outputs under {config.out}")
    return 0

"""``vitra-bench engine ...``: videos -> corpus (``run``), and that corpus against HumanSim truth (``score``)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from vitra_bench.cli.common import add_config_command


@dataclass
class ScoreConfig:
    """What ``vitra-bench engine score`` compares and where it writes."""

    corpus: Path = Path("runs/engine_corpus")
    """Corpus made by ``engine run`` from HumanSim clips."""
    truth: Path = Path("runs/humansim")
    """The HumanSim folder those clips came from (their truth sidecars)."""
    out: Path = Path("results/engine")
    """Folder of the Markdown and CSV tables."""
    name: str | None = None
    """File name of the tables; default: ``score_<corpus folder name>``."""


def _engine_config() -> type:
    from data_engine.pipeline import EngineConfig  # OpenCV, SciPy, openai: ~2 s that other commands need not pay

    return EngineConfig


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("engine", help="the data engine: videos -> vision-language-action corpus")
    sub = group.add_subparsers(dest="engine_command", required=True, metavar="SUBCOMMAND")
    add_config_command(sub, "run", _engine_config, run_engine, "turn a folder of videos into corpus episodes (resumable)")
    add_config_command(sub, "score", ScoreConfig, run_score, "score an engine corpus against HumanSim truth")


def run_engine(config) -> int:
    from data_engine.runners import run_engine as run
    from vitra_bench.config import save_config

    summary = run(config)
    save_config(config, Path(config.out) / "engine")
    print("\n".join(summary.lines()))
    return 0


def run_score(config: ScoreConfig) -> int:
    from data_engine.score import score_corpus, summary_row
    from vitra_bench.benchmarking import machine_info, write_results

    scores = score_corpus(config.corpus, config.truth)
    rows = [s.row() for s in scores] + [summary_row(scores)]
    name = config.name or f"score_{Path(config.corpus).name}"
    info = machine_info(corpus=str(config.corpus), truth=str(config.truth))
    notes = (
        "focal error in % of the true focal; ATE = RMS camera-centre error (no alignment: both tracks start at the "
        "identity); MPJPE/wrist over frames the engine kept and the truth saw; boundaries within +-5 frames; "
        "instruction token F1 and object naming over episodes matched to a true segment (IoU >= 0.5)."
    )
    print(write_results(name, f"Data engine vs HumanSim truth: {config.corpus}", info, rows, notes, out=config.out))
    return 0

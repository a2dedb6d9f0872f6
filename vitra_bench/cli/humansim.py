"""``vitra-bench humansim ...``: generate procedural human-hand clips, look at them, make corpora."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vitra_bench.cli.common import add_config_command


@dataclass
class TruthCorpusConfig:
    """What ``vitra-bench humansim to-corpus`` writes."""

    clips: Path = Path("runs/humansim")
    """Folder of finished HumanSim clips."""
    out: Path = Path("runs/humansim_truth_corpus")
    """Corpus directory (created, or resumed)."""
    labels: Literal["truth", "narrations"] = "truth"
    """``truth``: one episode per true segment with its instruction (the engine's upper bound);
    ``narrations``: a 2-s window around each coarse narration with its sentence (the paper's
    "original human annotations" condition)."""


def register(commands: argparse._SubParsersAction) -> None:
    from envs.humansim.generate import HumanSimConfig

    group = commands.add_parser("humansim", help="procedural egocentric human-hand clips with ground truth")
    sub = group.add_subparsers(dest="humansim_command", required=True, metavar="SUBCOMMAND")
    add_config_command(sub, "generate", HumanSimConfig, run_generate, "render clips (mp4 + ground-truth sidecars)")
    show = sub.add_parser("show", help="draw a clip's ground truth on its frames and save the image")
    show.add_argument("clip", type=Path, help="the clip's .mp4 or .json")
    show.add_argument("--out", type=Path, help="image path (default: beside the clip)")
    show.add_argument("--frames", type=int, default=6, help="frames sampled across the clip")
    show.set_defaults(run=run_show)
    add_config_command(
        sub, "to-corpus", TruthCorpusConfig, run_to_corpus, "write clips straight to corpus episodes from their truth"
    )


def run_generate(config) -> int:
    from envs.humansim.generate import generate, summary

    written = generate(config)
    counts = summary(config.out)
    print(f"{config.out}: {len(written)} clip(s) written now; {counts['clips']} clips, {counts['segments']} segments in all")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from envs.humansim.show import show_clip

    print(f"image: {show_clip(args.clip, args.out, args.frames)}")
    return 0


def run_to_corpus(config: TruthCorpusConfig) -> int:
    from envs.humansim.narrations import write_narration_corpus
    from envs.humansim.truth import write_truth_corpus
    from vitra_bench.config import save_config

    write = write_truth_corpus if config.labels == "truth" else write_narration_corpus
    root = write(config.clips, config.out)
    save_config(config, root)
    print(f"wrote {root}")
    return 0

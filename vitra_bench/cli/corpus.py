"""``vitra-bench corpus ...``: check, summarise, inspect and synthesise corpora."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from vitra_bench.cli.common import add_config_command
from vitra_bench.cli.teledata import register_into as register_teledata
from vitra_bench.episode import HANDS, Episode
from vitra_bench.layout import ACTION_SLICES, FINGERS, ROTATION, TRANSLATION
from vitra_bench.synthetic import SyntheticConfig, write_synthetic_corpus


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("corpus", help="check, summarise, inspect and synthesise corpora")
    sub = group.add_subparsers(dest="corpus_command", required=True, metavar="SUBCOMMAND")

    validate = sub.add_parser("validate", help="check a corpus against the schema; exit 1 on any problem")
    validate.add_argument("corpus", type=Path)
    validate.set_defaults(run=run_validate)

    stats = sub.add_parser("stats", help="print a corpus summary and its action statistics")
    stats.add_argument("corpus", type=Path)
    stats.add_argument("--json", action="store_true", help="print the summary as JSON instead of tables")
    stats.set_defaults(run=run_stats)

    show = sub.add_parser("show", help="print one episode and plot it (or log it to Rerun)")
    show.add_argument("corpus", type=Path)
    show.add_argument("episode", help="episode index or key")
    show.add_argument("--out", type=Path, help="figure path (default: <corpus>/plots/episode_<index>.png)")
    show.add_argument("--no-frames", action="store_true", help="skip video decoding (no thumbnails)")
    show.add_argument("--rerun", action="store_true", help="log video, 3D hands and camera to a Rerun viewer")
    show.add_argument("--rerun-save", type=Path, help="write the Rerun recording to this .rrd file instead")
    show.set_defaults(run=run_show)

    vitra = sub.add_parser("import-vitra", help="import released VITRA-1M episode metadata and its source videos")
    vitra.add_argument("--annotations", type=Path, required=True, help="folder of episode .npy files")
    vitra.add_argument("--videos", type=Path, required=True, help="folder of the source videos (named by video_name)")
    vitra.add_argument("--out", type=Path, required=True, help="corpus to create or resume")
    vitra.add_argument("--fps", type=float, default=30.0, help="corpus frame rate (default 30)")
    vitra.add_argument("--width", type=int, default=256, help="stored frame width (default 256)")
    vitra.add_argument("--height", type=int, default=192, help="stored frame height (default 192)")
    vitra.set_defaults(run=run_import_vitra)

    add_config_command(sub, "synth", SyntheticConfig, run_synth, "write a kinematic synthetic corpus (tests, demos)")
    register_teledata(sub)


def run_validate(args: argparse.Namespace) -> int:
    from vitra_bench.corpus import validate_corpus

    problems = validate_corpus(args.corpus)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {args.corpus}")
        return 1
    from vitra_bench.corpus import Corpus

    with Corpus(args.corpus) as corpus:
        print(f"{args.corpus}: valid ({corpus.num_episodes} episodes, {corpus.num_frames} frames)")
    return 0


def corpus_summary(root: Path) -> dict:
    """Headline numbers of a corpus, from its metadata only (no frame is read)."""
    from vitra_bench.corpus import Corpus

    with Corpus(root) as corpus:
        episodes = corpus.episodes
        lengths = episodes["length"].to_numpy()
        main = episodes["vitra/main_hand"].value_counts().to_dict()
        sources = episodes["vitra/caption_source"].value_counts().to_dict()
        return {
            "corpus": str(root),
            "episodes": corpus.num_episodes,
            "frames": corpus.num_frames,
            "hours": round(corpus.num_frames / corpus.fps / 3600, 4),
            "fps": corpus.fps,
            "cameras": {name: list(size) for name, size in corpus.cameras.items()},
            "tasks": len(corpus.tasks),
            "episode_length": {
                "min": int(lengths.min()) if len(lengths) else 0,
                "median": float(np.median(lengths)) if len(lengths) else 0.0,
                "max": int(lengths.max()) if len(lengths) else 0,
            },
            "main_hand": {str(k): int(v) for k, v in main.items()},
            "caption_source": {str(k): int(v) for k, v in sources.items()},
            "action_stats": action_stats_table(corpus.stats).to_dict(orient="index"),
        }


def action_stats_table(stats: dict) -> pd.DataFrame:
    """Per hand and action component: valid steps and the mean magnitude, a sanity check for units."""
    action = stats["action"]
    rows = {}
    for side in HANDS:
        block = ACTION_SLICES[side]
        for component, part, unit, scale in (
            ("dt", TRANSLATION, "mm/step", 1000.0),
            ("dR", ROTATION, "deg/step", np.degrees(1.0)),
            ("theta", FINGERS, "deg", np.degrees(1.0)),
        ):
            dims = np.arange(block.start, block.stop)[part]
            rows[f"{side} {component}"] = {
                "valid_steps": int(action.count[dims].min()),
                "mean_abs_mean": float(np.abs(action.mean[dims]).mean() * scale),
                "mean_std": float(action.std[dims].mean() * scale),
                "unit": unit,
            }
    return pd.DataFrame.from_dict(rows, orient="index")


def run_stats(args: argparse.Namespace) -> int:
    summary = corpus_summary(args.corpus)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    table = pd.DataFrame.from_dict(summary.pop("action_stats"), orient="index")
    for key, value in summary.items():
        print(f"{key:>16}: {value}")
    print("\naction statistics over valid steps (meta/stats.json):")
    print(table.to_string(float_format=lambda x: f"{x:.3f}"))
    return 0


def describe_episode(episode: Episode, index: int) -> str:
    fov = np.degrees(episode.fov())
    lines = [
        f"episode {index}: {episode.key}",
        f"  source video: {episode.source_video} (frames {episode.video_frame_index[0]}..{episode.video_frame_index[-1]})",
        f"  {episode.num_frames} frames at {episode.fps:g} fps, image {episode.image_size[0]}x{episode.image_size[1]}, "
        f"FoV {fov[0]:.1f} x {fov[1]:.1f} deg",
        f"  main hand: {episode.main_hand}; captions: {episode.caption_source}",
    ]
    for side in HANDS:
        track = episode.hands[side]
        lines.append(f"  {side} hand: tracked in {track.kept.sum()}/{episode.num_frames} frames")
        for instruction in episode.instructions[side]:
            lines.append(f"    [{instruction.start}, {instruction.end}) {instruction.text}")
            lines.extend(f"        ~ {text}" for text in instruction.rephrases)
    lines.append(f"  prompt at frame 0: {episode.instruction_at(0)}")
    if episode.extra:
        lines.append(f"  extra: {json.dumps(episode.extra)}")
    return "\n".join(lines)


def run_show(args: argparse.Namespace) -> int:
    from vitra_bench.corpus import Corpus

    with Corpus(args.corpus) as corpus:
        selector: int | str = int(args.episode) if args.episode.isdigit() else args.episode
        index = corpus.episode_index(selector)
        episode = corpus.episode(index)
        frames = None if args.no_frames or not corpus.cameras else corpus.frames(index)
    print(describe_episode(episode, index))
    if args.rerun or args.rerun_save:
        from vitra_bench.plots.rerun_episode import log_episode

        log_episode(episode, frames, save=args.rerun_save, spawn=args.rerun)
        print(f"logged to Rerun{f' ({args.rerun_save})' if args.rerun_save else ''}")
        return 0
    from vitra_bench.plots.episode import plot_episode

    out = args.out or Path(args.corpus) / "plots" / f"episode_{index:06d}.png"
    print(f"figure: {plot_episode(episode, frames, out)}")
    return 0


def run_import_vitra(args: argparse.Namespace) -> int:
    """Import, then print counts and every per-file error; exit 1 when any file failed."""
    from vitra_bench.corpus.importers import import_vitra

    report = import_vitra(args.annotations, args.videos, args.out, fps=args.fps, size=(args.width, args.height))
    for name, reason in report.errors.items():
        print(f"error: {name}: {reason}")
    print(
        f"{args.out}: imported {len(report.imported)}, already present {len(report.skipped)}, "
        f"failed {len(report.errors)}"
    )
    return 1 if report.errors else 0


def run_synth(config: SyntheticConfig) -> int:
    from vitra_bench.config import save_config

    root = write_synthetic_corpus(config)
    save_config(config, root)
    print(f"wrote {root}")
    return 0

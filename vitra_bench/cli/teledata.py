"""``vitra-bench corpus import-teledata`` / ``export-teledata``: the authors' robot format, both ways.

Registered into the ``corpus`` group by ``register_into``; importers and exporters load lazily so
that ``vitra-bench --help`` does not import h5py or MuJoCo.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register_into(corpus_commands: argparse._SubParsersAction) -> None:
    """Add ``import-teledata`` and ``export-teledata`` to the ``corpus`` group's subcommands."""
    imp = corpus_commands.add_parser(
        "import-teledata", help="import VITRA-TeleData robot episodes (<id>.h5 + <id>.mp4) into a corpus"
    )
    imp.add_argument("--episodes", type=Path, required=True, help="folder of <id>.h5 files and their videos")
    imp.add_argument("--out", type=Path, required=True, help="corpus to create or resume")
    imp.add_argument(
        "--fps", type=float, default=30.0, help="corpus frame rate; files at another rate fail (default 30)"
    )
    imp.add_argument("--width", type=int, default=320, help="stored frame width (default 320)")
    imp.add_argument("--height", type=int, default=180, help="stored frame height (default 180)")
    imp.add_argument(
        "--table", choices=("release", "project"), default="release",
        help="XHAND1 -> MANO joint table (default release: the authors' files use theirs)",
    )  # fmt: skip
    imp.set_defaults(run=run_import)

    exp = corpus_commands.add_parser(
        "export-teledata", help="export a corpus's robot episodes as VITRA-TeleData (<id>.h5 + <id>.mp4)"
    )
    exp.add_argument("corpus", type=Path)
    exp.add_argument("--out", type=Path, required=True, help="folder for the .h5/.mp4 pairs (resumable)")
    exp.add_argument("--right-only", action="store_true", help="write the right arm only (left zero-filled, masked)")
    exp.set_defaults(run=run_export)


def run_import(args: argparse.Namespace) -> int:
    """Import, print every per-file error and the counts; exit 1 when any file failed."""
    from vitra_bench.corpus.importers.teledata import import_teledata

    report = import_teledata(args.episodes, args.out, fps=args.fps, size=(args.width, args.height), table=args.table)
    for reason in report.errors.values():
        print(f"error: {reason}")
    print(
        f"{args.out}: imported {len(report.imported)}, already present {len(report.skipped)}, "
        f"failed {len(report.errors)}"
    )
    return 1 if report.errors else 0


def run_export(args: argparse.Namespace) -> int:
    """Export, print every per-episode error and the counts; exit 1 when any episode failed."""
    from vitra_bench.corpus.exporters.teledata import export_teledata

    report = export_teledata(args.corpus, args.out, right_only=args.right_only)
    for key, reason in report.errors.items():
        print(f"error: {key}: {reason}")
    print(f"{args.out}: exported {len(report.exported)}, skipped {len(report.skipped)}, failed {len(report.errors)}")
    return 1 if report.errors else 0

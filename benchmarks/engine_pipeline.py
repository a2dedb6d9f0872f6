"""Does the rest of the data engine cost more than its hand detector? Frames/s of each, one process.

For every video of a HumanSim folder (or any folder, with ``--hands mediapipe``) it times
``pipeline.process_video`` stage by stage (the pipeline records wall time per stage) and reports
frames per second of the hand detector alone next to frames per second of everything else
(decode, intrinsics, camera motion and track, lift, trajectories, segmentation, annotation,
episode assembly). The goal in the data-engine issue: the rest costs no more than the
detector, i.e. ratio = rest time / detector time <= 1. Runs in one process on one core's worth
of work (OpenCV threads pinned to 1).

    pip install -e '.[mediapipe]'
    python benchmarks/engine_pipeline.py [--videos DIR] [--hands mediapipe|oracle]

Without ``--videos`` it first renders ``--clips`` fresh ``wild`` HumanSim clips (640x480, 4 s) into
a temporary folder.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import argparse
import tempfile
from collections import Counter
from pathlib import Path

import cv2

from data_engine.pipeline import EngineConfig, find_videos, process_video
from envs.humansim.generate import HumanSimConfig, generate
from vitra_bench.benchmarking import machine_info, write_results

DETECTOR_STAGES = ("hands",)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=Path, help="folder of videos (default: fresh HumanSim clips)")
    parser.add_argument("--hands", default="mediapipe", choices=("mediapipe", "oracle"))
    parser.add_argument("--max-videos", type=int, default=6)
    parser.add_argument("--clips", type=int, default=6, help="HumanSim clips rendered when --videos is not given")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as folder:
        if args.videos is None:
            args.videos = Path(folder)
            generate(HumanSimConfig(out=args.videos, preset="wild", clips=args.clips, seed=2026, seconds=4.0), progress=False)
        measure(args)


def measure(args: argparse.Namespace) -> None:
    """Time every stage over the videos and write the table."""
    config = EngineConfig(videos=args.videos, hands=args.hands, progress=False)
    backend = config.hand_backend()
    seconds: Counter = Counter()
    frames = 0
    videos = find_videos(args.videos)[: args.max_videos]
    for path in videos:
        result = process_video(path, args.videos, config, backend=backend)
        if result.status == "ok":
            frames += result.report["frames"]
            seconds.update(result.seconds)
        print(f"{path.name}: {result.status} {result.reason}".rstrip())
    if not frames:
        raise SystemExit("no video was processed")
    detector = sum(seconds[s] for s in DETECTOR_STAGES)
    rest = sum(seconds.values()) - detector
    rows = [
        {"part": f"hand detector ({args.hands})", "seconds": f"{detector:.2f}", "frames/s": f"{frames / detector:.1f}" if detector else "inf"},
        {"part": "rest of the pipeline", "seconds": f"{rest:.2f}", "frames/s": f"{frames / rest:.1f}"},
        *({"part": f"  {stage}", "seconds": f"{value:.2f}", "frames/s": f"{frames / value:.1f}" if value else "inf"}
          for stage, value in seconds.most_common() if stage not in DETECTOR_STAGES),
    ]
    ratio = rest / detector if detector else float("inf")
    info = machine_info(videos=str(args.videos), clips=str(len(videos)), frames=str(frames), hands=args.hands)
    notes = f"ratio rest / detector = {ratio:.2f} (goal <= 1)"
    print(write_results(f"engine_pipeline_{args.hands}", "Data engine: pipeline vs hand detector, one process", info, rows, notes))


if __name__ == "__main__":
    main()

"""``vitra-bench robot ...``: scripted demonstrations of the robot tasks, and human episodes replayed on the robot.

Heavy imports (MuJoCo, gymnasium, dex-retargeting) happen inside the commands, so that
``vitra-bench --help`` stays fast.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``robot`` group: ``demos``, ``experts``, ``replay-human`` and ``table``."""
    group = commands.add_parser("robot", help="simulated XHAND1 + RM75 robot: demonstrations, human replay, result tables")
    sub = group.add_subparsers(dest="robot_command", required=True, metavar="SUBCOMMAND")

    demos = sub.add_parser("demos", help="record scripted-expert demonstrations (successes only) into a corpus")
    demos.add_argument("--tasks", default="PickPlace,FunctionalGrasp,Pour,Sweep", help="comma-separated TaskSpec names")
    demos.add_argument("--episodes", type=int, default=10, help="attempts per task (default 10)")
    demos.add_argument("--out", type=Path, required=True, help="corpus to create or resume")
    demos.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    demos.add_argument("--split", default="seen", help="TaskSpec split (default seen)")
    demos.add_argument("--seed", type=int, default=0, help="attempt i depends only on (seed, task, split, i)")
    demos.add_argument("--image-size", type=int, default=128, help="square head-camera frames (default 128)")
    demos.set_defaults(run=run_demos)

    experts = sub.add_parser("experts", help="score the scripted experts per task and split (state only, Wilson intervals)")
    experts.add_argument("--tasks", default="PickPlace,FunctionalGrasp,Pour,Sweep", help="comma-separated TaskSpec names")
    experts.add_argument("--splits", default=None, help="comma-separated splits (default: each task's own)")
    experts.add_argument("--seeds", type=int, default=40, help="layouts 0..N-1 per split (default 40)")
    experts.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    experts.add_argument("--out", type=Path, default=Path("results/robot_experts.md"), help="table to write")
    experts.set_defaults(run=run_experts)

    replay = sub.add_parser("replay-human", help="replay a human corpus episode on the simulated robot (mp4)")
    replay.add_argument("--corpus", type=Path, required=True, help="human corpus")
    replay.add_argument("--episode", required=True, help="episode index or key")
    replay.add_argument("--out", type=Path, required=True, help="video to write (.mp4)")
    replay.add_argument("--method", choices=("keypoints", "table"), default="keypoints",
                        help="fingers by dex-retargeting on keypoints (default) or by the joint table")
    replay.add_argument("--task", default="PickPlace", help="scene to replay in (default PickPlace)")
    replay.add_argument("--image-size", type=int, default=256, help="square video frames (default 256)")
    replay.set_defaults(run=run_replay)

    table = sub.add_parser("table", help="success and milestones per policy from eval outputs, with Wilson intervals")
    table.add_argument("--evals", type=Path, nargs="+", required=True,
                       help="directory of `vitra-bench eval` outputs laid out as <source>/<task>/<split>/; several"
                            " directories are several training runs (e.g. fine-tuning seeds) whose trials are pooled")
    table.add_argument("--out", type=Path, default=None,
                       help="where robot.md and robot_correlation.png go (default: the first --evals directory)")
    table.add_argument("--sources", default=None, help="comma-separated sources, in table order (default: every one, sorted)")
    table.add_argument("--run", dest="run_dir", type=Path, default=None,
                       help="a demo/reference run directory whose zero-shot errors go beside the sources it names")
    table.add_argument("--baseline", default=None,
                       help="source every other one is compared with, per outcome: difference in points with a"
                            " Newcombe 95 %% interval and a two-sided Fisher exact p (e.g. no_pretraining)")
    table.add_argument("--splits", default=None, help="comma-separated splits to keep (default: every one)")
    table.set_defaults(run=run_table)


def run_demos(args: argparse.Namespace) -> int:
    from envs.robot.demos import DemoRecordConfig, record_demos

    config = DemoRecordConfig(
        out=args.out, tasks=tuple(t.strip() for t in args.tasks.split(",") if t.strip()), episodes=args.episodes,
        split=args.split, seed=args.seed, workers=args.workers, image_size=args.image_size,
    )  # fmt: skip
    summary = record_demos(config)
    for task, row in summary["tasks"].items():
        rate = "n/a" if math.isnan(row["success_rate"]) else f"{100 * row['success_rate']:.0f} %"
        print(f"{task}: {row['succeeded']}/{row['attempted']} successful ({rate}), "
              f"{row['seconds_per_attempt']:.1f} s per attempt")
    print(f"{args.out}: {len(summary['written_now'])} episode(s) written now")
    return 0


def run_experts(args: argparse.Namespace) -> int:
    from envs.robot.expert_score import score_experts, write_expert_table
    from vitra_bench.tasks import task_names

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = sorted(set(tasks) - set(task_names()))
    if unknown:
        raise ValueError(f"--tasks: unknown {unknown}; known: {list(task_names())}")
    if args.seeds < 1:
        raise ValueError("--seeds: need at least 1")
    splits = [s.strip() for s in args.splits.split(",") if s.strip()] if args.splits else None
    trials = score_experts(tasks, splits, args.seeds, args.workers)
    print(write_expert_table(trials, args.out, args.seeds))
    return 0


def run_replay(args: argparse.Namespace) -> int:
    from envs.robot.retarget import replay_human

    episode = int(args.episode) if args.episode.isdigit() else args.episode
    result = replay_human(args.corpus, episode, args.out, task=args.task, method=args.method,
                          image_size=args.image_size)
    print(f"{args.out}: {int(result['frames'])} frames, mean wrist tracking error "
          f"{1000 * result['mean_wrist_error_m']:.1f} mm")
    return 0


def run_table(args: argparse.Namespace) -> int:
    from vitra_bench.robot_report import robot_tables

    for directory in args.evals:
        if not directory.is_dir():
            raise SystemExit(f"--evals {directory}: no such directory")
    sources = ([s.strip() for s in args.sources.split(",") if s.strip()] if args.sources
               else sorted({p.name for directory in args.evals for p in directory.iterdir() if p.is_dir()}))
    if args.baseline is not None and args.baseline not in sources:
        raise SystemExit(f"--baseline {args.baseline}: not among the sources {sources}")
    out = args.out or args.evals[0]
    out.mkdir(parents=True, exist_ok=True)
    splits = [s.strip() for s in args.splits.split(",") if s.strip()] if args.splits else []
    path = robot_tables(args.run_dir, out, sources, evals=args.evals, baseline=args.baseline, splits=splits)
    print(path.read_text())
    return 0

"""Record scripted-expert demonstrations of the robot tasks as a corpus (``vitra-bench robot demos``).

Each attempt runs one task's expert (``envs.robot.experts``) in its env from a seed fixed by
``(config.seed, task, split, index)``, so attempt ``index`` is the same trial whoever runs it and
in whatever order: a resumed or parallel run records exactly what a single sequential run would.
Only successful attempts become episodes; every attempt, kept or not, leaves a small JSON record
(``<out>/demo_attempts/<key>.json``) so a resumed run neither redoes failures nor loses the
success rate.

Episodes use the project's robot-episode representation (``vitra_bench.corpus.importers.teledata``):
a :class:`TeleEpisode` whose right arm carries, per frame t, the measured arm and hand joints and
the joint targets the env executed at step t (IK output and mapped hand targets, the robot's
"executed command"), the hand mount = ``rm_attachment_site`` (so ``ee_to_mount`` is the
identity) and the head camera's pose in the arm base; ``episode_from_tele`` turns it into the corpus
episode (hand-mount pose as the wrist, mapped theta, ``extra["robot"]``), which exports to
VITRA-TeleData, and derives the episode's ``commands`` (its training targets) from the joint
targets, as for any robot episode; ``extra["sim"]`` holds the task, split and seed that reproduce
the episode.

Frame t of an episode is the observation the action of step t was chosen from; the observation
after the last step is not stored (it has no action).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
import zlib
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from vitra_bench.xhand_mapping import DEFAULT_TABLE

os.environ.setdefault("MUJOCO_GL", "egl")  # offscreen rendering in every (spawned) worker

ATTEMPTS_DIR = "demo_attempts"
JOINT_TABLE = DEFAULT_TABLE  # the env's table: the corpus's theta is what the policy's action means


@dataclass
class DemoRecordConfig:
    """What ``vitra-bench robot demos`` records."""

    out: Path = Path("runs/robot_demos")
    """Corpus directory (created, or resumed)."""
    tasks: tuple[str, ...] = ("PickPlace", "FunctionalGrasp", "Pour", "Sweep")
    """TaskSpec names."""
    episodes: int = 10
    """Attempts per task (only successful ones are kept)."""
    split: str = "seen"
    """TaskSpec split the trials are drawn from."""
    seed: int = 0
    """Attempt i of a task depends only on (seed, task, split, i)."""
    workers: int = 1
    """Parallel processes (spawned; each simulates whole attempts)."""
    image_size: int = 128
    """Head-camera frames are image_size x image_size (even: the video encoder's chroma subsampling)."""


@dataclass
class Attempt:
    """One expert run: its outcome and, when successful, everything an episode needs."""

    key: str
    task: str
    index: int
    seed: int
    success: bool
    steps: int
    seconds: float
    instruction: str = ""
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    intrinsics: np.ndarray | None = None
    camera_to_base: np.ndarray | None = None

    def record(self) -> dict[str, Any]:
        return {"key": self.key, "task": self.task, "index": self.index, "seed": self.seed,
                "success": self.success, "steps": self.steps, "seconds": round(self.seconds, 3)}


def attempt_seed(config: DemoRecordConfig, task: str, index: int) -> int:
    """The env seed of attempt ``index`` (stable across processes, unlike ``hash``)."""
    return zlib.crc32(f"{config.seed}/{task}/{config.split}/{index}".encode())


def attempt_key(config: DemoRecordConfig, task: str, index: int) -> str:
    return f"sim_{task}_{config.split}_s{config.seed}_{index:05d}"


def run_attempt(config: DemoRecordConfig, task: str, index: int, keep_frames: bool = True) -> Attempt:
    """Run the expert on attempt ``index`` of ``task`` until success or the horizon."""
    import gymnasium as gym

    import envs.robot  # noqa: F401  (registers the gym ids)
    from envs.robot.experts import make_expert

    seed = attempt_seed(config, task, index)
    env = gym.make(f"VitraBench/{task}-v0", split=config.split, render_mode="rgb_array",
                   image_size=config.image_size, observe_image=keep_frames, joint_table=JOINT_TABLE)
    robot = env.unwrapped
    expert = make_expert(task)
    start = time.perf_counter()
    obs, info = env.reset(seed=seed)
    expert.reset(robot)
    series: dict[str, list[np.ndarray]] = defaultdict(list)
    success = False
    for _ in range(robot.task.horizon):
        action = expert.act(robot)
        if keep_frames:
            series["frames"].append(obs["image"])
        series["arm_joint"].append(robot.arm_joints())
        series["hand_joint"].append(robot.hand_joints())
        series["actions"].append(action)
        obs, _, terminated, truncated, info = env.step(action)
        arm_target, hand_target = robot.joint_commands()
        series["arm_target"].append(arm_target)
        series["hand_target"].append(hand_target)
        if terminated or truncated:
            success = bool(info["is_success"])
            break
    attempt = Attempt(attempt_key(config, task, index), task, index, seed, success, len(series["actions"]),
                      time.perf_counter() - start, info["instruction"])
    if success:
        attempt.arrays = {k: np.stack(v) for k, v in series.items()}
        attempt.intrinsics, attempt.camera_to_base = robot.intrinsics.copy(), robot.camera_pose()
    env.close()
    return attempt


def episode_of(attempt: Attempt, config: DemoRecordConfig):
    """The corpus episode of a successful attempt, through the robot-episode representation."""
    from vitra_bench.corpus.importers.teledata import (
        ArmTrack,
        TeleEpisode,
        episode_from_tele,
    )

    a = attempt.arrays
    t = len(a["actions"])
    arm = ArmTrack(
        arm_joint=a["arm_joint"], hand_joint=a["hand_joint"], arm_target=a["arm_target"],
        hand_target=a["hand_target"], arm_mask=np.ones(t, bool), hand_mask=np.ones(t, bool),
        ee_to_mount=np.eye(4), camera_to_base=attempt.camera_to_base,
    )
    fps = 30.0
    tele = TeleEpisode(attempt.key, attempt.instruction, fps, attempt.intrinsics, {"right": arm}, a["frames"])
    episode = episode_from_tele(tele, table=JOINT_TABLE, source_video=f"{attempt.key}.mp4")
    episode.extra["sim"] = {**attempt.record(), "split": config.split}
    return episode


def _attempt_path(config: DemoRecordConfig, key: str) -> Path:
    return config.out / ATTEMPTS_DIR / f"{key}.json"


def _write_record(config: DemoRecordConfig, attempt: Attempt) -> None:
    from vitra_bench.corpus.files import atomic_write

    path = _attempt_path(config, attempt.key)
    text = json.dumps(attempt.record())
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def record_demos(config: DemoRecordConfig, progress: bool = True) -> dict[str, Any]:
    """Record every missing attempt of ``config`` into the corpus at ``config.out``; return the summary.

    The summary: per task, ``attempted``, ``succeeded``, ``success_rate``, ``mean_steps`` (of
    successes) and ``seconds_per_attempt`` (simulation and rendering, per worker), over every
    attempt recorded in the folder so far, plus ``written_now`` (keys added by this call).
    """
    from vitra_bench.config import save_config
    from vitra_bench.corpus import CorpusWriter
    from vitra_bench.corpus.importers.teledata import CAMERA, ROBOT_TYPE
    from vitra_bench.tasks import get_task

    if config.image_size % 2:
        raise ValueError(f"image_size must be even (the video's chroma is subsampled by 2), got {config.image_size}")
    tasks = tuple(get_task(t).name for t in config.tasks)
    size = (config.image_size, config.image_size)
    written: list[str] = []
    with CorpusWriter(config.out, fps=30.0, cameras={CAMERA: size}, robot_type=ROBOT_TYPE) as writer:
        (config.out / ATTEMPTS_DIR).mkdir(exist_ok=True)
        save_config(config, config.out / ATTEMPTS_DIR)
        todo = [(task, i) for task in tasks for i in range(config.episodes)
                if not _attempt_path(config, attempt_key(config, task, i)).exists()
                and not writer.contains(attempt_key(config, task, i))]
        total = len(tasks) * config.episodes
        bar = tqdm(total=total, initial=total - len(todo), desc="robot demos", disable=not progress)

        def finish(attempt: Attempt) -> None:
            if attempt.success and writer.add(episode_of(attempt, config)):
                written.append(attempt.key)
            _write_record(config, attempt)
            bar.update()

        with bar:
            if config.workers <= 1:
                for task, i in todo:
                    finish(run_attempt(config, task, i))
            else:
                # spawn, not fork: each worker opens its own EGL context from a clean process.
                context = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(config.workers, mp_context=context) as pool:
                    futures = [pool.submit(run_attempt, config, task, i) for task, i in todo]
                    for future in as_completed(futures):
                        finish(future.result())
    return {**summarize(config.out, tasks), "written_now": written}


def summarize(out: Path, tasks: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Per-task success rates and timings over the attempt records in ``out``."""
    records = [json.loads(p.read_text()) for p in sorted((Path(out) / ATTEMPTS_DIR).glob("*.json"))]
    by_task: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_task[r["task"]].append(r)
    summary = {}
    for task in tasks or sorted(by_task):
        rs = by_task.get(task, [])
        ok = [r for r in rs if r["success"]]
        summary[task] = {
            "attempted": len(rs),
            "succeeded": len(ok),
            "success_rate": len(ok) / len(rs) if rs else float("nan"),
            "mean_steps": float(np.mean([r["steps"] for r in ok])) if ok else float("nan"),
            "seconds_per_attempt": float(np.mean([r["seconds"] for r in rs])) if rs else float("nan"),
        }
    return {"tasks": summary}

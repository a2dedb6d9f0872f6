"""``vitra-bench eval``: a policy in a simulated robot task, with per-episode seeds and Wilson intervals.

Glue between ``policies`` (what acts) and ``envs.robot`` (where), which must not know each other,
so it lives with the CLI and imports both lazily. The policy predicts a 16-step action chunk from
the head-camera image, the prompt (``"Left hand: None. Right hand: <instruction>"``), the FoV
and the robot state; the first ``execution_horizon`` actions are executed before it is asked
again (VITRA executes part of each chunk; 1 re-plans every step).

Outputs under ``out``: ``episodes.parquet`` (one row per trial, with a column per milestone of
the task: ``lifted``, and for Pour ``poured``), ``eval_info.json`` (LeRobot's shape:
``per_episode`` and ``aggregated``, plus the Wilson 95 % intervals LeRobot does not give, for
success and for each milestone)
and ``videos/episode_<i>.mp4`` for the first ``videos`` trials.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vitra_bench.corpus.files import atomic_write, atomic_write_json
from vitra_bench.geometry import fov_from_intrinsics
from vitra_bench.stats import wilson_interval


@dataclass
class EvalConfig:
    """What ``vitra-bench eval`` runs."""

    policy: str = "initial"
    """A checkpoint, a training run directory (newest checkpoint), ``initial`` (no motion) or
    ``random`` (uniform in the env's action box)."""
    task: Literal["PickPlace", "FunctionalGrasp", "Pour", "Sweep"] = "PickPlace"
    split: Literal["seen", "unseen_object_background", "unseen_category"] = "seen"
    trials: int | None = None
    """Trials; default: the paper's count for the task and split."""
    seed: int = 0
    """Trial i uses seed + i, so one trial can be rerun alone."""
    execution_horizon: int = 8
    """Actions of each predicted chunk executed before the policy is asked again."""
    max_steps: int | None = None
    """Cap on steps per trial (default: the task's horizon)."""
    cfg_scale: float | None = None
    """Classifier-free guidance scale for a VITRA checkpoint (default: the checkpoint's, the paper's
    5.0); a small model trained briefly may extrapolate badly under strong guidance."""
    image_size: int = 128
    videos: int = 2
    """Trials recorded as mp4."""
    out: Path = Path("runs/eval")


def prompt(instruction: str) -> str:
    """The single-arm robot prompt: the left hand is absent, as in VITRA's right-arm fine-tuning."""
    text = instruction.strip()
    return f"Left hand: None. Right hand: {text if text.endswith('.') else text + '.'}"


def _batch(observation: dict[str, np.ndarray], instruction: str, intrinsics: np.ndarray) -> dict[str, Any]:
    import torch

    return {
        "image": torch.from_numpy(np.ascontiguousarray(observation["image"])).permute(2, 0, 1)[None],
        "instruction": [prompt(instruction)],
        "intrinsics": torch.from_numpy(np.asarray(intrinsics, np.float32))[None],
        "fov": torch.from_numpy(fov_from_intrinsics(intrinsics).astype(np.float32))[None],
        "state": torch.from_numpy(np.asarray(observation["state"], np.float32))[None],
        "state_mask": torch.from_numpy(np.asarray(observation["state_mask"], bool))[None],
    }


def run_trial(env: Any, policy: Any, seed: int, config: EvalConfig, record: bool) -> tuple[dict[str, Any], np.ndarray | None]:
    """One episode: its result row and, if ``record``, its frames."""
    import torch

    observation, info = env.reset(seed=seed)
    instruction = info["instruction"]
    intrinsics = env.unwrapped.intrinsics
    frames = [observation["image"]] if record else None
    generator = torch.Generator().manual_seed(seed)
    horizon = env.spec.max_episode_steps if config.max_steps is None else config.max_steps
    success, steps, chunk, latencies = False, 0, None, []
    while steps < horizon:
        if chunk is None or len(chunk) == 0:
            started = time.perf_counter()
            with torch.no_grad():
                chunk = policy.predict_actions(_batch(observation, instruction, intrinsics), generator)[0].numpy()
            latencies.append(time.perf_counter() - started)
            chunk = chunk[: config.execution_horizon]
        observation, _, terminated, truncated, info = env.step(chunk[0].astype(np.float32))
        chunk = chunk[1:]
        steps += 1
        success |= bool(info["is_success"])
        if frames is not None:
            frames.append(observation["image"])
        if terminated or truncated:
            break
    row = {"seed": seed, "success": success, "steps": steps, "instruction": instruction,
           "inference_ms": 1000 * float(np.mean(latencies)) if latencies else 0.0, **info["events"]}  # fmt: skip
    return row, (np.stack(frames) if frames is not None else None)


def evaluate(config: EvalConfig) -> dict[str, Any]:
    """Run the trials; write the parquet, the JSON and the videos; return ``eval_info``."""
    import gymnasium as gym
    import pandas as pd
    import torch
    from tqdm import tqdm

    import envs.robot  # noqa: F401  (registers the gymnasium ids)
    from envs.robot.tasks import EVENTS
    from policies.loading import load_named_policy
    from vitra_bench.corpus.video import VideoSettings, encode_video
    from vitra_bench.tasks import get_task

    torch.set_num_threads(1)
    spec = get_task(config.task)
    trials = spec.trials(config.split) if config.trials is None else config.trials
    if trials < 1:
        raise ValueError(f"{config.task} has no trials for split {config.split!r}")
    env = gym.make(f"VitraBench/{config.task}-v0", split=config.split, image_size=config.image_size)
    policy = load_named_policy(config.policy, action_box=(env.action_space.low, env.action_space.high))
    if config.cfg_scale is not None:
        if not hasattr(policy, "config") or not hasattr(policy.config, "cfg_scale"):
            raise ValueError(f"--cfg_scale needs a VITRA checkpoint; {config.policy!r} has no guidance")
        policy.config.cfg_scale = float(config.cfg_scale)
    out = Path(config.out)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    video_settings = VideoSettings(codec="libx264", pix_fmt="yuv420p", gop=30, crf=23)
    rows = []
    started = time.perf_counter()
    try:
        for i in tqdm(range(trials), desc=f"eval {config.task}/{config.split}", unit="trial"):
            row, frames = run_trial(env, policy, config.seed + i, config, record=i < config.videos)
            rows.append({"episode_ix": i, **row})
            if frames is not None:
                atomic_write(out / "videos" / f"episode_{i}.mp4", lambda tmp, f=frames: encode_video(f, tmp, spec.control_hz, video_settings))
    finally:
        env.close()
    table = pd.DataFrame(rows)
    atomic_write(out / "episodes.parquet", lambda tmp: table.to_parquet(tmp, index=False))
    wins = int(table["success"].sum())
    interval = wilson_interval(wins, len(table))
    events = {name: wilson_interval(int(table[name].sum()), len(table)) for name in EVENTS.get(spec.success, {})}
    info = {
        "task": config.task,
        "split": config.split,
        "policy": str(config.policy),
        "per_episode": rows,
        "aggregated": {
            "pc_success": 100.0 * wins / len(table),
            "ci95_pc_success": [100.0 * interval.low, 100.0 * interval.high],
            "pc_events": {name: 100.0 * rate.estimate for name, rate in events.items()},
            "ci95_pc_events": {name: [100.0 * rate.low, 100.0 * rate.high] for name, rate in events.items()},
            "n_episodes": len(table),
            "avg_steps": float(table["steps"].mean()),
            "eval_s": time.perf_counter() - started,
        },
        "config": json.loads(json.dumps(asdict(config), default=str)),
    }
    atomic_write_json(out / "eval_info.json", info)
    return info

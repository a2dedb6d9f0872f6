"""Vectorised evaluation of the robot tasks through gymnasium's vector envs.

``make_vector_env`` builds ``SyncVectorEnv`` (one process; right for the 2-core default machine,
where rendering already takes the cores) or ``AsyncVectorEnv`` (one worker process per env; for
machines with cores to spare). ``evaluate`` runs a policy for a number of trials, one episode per
trial with seeds ``seed + i`` (so a trial's scene is reproducible on its own), and returns
per-episode results and the aggregate in LeRobot's ``eval_info`` shape (``per_episode``,
``aggregated.pc_success``) plus a Wilson 95 % interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from envs.robot.registration import env_id
from vitra_bench.stats import wilson_interval
from vitra_bench.tasks import get_task

Policy = Callable[[dict[str, np.ndarray], list[str]], np.ndarray]
"""(batched observation dict, instructions) -> (num_envs, 102) actions."""


def make_vector_env(
    task: str, num_envs: int = 2, asynchronous: bool = False, **env_kwargs: Any
) -> gym.vector.VectorEnv:
    """``num_envs`` copies of ``VitraBench/<task>-v0`` (kwargs go to each env: split, image_size ...)."""
    fns = [lambda: gym.make(env_id(task), **env_kwargs) for _ in range(num_envs)]
    if asynchronous:
        return gym.vector.AsyncVectorEnv(fns, autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP)
    return gym.vector.SyncVectorEnv(fns, autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP)


def evaluate(
    policy: Policy,
    task: str,
    split: str = "seen",
    num_trials: int | None = None,
    num_envs: int = 2,
    seed: int = 0,
    max_steps: int | None = None,
    asynchronous: bool = False,
    **env_kwargs: Any,
) -> dict[str, Any]:
    """Run ``num_trials`` episodes (default: the TaskSpec's trial count for ``split``) in batches.

    Each batch resets its envs with consecutive seeds and steps until every env has ended once;
    steps after an env's end are ignored (the vector env auto-resets it, its result is kept).
    ``max_steps`` caps an episode below the task horizon (smoke tests).
    """
    spec = get_task(task)
    num_trials = spec.trials(split) if num_trials is None else num_trials
    horizon = spec.horizon if max_steps is None else min(max_steps, spec.horizon)
    per_episode: list[dict[str, Any]] = []
    start = time.perf_counter()
    env = make_vector_env(task, num_envs, asynchronous, split=split, **env_kwargs)
    try:
        for first in range(0, num_trials, num_envs):
            seeds = [seed + first + i for i in range(num_envs)]
            obs, info = env.reset(seed=seeds)
            instructions = list(info["instruction"])
            done = np.zeros(num_envs, bool)
            success = np.zeros(num_envs, bool)
            length = np.zeros(num_envs, int)
            for _ in range(horizon):
                action = np.asarray(policy(obs, instructions), np.float32)
                obs, _, terminated, truncated, info = env.step(action)
                live = ~done
                length[live] += 1
                success[live] |= np.asarray(info["is_success"], bool)[live]
                done |= terminated | truncated
                if done.all():
                    break
            for i in range(min(num_envs, num_trials - first)):
                per_episode.append({"episode_ix": first + i, "seed": seeds[i], "success": bool(success[i]),
                                    "steps": int(length[i]), "instruction": instructions[i]})
    finally:
        env.close()
    wins = sum(e["success"] for e in per_episode)
    interval = wilson_interval(wins, len(per_episode))
    low, high = interval.low, interval.high
    return {
        "task": spec.name,
        "split": split,
        "per_episode": per_episode,
        "aggregated": {
            "pc_success": 100.0 * wins / max(len(per_episode), 1),
            "ci95_pc_success": (100.0 * low, 100.0 * high),
            "n_episodes": len(per_episode),
            "eval_s": time.perf_counter() - start,
        },
    }


def zero_policy(num_envs: int) -> Policy:
    """Holds the arm still with the hand open: a do-nothing baseline (and smoke-test policy)."""

    def act(obs: dict[str, np.ndarray], instructions: list[str]) -> np.ndarray:
        return np.zeros((num_envs, 102), np.float32)

    return act

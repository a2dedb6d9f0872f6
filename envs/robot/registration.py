"""Gymnasium ids of the robot tasks: ``VitraBench/<Task>-v0`` for every TaskSpec of the paper.

Registered on ``import envs.robot``. Each id makes :class:`envs.robot.base_env.RobotTaskEnv` with
``task=<Task>``; keyword arguments of ``gymnasium.make`` (``split``, ``seed``, ``render_mode``,
``image_size``, ...) pass through. ``max_episode_steps`` is the TaskSpec's horizon (the env also
truncates there itself, so a directly constructed env behaves the same).
"""

from __future__ import annotations

import gymnasium as gym

from vitra_bench.tasks import get_task

NAMESPACE = "VitraBench"
TASKS: tuple[str, ...] = ("PickPlace", "FunctionalGrasp", "Pour", "Sweep")
ENTRY_POINT = "envs.robot.base_env:RobotTaskEnv"


def env_id(task: str) -> str:
    """``VitraBench/<Task>-v0``."""
    return f"{NAMESPACE}/{get_task(task).name}-v0"


def register_all() -> list[str]:
    """Register the four tasks (idempotent); return their ids."""
    ids = []
    for task in TASKS:
        spec = get_task(task)
        name = env_id(task)
        if name not in gym.registry:
            gym.register(
                id=name,
                entry_point=ENTRY_POINT,
                max_episode_steps=spec.horizon,
                kwargs={"task": spec.name},
            )
        ids.append(name)
    return ids


ENV_IDS = register_all()

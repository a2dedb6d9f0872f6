"""Scripted experts for the four robot tasks, one module each, driving the env through its actions.

``make_expert(task)`` returns a fresh expert; ``expert.reset(env.unwrapped)`` after each
``env.reset`` and ``expert.act(env.unwrapped)`` every step (see ``base.ScriptedExpert``).
"""

from __future__ import annotations

from envs.robot.experts.base import ScriptedExpert, Waypoint
from envs.robot.experts.functional_grasp import FunctionalGraspExpert
from envs.robot.experts.pick_place import PickPlaceExpert
from envs.robot.experts.pour import PourExpert
from envs.robot.experts.sweep import SweepExpert

EXPERTS: dict[str, type[ScriptedExpert]] = {
    cls.task: cls for cls in (PickPlaceExpert, FunctionalGraspExpert, PourExpert, SweepExpert)
}


def make_expert(task: str) -> ScriptedExpert:
    """A new expert for the TaskSpec called ``task`` (exact name, e.g. ``"PickPlace"``)."""
    try:
        return EXPERTS[task]()
    except KeyError:
        raise KeyError(f"no scripted expert for task {task!r}; known: {sorted(EXPERTS)}") from None


__all__ = ["EXPERTS", "ScriptedExpert", "Waypoint", "make_expert"]

"""Sweep expert: broom out of the basket, one push per paper ball into the taped zone, broom back.

The broom is taken by its handle from above (``functional_grasp.handle_geometry``). Once it is in
the hand, the bristles' offset from the hand mount is read from the scene (the plan is a
generator, so this happens after the grasp, with the broom where it really is), and each stroke
places the bristles behind a ball and pushes it along a straight line into the zone, the broom's
axis turned along the stroke so that the head's broad face pushes. Balls already in the zone
are skipped; the broom goes back to where it was taken from.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from envs.robot.experts.base import (
    OPEN,
    POWER,
    ScriptedExpert,
    Waypoint,
    lifted,
    mount_for_site,
    pose,
    top_down,
    yaw_near,
)
from envs.robot.experts.functional_grasp import handle_geometry
from envs.robot.experts.pick_place import APPROACH_HEIGHT, MIN_SITE_HEIGHT, READY

CARRY_LIFT = 0.09  # m the broom is raised over the basket's 5 cm walls
BEHIND = 0.05  # m behind a ball (against the stroke) where the bristles start
STROKE_INTO = 0.03  # m past the zone's centre the stroke ends
SWEEP_HEIGHT = 0.012  # m the bristles' keypoint stays above the table while pushing


def _rotation_z(angle: float) -> np.ndarray:
    return Rotation.from_rotvec([0.0, 0.0, angle]).as_matrix()


class SweepExpert(ScriptedExpert):
    """Grasp the broom's handle, lift it, push each ball into the zone, put the broom back."""

    task = "Sweep"

    def plan(self, env: Any) -> Iterator[Waypoint]:
        info = env.object_info("world")
        broom = next(o for o in info.values() if o["role"] == "broom")
        centre, axis, top = handle_geometry(broom)
        site = np.array([centre[0], centre[1], max(MIN_SITE_HEIGHT + 0.008, top - 0.025)])
        yaw = yaw_near(np.arctan2(axis[1], axis[0]) + np.pi / 2, np.arctan2(site[1], site[0]))
        grasp = mount_for_site(env, top_down(yaw), site)
        yield Waypoint(lifted(grasp, APPROACH_HEIGHT), READY, speed=0.3, label="approach")
        yield Waypoint(grasp, READY, speed=0.1, tolerance=0.006, label="reach")
        yield Waypoint(grasp, POWER, min_steps=15, hold=8, label="close")
        raised = lifted(grasp, CARRY_LIFT)
        yield Waypoint(raised, POWER, speed=0.15, label="lift")

        # The broom as held: bristles and broom axis in the mount frame.
        mount = env.ee_pose("world")
        held = env.object_info("world")[next(k for k, o in info.items() if o["role"] == "broom")]
        bristles = np.linalg.inv(mount) @ np.append(held["keypoints"]["bristles"], 1.0)
        handle_dir = np.linalg.inv(mount[:3, :3]) @ held["pose"][:3, 0]  # broom x: toward the handle
        handle_heading = float(np.arctan2(*(mount[:3, :3] @ handle_dir)[1::-1]))
        zone = env.task_state().regions["zone"]
        for key in sorted(k for k in info if k.startswith("paper_ball_")):
            ball = env.object_info("world")[key]["pose"][:3, 3]
            if zone.contains(ball):
                continue
            goal = zone.centre[:2]
            direction = goal - ball[:2]
            direction /= np.linalg.norm(direction)
            # Turn the hand so that the handle points against the stroke (bristles lead).
            turn = _rotation_z(np.arctan2(-direction[1], -direction[0]) - handle_heading)
            rotation = turn @ mount[:3, :3]
            start = np.array([*(ball[:2] - BEHIND * direction), SWEEP_HEIGHT])
            end = np.array([*(goal + STROKE_INTO * direction), SWEEP_HEIGHT])
            start_mount = pose(rotation, start - rotation @ bristles[:3])
            end_mount = pose(rotation, end - rotation @ bristles[:3])
            yield Waypoint(lifted(start_mount, CARRY_LIFT), POWER, speed=0.2, label="over ball")
            yield Waypoint(start_mount, POWER, speed=0.1, label="lower")
            yield Waypoint(end_mount, POWER, speed=0.08, label="push")
            yield Waypoint(lifted(end_mount, CARRY_LIFT), POWER, speed=0.15, label="lift broom")
        yield Waypoint(raised, POWER, speed=0.2, label="carry back")
        yield Waypoint(lifted(grasp, 0.01), POWER, speed=0.08, label="lower broom")
        yield Waypoint(lifted(grasp, 0.01), OPEN, min_steps=10, hold=5, label="release")
        yield Waypoint(lifted(grasp, APPROACH_HEIGHT), OPEN, speed=0.2, hold=10, label="retreat")

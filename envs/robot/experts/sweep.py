"""Sweep expert: broom out of the basket, one stroke per paper ball into the taped zone, broom back.

The broom is taken by its handle from above (``functional_grasp.handle_geometry``) and lifted.
Once it is in the hand, its pose in the hand-mount frame is read from the scene (the plan is a
generator, so this happens after the grasp, with the broom where it really is) and every later
mount pose is solved for a wanted *broom* pose. Each stroke puts the bristles behind a ball and
pulls the broom in a straight line through the zone, bristles leading. The scene lays the balls
out beyond the zone in the direction the broom's head points as it lies in the basket, so a
stroke turns the broom at most ``MAX_TURN`` about the vertical: the palm-down RM75 cannot twist
its wrist much further this close to its base. Balls already in the zone are skipped; the broom
goes back where it was taken from.
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
    in_hand,
    lifted,
    mount_for_site,
    top_down,
    yaw_near,
)
from envs.robot.experts.functional_grasp import handle_geometry
from envs.robot.experts.pick_place import APPROACH_HEIGHT, MIN_SITE_HEIGHT, READY

CARRY_LIFT = 0.08  # m the broom is raised: over the basket's walls and the paper balls
BEHIND = 0.045  # m behind a ball (against the stroke) where the bristles' leading edge lands
STROKE_INTO = 0.0  # m past the zone's centre the stroke ends (3 cm let pushed balls roll out the far side)
SWEEP_HEIGHT = 0.005  # m the bristles' lowest point stays above the table while pushing
MAX_TURN = np.deg2rad(30)  # largest turn of the broom about the vertical toward a ball's stroke
TOWARD_HEAD = 0.08
"""m from the handle's centre toward the head where the hand takes it: near the broom's centre of
mass, so it hangs level instead of turning in the grip (seeds 0-7: 0/8 at the centre, 5/8 here)."""
SET_DOWN = 0.01  # m above where it lay that the broom is released


class SweepExpert(ScriptedExpert):
    """Grasp the broom's handle, lift it, push each ball into the zone, put the broom back."""

    task = "Sweep"

    def plan(self, env: Any) -> Iterator[Waypoint]:
        info = env.object_info("world")
        key = next(k for k, o in info.items() if o["role"] == "broom")
        broom = info[key]
        start_pose = broom["pose"].copy()
        centre, axis, top = handle_geometry(broom)
        to_head = broom["keypoints"]["bristles"] - centre
        centre = centre + TOWARD_HEAD * np.sign(np.dot(axis, to_head)) * axis
        site = np.array([centre[0], centre[1], max(MIN_SITE_HEIGHT + 0.008, top - 0.025)])
        yaw = yaw_near(np.arctan2(axis[1], axis[0]) + np.pi / 2, np.arctan2(site[1], site[0]))
        grasp = mount_for_site(env, top_down(yaw), site)
        yield Waypoint(lifted(grasp, APPROACH_HEIGHT), READY, speed=0.3, label="approach")
        yield Waypoint(grasp, READY, speed=0.1, tolerance=0.006, label="reach")
        yield Waypoint(grasp, POWER, min_steps=15, hold=8, label="close")
        yield Waypoint(lifted(grasp, CARRY_LIFT), POWER, speed=0.12, label="lift")

        # The broom as held, and the bristles' leading edge in the broom's frame.
        now = env.object_info("world")[key]
        held = in_hand(env, key)
        bristles = np.linalg.inv(now["pose"]) @ np.append(now["keypoints"]["bristles"], 1.0)

        def mount_for_broom(broom_pose: np.ndarray) -> np.ndarray:
            return broom_pose @ np.linalg.inv(held)

        def broom_with_bristles_at(rotation: np.ndarray, point: np.ndarray) -> np.ndarray:
            out = np.eye(4)
            out[:3, :3], out[:3, 3] = rotation, point - rotation @ bristles[:3]
            return out

        held_rotation = now["pose"][:3, :3]
        lead = -held_rotation[:2, 0] / np.linalg.norm(held_rotation[:2, 0])  # bristles lead: broom -x
        lead_heading = np.arctan2(lead[1], lead[0])
        zone = env.task_state().regions["zone"]
        goal = np.asarray(zone.centre[:2], float)
        balls = sorted((k for k in info if k.startswith("paper_ball_")),
                       key=lambda k: -np.linalg.norm(info[k]["pose"][:2, 3] - goal))
        for ball_key in balls:
            ball = env.object_info("world")[ball_key]["pose"][:3, 3]
            if zone.contains(ball):
                continue
            direction = (goal - ball[:2]) / np.linalg.norm(goal - ball[:2])
            turn = np.clip(np.angle(np.exp(1j * (np.arctan2(direction[1], direction[0]) - lead_heading))),
                           -MAX_TURN, MAX_TURN)
            rotation = Rotation.from_rotvec([0.0, 0.0, turn]).as_matrix() @ held_rotation
            stroke = np.array([np.cos(lead_heading + turn), np.sin(lead_heading + turn)])
            start = np.array([*(ball[:2] - BEHIND * stroke), SWEEP_HEIGHT])
            end = np.array([*(goal + STROKE_INTO * stroke), SWEEP_HEIGHT])
            start_mount = mount_for_broom(broom_with_bristles_at(rotation, start))
            end_mount = mount_for_broom(broom_with_bristles_at(rotation, end))
            yield Waypoint(lifted(start_mount, CARRY_LIFT), POWER, speed=0.2, label="over ball")
            yield Waypoint(start_mount, POWER, speed=0.1, label="lower")
            yield Waypoint(end_mount, POWER, speed=0.08, label="push")
            yield Waypoint(lifted(end_mount, CARRY_LIFT), POWER, speed=0.15, label="lift broom")

        held = in_hand(env, key)  # strokes press the bristles on the table and turn the broom in the hand
        back = lifted(start_pose, SET_DOWN)
        yield Waypoint(mount_for_broom(lifted(back, CARRY_LIFT)), POWER, speed=0.2, label="carry back")
        yield Waypoint(mount_for_broom(back), POWER, speed=0.08, label="lower broom")
        yield Waypoint(mount_for_broom(back), OPEN, min_steps=10, hold=5, label="release")
        yield Waypoint(lifted(mount_for_broom(back), APPROACH_HEIGHT), OPEN, speed=0.2, hold=10, label="retreat")

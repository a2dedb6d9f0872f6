"""Sweep expert: broom out of the basket, one stroke per paper ball into the taped zone, broom back.

The broom is taken by its handle from above (``functional_grasp.handle_geometry``) and lifted.
Once it is in the hand, its pose in the hand-mount frame is read from the scene (the plan is a
generator, so this happens after the grasp, with the broom where it really is) and every later
mount pose is solved for a wanted *broom* pose. Each stroke puts the bristles behind a ball and
pulls the broom in a straight line through the zone, bristles leading. The scene lays the balls
out beyond the zone in the direction the broom's head points as it lies in the basket, so a
stroke turns the broom at most ``MAX_TURN`` about the vertical: the palm-down RM75 cannot twist
its wrist much further this close to its base. Balls already in the zone are skipped.

A stroke can leave a ball at the zone's edge or knock another out, so after one stroke per ball,
balls outside are swept again while too few count and the horizon leaves time. The broom goes back
into the basket where the basket is *now*: the hand's thumb hangs below the handle, and a first
stroke that starts with it inside the basket drags the basket toward the zone (seeds 0-39: 12 of 40
moved 14-31 cm).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
from envs.robot.tasks import SWEEP_FRACTION, Region

CARRY_LIFT = 0.08  # m the broom is raised: over the basket's walls and the paper balls
BEHIND = 0.045  # m behind a ball (against the stroke) where the bristles' leading edge lands
STROKE_INTO = 0.0  # m past the zone's centre the stroke ends (3 cm let pushed balls roll out the far side)
SWEEP_HEIGHT = 0.005  # m the bristles' lowest point stays above the table while pushing
MAX_TURN = np.deg2rad(30)  # largest turn of the broom about the vertical toward a ball's stroke
TOWARD_HEAD = 0.08
"""m from the handle's centre toward the head where the hand takes it: near the broom's centre of
mass, so it hangs level instead of turning in the grip (seeds 0-7: 0/8 at the centre, 5/8 here)."""
SET_DOWN = 0.01  # m above where it lay that the broom is released
MIN_PUSH = 0.03  # m a stroke pushes at least: a re-swept ball may lie at the zone's centre already
PUSHED_AHEAD = 0.03  # m a pushed ball ends ahead of the bristles: its 1.8 cm radius and some roll
STROKE_STEPS = 240  # steps a stroke may take, broom lifted to broom lifted (seeds 0-39: at most 234)
RETURN_STEPS = 180  # steps from the last stroke to the broom let go in the basket (seeds 0-39: at most 159)

Stroke = tuple[float, np.ndarray, np.ndarray]
"""The broom's turn about the vertical, and where the bristles' leading edge starts and ends (xy)."""


class SweepExpert(ScriptedExpert):
    """Grasp the broom's handle, lift it, push each ball into the zone, put the broom back."""

    task = "Sweep"

    def plan(self, env: Any) -> Iterator[Waypoint]:
        info = env.object_info("world")
        key = next(k for k, o in info.items() if o["role"] == "broom")
        broom = info[key]
        basket_key = next(k for k, o in info.items() if o["role"] == "basket")
        in_basket = np.linalg.inv(info[basket_key]["pose"]) @ broom["pose"]
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

        def stroke_of(ball_key: str) -> Stroke | None:
            return stroke(env.task_state().bodies[ball_key].centre[:2], zone, lead_heading)

        for ball_key in balls_to_sweep(env, zone, balls, stroke_of):
            turn, start, end = stroke_of(ball_key)
            rotation = Rotation.from_rotvec([0.0, 0.0, turn]).as_matrix() @ held_rotation
            start_mount = mount_for_broom(broom_with_bristles_at(rotation, np.append(start, SWEEP_HEIGHT)))
            end_mount = mount_for_broom(broom_with_bristles_at(rotation, np.append(end, SWEEP_HEIGHT)))
            yield Waypoint(lifted(start_mount, CARRY_LIFT), POWER, speed=0.2, label="over ball")
            yield Waypoint(start_mount, POWER, speed=0.1, label="lower")
            yield Waypoint(end_mount, POWER, speed=0.08, label="push")
            yield Waypoint(lifted(end_mount, CARRY_LIFT), POWER, speed=0.15, label="lift broom")

        held = in_hand(env, key)  # strokes press the bristles on the table and turn the broom in the hand
        back = lifted(env.object_info("world")[basket_key]["pose"] @ in_basket, SET_DOWN)
        yield Waypoint(mount_for_broom(lifted(back, CARRY_LIFT)), POWER, speed=0.2, label="carry back")
        yield Waypoint(mount_for_broom(back), POWER, speed=0.08, label="lower broom")
        yield Waypoint(mount_for_broom(back), OPEN, min_steps=10, hold=5, label="release")
        yield Waypoint(lifted(mount_for_broom(back), APPROACH_HEIGHT), OPEN, speed=0.2, hold=10, label="retreat")


def balls_to_sweep(env: Any, zone: Region, balls: list[str],
                   stroke_of: Callable[[str], Stroke | None]) -> Iterator[str]:
    """The ball to stroke next, read from the scene after the previous stroke: first each ball in
    ``balls`` that lies outside the zone, then, while fewer than the predicate's fraction count as
    swept, the outside one nearest the zone (a stroke knocks or rolls balls). Only balls that
    ``stroke_of`` can push toward the zone, and none once a stroke and the broom's return would not
    fit in the horizon."""

    def outside() -> list[str]:  # as the success predicate counts: by the ball's centre
        bodies = env.task_state().bodies
        return [k for k in balls if not zone.contains(bodies[k].centre)]

    def time_left() -> bool:
        return env.steps + STROKE_STEPS + RETURN_STEPS <= env.task.horizon

    for key in balls:
        if key in outside() and stroke_of(key) is not None and time_left():
            yield key
    while len(balls) - len(left := outside()) < SWEEP_FRACTION * len(balls) and time_left():
        bodies = env.task_state().bodies
        pushable = [k for k in left if stroke_of(k) is not None]
        if not pushable:
            return
        yield min(pushable, key=lambda k: np.linalg.norm(bodies[k].centre[:2] - zone.centre[:2]))


def stroke(ball: np.ndarray, zone: Region, lead_heading: float) -> Stroke | None:
    """The stroke that pushes the ball at ``ball`` (xy) toward the zone's centre: the broom's turn
    from ``lead_heading`` (at most ``MAX_TURN``) and where the bristles' leading edge starts and ends
    (xy). It ends at the centre, or ``MIN_PUSH`` past the ball where that is short of it (a ball at
    the zone's edge); None where the ball would end beyond the zone: the broom cannot turn to push
    a ball back from its far side."""
    goal = np.asarray(zone.centre[:2], float)
    offset = goal - ball
    heading = np.arctan2(offset[1], offset[0]) if np.linalg.norm(offset) > MIN_PUSH else lead_heading
    turn = float(np.clip(np.angle(np.exp(1j * (heading - lead_heading))), -MAX_TURN, MAX_TURN))
    direction = np.array([np.cos(lead_heading + turn), np.sin(lead_heading + turn)])
    if np.dot(offset, direction) >= MIN_PUSH:
        return turn, ball - BEHIND * direction, goal + STROKE_INTO * direction
    end = ball + MIN_PUSH * direction
    if not zone.contains([*(end + PUSHED_AHEAD * direction), 0.0]):
        return None
    return turn, ball - BEHIND * direction, end

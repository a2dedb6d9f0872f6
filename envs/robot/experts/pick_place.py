"""Pick & place expert: a top-down power grasp of the object, carried over the box and dropped in.

The grasp comes from the object's surface points (``object_info()["points"]``), not from a
per-object table, so unseen objects and categories get the same treatment: the grasp site goes
to the centre of the object's footprint, as low as the palm allows (its face just above the top)
and no lower than the knuckles allow over the table (a flat object lower still, so the fingertips
get under it); the fingers are laid across the footprint's long axis (the closed hand holds an
object along its thumb-side axis, across the fingers). Of the yaws the object allows, the one
nearest the radial direction whose poses the arm can reach wins, preferring those that keep the
forearm off the box.

The plan is a generator, so it checks what happened: an object not lifted by the grasp, or no
longer held after the carry, is grasped again (from where it lies now, with a yaw not tried yet);
an object that is held is placed by where it really sits in the hand, not where it was planned to.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from envs.robot.experts.base import (
    OPEN,
    POWER,
    Reach,
    ScriptedExpert,
    Waypoint,
    heading,
    lifted,
    mount_for_site,
    top_down,
    with_role,
    yaw_near,
)

PALM_CLEARANCE = 0.025  # m from the grasp site up to the object's top: the palm face ends ~6 mm above it
MIN_SITE_HEIGHT = 0.02  # m above the table: curled knuckles reach ~1.6 cm below the grasp site
FLAT = 0.04  # m: an object lower than this (carrot, sponge, banana: 2.8-3.9 cm) is flat
FLAT_SITE_HEIGHT = 0.012  # m: site for flat objects, knuckles pressing the table so the fingertips slide under it (at 2 cm: 0/6 carrots and sponges of seeds 300-319 lifted)
APPROACH_HEIGHT = 0.10  # m above the grasp for the pre-grasp
CARRY_CLEARANCE = 0.05  # m between the carried object's bottom and the box's rim
LIFTED = 0.03  # m the object's bottom must rise for a grasp to count as holding it
MAX_ATTEMPTS = 3  # grasps tried; one takes ~150 of the 600 steps (seeds 300-319: 8/20 missed the first)
FOREARM = 0.22  # m of forearm behind the mount that passes at grasp height (seed 304: it rested on the box rim, hand stuck 3.6 cm high)
ARM_MARGIN = 0.04  # m kept between that forearm line and the box (link radius plus a little)
ROUND = 1.5  # long/short axis ratio under which a footprint counts as round (any yaw grasps it)
YAW_OFFSETS = np.deg2rad([0, 30, -30, 60, -60, 90, -90])  # tried in this order
READY = np.array([0.0, 0.0, 0.0, 0.0, 0.1, 0.0, 0.1, 0.0, 0.1, 0.0, 0.1, 0.0])
"""Descending: thumb flat beside the palm (clear of tall objects), fingers barely curled."""


def footprint(points: np.ndarray) -> tuple[np.ndarray, float | None, float, float]:
    """Centre (3,) of the points' box, the long axis's heading (rad; None when about round), the
    top and the bottom z."""
    xy = points[:, :2]
    centre = 0.5 * (xy.min(axis=0) + xy.max(axis=0))
    values, vectors = np.linalg.eigh(np.cov((xy - centre).T))
    axis = vectors[:, int(np.argmax(values))]
    top, bottom = float(points[:, 2].max()), float(points[:, 2].min())
    long_axis = float(np.arctan2(axis[1], axis[0])) if values[1] > ROUND**2 * values[0] else None
    return np.array([*centre, 0.5 * (top + bottom)]), long_axis, top, bottom


def clear_of(points: np.ndarray, mount: np.ndarray) -> bool:
    """Whether a grasp at ``mount`` keeps the forearm (the line behind the wrist, opposite the
    fingers) off the object with ``points`` (the box): a yaw with the wrist low over the box can be
    reachable yet stop on its rim before the fingers reach a low object."""
    low, high = points[:, :2].min(axis=0) - ARM_MARGIN, points[:, :2].max(axis=0) + ARM_MARGIN
    line = mount[:3, 3] - np.outer(np.linspace(0.0, FOREARM, 12), mount[:3, 2])
    over = np.all((line[:, :2] >= low) & (line[:, :2] <= high), axis=1)
    return not bool(np.any(over & (line[:, 2] < float(points[:, 2].max()) + ARM_MARGIN)))


def grasp_candidates(points: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Where the grasp site goes on an object lying on the table, and the fingers' headings to try
    in order: across the long axis (nearest the radial direction first), or any for round objects."""
    centre, long_axis, top, bottom = footprint(points)
    floor = FLAT_SITE_HEIGHT if top - bottom < FLAT else MIN_SITE_HEIGHT
    z = max(bottom + floor, min(centre[2], top - PALM_CLEARANCE))
    radial = heading(centre)
    if long_axis is None:
        yaws = [radial + d for d in YAW_OFFSETS]
    else:
        across = yaw_near(long_axis + np.pi / 2, radial)
        yaws = [across + d for d in np.deg2rad([0, 20, -20])] + [across + np.pi + d for d in np.deg2rad([0, 20, -20])]
    return np.array([centre[0], centre[1], z]), yaws


class PickPlaceExpert(ScriptedExpert):
    """Grasp ``object`` from above, lift, carry over ``container``, open, retreat."""

    task = "PickPlace"

    def __init__(self) -> None:
        super().__init__()
        self.reach = Reach()

    def plan(self, env: Any) -> Iterator[Waypoint]:
        tried: list[float] = []
        for _ in range(MAX_ATTEMPTS):
            held = yield from self._grasp(env, tried)
            if held and (yield from self._place(env)):
                return

    def _grasp(self, env: Any, tried: list[float]) -> Iterator[Waypoint]:
        """Grasp the object from where it lies now with a yaw not in ``tried`` (appended) and lift;
        returns whether it came up with the hand."""
        obj = with_role(env, "object")
        box = with_role(env, "container")
        site, yaws = grasp_candidates(obj["points"])
        fresh = [y for y in yaws if all(abs(np.angle(np.exp(1j * (y - t)))) > 0.1 for t in tried)] or yaws
        bottom = float(obj["points"][:, 2].min())
        carry_z = float(box["points"][:, 2].max()) + CARRY_CLEARANCE + site[2] - bottom
        candidates = []
        for yaw in fresh:  # the carry is planned later, from the held pose (over the box it is often out of reach by a few cm whatever the grasp yaw, which made the choice arbitrary)
            grasp = mount_for_site(env, top_down(yaw), site)
            candidates.append((yaw, [lifted(grasp, APPROACH_HEIGHT), grasp, lifted(grasp, carry_z - site[2])]))
        candidates.sort(key=lambda c: not clear_of(box["points"], c[1][1]))  # stable: keeps the yaw order
        best = self.reach.best(candidates)
        tried.append(candidates[best][0])
        approach, grasp, lift = candidates[best][1]
        yield Waypoint(approach, READY, speed=0.3, label="approach")
        yield Waypoint(grasp, READY, speed=0.12, tolerance=0.006, label="descend")
        yield Waypoint(grasp, POWER, min_steps=15, hold=8, label="close")
        yield Waypoint(lift, POWER, speed=0.2, label="lift")
        if float(with_role(env, "object")["points"][:, 2].min()) > bottom + LIFTED:
            return True
        yield Waypoint(lift, OPEN, min_steps=10, hold=5, label="regrasp")
        return False

    def _place(self, env: Any) -> Iterator[Waypoint]:
        """Carry the held object over the box, by where it sits in the hand now, and let it go;
        returns False (hand open, object not placed) when it slipped out on the way."""
        box = with_role(env, "container")
        mount = env.ee_pose("world")
        points = with_role(env, "object")["points"]
        centre, _, _, bottom = footprint(points)
        centre[2] = bottom  # the object's bottom centre, in the mount frame below
        in_hand = np.linalg.inv(mount) @ np.append(centre, 1.0)
        drop = box["interior"][0]
        carry = top_down(yaw_near(heading(drop), heading(mount[:3, 2]), 2 * np.pi))
        target = np.array([drop[0], drop[1], float(box["points"][:, 2].max()) + CARRY_CLEARANCE])
        above_box = np.eye(4)
        above_box[:3, :3], above_box[:3, 3] = carry, target - carry @ in_hand[:3]
        yield Waypoint(above_box, POWER, speed=0.25, label="carry")
        held = float(with_role(env, "object")["points"][:, 2].min()) > target[2] - CARRY_CLEARANCE
        yield Waypoint(above_box, OPEN, min_steps=10, hold=10, label="release")
        if not held:
            return False
        yield Waypoint(lifted(above_box, 0.08), OPEN, speed=0.2, hold=5, label="retreat")
        return True

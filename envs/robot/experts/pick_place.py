"""Pick & place expert: a top-down power grasp of the object, carried over the box and dropped in.

The grasp comes from the object's surface points (``object_info()["points"]``), not from a
per-object table, so unseen objects and categories get the same treatment: the grasp site goes
to the centre of the object's footprint, as low as the palm allows (its face just above the top)
and no lower than the knuckles allow over the table; the fingers are laid across the footprint's
long axis (the closed hand holds an object along its thumb-side axis, across the fingers). Of the
yaws the object allows, the one nearest the radial direction whose poses the arm can reach wins.
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
    yaw_near,
)

PALM_CLEARANCE = 0.025  # m from the grasp site up to the object's top: the palm face ends ~6 mm above it
MIN_SITE_HEIGHT = 0.02  # m above the table: curled knuckles reach ~1.6 cm below the grasp site
APPROACH_HEIGHT = 0.10  # m above the grasp for the pre-grasp
CARRY_CLEARANCE = 0.05  # m between the carried object's bottom and the box's rim
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


def grasp_candidates(points: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Where the grasp site goes on an object lying on the table, and the fingers' headings to try
    in order: across the long axis (nearest the radial direction first), or any for round objects."""
    centre, long_axis, top, bottom = footprint(points)
    z = max(bottom + MIN_SITE_HEIGHT, min(centre[2], top - PALM_CLEARANCE))
    radial = heading(centre)
    if long_axis is None:
        yaws = [radial + d for d in YAW_OFFSETS]
    else:
        across = yaw_near(long_axis + np.pi / 2, radial)
        yaws = [across + d for d in np.deg2rad([0, 20, -20])] + [across + np.pi]
    return np.array([centre[0], centre[1], z]), yaws


class PickPlaceExpert(ScriptedExpert):
    """Grasp ``object`` from above, lift, carry over ``container``, open, retreat."""

    task = "PickPlace"

    def __init__(self) -> None:
        super().__init__()
        self.reach = Reach()

    def plan(self, env: Any) -> Iterator[Waypoint]:
        info = env.object_info("world")
        obj = next(o for o in info.values() if o["role"] == "object")
        box = next(o for o in info.values() if o["role"] == "container")
        site, yaws = grasp_candidates(obj["points"])
        # Carry height from the box's rim and how far the object hangs below the grasp site.
        carry_z = float(box["points"][:, 2].max()) + CARRY_CLEARANCE + site[2] - float(obj["points"][:, 2].min())
        drop = box["interior"][0]
        candidates = []
        for yaw in yaws:
            grasp = mount_for_site(env, top_down(yaw), site)
            carry = top_down(yaw_near(heading(drop), yaw, 2 * np.pi))
            above_box = mount_for_site(env, carry, np.array([drop[0], drop[1], carry_z]))
            poses = [lifted(grasp, APPROACH_HEIGHT), grasp, lifted(grasp, carry_z - site[2]), above_box]
            candidates.append((yaw, poses))
        approach, grasp, lift, above_box = candidates[self.reach.best(candidates)][1]
        yield Waypoint(approach, READY, speed=0.3, label="approach")
        yield Waypoint(grasp, READY, speed=0.12, tolerance=0.006, label="descend")
        yield Waypoint(grasp, POWER, min_steps=15, hold=8, label="close")
        yield Waypoint(lift, POWER, speed=0.2, label="lift")
        yield Waypoint(above_box, POWER, speed=0.25, label="carry")
        yield Waypoint(above_box, OPEN, min_steps=10, hold=10, label="release")
        yield Waypoint(lifted(above_box, 0.08), OPEN, speed=0.2, hold=5, label="retreat")

"""Pick & place expert: a top-down power grasp of the object, carried over the box and dropped in.

The grasp comes from the object's surface points (``object_info()["points"]``), not from a
per-object table, so unseen objects and categories get the same treatment: the grasp site goes
to the centre of the object's footprint, as low as the palm allows (its face just above the top)
and no lower than the knuckles allow over the table (a flat object lower still, so the fingertips
get under it); the fingers are laid across the footprint's long axis (the closed hand holds an
object along its thumb-side axis, across the fingers). Of the yaws the object allows, the one
nearest the radial direction whose poses the arm can reach wins, preferring those that keep the
forearm off the box. Low, short objects (lemons, sponges) that the power grasp pushes away get a
hook grasp on the retry in between: fingertips hooked off the table rake the object onto the thumb.
A ring (tape roll), whose low wall every top-down closure squeezes out, gets a wall pinch instead:
fingers straight down outside its far wall, the thumb swept along them inside the bore.

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
    pose,
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
HOOK_READY = np.array([0.96, 0.21, 1.57, 0.0, 0.0, 1.9, 0.0, 1.9, 0.0, 1.9, 0.0, 1.9])
"""Descending for a hook grasp: distal finger joints bent first (tips 4.6 cm below the palm, off the
table) and the thumb half across, bent at its tip (FK: its tip then stays < 8.3 cm below the palm
on the way in, where a straight sweep dips to 10.8 cm and scrapes the table)."""
HOOK = np.array([1.75, 0.5, 1.57, 0.0, 1.5, 1.9, 1.5, 1.9, 1.5, 1.9, 1.5, 1.9])
"""Hook grasp: proximal joints close, raking the hooked fingertips toward the palm ~6 cm below it,
onto the thumb tip (FK: they meet near (6.6, 0, 10) cm in the mount frame); targets past contact."""
HOOK_POINT = np.array([0.066, 0.0, 0.10])  # m, mount frame: where the hook grasp pinches, so the object's centre goes there
HOOK_HEIGHT = 0.06  # m: objects lower than this get the hook grasp on retries (power grasps lift apples, tennis balls, ducks of 6.6 cm and more; a hook retry lost 2 of them, seeds 0-39)
HOOK_LENGTH = 0.12  # m: and shorter than this (the pre-shaped thumb lands on top of longer ones: 3 remotes/screwdrivers lost with hook retries, seeds 0-39; lemons, sponges 8-9 cm long: 5 gained)
HOLE = 0.015  # m: an object with no surface point this close to its footprint's centre is a ring (tape roll: 3 cm bore; cups and bowls have a bottom there)
PINCH_FINGERS = np.tile([1.6, 0.0], 4)  # fingers pointing straight down (FK: tips at ~(10.5, y, 10.5) cm in the mount frame)
PINCH_READY = np.array([1.76, -0.55, 1.55, 0.0, *PINCH_FINGERS])
"""Descending for a wall pinch: fingers straight down, thumb tip down beside the wrist (FK: (10.8, -1.1, 4.2) cm)."""
PINCH_SWEEP = [np.array([1.6, -0.15, 1.45, 0.0, *PINCH_FINGERS]), np.array([1.52, 0.2, 1.15, 0.0, *PINCH_FINGERS])]
"""The thumb's way along the fingers: FK tips (10.5, -0.2, 6.8), (10.4, 0.1, 8.7) cm; straight from the ready thumb to the
closed one its tip would dip 1.5 cm lower, press the table and lift the hand (seed 19 of unseen_category)."""
PINCH = np.array([1.44, 0.8, 0.25, 0.0, *np.tile([1.75, 0.2], 4)])
"""Wall pinch: thumb tip swept to (10.4, 0.3, 10.9) cm, past the fingertips, which curl toward it; targets past contact."""
PINCH_TABLE = 0.118  # m below the mount (its x) where the table goes: the sweeping thumb tip (10.4-10.8 cm, FK) and fingertips (10.5 cm) stay ~1 cm above it
PINCH_PAD = 0.09  # m along the fingers (mount z) where the far wall's outer face goes: just short of the fingertips (tips at 9.9-10.5 cm)
READIES = {"power": READY, "hook": HOOK_READY, "pinch": PINCH_READY}
GRIPS = {"power": POWER, "hook": HOOK, "pinch": PINCH}


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


def hookable(points: np.ndarray) -> bool:
    """Whether the hook grasp suits the object: low enough that a power grasp pushes it away, short
    enough that the hook's thumb comes down beside it rather than on it."""
    return bool(np.ptp(points[:, 2]) < HOOK_HEIGHT and np.ptp(points[:, :2], axis=0).max() < HOOK_LENGTH)


def hollow(points: np.ndarray) -> bool:
    """Whether the object is a ring (tape roll): power and hook grasps close on its wall from above
    and squeeze it out (0/5 lifted, seeds 0-39), while a thumb inside the bore pinches it."""
    centre = footprint(points)[0]
    return bool(np.min(np.linalg.norm(points[:, :2] - centre[:2], axis=1)) > HOLE)


def pinch_pose(points: np.ndarray, yaw: float) -> np.ndarray:
    """Mount pose (fingers along ``yaw``) for a wall pinch: fingertips just above the table against
    the far side of the object, so the thumb, swept along the fingers inside the bore, presses
    the far wall onto them."""
    centre, _, top, bottom = footprint(points)
    depth = float(np.ptp(points[:, :2] @ np.array([np.cos(yaw), np.sin(yaw)])))
    in_hand = np.array([PINCH_TABLE - 0.5 * (top - bottom), 0.0, PINCH_PAD - 0.5 * depth])
    rotation = top_down(yaw)
    return pose(rotation, np.array([centre[0], centre[1], 0.5 * (top + bottom)]) - rotation @ in_hand)


class PickPlaceExpert(ScriptedExpert):
    """Grasp ``object`` from above, lift, carry over ``container``, open, retreat."""

    task = "PickPlace"

    def __init__(self) -> None:
        super().__init__()
        self.reach = Reach()

    def plan(self, env: Any) -> Iterator[Waypoint]:
        tried: list[float] = []
        points = with_role(env, "object")["points"]  # as placed: a missed grasp can stand a lemon on end
        small, ring = hookable(points), hollow(points)
        for attempt in range(MAX_ATTEMPTS):
            grasp = "pinch" if ring else "hook" if attempt % 2 == 1 and small else "power"
            held = yield from self._grasp(env, tried, grasp)
            if held and (yield from self._place(env, GRIPS[grasp])):
                return

    def _grasp(self, env: Any, tried: list[float], kind: str) -> Iterator[Waypoint]:
        """Grasp the object from where it lies now with a yaw not in ``tried`` (appended) and lift;
        returns whether it came up with the hand. A power grasp wraps objects of 6 cm and more but
        pushes smaller ones away (its curling fingers stall on the table ~8 cm out), so a retry
        uses the hook grasp, which pinches the object's middle between fingertips and thumb. A ring
        gets the wall pinch (``kind``: "power", "hook" or "pinch")."""
        obj = with_role(env, "object")
        box = with_role(env, "container")
        site, yaws = grasp_candidates(obj["points"])
        fresh = [y for y in yaws if all(abs(np.angle(np.exp(1j * (y - t)))) > 0.1 for t in tried)] or yaws
        bottom = float(obj["points"][:, 2].min())
        carry_z = float(box["points"][:, 2].max()) + CARRY_CLEARANCE + site[2] - bottom
        candidates = []
        centre, _, top, _ = footprint(obj["points"])
        middle = np.array([centre[0], centre[1], 0.5 * (top + bottom)])
        for yaw in fresh:  # the carry is planned later, from the held pose (over the box it is often out of reach by a few cm whatever the grasp yaw, which made the choice arbitrary)
            rotation = top_down(yaw)
            if kind == "pinch":
                grasp = pinch_pose(obj["points"], yaw)
            elif kind == "hook":
                grasp = pose(rotation, middle - rotation @ HOOK_POINT)
            else:
                grasp = mount_for_site(env, rotation, site)
            candidates.append((yaw, [lifted(grasp, APPROACH_HEIGHT), grasp, lifted(grasp, carry_z - site[2])]))
        candidates.sort(key=lambda c: not clear_of(box["points"], c[1][1]))  # stable: keeps the yaw order
        best = self.reach.best(candidates)
        tried.append(candidates[best][0])
        approach, grasp, lift = candidates[best][1]
        ready, grip = READIES[kind], GRIPS[kind]
        yield Waypoint(approach, ready, speed=0.3, label="approach")
        yield Waypoint(grasp, ready, speed=0.12, tolerance=0.006, label="descend")
        for hand in PINCH_SWEEP if kind == "pinch" else []:
            yield Waypoint(grasp, hand, min_steps=8, label="close")
        yield Waypoint(grasp, grip, min_steps=15, hold=8, label="close")
        yield Waypoint(lift, grip, speed=0.2, label="lift")
        if float(with_role(env, "object")["points"][:, 2].min()) > bottom + LIFTED:
            return True
        yield Waypoint(lift, OPEN, min_steps=10, hold=5, label="regrasp")
        return False

    def _place(self, env: Any, grip: np.ndarray) -> Iterator[Waypoint]:
        """Carry the held object over the box with the hand closed as ``grip`` (the closure that
        grasped it), by where it sits in the hand now, and let it go; returns False (hand open,
        object not placed) when it slipped out on the way."""
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
        yield Waypoint(above_box, grip, speed=0.25, label="carry")
        held = float(with_role(env, "object")["points"][:, 2].min()) > target[2] - CARRY_CLEARANCE
        yield Waypoint(above_box, OPEN, min_steps=10, hold=10, label="release")
        if not held:
            return False
        yield Waypoint(lifted(above_box, 0.08), OPEN, speed=0.2, hold=5, label="retreat")
        return True

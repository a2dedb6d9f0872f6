"""Functional-grasp expert: take the tool by its handle, nowhere else, and lift it.

The handle comes from the object's geometry (``object_info()["handle_geoms"]`` into its
``"geoms"``): the grasp site goes on the handle's centre and the fingers wrap across the handle's
axis. Lying handles (knife, pan, hammer ...) are taken from above like pick & place objects;
upright loops (mug, teapot: the object's grasp approaches sideways) from the side, palm facing
the body, fingers horizontal round the loop's outer bar and the thumb tucked across the palm, the
hand first raised off the objects and brought down beside the handle from above. A lying handle
is taken a little toward its free end with the thumb pointing away from the head, so that hand
and thumb stay off it, and a thin one (knife, spatula) with the site nearly at the table, so the
fingertips get under it; a grasp that did not lift the tool is tried again with the next
reachable rotation (and the next height).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from envs.humansim.objects import geom_aabb, geom_rotation
from envs.humansim.spec import GeomSpec
from envs.robot.experts.base import (
    OPEN,
    POWER,
    Reach,
    ScriptedExpert,
    Waypoint,
    lifted,
    mount_for_site,
    palm_frame,
    top_down,
    with_role,
)
from envs.robot.experts.pick_place import APPROACH_HEIGHT, MIN_SITE_HEIGHT, READY
from envs.robot.tasks import LIFT_HEIGHT

LIFT = LIFT_HEIGHT + 0.05  # m: well past the predicate's threshold
SIDE_BACKOFF = 0.08  # m the palm starts away from an upright handle before moving in
TOWARD_END = 0.03  # m the grasp moves from a lying handle's centre away from the head (fingers touched ladle, brush, hammer, pan heads: 5/20 seeds)
THIN = 0.021  # m: a lying handle whose top is lower than this (knives 1.85, spatulas 2.0 cm; brushes 2.1 and ladles 2.4 cm are lifted from 2 cm) is thin
THIN_SITE_HEIGHTS = (0.012, 0.010, MIN_SITE_HEIGHT)  # m: grasp site over a thin handle, attempt by attempt; low, the knuckles press the table and the fingertips get under the handle (at 2 cm they closed on top and pushed it away: 1/7 knives and spatulas of seeds 300-319 taken, 5/7 with these)
LOOP_SITE_HEIGHT = 0.055  # m: grasp site on an upright loop no lower (handle centres 4.7-5.2 cm): fingers horizontal, the palm spans 4.5 cm either side of it
LOOP_INTO_FINGERS = 0.02  # m the site goes from a loop's centre back along the fingers, so the bar sits at the proximal phalanges (mugs and teapots of seeds 23-37 lifted clear of the body: 5/11 at 1.5 cm, 10/11 at 2, 9/11 at 2.5)
CLEAR_RISE = 0.10  # m straight up before turning the palm sideways: home hangs the hand over the objects at 15 cm, and turning there knocked 5/6 mugs over
LOOP_CLEARANCE = 0.08  # m over the object's top for the site while the hand crosses to above the pre-grasp, then comes straight down
TUCKED = np.array([1.8, 1.57, 1.57, 0.0, 0.1, 0.0, 0.1, 0.0, 0.1, 0.0, 0.1, 0.0])
"""Beside an upright loop: the thumb folded across the palm (FK: within 1.7 cm of the palm's
centre line, 3.4 cm in front of it), where READY's open thumb reaches 13 cm out along +y and,
pointing down, struck the table (so one of the two rolls was unusable)."""
HOOK_GRIP = np.concatenate([TUCKED[:3], POWER[3:]])
"""Round a loop's outer bar: the fingers close as in the power grasp, the thumb stays tucked (the
bar lies between fingers and thumb)."""
MAX_ATTEMPTS = 3  # grasps tried at a lying handle (one a height above); one takes ~90 of the 450 steps


def handle_geometry(obj: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, float]:
    """World centre (3,), unit axis (3,) and top z of the handle: the handle geoms' centres and
    their principal direction (one geom: its long axis, a capsule's or cylinder's own, a box's or
    an ellipsoid's longest side; a box once counted its z side, so a lying wrench's handle stood
    15 cm tall and the hand closed above it: 0/7 seeds)."""
    rotation, position = obj["pose"][:3, :3], obj["pose"][:3, 3]
    ends, tops = [], []
    for i in obj["handle_geoms"]:
        g = obj["geoms"][i]
        frame = rotation @ geom_rotation(g.quat)  # the geom's axes in the world
        centre = rotation @ np.asarray(g.pos) + position
        size = np.asarray(g.size, float)
        if g.type in ("capsule", "cylinder"):
            axis, half = frame[:, 2], size[1]
        else:
            long = int(np.argmax(size))
            axis, half = frame[:, long], size[long]
        ends += [centre - half * axis, centre + half * axis]
        world = GeomSpec(g.type, g.size, tuple(centre), tuple(Rotation.from_matrix(frame).as_quat(scalar_first=True)))
        tops.append(float(geom_aabb(world)[1][2]))
    ends = np.array(ends)
    centre = ends.mean(axis=0)
    _, _, vt = np.linalg.svd(ends - centre)
    return centre, vt[0], max(tops)


def away_from_head(obj: dict[str, Any], centre: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """``axis`` or its opposite, whichever points from the handle away from the object's other
    geoms (the head); the geoms' centres stand in for where the head is."""
    rotation, position = obj["pose"][:3, :3], obj["pose"][:3, 3]
    others = [rotation @ np.asarray(g.pos) + position for i, g in enumerate(obj["geoms"]) if i not in obj["handle_geoms"]]
    if not others:
        return axis
    return axis if np.dot(np.mean(others, axis=0) - centre, axis) < 0 else -axis


class FunctionalGraspExpert(ScriptedExpert):
    """Grasp the handle (from above or from the side, by the object's grasp approach) and lift."""

    task = "FunctionalGrasp"

    def __init__(self) -> None:
        super().__init__()
        self.reach = Reach()

    def plan(self, env: Any) -> Iterator[Waypoint]:
        tried: list[int] = []
        for attempt in range(MAX_ATTEMPTS):
            obj = with_role(env, "object")
            start_z = obj["pose"][2, 3]
            yield from self._grasp(env, obj, tried, THIN_SITE_HEIGHTS[attempt])
            now = with_role(env, "object")
            if now["pose"][2, 3] - start_z >= LIFT_HEIGHT or abs(obj["grasp_approach"][2]) <= 0.7:
                return
            yield Waypoint(lifted(env.ee_pose("world"), APPROACH_HEIGHT), OPEN, speed=0.2, label="regrasp")

    def _grasp(self, env: Any, obj: dict[str, Any], tried: list[int], thin_site: float) -> Iterator[Waypoint]:
        """Reach the handle with the first reachable rotation not in ``tried`` (appended), close, lift;
        a thin lying handle is taken with the grasp site at ``thin_site`` above the table."""
        centre, axis, top = handle_geometry(obj)
        if abs(obj["grasp_approach"][2]) <= 0.7:  # upright loop: from the side
            yield from self._loop_grasp(env, obj, centre)
            return
        # lying handle: from above, fingers across its axis
        away = away_from_head(obj, centre, axis)
        centre = centre + TOWARD_END * away
        floor = thin_site if top < THIN else MIN_SITE_HEIGHT
        site = np.array([centre[0], centre[1], max(floor, top - 0.025)])
        # fingers across the handle, the thumb (top_down's +y) pointing away from the head: toward it,
        # the open thumb touched the saucepan's rim (0/4 seeds; 3/4 away) or a knife's blade
        across = np.arctan2(away[1], away[0]) - np.pi / 2
        rotations = [top_down(across + d) for d in np.deg2rad([0, 20, -20, 180])]
        backoff = np.array([0.0, 0.0, APPROACH_HEIGHT])
        candidates = []
        fresh = [i for i in range(len(rotations)) if i not in tried] or list(range(len(rotations)))
        for i in fresh:  # all tried (the tool turned over onto its side): any again
            rotation = rotations[i]
            grasp = mount_for_site(env, rotation, site)
            pre = grasp.copy()
            pre[:3, 3] += backoff
            candidates.append((float(i), [pre, grasp, lifted(grasp, LIFT)]))
        best = self.reach.best(candidates)
        tried.append(int(candidates[best][0]))
        pre, grasp, lift = candidates[best][1]
        yield Waypoint(pre, READY, speed=0.3, label="approach")
        yield Waypoint(grasp, READY, speed=0.1, tolerance=0.006, label="reach")
        yield Waypoint(grasp, POWER, min_steps=15, hold=8, label="close")
        yield Waypoint(lift, POWER, speed=0.1, hold=30, label="lift")

    def _loop_grasp(self, env: Any, obj: dict[str, Any], centre: np.ndarray) -> Iterator[Waypoint]:
        """Hook an upright loop's outer bar: up off the table first, over to above the pre-grasp,
        down beside the handle, in, close the fingers round the bar (thumb tucked), lift."""
        site = np.array([centre[0], centre[1], max(centre[2], LOOP_SITE_HEIGHT)])
        top = float(obj["points"][:, 2].max())
        normal = obj["grasp_approach"] * [1.0, 1.0, 0.0]
        normal /= np.linalg.norm(normal)
        candidates = []
        for s in (-1.0, 1.0):  # thumb up, thumb down (tucked either way, so both clear the table)
            fingers = s * np.cross([0.0, 0.0, 1.0], normal)
            grasp = mount_for_site(env, palm_frame(normal, fingers), site - LOOP_INTO_FINGERS * fingers)
            pre = grasp.copy()
            pre[:3, 3] -= SIDE_BACKOFF * normal
            candidates.append((s, [pre, grasp, lifted(grasp, LIFT)]))
        pre, grasp, lift = candidates[self.reach.best(candidates)][1]
        above = lifted(pre, top + LOOP_CLEARANCE - site[2])
        yield Waypoint(lifted(env.ee_pose("world"), CLEAR_RISE), TUCKED, speed=0.3, label="clear")
        yield Waypoint(above, TUCKED, speed=0.3, label="above")
        yield Waypoint(pre, TUCKED, speed=0.2, label="approach")
        yield Waypoint(grasp, TUCKED, speed=0.1, tolerance=0.006, label="reach")
        yield Waypoint(grasp, HOOK_GRIP, min_steps=15, hold=8, label="close")
        yield Waypoint(lift, HOOK_GRIP, speed=0.1, hold=30, label="lift")

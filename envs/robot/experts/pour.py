"""Pour expert: side grasp of the bottle, tilt its mouth over the cup, tilt back, put it down.

The bottle is taken from the side its grasp approach names (palm toward the bottle, fingers
forward, thumb up), lifted, carried so that after the tilt the mouth hangs over the cup, and
turned about the fingers' axis: that is the flange's last joint, the one the arm turns most
freely. Putting it back retraces the carry to the recorded grasp pose and opens the hand.
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
    palm_frame,
    pose,
)
from envs.robot.experts.pick_place import READY
from envs.robot.tasks import POUR_TILT

TILT = POUR_TILT + np.deg2rad(25)  # past the predicate's threshold, short of upside down
LIFT = 0.06  # m the bottle is raised before carrying
MOUTH_ABOVE_RIM = 0.04  # m: where the mouth goes when tilted
CLEARANCE = 0.12  # m above the bottle's top: the way in passes over it, never through it
BACKOFF = 0.08  # m the palm starts away from the bottle
PALM_GAP = 0.012  # m the grasp site stops short of the bottle's axis (the palm face stays off the wall)


class PourExpert(ScriptedExpert):
    """Grasp bottle, lift, tilt over cup, pour, untilt, put back where it stood, release, retreat."""

    task = "Pour"

    def plan(self, env: Any) -> Iterator[Waypoint]:
        info = env.object_info("world")
        bottle = next(o for o in info.values() if o["role"] == "bottle")
        cup = next(o for o in info.values() if o["role"] == "cup")
        normal = bottle["grasp_approach"] / np.linalg.norm(bottle["grasp_approach"])
        axis_point = bottle["pose"][:3, 3]
        site = np.array([axis_point[0], axis_point[1], bottle["grasp_point"][2]]) - PALM_GAP * normal
        rotation = palm_frame(normal, np.array([1.0, 0.0, 0.0]))
        grasp = mount_for_site(env, rotation, site)
        pre = grasp.copy()
        pre[:3, 3] -= BACKOFF * normal
        clear_z = float(bottle["points"][:, 2].max()) + CLEARANCE
        start = env.ee_command("world")
        yield Waypoint(lifted(start, clear_z - start[2, 3]), READY, speed=0.3, label="rise")
        yield Waypoint(lifted(pre, clear_z - pre[2, 3]), READY, speed=0.3, label="approach")
        yield Waypoint(pre, READY, speed=0.2, label="lower")
        yield Waypoint(grasp, READY, speed=0.1, tolerance=0.006, label="reach")
        yield Waypoint(grasp, POWER, min_steps=15, hold=8, label="close")
        up = lifted(grasp, LIFT)
        yield Waypoint(up, POWER, speed=0.1, label="lift")
        # Tilt about the fingers' axis, toward the cup; the mouth's offset from the grasp site turns with it.
        to_cup = cup["pose"][:3, 3] - axis_point
        fingers = rotation[:, 2]
        sign = np.sign(np.dot(np.cross(fingers, [0.0, 0.0, 1.0]), to_cup)) or 1.0
        turn = Rotation.from_rotvec(-sign * TILT * fingers).as_matrix()
        mouth_offset = bottle["keypoints"]["mouth"] - site
        rim = cup["keypoints"]["rim"]
        mouth_target = np.array([rim[0], rim[1], rim[2] + MOUTH_ABOVE_RIM])
        pour_site = mouth_target - turn @ mouth_offset
        upright_over = mount_for_site(env, rotation, pour_site)
        yield Waypoint(upright_over, POWER, speed=0.15, label="carry")
        yield Waypoint(mount_for_site(env, turn @ rotation, pour_site), POWER, speed=0.1, hold=20, label="pour")
        yield Waypoint(upright_over, POWER, speed=0.1, label="untilt")
        yield Waypoint(up, POWER, speed=0.15, label="return")
        yield Waypoint(lifted(grasp, 0.004), POWER, speed=0.06, hold=5, label="put down")
        yield Waypoint(lifted(grasp, 0.004), OPEN, min_steps=10, hold=5, label="release")
        yield Waypoint(pose(rotation, pre[:3, 3]), OPEN, speed=0.15, hold=10, label="retreat")

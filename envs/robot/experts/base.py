"""The machinery every scripted expert shares: waypoints, their interpolation, and hand poses.

An expert is a *plan*: a generator of :class:`Waypoint` s (absolute hand-mount poses in the world
plus 12 XHAND1 joint targets). A generator rather than a list, because later phases depend on what
happened earlier (where an object ended up in the hand, where a ball rolled), and a generator
computes each waypoint only when the previous one is reached, from the scene as it is then.

The expert drives the env only through its public action interface: every step it asks
``env.action_from_targets(pose, hand_q)`` for the action that moves the commanded pose toward an
intermediate target on a straight line (position) / slerp (rotation) toward the waypoint, at the
waypoint's speed. The action is an ordinary 102-dim VITRA action, so what a demonstration records
is exactly what a policy would have to output.

Frames: world = the arm's base frame (x forward over the table, z up). Hand-mount (palm) frame of
the XHAND1 (``assets/xhand1/README.md``): +z along the fingers, +x the palm normal, +y toward the
thumb. ``rh_grasp_site`` sits 5.5 cm in front of the palm and 10 cm along the fingers: the centre
of what a closed hand holds, so grasps are planned by putting that site on the object.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from envs.robot.ik import ArmIK, IKConfig
from envs.robot.scene import GRASP_SITE

CONTROL_HZ = 30.0
ANGULAR_SPEED = 1.2  # rad/s of the hand's orientation along a segment (project choice: smooth, well under the arm's limits)
SETTLE_STEPS = 20  # at most this many extra steps waiting for the measured pose to reach a waypoint
REACH_TOLERANCE = 0.005  # m: a pose counts as reachable when IK gets the flange this close

# XHAND1 joint targets, SDK order (thumb_bend, thumb_rota1, thumb_rota2, index_bend, index1, index2,
# mid1, mid2, ring1, ring2, pinky1, pinky2). Closed targets sit past where the fingers stop on an
# object, so the position servos squeeze with (up to) their force limit.
OPEN = np.zeros(12)
POWER = np.array([1.3, 1.0, 1.2, 0.0, 1.7, 1.6, 1.7, 1.6, 1.7, 1.6, 1.7, 1.6])
"""Power grasp: every finger and the opposed thumb wrapped (past contact on anything held)."""


@dataclass
class Waypoint:
    """One target of a plan.

    Attributes:
        pose: (4, 4) world pose of the hand mount (``rm_attachment_site``) to reach.
        hand: (12,) XHAND1 joint targets, blended in linearly along the segment.
        speed: m/s of the hand along the segment (rotation at ``ANGULAR_SPEED``), which sets its steps.
        hold: steps to stay at the waypoint once reached (let fingers close, objects settle).
        tolerance: m; the segment counts as reached when the measured mount is this close (or after
            ``SETTLE_STEPS``), so a blocked arm never stalls the plan.
        min_steps: lower bound on the segment's steps (a hand closing in place still takes time).
        label: phase name, for debugging and tests.
    """

    pose: np.ndarray
    hand: np.ndarray
    speed: float = 0.25
    hold: int = 0
    tolerance: float = 0.01
    min_steps: int = 1
    label: str = ""


class ScriptedExpert:
    """Base class: subclasses implement :meth:`plan`; :meth:`act` turns it into env actions."""

    task: ClassVar[str] = ""

    def __init__(self) -> None:
        self._plan: Iterator[Waypoint] | None = None
        self._segment: list[tuple[np.ndarray, np.ndarray]] = []
        self._index = 0
        self._waypoint: Waypoint | None = None
        self._settle = 0
        self._hold = 0
        self.phase = ""
        self.done = False

    def plan(self, env: Any) -> Iterator[Waypoint]:
        """Yield the waypoints of one episode; ``env`` is the unwrapped env, read when each is needed."""
        raise NotImplementedError

    def reset(self, env: Any) -> None:
        """Start a new episode on the (reset) env."""
        self._plan = self.plan(env)
        self._segment, self._index, self._waypoint, self.done, self.phase = [], 0, None, False, ""

    def act(self, env: Any) -> np.ndarray:
        """The next (102,) action; after the plan ends it holds the last pose and hand (``done`` set)."""
        if self._plan is None:
            raise RuntimeError("call reset(env) before act(env)")
        if (self._waypoint is None or self._segment_over(env)) and not self._advance(env):
            wp = self._waypoint
            target = (wp.pose, wp.hand) if wp is not None else (env.ee_command("world"), env.hand_joints())
            return env.action_from_targets(*target)
        target = self._segment[min(self._index, len(self._segment) - 1)]
        self._index += 1
        return env.action_from_targets(*target)

    def _segment_over(self, env: Any) -> bool:
        """Past the segment's last target: wait until the arm gets there, then hold, then it is over."""
        if self._index < len(self._segment):
            return False
        wp = self._waypoint
        reached = np.linalg.norm(env.ee_pose("world")[:3, 3] - wp.pose[:3, 3]) <= wp.tolerance
        if not reached and self._settle < SETTLE_STEPS:
            self._settle += 1
            return False
        if self._hold < wp.hold:
            self._hold += 1
            return False
        return True

    def _advance(self, env: Any) -> bool:
        """Interpolate from the current command to the next waypoint; False when the plan is over."""
        start_hand = self._waypoint.hand if self._waypoint is not None else env.hand_joints()
        wp = next(self._plan, None)
        if wp is None:
            self.done = True
            return False
        start = env.ee_command("world")
        distance = np.linalg.norm(wp.pose[:3, 3] - start[:3, 3])
        rotation = Rotation.from_matrix(np.stack([start[:3, :3], wp.pose[:3, :3]]))
        angle = (rotation[1] * rotation[0].inv()).magnitude()
        steps = max(wp.min_steps, int(np.ceil(CONTROL_HZ * max(distance / wp.speed, angle / ANGULAR_SPEED))), 1)
        fractions = np.arange(1, steps + 1) / steps
        slerp = Slerp([0.0, 1.0], rotation)(fractions).as_matrix()
        segment = []
        for f, rot in zip(fractions, slerp, strict=True):
            pose = np.eye(4)
            pose[:3, :3], pose[:3, 3] = rot, start[:3, 3] + f * (wp.pose[:3, 3] - start[:3, 3])
            segment.append((pose, start_hand + f * (wp.hand - start_hand)))
        self._segment, self._index, self._waypoint = segment, 0, wp
        self._settle, self._hold, self.phase = 0, 0, wp.label
        return True


# --- geometry helpers --------------------------------------------------------------------------


def pose(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = rotation, translation
    return out


def palm_frame(normal: np.ndarray, fingers: np.ndarray) -> np.ndarray:
    """Rotation of the hand mount whose palm faces ``normal`` with fingers along ``fingers``
    (made orthogonal to the normal): columns x = palm normal, y = thumb side, z = fingers."""
    x = np.asarray(normal, float) / np.linalg.norm(normal)
    z = np.asarray(fingers, float) - np.dot(fingers, x) * x
    z /= np.linalg.norm(z)
    return np.column_stack([x, np.cross(z, x), z])


def top_down(yaw: float) -> np.ndarray:
    """Palm facing down, fingers pointing along world heading ``yaw`` (the arm's home orientation at 0)."""
    return palm_frame(np.array([0.0, 0.0, -1.0]), np.array([np.cos(yaw), np.sin(yaw), 0.0]))


def grasp_offset(env: Any) -> np.ndarray:
    """(4, 4) ``rh_grasp_site`` in the hand-mount frame, read from the env's model (not hard-coded)."""
    mount = env.ee_pose("world")
    site = env.data.site(GRASP_SITE)
    return np.linalg.inv(mount) @ pose(site.xmat.reshape(3, 3), site.xpos)


def mount_for_site(env: Any, rotation: np.ndarray, site_position: np.ndarray) -> np.ndarray:
    """The hand-mount pose that puts ``rh_grasp_site`` at ``site_position`` with the mount at ``rotation``."""
    offset = grasp_offset(env)
    return pose(rotation, np.asarray(site_position, float) - rotation @ offset[:3, 3])


def with_role(env: Any, role: str) -> dict[str, Any]:
    """The object info (world frame, read now) of the scene's object in TaskSpec slot ``role``."""
    return next(o for o in env.object_info("world").values() if o["role"] == role)


def in_hand(env: Any, body: str) -> np.ndarray:
    """(4, 4) pose of object ``body`` in the hand-mount frame, read now. Plans that carry an object
    solve later mount poses from it (``mount = wanted_object_pose @ inv(in_hand)``) rather than from
    where the grasp was planned: closing fingers move an object several centimetres in the hand."""
    return np.linalg.inv(env.ee_pose("world")) @ env.object_info("world")[body]["pose"]


def lifted(p: np.ndarray, dz: float) -> np.ndarray:
    """``p`` raised by ``dz`` m (world z)."""
    out = p.copy()
    out[2, 3] += dz
    return out


def heading(point: np.ndarray) -> float:
    """World heading (rad) of ``point`` seen from the arm's base: the comfortable finger direction."""
    return float(np.arctan2(point[1], point[0]))


def yaw_near(yaw: float, reference: float, period: float = np.pi) -> float:
    """The angle ``yaw + k * period`` closest to ``reference`` (a symmetric grasp has two yaws a
    half-turn apart; the one near the radial heading keeps the wrist untwisted and the arm in reach)."""
    return float(reference + (yaw - reference + period / 2) % period - period / 2)


class Reach:
    """Checks that the arm can reach a sequence of hand-mount poses, before committing to a grasp.

    Near the base the RM75 cannot hold the palm down with the fingers pointing away from it (the
    flange would have to sit closer than ~0.3 m), while far out it cannot point them sideways, so
    a grasp's yaw is chosen among the candidates the object allows by solving IK for the plan's
    key poses. The solve has no speed limit and large steps (it is a feasibility check, ~10 ms a
    pose), and is warm-started pose to pose as the env's own IK is along the motion.
    """

    def __init__(self) -> None:
        self.ik = ArmIK(IKConfig(max_speed=None))

    def error(self, poses: list[np.ndarray], start: np.ndarray | None = None) -> float:
        """The largest flange position error (m) IK leaves over ``poses``, solved in order."""
        self.ik.reset(self.ik.home if start is None else start)
        worst = 0.0
        for target in poses:
            self.ik.solve(target, max_steps=40, dt=0.1)
            worst = max(worst, float(np.linalg.norm(self.ik.forward()[:3, 3] - target[:3, 3])))
        return worst

    def best(self, candidates: list[tuple[float, list[np.ndarray]]], start: np.ndarray | None = None) -> int:
        """Index of the first candidate (ordered by preference) whose poses are all reachable, else
        of the one with the smallest error."""
        errors = []
        for i, (_, poses) in enumerate(candidates):
            errors.append(self.error(poses, start))
            if errors[-1] <= REACH_TOLERANCE:
                return i
        return int(np.argmin(errors))

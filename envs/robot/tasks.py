"""Success predicates of the four robot tasks, resolved from the TaskSpec's predicate *names*.

``vitra_bench.tasks`` names each task's success check (``TaskSpec.success``); this module maps the
names to small pure functions of a :class:`TaskState`, a snapshot of the scene that the env
builds every step (``RobotTaskEnv.task_state``) and a test can write by hand. ``real/`` resolves
the same names against its own sensing.

What each predicate asks (thresholds are module constants, project choices):

* ``object_in_container`` (PickPlace): the object's centre lies inside the box's interior region
  and the hand has let go (no robot contact).
* ``grasped_by_handle`` (FunctionalGrasp): the object is lifted ``LIFT_HEIGHT`` above where it
  started, the hand touches its handle and touches nothing else of it.
* ``poured_and_returned`` (Pour): at some step the bottle was tilted at least ``POUR_TILT`` with its
  mouth in the region above the cup (remembered in ``TaskState.memory["poured"]``, updated by
  :func:`update_memory`), and now the bottle stands upright within ``RETURN_RADIUS`` of its start,
  released, and the cup still stands.
* ``balls_swept_and_broom_returned`` (Sweep): at least ``SWEEP_FRACTION`` of the paper balls have
  their centre in the taped zone and the broom lies in the basket, released. (The centre, not the
  body origin: a ball's origin is the surface point it first rested on, which a rolling ball can
  carry above the zone's 3 cm height.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

LIFT_HEIGHT = 0.05  # m above the start
POUR_TILT = np.deg2rad(70.0)  # bottle axis from vertical while pouring
UPRIGHT_TILT = np.deg2rad(15.0)  # "standing" for the bottle and cup
RETURN_RADIUS = 0.08  # m from the bottle's start (xy)
SWEEP_FRACTION = 0.75  # of the paper balls in the zone


@dataclass
class BodyState:
    """One object: pose now and at the start (world frame), and who touches it.

    Attributes:
        pos: (3,) body origin (centre of the resting base).
        quat: (4,) orientation, w first.
        init_pos, init_quat: the same at the episode's start.
        robot_contact: any robot geom (arm or hand) touches the body.
        handle_contact: a robot geom touches one of the body's handle geoms.
        other_contact: a robot geom touches one of its non-handle geoms.
        centre: (3,) world centre of the object's bounding box (``pos`` when not given).
    """

    pos: np.ndarray
    quat: np.ndarray = field(default_factory=lambda: np.array([1.0, 0.0, 0.0, 0.0]))
    init_pos: np.ndarray | None = None
    init_quat: np.ndarray | None = None
    robot_contact: bool = False
    handle_contact: bool = False
    other_contact: bool = False
    centre: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.pos = np.asarray(self.pos, float)
        self.quat = np.asarray(self.quat, float)
        self.init_pos = self.pos.copy() if self.init_pos is None else np.asarray(self.init_pos, float)
        self.init_quat = self.quat.copy() if self.init_quat is None else np.asarray(self.init_quat, float)
        self.centre = self.pos.copy() if self.centre is None else np.asarray(self.centre, float)

    @property
    def rotation(self) -> np.ndarray:
        return quat_to_matrix(self.quat)

    @property
    def tilt(self) -> float:
        """Angle (rad) between the body's z axis and the world's."""
        return float(np.arccos(np.clip(self.rotation[2, 2], -1.0, 1.0)))

    def to_world(self, point: np.ndarray) -> np.ndarray:
        return self.rotation @ np.asarray(point, float) + self.pos


@dataclass
class Region:
    """An oriented box in the world: ``centre`` (3,), ``half`` extents (3,), ``quat`` (w first)."""

    centre: np.ndarray
    half: np.ndarray
    quat: np.ndarray = field(default_factory=lambda: np.array([1.0, 0.0, 0.0, 0.0]))

    def contains(self, point: np.ndarray) -> bool:
        local = quat_to_matrix(self.quat).T @ (np.asarray(point, float) - np.asarray(self.centre, float))
        return bool(np.all(np.abs(local) <= np.asarray(self.half, float)))


@dataclass
class TaskState:
    """What the predicates read. Keys are the TaskSpec's slots (``"object"``, ``"container"``,
    ``"bottle"``, ``"cup"``, ``"broom"``, ``"basket"``) and ``"paper_ball_<i>"``.

    Attributes:
        bodies: slot -> :class:`BodyState`.
        regions: ``"<slot>"`` -> the region that counts as inside that container (box, basket) or,
            for the cup, the region above its opening; ``"zone"`` the sweep target.
        keypoints: world points by name (``"bottle/mouth"``).
        memory: sticky flags of events seen earlier in the episode (``"lifted"``, ``"poured"``).
    """

    bodies: Mapping[str, BodyState]
    regions: Mapping[str, Region] = field(default_factory=dict)
    keypoints: Mapping[str, np.ndarray] = field(default_factory=dict)
    memory: Mapping[str, bool] = field(default_factory=dict)


def quat_to_matrix(quat: np.ndarray) -> np.ndarray:
    w, x, y, z = np.asarray(quat, float) / np.linalg.norm(quat)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


# --- predicates -------------------------------------------------------------------------------


def object_in_container(state: TaskState) -> bool:
    obj = state.bodies["object"]
    return state.regions["container"].contains(obj.centre) and not obj.robot_contact


def grasped_by_handle(state: TaskState) -> bool:
    obj = state.bodies["object"]
    lifted = obj.pos[2] - obj.init_pos[2] >= LIFT_HEIGHT
    return bool(lifted and obj.handle_contact and not obj.other_contact)


def pouring(state: TaskState) -> bool:
    """The event Pour remembers: bottle tilted past ``POUR_TILT``, mouth above the cup's opening."""
    bottle = state.bodies["bottle"]
    return bottle.tilt >= POUR_TILT and state.regions["cup"].contains(state.keypoints["bottle/mouth"])


def poured_and_returned(state: TaskState) -> bool:
    bottle, cup = state.bodies["bottle"], state.bodies["cup"]
    back = np.linalg.norm(bottle.pos[:2] - bottle.init_pos[:2]) <= RETURN_RADIUS
    standing = bottle.tilt <= UPRIGHT_TILT and abs(bottle.pos[2] - bottle.init_pos[2]) <= 0.01
    return bool(state.memory.get("poured", False) and back and standing and not bottle.robot_contact
                and cup.tilt <= UPRIGHT_TILT)


def balls_swept_and_broom_returned(state: TaskState) -> bool:
    balls = [b for k, b in state.bodies.items() if k.startswith("paper_ball_")]
    zone = state.regions["zone"]
    swept = sum(zone.contains(b.centre) for b in balls) >= SWEEP_FRACTION * len(balls) if balls else False
    broom = state.bodies["broom"]
    returned = state.regions["basket"].contains(broom.centre) and not broom.robot_contact
    return bool(swept and returned)


PREDICATES: dict[str, Callable[[TaskState], bool]] = {
    "object_in_container": object_in_container,
    "grasped_by_handle": grasped_by_handle,
    "poured_and_returned": poured_and_returned,
    "balls_swept_and_broom_returned": balls_swept_and_broom_returned,
}

def lifted(role: str) -> Callable[[TaskState], bool]:
    """Event: the robot holds the body in slot ``role`` ``LIFT_HEIGHT`` above where it started.

    The contact is part of it because random control knocks a standing bottle into the air, which
    is no grasp: without it, 2 of 10 random Pour trials counted as lifted; with it, 1 of 10 still
    does (the flailing hand scooped the bottle up against its palm), so compare any policy's rate
    with the random policy's on the same seeds.
    """

    def event(state: TaskState) -> bool:
        body = state.bodies[role]
        return bool(body.robot_contact and body.pos[2] - body.init_pos[2] >= LIFT_HEIGHT)

    return event


# Events remembered per predicate, in the order a task passes them: memory key -> event function.
# ``poured`` is part of Pour's success; the others are milestones only, so that an evaluation where
# no trial succeeds still shows how far the policy got (how often it took the object at all).
EVENTS: dict[str, dict[str, Callable[[TaskState], bool]]] = {
    "object_in_container": {"lifted": lifted("object")},
    "grasped_by_handle": {"lifted": lifted("object")},
    "poured_and_returned": {"lifted": lifted("bottle"), "poured": pouring},
    "balls_swept_and_broom_returned": {"lifted": lifted("broom")},
}

# What an operator is asked about each event on the real robot, where no simulator senses it.
EVENT_QUESTIONS: dict[str, str] = {
    "lifted": f"did the robot hold the object at least {100 * LIFT_HEIGHT:.0f} cm above where it stood",
    "poured": f"did the bottle tilt at least {np.rad2deg(POUR_TILT):.0f} deg with its mouth above the cup",
}


def get_predicate(name: str) -> Callable[[TaskState], bool]:
    """The success predicate called ``name`` (a ``TaskSpec.success``)."""
    try:
        return PREDICATES[name]
    except KeyError:
        raise KeyError(f"no success predicate {name!r}; known: {sorted(PREDICATES)}") from None


def update_memory(name: str, state: TaskState, memory: Mapping[str, bool]) -> dict[str, bool]:
    """``memory`` with every event of predicate ``name`` present, set once it has held (sticky)."""
    out = dict(memory)
    for key, event in EVENTS.get(name, {}).items():
        out[key] = bool(out.get(key, False) or event(state))
    return out

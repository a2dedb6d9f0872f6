"""XHAND1 joint angles <-> the 45 MANO finger-angle slots (``theta``) of the VITRA hand action.

A per-hand VITRA action is ``[dt(3), dR(3), theta(45)]``; ``theta`` holds scipy ``"xyz"`` Euler
angles of the 15 MANO finger joints in MANO order (index1-3, middle1-3, pinky1-3, ring1-3,
thumb1-3), slot ``3 * joint + axis`` (``vitra_bench.layout.finger_slot`` adds the 6 wrist slots).
The XHAND1 has 12 revolute joints; each takes the angle of the topologically closest MANO joint
about one axis, with a sign (ROBOT_FACTS.md, "Human (MANO) -> XHAND1 joint mapping"). The 33
other slots carry no information: robot data leaves them zero and masks them (``THETA_MASK``).

Axes are those of this project's hand skeleton (``vitra_bench.hand``): MANO's right-hand frame
turned 180 degrees about z, so z (flexion) agrees with MANO while x and y change sign. In these
axes +z of a finger joint is flexion, +y of index1..ring1 swings a finger toward the little
finger, +y of thumb1/thumb2 is thumb flexion toward the fingers and +z of thumb1 is palmar
abduction (opposition). Checked against the XHAND1 URDF kinematics (``assets/xhand1/README.md``):

====  ==============  =============  ====  ====  ==========================================
 #    XHAND1 joint    MANO joint     axis  sign  why
====  ==============  =============  ====  ====  ==========================================
 0    thumb_bend      thumb1 (12)    z     +1    +q swings the thumb to the palm side
 1    thumb_rota1     thumb1 (12)    y     +1    +q sweeps the thumb toward the fingers
 2    thumb_rota2     thumb2 (13)    y     +1    second thumb joint, flexion
 3    index_bend      index1 (0)     y     -1    +q spreads the index toward the thumb
 4    index_joint1    index1 (0)     z     +1    MCP flexion
 5    index_joint2    index2 (1)     z     +1    second finger joint (PIP), flexion
 6    mid_joint1      middle1 (3)    z     +1
 7    mid_joint2      middle2 (4)    z     +1
 8    ring_joint1     ring1 (9)      z     +1
 9    ring_joint2     ring2 (10)     z     +1
 10   pinky_joint1    pinky1 (6)     z     +1
 11   pinky_joint2    pinky2 (7)     z     +1
====  ==============  =============  ====  ====  ==========================================

The public VITRA release's table (``RELEASE_TABLE``) differs in two ways. Its y entries are in
MANO's own axes, so their signs flip here (thumb_rota1/2 -1 -> +1, index_bend +1 -> -1); that is
a change of frame, not of meaning. And it sends each finger's second joint to the DIP (index3,
middle3, pinky3, ring3) while it sends the thumb's second joint to the MCP (thumb2). The XHAND1's
second finger joint sits 55.8 mm from the first and carries a 42 mm distal link, the human
middle + distal phalanges together, so the PIP is the topologically closest joint and the project
uses it. ``RELEASE_TABLE`` reproduces the release's slots (with the same sign conversion) for
compatibility with its checkpoints, and is the default (``DEFAULT_TABLE``). ``index_bend``'s sign follows the standalone XHAND1 URDF;
Robotera's STAR1 URDF turns it the other way (to verify on hardware, ROBOT_FACTS.md).

Both hands use one table: the left XHAND1 mirrors the right one (same ``q``, mirror-image pose)
and the left MANO hand is the mirrored right model with the right-hand convention.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from vitra_bench.hand import FINGER_JOINT_NAMES
from vitra_bench.layout import FINGERS, HAND_ACTION_DIM, WRIST

NUM_XHAND_JOINTS = 12
NUM_THETA = 45

# The SDK's joint order (index 0..11 of a HandCommand), names as in ROBOT_FACTS.md.
XHAND1_JOINTS: tuple[str, ...] = (
    "thumb_bend", "thumb_rota1", "thumb_rota2", "index_bend", "index_joint1", "index_joint2",
    "mid_joint1", "mid_joint2", "ring_joint1", "ring_joint2", "pinky_joint1", "pinky_joint2",
)  # fmt: skip

SIDE_PREFIX = {"right": "rh_", "left": "lh_"}


class JointMap(NamedTuple):
    """One row of a joint table: XHAND1 joint ``robot`` goes to MANO joint ``mano``, Euler ``axis``."""

    robot: int  # index in XHAND1_JOINTS
    mano: int  # MANO finger joint 0..14 (FINGER_JOINT_NAMES)
    axis: int  # 0 x, 1 y, 2 z (this project's axes)
    sign: float

    @property
    def slot(self) -> int:
        """Index in the 45-dim theta."""
        return 3 * self.mano + self.axis


X, Y, Z = 0, 1, 2
_INDEX1, _INDEX2, _INDEX3, _MIDDLE1, _MIDDLE2, _MIDDLE3 = 0, 1, 2, 3, 4, 5
_PINKY1, _PINKY2, _PINKY3, _RING1, _RING2, _RING3, _THUMB1, _THUMB2 = (
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
)

PROJECT_TABLE: tuple[JointMap, ...] = (
    JointMap(0, _THUMB1, Z, +1.0),
    JointMap(1, _THUMB1, Y, +1.0),
    JointMap(2, _THUMB2, Y, +1.0),
    JointMap(3, _INDEX1, Y, -1.0),
    JointMap(4, _INDEX1, Z, +1.0),
    JointMap(5, _INDEX2, Z, +1.0),
    JointMap(6, _MIDDLE1, Z, +1.0),
    JointMap(7, _MIDDLE2, Z, +1.0),
    JointMap(8, _RING1, Z, +1.0),
    JointMap(9, _RING2, Z, +1.0),
    JointMap(10, _PINKY1, Z, +1.0),
    JointMap(11, _PINKY2, Z, +1.0),
)

# The release's (xhand_idx, human_idx, sign) triples as published (VITRA_FACTS.md): robot indices
# count from 6 in its 18-dim robot vector, human indices from 6 in the 51-dim hand action, and the
# signs refer to MANO's own axes.
RELEASE_PAIRS: tuple[tuple[int, int, int], ...] = (
    (10, 8, +1), (11, 14, +1), (12, 17, +1), (13, 23, +1), (16, 26, +1), (17, 32, +1),
    (14, 35, +1), (15, 41, +1), (7, 43, -1), (6, 44, +1), (8, 46, -1), (9, 7, +1),
)  # fmt: skip


def _from_release(pairs: tuple[tuple[int, int, int], ...]) -> tuple[JointMap, ...]:
    rows = []
    for robot, human, sign in pairs:
        mano, axis = divmod(human - FINGERS.start, 3)
        flip = (
            -1.0 if axis in (X, Y) else 1.0
        )  # MANO axes -> this project's (180 deg about z)
        rows.append(JointMap(robot - 6, mano, axis, flip * sign))
    return tuple(sorted(rows))


RELEASE_TABLE: tuple[JointMap, ...] = _from_release(RELEASE_PAIRS)
TABLES: dict[str, tuple[JointMap, ...]] = {
    "project": PROJECT_TABLE,
    "release": RELEASE_TABLE,
}
DEFAULT_TABLE = "release"
"""The table every part uses unless told otherwise: the release's, so that our simulated and real
episodes, VITRA-TeleData files and the authors' checkpoints put the same joint in the same slot.
``"project"`` is the anatomically closer choice (module docstring) for users who train only here."""


def _table(table: str | tuple[JointMap, ...]) -> tuple[JointMap, ...]:
    if isinstance(table, str):
        if table not in TABLES:
            raise ValueError(
                f"unknown joint table {table!r}; expected one of {sorted(TABLES)}"
            )
        return TABLES[table]
    rows = tuple(table)
    if sorted(r.robot for r in rows) != list(range(NUM_XHAND_JOINTS)) or len(
        {r.slot for r in rows}
    ) != len(rows):
        raise ValueError(
            "a joint table needs one row per XHAND1 joint and distinct theta slots"
        )
    return rows


def _indices(
    table: str | tuple[JointMap, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(robot joints, theta slots, signs) of a table."""
    return _cached_indices(table if isinstance(table, (str, tuple)) else tuple(table))


@functools.lru_cache(maxsize=16)
def _cached_indices(
    table: str | tuple[JointMap, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cached because the robot env maps joints on every 30 Hz step; read-only because the cache
    hands every caller the same arrays."""
    rows = _table(table)
    out = (
        np.array([r.robot for r in rows]),
        np.array([r.slot for r in rows]),
        np.array([r.sign for r in rows]),
    )
    for array in out:
        array.flags.writeable = False
    return out


def theta_mask(table: str | tuple[JointMap, ...] = DEFAULT_TABLE) -> np.ndarray:
    """(45,) bool: the theta slots that carry an XHAND1 joint."""
    _, slots, _ = _indices(table)
    mask = np.zeros(NUM_THETA, dtype=bool)
    mask[slots] = True
    return mask


THETA_MASK = theta_mask()


def action_mask(table: str | tuple[JointMap, ...] = DEFAULT_TABLE) -> np.ndarray:
    """(51,) bool mask of one hand's action for robot data: the 6 wrist slots and the mapped theta slots."""
    mask = np.zeros(HAND_ACTION_DIM, dtype=bool)
    mask[WRIST] = True
    mask[FINGERS] = theta_mask(table)
    return mask


def xhand_to_theta(
    q: ArrayLike, table: str | tuple[JointMap, ...] = DEFAULT_TABLE
) -> np.ndarray:
    """XHAND1 joint angles (..., 12), SDK order, radians -> theta (..., 45); unmapped slots are 0."""
    q = np.asarray(q, dtype=np.float64)
    if q.ndim == 0 or q.shape[-1] != NUM_XHAND_JOINTS:
        raise ValueError(f"q: expected shape (..., {NUM_XHAND_JOINTS}), got {q.shape}")
    robot, slots, signs = _indices(table)
    theta = np.zeros(q.shape[:-1] + (NUM_THETA,))
    theta[..., slots] = signs * q[..., robot]
    return theta


def theta_to_xhand(
    theta: ArrayLike, table: str | tuple[JointMap, ...] = DEFAULT_TABLE
) -> np.ndarray:
    """theta (..., 45) -> XHAND1 joint angles (..., 12); reads the mapped slots only, clips nothing."""
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim == 0 or theta.shape[-1] != NUM_THETA:
        raise ValueError(f"theta: expected shape (..., {NUM_THETA}), got {theta.shape}")
    robot, slots, signs = _indices(table)
    q = np.zeros(theta.shape[:-1] + (NUM_XHAND_JOINTS,))
    q[..., robot] = signs * theta[..., slots]
    return q


def mjcf_joint_names(side: str = "right") -> tuple[str, ...]:
    """The MJCF joint (and actuator) names of ``assets/xhand1`` in SDK order, e.g. ``rh_thumb_bend``."""
    if side not in SIDE_PREFIX:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    return tuple(SIDE_PREFIX[side] + name for name in XHAND1_JOINTS)


def describe(table: str | tuple[JointMap, ...] = DEFAULT_TABLE) -> list[str]:
    """Human-readable rows ``"index_joint1 -> index1 z (+1), theta[2]"`` (for logs and reports)."""
    axes = "xyz"
    return [
        f"{XHAND1_JOINTS[r.robot]} -> {FINGER_JOINT_NAMES[r.mano]} {axes[r.axis]} ({r.sign:+.0f}), theta[{r.slot}]"
        for r in _table(table)
    ]

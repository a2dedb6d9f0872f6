"""Embodiments: which of the model's 102 action and 122 state dimensions a body has.

A human corpus fills every dimension of a tracked hand; an XHAND1 on a Realman arm has the 6 wrist
dimensions and the 12 slots its joints map to (``xhand_mapping``), and no hand shape. The dataset
masks robot episodes with these (so fine-tuning never trains the slots the robot lacks), and the
checkpoint guard (``policies.embodiment``) checks a checkpoint against the body it will drive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vitra_bench import layout, xhand_mapping
from vitra_bench.corpus.schema import HUMAN_ROBOT_TYPE

REALMAN_XHAND1_ROBOT_TYPE = "realman_rm75_xhand1"
"""``robot_type`` of corpora recorded on (or simulated for) Realman arms with XHAND1 hands."""


@dataclass(frozen=True, eq=False)
class Embodiment:
    """What a body can execute and observe in the model's vectors.

    Attributes:
        name: for messages.
        action_dim / state_dim: the model's bimanual action and state sizes (102 / 122).
        action_mask / state_mask: (action_dim,) / (state_dim,) bool, the dimensions this body has.
    """

    name: str
    action_dim: int
    state_dim: int
    action_mask: np.ndarray
    state_mask: np.ndarray

    def __post_init__(self) -> None:
        for label, mask, dim in (
            ("action", self.action_mask, self.action_dim),
            ("state", self.state_mask, self.state_dim),
        ):
            if np.shape(mask) != (dim,):
                raise ValueError(f"{self.name}: {label}_mask has shape {np.shape(mask)}, expected ({dim},)")
        object.__setattr__(self, "action_mask", np.asarray(self.action_mask, bool))
        object.__setattr__(self, "state_mask", np.asarray(self.state_mask, bool))


def xhand1(sides: Sequence[str], table: str = xhand_mapping.DEFAULT_TABLE) -> Embodiment:
    """XHAND1 hand(s) on Realman arm(s): per side the 6 wrist dims and the 12 slots of ``table``; beta masked."""
    hand = xhand_mapping.action_mask(table)
    action = np.zeros(layout.ACTION_DIM, bool)
    state = np.zeros(layout.STATE_DIM, bool)
    for side in sides:
        action[layout.ACTION_SLICES[side]] = hand
        state[layout.STATE_SLICES[side]][: layout.HAND_ACTION_DIM] = hand
    name = "xhand1_" + ("bimanual" if set(sides) == {"left", "right"} else "_".join(sides))
    return Embodiment(name, layout.ACTION_DIM, layout.STATE_DIM, action, state)


HUMAN = Embodiment(
    "human", layout.ACTION_DIM, layout.STATE_DIM, np.ones(layout.ACTION_DIM, bool), np.ones(layout.STATE_DIM, bool)
)
XHAND1_RIGHT = xhand1(["right"])
XHAND1_BIMANUAL = xhand1(["left", "right"])


def for_robot_type(robot_type: str) -> Embodiment:
    """The embodiment a corpus's ``robot_type`` records (robot corpora: both arms' slots; an absent
    arm is untracked, which masks it anyway)."""
    known = {HUMAN_ROBOT_TYPE: HUMAN, REALMAN_XHAND1_ROBOT_TYPE: XHAND1_BIMANUAL}
    if robot_type not in known:
        raise ValueError(f"unknown robot_type {robot_type!r}; known: {', '.join(known)}")
    return known[robot_type]

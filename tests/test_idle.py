"""``vitra_bench.corpus.idle``: the frames where a robot waits are told apart from those where it moves."""

from __future__ import annotations

import numpy as np

from vitra_bench import layout
from vitra_bench.corpus.idle import ANGLE_TOLERANCE, TRANSLATION_TOLERANCE, moving_frames

RIGHT_WRIST = layout.RIGHT_ACTION.start
RIGHT_FINGER = layout.RIGHT_ACTION.start + layout.FINGERS.start
STATE_FINGER = layout.RIGHT_STATE.start + layout.FINGERS.start
STATE_X = layout.RIGHT_STATE.start


def columns(commands: np.ndarray, states: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "action": commands,
        "action_mask": np.ones_like(commands, bool),
        "observation.state": states,
        "observation.state_mask": np.ones_like(states, bool),
    }


def test_a_wait_is_idle_only_once_nothing_moves() -> None:
    """Frames 0-1 move the wrist; 2-5 repeat the finger target while the fingers close (2-3) and
    then rest (4-5); 6 sends a new finger target; the last frame is always kept."""
    commands = np.zeros((8, layout.ACTION_DIM))
    commands[:2, RIGHT_WRIST] = 0.01
    commands[:, RIGHT_FINGER] = [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.2, 0.2]
    states = np.zeros((8, layout.STATE_DIM))
    states[:, STATE_X] = np.cumsum(commands[:, RIGHT_WRIST])
    states[:, STATE_FINGER] = [0.0, 0.0, 0.0, 0.5, 0.9, 0.9, 0.9, 0.5]
    np.testing.assert_array_equal(moving_frames(columns(commands, states)), [1, 1, 1, 1, 0, 0, 1, 1])


def test_creep_below_the_tolerances_is_rest_and_above_is_motion() -> None:
    commands = np.zeros((4, layout.ACTION_DIM))
    states = np.zeros((4, layout.STATE_DIM))
    states[:, STATE_FINGER] = np.arange(4) * ANGLE_TOLERANCE * 0.9  # a squeezing finger
    states[:, STATE_X] = np.arange(4) * TRANSLATION_TOLERANCE * 0.9
    np.testing.assert_array_equal(moving_frames(columns(commands, states)), [0, 0, 0, 1])
    states[:, STATE_X] = np.arange(4) * TRANSLATION_TOLERANCE * 1.5  # the arm still catching up
    assert moving_frames(columns(commands, states)).all()


def test_masked_entries_are_ignored() -> None:
    commands = np.zeros((3, layout.ACTION_DIM))
    commands[:, 0] = 1.0  # the absent left arm's slot: garbage under a false mask
    states = np.zeros((3, layout.STATE_DIM))
    states[:, 0] = [0.0, 1.0, 2.0]
    data = columns(commands, states)
    data["action_mask"][:, : layout.HAND_ACTION_DIM] = False
    data["observation.state_mask"][:, : layout.HAND_STATE_DIM] = False
    np.testing.assert_array_equal(moving_frames(data), [0, 0, 1])

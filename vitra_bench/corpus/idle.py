"""Which frames of a robot episode show the robot doing something: the rest are waits.

A scripted expert waits on timers (fingers closed, arm settled, the same command repeated until
the timer runs out), and teleoperators pause. Every such frame pairs one unchanging state with a
"do nothing" target, so a policy trained on them learns that this state means standing still; in
closed loop it then never leaves it. That is what a policy fine-tuned on one PickPlace
demonstration did: it closed its fingers on the object and held for the rest of the episode,
where the demonstration, once its fingers had settled, waited 18 frames and then lifted.
Training skips such frames; the motions and their order stay, because a skipped frame's command
moves nothing (its wrist delta is zero and its finger targets are those of the frame before), so
the commands of the kept frames still integrate to the same path.

A frame is idle when its command moves nothing *and* the measured state does not change over the
step: frames where the command is constant but fingers are still closing or the arm is still
catching up stay, so the policy learns to wait exactly as long as something is still moving.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from vitra_bench import layout

COMMAND_TOLERANCE = 1e-6
"""Largest wrist delta (m, rad) or finger-target change (rad) of a command that moves nothing."""
TRANSLATION_TOLERANCE = 1e-3
"""Largest wrist displacement over one step (m) of a robot at rest: 1 mm (3 cm/s)."""
ANGLE_TOLERANCE = 5e-3
"""Largest change of a state angle over one step (rad) of a robot at rest: 0.15 rad/s. Fingers that
hold an object keep creeping at 1-3 mrad per step as their servos squeeze, long after closing."""

_WRIST = np.zeros(layout.ACTION_DIM, bool)
for _block in layout.ACTION_SLICES.values():
    _WRIST[_block][layout.WRIST] = True
_STATE_TOLERANCE = np.full(layout.STATE_DIM, ANGLE_TOLERANCE)
for _block in layout.STATE_SLICES.values():
    _STATE_TOLERANCE[_block][layout.TRANSLATION] = TRANSLATION_TOLERANCE


def moving_frames(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """(T,) bool: frame t is kept unless its command moves nothing and the state stays put to t + 1.

    ``columns`` holds an episode's ``action``/``action_mask`` (sent commands: wrist deltas and
    finger targets) and ``observation.state``/``observation.state_mask``. The last frame is kept:
    nothing says whether the robot was still moving after it.
    """
    action = np.where(columns["action_mask"], columns["action"], 0.0)
    state = columns["observation.state"]
    state_mask = columns["observation.state_mask"]
    wrist_still = np.all(np.abs(action[:, _WRIST]) <= COMMAND_TOLERANCE, axis=1)
    fingers = action[:, ~_WRIST]
    finger_change = np.abs(np.diff(fingers, axis=0, prepend=fingers[:1]))
    command_still = wrist_still & np.all(finger_change <= COMMAND_TOLERANCE, axis=1)
    both_valid = state_mask[1:] & state_mask[:-1]
    state_change = np.where(both_valid, np.abs(np.diff(state, axis=0)), 0.0)
    state_still = np.append(np.all(state_change <= _STATE_TOLERANCE, axis=1), False)
    return ~(command_still & state_still)

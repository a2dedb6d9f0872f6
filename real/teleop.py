"""``vitra-bench real teleop-record``: demonstrations by keyboard teleoperation, recorded as corpus episodes.

Keyboard is the fallback the issue allows. Keys move the hand mount in the *arm base* frame (what
an operator standing at the robot sees), converted to the camera-frame deltas of the VITRA action
layout, so teleoperation goes through exactly the path a policy's actions take (action mapping,
IK, safety layer) and recordings look like policy rollouts:

    w / s  forward / back      a / d  left / right      r / f  up / down
    g / h  close / open the hand (a power grasp, in steps)      x  end the demonstration

Not implemented: webcam hand teleoperation (the data engine's hand tracker retargeted live to the
XHAND1 and arm). It would be another ``ActionSource`` producing the same 102-dim actions from
tracked wrist deltas and MANO finger angles.
"""

from __future__ import annotations

import select
import sys
import termios
import time
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vitra_bench import xhand_mapping
from real.calibration import Calibration
from real.config import TeleopConfig
from vitra_bench import layout

if TYPE_CHECKING:
    from real.twin.faults import FaultPlan

MOVES: dict[str, tuple[int, float]] = {"w": (0, 1.0), "s": (0, -1.0), "a": (1, 1.0), "d": (1, -1.0),
                                       "r": (2, 1.0), "f": (2, -1.0)}
GRASP = np.array([1.2, 0.8, 0.6, 0.0, 1.3, 1.1, 1.3, 1.1, 1.3, 1.1, 1.3, 1.1])
"""Closed power grasp (rad, SDK order): a project choice inside every joint's range."""
GRIP_STEP = 0.1  # fraction of the grasp per key press
KEY_HELP = "keys: w/s forward/back, a/d left/right, r/f up/down, g/h close/open hand, x done"


class KeyboardTeleop:
    """An ``ActionSource`` reading pressed keys from ``keys()`` (all characters typed since the last call)."""

    def __init__(self, keys: Callable[[], str], calibration: Calibration, step_m: float, joint_table: str) -> None:
        self.keys, self.step_m, self.joint_table = keys, step_m, joint_table
        self._base_to_camera = calibration.base_to_camera[:3, :3]
        self.grip = 0.0

    def reset(self) -> None:
        self.grip = 0.0

    def next_action(self, observation: dict[str, Any]) -> np.ndarray | None:
        pressed = self.keys()
        if "x" in pressed:
            return None
        delta = np.zeros(3)
        for key in pressed:
            if key in MOVES:
                axis, sign = MOVES[key]
                delta[axis] += sign * self.step_m
            elif key in "gh":
                self.grip = float(np.clip(self.grip + (GRIP_STEP if key == "g" else -GRIP_STEP), 0.0, 1.0))
        action = np.zeros(layout.ACTION_DIM)
        right = action[layout.RIGHT_ACTION]
        right[layout.TRANSLATION] = self._base_to_camera @ delta
        right[layout.FINGERS] = xhand_mapping.xhand_to_theta(self.grip * GRASP, self.joint_table)
        return action


@contextmanager
def terminal_keys() -> Iterator[Callable[[], str]]:
    """Unbuffered keyboard input from the terminal (POSIX); restores the terminal on exit."""
    if not sys.stdin.isatty():
        raise ValueError("keyboard teleoperation needs an interactive terminal")
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)

    def pending() -> str:
        chars = ""
        while select.select([sys.stdin], [], [], 0)[0]:
            chars += sys.stdin.read(1)
        return chars

    try:
        yield pending
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def teleop_record(
    config: TeleopConfig, keys: Callable[[], str] | None = None, ask: Callable[[str], str] | None = None,
    say: Callable[[str], None] = print, twin_faults: FaultPlan | None = None,
) -> Path:
    """Record ``config.demos`` demonstrations; the operator keeps or discards each. Returns the run directory."""
    from real.devices import open_devices
    from real.kinematics import ArmKinematics
    from real.recorder import TrialRecorder, open_writer
    from real.runner import execute, make_prompt, session, stream_to, yes
    from real.safety import SafetyStop
    from vitra_bench.tasks import get_task

    ask = ask or input
    task = get_task(config.task)
    name = config.run_name or f"{task.name}__teleop__{time.strftime('%Y%m%d-%H%M%S')}"
    out = Path(config.out) / name
    size = (config.record_width, config.record_height)
    rng = np.random.default_rng(config.seed)
    with (open_devices(config, twin_faults) as devices,
          session(devices, config.safety, config.joint_table, task.control_hz) as s,
          (nullcontext(keys) if keys is not None else terminal_keys()) as read_keys):
        source = KeyboardTeleop(read_keys, devices.calibration, config.step_m, config.joint_table)
        recorder = TrialRecorder(size, devices.calibration, config.joint_table, task.control_hz)
        writer = None if config.dry_run else open_writer(out / "corpus", size, task.control_hz)
        try:
            for index in range(config.demos):
                instance = task.sample(config.split, rng)
                stream_to(s, ArmKinematics().home, np.zeros(devices.hand.num_joints))
                if ask(f"Reset the scene for \"{instance.instruction}\", Enter to start (q to quit): ").strip() == "q":
                    break
                say(KEY_HELP)
                key = f"{name}/{task.name}/demo-{index:03d}"
                recorder.start(key, instance.instruction, devices.camera.intrinsics(),
                               (devices.camera.width, devices.camera.height))
                steps, _ = execute(s, source, recorder, make_prompt(instance.instruction), config.max_steps)
                if writer is not None and steps and yes(ask(f"Keep demonstration {index + 1} ({steps} steps)? [y/n]: ")):
                    writer.add(recorder.episode({"task": task.name, "split": config.split, "teleop": "keyboard",
                                                 "instance": instance.__dict__}))
        except SafetyStop as stop:
            say(f"TELEOP HALTED: {stop.reason}")
        finally:
            if writer is not None:
                writer.close()
    say(f"demonstrations in {out / 'corpus'}")
    return out



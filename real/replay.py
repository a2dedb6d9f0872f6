"""``vitra-bench real replay``: send a recorded episode's commands again, through the safety layer.

The recording holds the commands that were sent after clamping (``extra["robot"]``), so a replay
reproduces the motion; it still passes the safety layer, because the scene, the calibration or the
limits may have changed since. The arm first streams to the episode's first command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from real.config import ReplayConfig
from real.devices import open_devices
from real.recorder import load_commands
from real.runner import _read, session, stream_to
from real.safety import SafetyStop
from vitra_bench.xhand_mapping import DEFAULT_TABLE

if TYPE_CHECKING:
    from real.twin.faults import FaultPlan


def replay(config: ReplayConfig, say: Callable[[str], None] = print, twin_faults: FaultPlan | None = None) -> int:
    """Replay ``config.episode`` of ``config.corpus``; returns the number of steps sent."""
    if not config.episode:
        raise ValueError("pass --episode KEY (keys: `vitra-bench corpus info` or the run's eval_info.json)")
    arm_commands, hand_commands, fps = load_commands(config.corpus, config.episode)
    sent = 0
    with open_devices(config, twin_faults) as devices, session(devices, config.safety, DEFAULT_TABLE, fps) as s:
        say(f"moving to the start of {config.episode}; keep clear of the arm")
        try:
            stream_to(s, arm_commands[0], hand_commands[0])
            arm, hand = _read(s)
            s.safety.start(arm, hand)
            for arm_target, hand_target in zip(arm_commands, hand_commands):
                t0 = s.clock()
                s.safety.send(arm_target, hand_target, arm)
                sent += 1
                s.sleep(max(0.0, t0 + 1.0 / fps - s.clock()))
                arm, hand = _read(s)
            s.safety.pause()
        except SafetyStop as stop:
            say(f"REPLAY HALTED: {stop.reason}")
    say(f"replayed {sent}/{len(arm_commands)} steps of {config.episode}")
    return sent

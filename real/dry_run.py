"""Dry-run devices: print exactly what would go to the hardware, send nothing.

The arm prints the very bytes the TCP driver would write (built by the same functions:
``protocol.encode`` of ``canfd_message``), the hand the ``finger_command`` fields the SDK call would
carry (``hand_command_fields``). Both then behave as perfectly tracking robots (measured = last
command), so the whole runner, safety layer included, runs unchanged on top of them.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

import numpy as np

from real.interfaces import Camera, JointState, Robot
from real.robots.realman import protocol
from real.robots.realman.config import RealmanConfig
from real.robots.realman.driver import ARM_JOINTS, canfd_message
from real.robots.xhand.config import XHandConfig
from real.robots.xhand.driver import HAND_JOINTS, hand_command_fields


class _Printing(Robot):
    def __init__(self, q0: np.ndarray, out: TextIO | None) -> None:
        self._q = np.asarray(q0, np.float64).copy()
        self._out = out
        self._connected = False

    def _print(self, text: str) -> None:
        print(text, file=self._out or sys.stdout, flush=True)

    @property
    def is_connected(self) -> bool:
        return self._connected

    def disconnect(self) -> None:
        if self._connected:
            self.stop()
        self._connected = False


class DryRunArm(_Printing):
    """Prints each message as ``arm <- b'...\\r\\n'`` (Python bytes repr: exact, terminator visible)."""

    name = "realman (dry run)"
    joint_names = ARM_JOINTS

    def __init__(self, config: RealmanConfig, q0: np.ndarray, out: TextIO | None = None) -> None:
        super().__init__(q0, out)
        self.config = config

    def _send(self, message: dict[str, Any]) -> None:
        self._print(f"arm <- {protocol.encode(message)!r}")

    def connect(self) -> None:
        self._print(f"arm: would connect to {self.config.host}:{self.config.port}")
        for command in protocol.HANDSHAKE:
            self._send(protocol.query(command))
        self._connected = True

    def read_state(self) -> JointState:
        self._send(protocol.query("get_current_arm_state"))
        return JointState(self._q.copy())

    def send_action(self, q: np.ndarray) -> np.ndarray:
        message = canfd_message(self.config, np.asarray(q, np.float64))
        self._send(message)
        self._q = protocol.wire_to_rad(message["joint"])
        return self._q.copy()

    def stop(self) -> None:
        self._send(protocol.query("set_arm_stop"))


class DryRunHand(_Printing):
    """Prints each SDK call as ``hand <- send_command(hand_id=0, finger_command=[...])`` (JSON fields)."""

    name = "xhand1 (dry run)"
    joint_names = HAND_JOINTS

    def __init__(self, config: XHandConfig, q0: np.ndarray | None = None, out: TextIO | None = None) -> None:
        super().__init__(np.zeros(len(HAND_JOINTS)) if q0 is None else q0, out)
        self.config = config

    def connect(self) -> None:
        where = self.config.serial_port if self.config.protocol == "RS485" else "EtherCAT"
        self._print(f"hand: would open {where} ({self.config.protocol}), hand id {self.config.hand_id}")
        self._connected = True

    def read_state(self) -> JointState:
        self._print(f"hand <- read_state(hand_id={self.config.hand_id}, force_update=True)")
        return JointState(self._q.copy())

    def send_action(self, q: np.ndarray) -> np.ndarray:
        fields = hand_command_fields(self.config, q)
        self._print(f"hand <- send_command(hand_id={self.config.hand_id}, "
                    f"finger_command={json.dumps(fields, separators=(',', ':'))})")
        self._q = np.array([f["position"] for f in fields])
        return self._q.copy()

    def stop(self) -> None:
        self.send_action(self._q)


class StillCamera(Camera):
    """A mid-grey frame of the configured size, for dry runs without a camera."""

    name = "still_camera"

    def __init__(self, width: int = 320, height: int = 180, fps: float = 30.0, fov_y: float = 1.066) -> None:
        self.width, self.height, self.fps, self.fov_y = width, height, fps, fov_y
        self._connected = False

    @property
    def is_connected(self) -> bool:
        return self._connected

    def connect(self) -> None:
        self._connected = True

    def disconnect(self) -> None:
        self._connected = False

    def intrinsics(self) -> np.ndarray:
        f = 0.5 * self.height / np.tan(0.5 * self.fov_y)
        return np.array([[f, 0.0, self.width / 2], [0.0, f, self.height / 2], [0.0, 0.0, 1.0]])

    def read(self, timeout_s: float = 0.2) -> np.ndarray:
        self._require_connected()
        return np.full((self.height, self.width, 3), 128, np.uint8)

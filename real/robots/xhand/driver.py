"""The XHAND1 through the vendor's ``xhand_controller`` SDK.

The SDK is a compiled wheel from Robotera (not on PyPI), so it is imported when ``connect()`` runs,
not when this module is imported: every other part of the project (dry runs, the twin, tests)
works without it, and a missing SDK fails with instructions instead of an ImportError at start-up.
The SDK already speaks radians (``finger_command[i].position``, ``finger_state[i].position``), so
the only unit conversion at this boundary is to its float32 fields.
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType
from typing import Any

import numpy as np

from real.interfaces import DeviceAlreadyConnectedError, DeviceError, JointState, Robot
from real.robots.xhand.config import XHandConfig

log = logging.getLogger(__name__)

HAND_JOINTS: tuple[str, ...] = (
    "thumb_bend", "thumb_rota1", "thumb_rota2", "index_bend", "index_joint1", "index_joint2",
    "mid_joint1", "mid_joint2", "ring_joint1", "ring_joint2", "pinky_joint1", "pinky_joint2",
)  # fmt: skip  (the SDK's finger order, ROBOT_FACTS.md)
HAND_LOWER = np.array([0.0, -0.698, 0.0, -0.174, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
HAND_UPPER = np.array([1.832, 1.57, 1.57, 0.174, 1.919, 1.919, 1.919, 1.919, 1.919, 1.919, 1.919, 1.919])
"""Joint ranges (rad) in SDK order, from the vendor URDF (ROBOT_FACTS.md "XHAND1"; thumb_rota1's 1.57, not
the vendor CSV's 1.745)."""
SDK_MODULE = "xhand_controller"
MISSING_SDK = (
    "the XHAND1 SDK is not installed (Python module 'xhand_controller.xhand_control'). It is Robotera's "
    "wheel, not on PyPI: install the file matching this Python from the vendor's SDK package, e.g. "
    "`pip install xhand_controller-1.1.7-cp311-cp311-linux_x86_64.whl`. Without the hand, use --dry-run "
    "or the digital twin (`vitra-bench real twin`)."
)


def load_sdk() -> ModuleType:
    """``xhand_controller.xhand_control``, or a ``DeviceError`` saying how to install it."""
    try:
        return importlib.import_module(f"{SDK_MODULE}.xhand_control")
    except ImportError as err:
        raise DeviceError(MISSING_SDK) from err


def hand_command_fields(config: XHandConfig, q: np.ndarray) -> list[dict[str, Any]]:
    """The 12 ``finger_command`` entries for targets ``q`` (rad); shared with the dry run."""
    positions = np.asarray(q, np.float32)
    return [
        {"id": i, "kp": config.kp, "ki": config.ki, "kd": config.kd, "position": float(positions[i]),
         "tor_max": config.tor_max, "mode": config.mode}
        for i in range(len(HAND_JOINTS))
    ]


class XHand1(Robot):
    """One XHAND1 in position mode: read the 12 joints, stream targets, hold on stop."""

    name = "xhand1"
    joint_names = HAND_JOINTS

    def __init__(self, config: XHandConfig) -> None:
        self.config = config
        self._sdk: ModuleType | None = None
        self._device: Any = None
        self._command: Any = None

    @property
    def is_connected(self) -> bool:
        return self._device is not None

    def connect(self) -> None:
        if self._device is not None:
            raise DeviceAlreadyConnectedError(f"{self.name} is already connected")
        sdk = load_sdk()
        device = sdk.XHandControl()
        cfg = self.config
        if cfg.protocol == "RS485":
            error = device.open_serial(cfg.serial_port, cfg.baud_rate)
            where = f"{cfg.serial_port} at {cfg.baud_rate} baud"
        else:
            ports = device.enumerate_devices("EtherCAT")
            if not ports:
                raise DeviceError(f"{self.name}: no EtherCAT device found; check the cable and permissions")
            error = device.open_ethercat(ports[0])
            where = f"EtherCAT {ports[0]}"
        self._check(error, f"open {where} (is the port right, and are you in the dialout group?)")
        self._sdk, self._device = sdk, device
        self._command = sdk.HandCommand_t()
        try:
            self.read_joints()
        except DeviceError:
            self._close()
            raise
        log.info("connected to %s on %s, id %d", self.name, where, cfg.hand_id)

    def disconnect(self) -> None:
        if self._device is not None:
            try:
                self.stop()
            except DeviceError as err:
                log.error("%s: hold before disconnect failed: %s", self.name, err)
        self._close()

    def _close(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            device.close_device()

    def _check(self, error: Any, what: str) -> None:
        if error.error_code != 0:
            raise DeviceError(f"{self.name}: {what} failed: error {error.error_code} {error.error_message}")

    def read_state(self) -> JointState:
        self._require_connected()
        error, state = self._device.read_state(self.config.hand_id, True)
        self._check(error, "read_state")
        return JointState(np.array([state.finger_state[i].position for i in range(len(HAND_JOINTS))], np.float64))

    def send_action(self, q: np.ndarray) -> np.ndarray:
        self._require_connected()
        fields = hand_command_fields(self.config, q)
        for i, values in enumerate(fields):
            finger = self._command.finger_command[i]  # index access: the SDK's array is not iterable everywhere
            for key, value in values.items():
                setattr(finger, key, value)
        self._check(self._device.send_command(self.config.hand_id, self._command), "send_command")
        return np.array([f["position"] for f in fields])

    def stop(self) -> None:
        """Hold the measured position (the hand has no stop command; a hold is its stop)."""
        self.send_action(self.read_joints())

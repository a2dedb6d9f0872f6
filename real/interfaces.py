"""The device interfaces every driver implements, in the spirit of LeRobot's ``Robot`` and ``Camera``.

Why a common interface: the runner, the safety layer, dry runs and the digital twin all talk to
"an arm", "a hand" and "a camera" without knowing whether bytes go to a Realman controller, an
RS-485 bus, a RealSense or a MuJoCo simulation. Why context managers: a device left connected by a
crashed script is a device that keeps its last set-point (or, worse, keeps streaming); ``with arm:``
guarantees ``disconnect()`` runs whatever happens inside the block, and every driver's
``disconnect`` stops motion before closing (LeRobot's ``Robot.__exit__`` pattern).

Units inside the project are SI: radians and metres. Drivers convert to their wire units once, at
their boundary, and nowhere else.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import numpy as np


class DeviceError(RuntimeError):
    """A device failed or refused a request; the message says which device and what to check."""


class DeviceNotConnectedError(DeviceError):
    """A method that needs the device was called before ``connect()`` (or after a disconnect)."""


class DeviceAlreadyConnectedError(DeviceError):
    """``connect()`` was called twice; call ``disconnect()`` first."""


class _Device(abc.ABC):
    """Connect/disconnect bookkeeping and the context-manager protocol shared by robots and cameras."""

    name: str = "device"

    @property
    @abc.abstractmethod
    def is_connected(self) -> bool:
        """Whether the device can be used now."""

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the link (socket, serial bus, USB stream); raises ``DeviceError`` on failure."""

    @abc.abstractmethod
    def disconnect(self) -> None:
        """Stop motion (robots) and close the link; safe to call twice or after a failed connect."""

    def _require_connected(self) -> None:
        if not self.is_connected:
            raise DeviceNotConnectedError(f"{self.name} is not connected: call connect() first (or use `with`)")

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.disconnect()


@dataclass(frozen=True)
class JointState:
    """One reading of a joint group: positions (rad) and the controller's non-zero error codes."""

    position: np.ndarray
    errors: tuple[int, ...] = ()


class Robot(_Device):
    """A position-controlled joint group (the arm or the hand).

    ``send_action`` returns the joint targets *actually sent* (after the driver's own unit rounding),
    so a recording keeps what the hardware received, as LeRobot's ``send_action`` does.
    """

    joint_names: tuple[str, ...] = ()

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @abc.abstractmethod
    def read_state(self) -> JointState:
        """Measured joint positions (num_joints,) in radians and the device's error codes."""

    def read_joints(self) -> np.ndarray:
        """Measured joint positions (num_joints,), radians."""
        return self.read_state().position

    @abc.abstractmethod
    def send_action(self, q: np.ndarray) -> np.ndarray:
        """Stream joint targets (num_joints,) in radians; returns what was sent (radians)."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Halt motion now (hold the current position); must work from any thread."""

    def emergency_stop(self) -> None:
        """Stop by every means the device has (drivers with a second path, e.g. a fresh link, override)."""
        self.stop()


class Camera(_Device):
    """A colour camera delivering RGB frames; ``width``, ``height`` and ``fps`` are fixed by its config."""

    width: int
    height: int
    fps: float

    @abc.abstractmethod
    def read(self, timeout_s: float = 0.2) -> np.ndarray:
        """The next (height, width, 3) uint8 RGB frame; raises ``FrameTimeout`` if none arrives in time."""

    @abc.abstractmethod
    def intrinsics(self) -> np.ndarray:
        """(3, 3) pinhole matrix of the delivered frames (from the device where it reports one)."""


class FrameTimeout(DeviceError, TimeoutError):
    """No frame arrived within the timeout (a dropped frame, an unplugged cable)."""

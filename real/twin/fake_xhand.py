"""A fake ``xhand_controller`` package backed by the twin's simulation, for running ``XHand1`` without a hand.

It offers the part of the vendor SDK (1.1.7) the driver uses, with the same names and return
shapes: ``XHandControl().open_serial/open_ethercat/enumerate_devices/list_hands_id/read_state/
send_command/close_device``, ``HandCommand_t`` with 12 ``finger_command`` entries, error structs with
``error_code``/``error_message``. ``install(sim, faults)`` puts it in ``sys.modules`` for the
duration of a ``with`` block, so the driver's lazy import finds it exactly as it would find the
real wheel.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from real.twin.faults import FaultPlan
from real.twin.sim import TwinSim

NUM_FINGERS = 12


@dataclass
class ErrorStruct:
    error_code: int = 0
    error_message: str = ""


@dataclass
class FingerCommand_t:
    id: int = 0
    kp: int = 0
    ki: int = 0
    kd: int = 0
    position: float = 0.0
    tor_max: int = 0
    mode: int = 0


@dataclass
class HandCommand_t:
    finger_command: list[FingerCommand_t] = field(default_factory=lambda: [FingerCommand_t() for _ in range(NUM_FINGERS)])


@dataclass
class FingerState_t:
    id: int = 0
    position: float = 0.0
    torque: float = 0.0
    temperature: int = 25


@dataclass
class HandState_t:
    finger_state: list[FingerState_t] = field(default_factory=list)


def _module(sim: TwinSim, faults: FaultPlan) -> types.ModuleType:
    """The ``xhand_control`` submodule bound to ``sim``."""

    def error() -> ErrorStruct:
        code = faults.hand_error
        return ErrorStruct(code, "fault injected by the twin" if code else "")

    class XHandControl:
        """The SDK's device handle; every call answers from the twin."""

        def __init__(self) -> None:
            self.open = False
            self.commands: list[HandCommand_t] = []

        def enumerate_devices(self, protocol: str) -> list[str]:
            return ["twin0"] if protocol == "EtherCAT" else ["/dev/ttyTWIN0"]

        def open_serial(self, port: str, baud: int) -> ErrorStruct:
            self.open = faults.hand_error == 0
            return error()

        def open_ethercat(self, name: str) -> ErrorStruct:
            self.open = faults.hand_error == 0
            return error()

        def list_hands_id(self) -> list[int]:
            return [0]

        def read_state(self, hand_id: int, force_update: bool) -> tuple[ErrorStruct, HandState_t]:
            q = sim.hand_joints()
            return error(), HandState_t([FingerState_t(i, float(q[i])) for i in range(NUM_FINGERS)])

        def send_command(self, hand_id: int, command: HandCommand_t) -> ErrorStruct:
            if faults.hand_error == 0 and all(f.mode == 3 for f in command.finger_command):
                sim.set_hand_target([f.position for f in command.finger_command])
            return error()

        def close_device(self) -> None:
            self.open = False

    module = types.ModuleType("xhand_controller.xhand_control")
    module.XHandControl = XHandControl
    module.HandCommand_t = HandCommand_t
    module.FingerCommand_t = FingerCommand_t
    module.HandState_t = HandState_t
    module.ErrorStruct = ErrorStruct
    return module


@contextmanager
def install(sim: TwinSim, faults: FaultPlan | None = None) -> Iterator[types.ModuleType]:
    """Make ``import xhand_controller.xhand_control`` return the fake for the ``with`` block."""
    control = _module(sim, faults or FaultPlan())
    package = types.ModuleType("xhand_controller")
    package.__path__ = []  # a package, so the submodule import resolves
    package.xhand_control = control
    saved = {name: sys.modules.get(name) for name in ("xhand_controller", "xhand_controller.xhand_control")}
    sys.modules["xhand_controller"] = package
    sys.modules["xhand_controller.xhand_control"] = control
    try:
        yield control
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module

"""Building the arm, hand and camera a command asked for: hardware, dry run, or the digital twin.

Everything is opened inside one ``ExitStack``, so leaving the ``with open_devices(...)`` block, by
return or by exception, disconnects each device (each driver stops its robot first) and shuts the
twin down.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from real.calibration import Calibration
from real.config import DeviceConfig
from real.interfaces import Camera, Robot
from real.kinematics import ArmKinematics
from real.robots.realman.config import RealmanConfig

if TYPE_CHECKING:  # the twin (MuJoCo) is imported only when a twin run asks for it
    from real.twin.faults import FaultPlan
    from real.twin.realman_server import TwinArmServer
    from real.twin.sim import TwinSim


@dataclass
class Twin:
    """Handles on a running twin (tests inject faults and read what the arm received)."""

    sim: TwinSim
    server: TwinArmServer
    faults: FaultPlan


@dataclass
class Devices:
    arm: Robot
    hand: Robot
    camera: Camera
    calibration: Calibration
    twin: Twin | None = None


@contextmanager
def open_devices(config: DeviceConfig, twin_faults: FaultPlan | None = None) -> Iterator[Devices]:
    """Connected devices for ``config``; disconnected (and the twin stopped) on exit."""
    calibration = Calibration.load(config.calibration)
    with ExitStack() as stack:
        twin = None
        arm_config = config.arm_config()
        if config.dry_run:
            from real.dry_run import DryRunArm, DryRunHand, StillCamera

            arm: Robot = DryRunArm(arm_config, ArmKinematics().home)
            hand: Robot = DryRunHand(config.hand)
            camera: Camera = StillCamera(config.realsense.width // 4, config.realsense.height // 4)
        elif config.twin:
            twin, arm_config = _start_twin(stack, arm_config, twin_faults)
            from real.robots.realman.driver import RealmanArm
            from real.robots.xhand.driver import XHand1
            from real.twin.fake_camera import TwinCamera

            arm, hand = RealmanArm(arm_config), XHand1(config.hand)
            mode = "render" if config.camera == "twin" else "synthetic"
            camera = TwinCamera(twin.sim, mode=mode, faults=twin.faults)
        else:
            from real.robots.realman.driver import RealmanArm
            from real.robots.xhand.driver import XHand1

            arm, hand, camera = RealmanArm(arm_config), XHand1(config.hand), _camera(config)
        for device in (arm, hand, camera):
            stack.enter_context(device)
        yield Devices(arm, hand, camera, calibration, twin)


def _camera(config: DeviceConfig) -> Camera:
    if config.camera == "realsense":
        from real.cameras.realsense import RealSenseCamera

        return RealSenseCamera(config.realsense)
    if config.camera == "still":
        from real.dry_run import StillCamera

        return StillCamera()
    raise ValueError(f"camera {config.camera!r} needs --twin true")


def _start_twin(stack: ExitStack, arm_config: RealmanConfig, faults: FaultPlan | None) -> tuple[Twin, RealmanConfig]:
    """Sim + TCP server on an OS-chosen localhost port + fake hand SDK, all closed by ``stack``."""
    from real.twin import fake_xhand
    from real.twin.faults import FaultPlan
    from real.twin.realman_server import TwinArmServer
    from real.twin.sim import TwinSim

    faults = faults or FaultPlan()
    sim = stack.enter_context(TwinSim())
    server = stack.enter_context(TwinArmServer(sim, faults))
    stack.enter_context(fake_xhand.install(sim, faults))
    host, port = server.address
    config = RealmanConfig(**{**arm_config.__dict__, "host": host, "port": port})
    return Twin(sim, server, faults), config

"""The twin's head camera: renders the simulation's ``head_camera`` (or a synthetic image) as a ``Camera``.

``mode="render"`` draws the MJCF scene offscreen with MuJoCo (set ``MUJOCO_GL=egl`` on a machine
without a display; shadows and reflections are off for speed). ``mode="synthetic"`` needs no GL:
a gradient whose brightness follows the arm's first joint, enough for the runner's plumbing and
for recordings to differ frame to frame. Dropped frames come from the ``FaultPlan``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from real.interfaces import Camera, DeviceAlreadyConnectedError, FrameTimeout
from real.twin.faults import FaultPlan
from real.twin.sim import CAMERA, TwinSim


class TwinCamera(Camera):
    """Frames of the twin's head camera at ``width`` x ``height``; no pacing (the runner paces the loop)."""

    name = "twin_camera"

    def __init__(
        self, sim: TwinSim, width: int = 160, height: int = 90, fps: float = 30.0,
        mode: Literal["render", "synthetic"] = "synthetic", faults: FaultPlan | None = None,
    ) -> None:
        self.sim, self.width, self.height, self.fps, self.mode = sim, width, height, fps, mode
        self.faults = faults or FaultPlan()
        self._connected = False
        self._renderer = None
        self._count = 0

    @property
    def is_connected(self) -> bool:
        return self._connected

    def connect(self) -> None:
        if self._connected:
            raise DeviceAlreadyConnectedError(f"{self.name} is already connected")
        self._connected = True

    def disconnect(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._connected = False

    def intrinsics(self) -> np.ndarray:
        """Pinhole matrix of the MJCF camera (square pixels, centred principal point)."""
        f = 0.5 * self.height / np.tan(0.5 * self.sim.camera_fovy())
        return np.array([[f, 0.0, self.width / 2], [0.0, f, self.height / 2], [0.0, 0.0, 1.0]])

    def read(self, timeout_s: float = 0.2) -> np.ndarray:
        self._require_connected()
        self._count += 1
        if self.faults.drop_frame(self._count):
            raise FrameTimeout(f"{self.name}: frame {self._count} dropped (fault injected)")
        return self._render() if self.mode == "render" else self._synthetic()

    def _synthetic(self) -> np.ndarray:
        level = int(127 + 100 * np.tanh(self.sim.arm_joints()[0]))
        ramp = np.linspace(0, 255, self.width, dtype=np.float32)[None, :, None]
        image = np.broadcast_to(ramp, (self.height, self.width, 3)).astype(np.uint8)
        image = image.copy()
        image[..., 1] = level
        return image

    def _render(self) -> np.ndarray:
        import mujoco  # already loaded by the sim; imported here to keep the GL context in this thread

        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.sim.model, self.height, self.width)
            self._renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
            self._renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
        with self.sim.lock:
            self._renderer.update_scene(self.sim.data, camera=CAMERA)
        return self._renderer.render().copy()

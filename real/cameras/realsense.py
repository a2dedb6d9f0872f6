"""The head-mounted Intel RealSense D455 colour stream through ``pyrealsense2`` (imported lazily).

``pyrealsense2`` is only needed on the robot computer (``pip install 'vitra-bench[real]'``), so it
is imported in ``connect()``. Intrinsics are read from the device, never assumed: fx varies per
unit around 610 px at 1280 wide (ROBOT_FACTS.md "Camera"), and the policy's FoV input comes from
them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from real.interfaces import (
    Camera,
    DeviceAlreadyConnectedError,
    DeviceError,
    FrameTimeout,
)

MISSING = (
    "pyrealsense2 is not installed: `pip install pyrealsense2` (or `pip install 'vitra-bench[real]'`) on the "
    "robot computer; without a camera, use the digital twin (`vitra-bench real twin`)."
)


@dataclass
class RealSenseConfig:
    """Which RealSense to open and how.

    Attributes:
        serial: device serial number; empty picks the first device found.
        width / height / fps: colour stream mode; the D455's 1280 x 720 at 30 fps is the default
            (ROBOT_FACTS.md), and 30 fps is the policy's control rate.
    """

    serial: str = ""
    width: int = 1280
    height: int = 720
    fps: float = 30.0


def _load() -> ModuleType:
    try:
        return importlib.import_module("pyrealsense2")
    except ImportError as err:
        raise DeviceError(MISSING) from err


class RealSenseCamera(Camera):
    """Colour frames (RGB, uint8) from a RealSense; ``read`` blocks until the next frame."""

    name = "realsense"

    def __init__(self, config: RealSenseConfig) -> None:
        self.config = config
        self.width, self.height, self.fps = config.width, config.height, config.fps
        self._pipeline: Any = None
        self._intrinsics: np.ndarray | None = None

    @property
    def is_connected(self) -> bool:
        return self._pipeline is not None

    def connect(self) -> None:
        if self._pipeline is not None:
            raise DeviceAlreadyConnectedError(f"{self.name} is already connected")
        rs = _load()
        pipeline, config = rs.pipeline(), rs.config()
        if self.config.serial:
            config.enable_device(self.config.serial)
        config.enable_stream(rs.stream.color, self.width, self.height, rs.format.rgb8, int(self.fps))
        try:
            profile = pipeline.start(config)
        except RuntimeError as err:
            raise DeviceError(f"{self.name}: cannot start {self.width}x{self.height}@{self.fps:g} colour: {err}") from err
        k = profile.get_stream(rs.stream.color).as_video_stream_profile().get_intrinsics()
        self._intrinsics = np.array([[k.fx, 0.0, k.ppx], [0.0, k.fy, k.ppy], [0.0, 0.0, 1.0]])
        self._pipeline = pipeline

    def disconnect(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            pipeline.stop()

    def intrinsics(self) -> np.ndarray:
        self._require_connected()
        assert self._intrinsics is not None
        return self._intrinsics.copy()

    def read(self, timeout_s: float = 0.2) -> np.ndarray:
        self._require_connected()
        try:
            frames = self._pipeline.wait_for_frames(int(timeout_s * 1000))
        except RuntimeError as err:
            raise FrameTimeout(f"{self.name}: no frame in {timeout_s:.2f} s ({err})") from err
        color = frames.get_color_frame()
        if not color:
            raise FrameTimeout(f"{self.name}: frame set without colour")
        return np.asanyarray(color.get_data()).copy()

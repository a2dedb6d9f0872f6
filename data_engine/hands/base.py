"""Stage 5 data types: per-frame 2D/3D hand keypoints from any detector, and backend selection.

Detectors differ in what they know: MediaPipe gives image keypoints plus a wrist-relative metric
shape, the oracle gives truth, external MANO estimators give camera-space keypoints outright.
One container (``HandDetections``) carries all of it, NaN where a hand was not found, so the
lifting step (``data_engine.lift``) treats every backend alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vitra_bench.hand import NUM_KEYPOINTS, Side

SIDES: tuple[Side, Side] = ("left", "right")


@dataclass(frozen=True)
class HandObservation:
    """One hand in one frame.

    Attributes:
        keypoints2d: (21, 2) pixel coordinates, OpenPose order.
        keypoints3d: (21, 3) wrist-relative keypoints in metres, camera axes, or None.
        confidence: detector confidence in [0, 1].
        handedness: "left" or "right", as decided by the backend.
    """

    keypoints2d: np.ndarray
    keypoints3d: np.ndarray | None
    confidence: float
    handedness: Side


@dataclass(frozen=True)
class SideDetections:
    """One side's detections over a video; rows of missing frames are NaN.

    Attributes:
        keypoints2d: (T, 21, 2) pixels.
        keypoints3d: (T, 21, 3) wrist-relative metres, camera axes.
        confidence: (T,) in [0, 1]; 0 where missing.
        keypoints_cam: (T, 21, 3) camera-space keypoints when the backend knows them (oracle-free
            MANO estimators do), else None: then ``data_engine.lift`` recovers depth.
    """

    keypoints2d: np.ndarray
    keypoints3d: np.ndarray
    confidence: np.ndarray
    keypoints_cam: np.ndarray | None = None

    def __post_init__(self) -> None:
        t = len(self.confidence)
        shapes = {"keypoints2d": (t, NUM_KEYPOINTS, 2), "keypoints3d": (t, NUM_KEYPOINTS, 3)}
        if self.keypoints_cam is not None:
            shapes["keypoints_cam"] = (t, NUM_KEYPOINTS, 3)
        for name, shape in shapes.items():
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"{name}: expected shape {shape}, got {np.shape(getattr(self, name))}")

    @property
    def detected(self) -> np.ndarray:
        """(T,) frames where the hand was found."""
        return np.all(np.isfinite(self.keypoints2d), axis=(1, 2))

    @classmethod
    def empty(cls, num_frames: int) -> SideDetections:
        """All frames missing."""
        return cls(
            np.full((num_frames, NUM_KEYPOINTS, 2), np.nan),
            np.full((num_frames, NUM_KEYPOINTS, 3), np.nan),
            np.zeros(num_frames),
        )

    @classmethod
    def from_observations(cls, observations: Sequence[HandObservation | None]) -> SideDetections:
        """Stack per-frame observations (None: missing)."""
        out = cls.empty(len(observations))
        for t, obs in enumerate(observations):
            if obs is None:
                continue
            out.keypoints2d[t] = obs.keypoints2d
            if obs.keypoints3d is not None:
                out.keypoints3d[t] = obs.keypoints3d
            out.confidence[t] = obs.confidence
        return out


@dataclass(frozen=True)
class HandDetections:
    """Both hands of one video: ``hands["left"]`` and ``hands["right"]``."""

    hands: dict[str, SideDetections]

    def __post_init__(self) -> None:
        if set(self.hands) != set(SIDES):
            raise ValueError(f"hands: expected keys {SIDES}, got {sorted(self.hands)}")
        if len({len(h.confidence) for h in self.hands.values()}) != 1:
            raise ValueError("hands: both sides must cover the same frames")

    @property
    def num_frames(self) -> int:
        return len(self.hands["right"].confidence)


class HandBackend(Protocol):
    """A stage-5 detector. ``frames`` are (T, H, W, 3) RGB; ``video_path`` lets backends that read
    sidecar files (oracle truth, imported estimator outputs) find them. Sidecar backends return
    the whole video whatever ``frames`` holds (they accept None) and set ``reads_frames`` False,
    so the pipeline need not decode for them. ``shapes_in_camera_axes``: the wrist-relative 3D
    keypoints are metric and in the camera's axes, which lets the focal length be estimated from
    the shapes' depth relief rather than the palm's outline."""

    reads_frames: bool
    shapes_in_camera_axes: bool

    def detect(self, frames: np.ndarray, video_path: Path | None = None) -> HandDetections: ...


BACKENDS: tuple[str, ...] = ("mediapipe", "oracle", "import")


def get_backend(name: str, **options: Any) -> HandBackend:
    """Construct a backend by name; ``options`` go to its constructor. Imports lazily so that the
    optional MediaPipe dependency is only needed when asked for."""
    if name == "mediapipe":
        from data_engine.hands.mediapipe import MediaPipeBackend

        return MediaPipeBackend(**options)
    if name == "oracle":
        from data_engine.hands.oracle import OracleBackend

        return OracleBackend(**options)
    if name == "import":
        from data_engine.hands.imported import ImportedBackend

        return ImportedBackend(**options)
    raise ValueError(f"unknown hand backend {name!r}; choose one of {', '.join(BACKENDS)}")

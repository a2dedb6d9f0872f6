"""Stage 5: 2D/3D hand keypoints per frame from a pluggable detector (see ``base``)."""

from data_engine.hands.base import (
    BACKENDS,
    SIDES,
    HandBackend,
    HandDetections,
    HandObservation,
    SideDetections,
    get_backend,
)

__all__ = ["BACKENDS", "SIDES", "HandBackend", "HandDetections", "HandObservation", "SideDetections", "get_backend"]

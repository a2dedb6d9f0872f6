"""MediaPipe hand landmarker backend (legacy ``mp.solutions.hands``, models from the wheel).

MediaPipe's left/right label is near chance on rendered hands (PACKAGE_NOTES), so handedness is
decided geometrically: a right and a left hand are mirror images, and the chirality of the 3D
landmarks tells them apart (``chirality``). When that is ambiguous (a flat hand), the detection
joins the track whose previous wrist is nearest in the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from data_engine.hands.base import SIDES, HandDetections, HandObservation, SideDetections


def chirality(keypoints: np.ndarray) -> np.ndarray:
    """Signed score (...,): positive for a right hand, negative for a left one.

    ``(index MCP - wrist) x (pinky MCP - wrist)`` points out of the palm side for a right hand
    and out of the back for a left hand; fingers flex toward the palm, so the finger keypoints'
    mean offset along that normal is positive for a right hand. Normalised by the palm size, so
    it is scale-free; near zero for a flat hand, whose side the keypoints cannot tell.
    """
    wrist = keypoints[..., 0, :]
    normal = np.cross(keypoints[..., 5, :] - wrist, keypoints[..., 17, :] - wrist)
    size = np.linalg.norm(normal, axis=-1)
    normal = normal / np.maximum(size, 1e-12)[..., None]
    fingers = keypoints[..., [3, 4, 6, 7, 8, 10, 11, 12, 14, 15, 16, 18, 19, 20], :] - wrist[..., None, :]
    height = np.einsum("...kj,...j->...k", fingers, normal).mean(axis=-1)
    return height / np.sqrt(np.maximum(size, 1e-12))


@dataclass
class MediaPipeBackend:
    """Attributes mirror ``mp.solutions.hands.Hands``' options; ``min_chirality`` is the score
    below which the geometric side is ambiguous and tracking decides."""

    reads_frames: ClassVar[bool] = True  # detects on the decoded frames
    shapes_in_camera_axes: ClassVar[bool] = False  # its world landmarks are not in camera axes: focal from 3D shapes (intrinsics.estimate_focal_from_shapes)

    min_detection_confidence: float = 0.3
    min_tracking_confidence: float = 0.3
    model_complexity: int = 1
    min_chirality: float = 0.05

    def detect(self, frames: np.ndarray, video_path: Path | None = None) -> HandDetections:
        try:
            import mediapipe as mp
        except ImportError as error:
            raise ImportError("the mediapipe hand backend needs: pip install 'vitra-bench[mediapipe]'") from error
        height, width = frames.shape[1:3]
        size = np.array([width, height], dtype=np.float64)
        tracks: dict[str, list[HandObservation | None]] = {side: [] for side in SIDES}
        last_wrist: dict[str, np.ndarray | None] = {side: None for side in SIDES}
        with mp.solutions.hands.Hands(
            static_image_mode=False,
            max_num_hands=2,
            model_complexity=self.model_complexity,
            min_detection_confidence=self.min_detection_confidence,
            min_tracking_confidence=self.min_tracking_confidence,
        ) as hands:
            for frame in frames:
                result = hands.process(np.ascontiguousarray(frame))
                found = _observations(result, size)
                assigned = self._assign(found, last_wrist)
                for side in SIDES:
                    obs = assigned.get(side)
                    tracks[side].append(obs)
                    if obs is not None:
                        last_wrist[side] = obs.keypoints2d[0]
        return HandDetections({side: SideDetections.from_observations(tracks[side]) for side in SIDES})

    def _assign(
        self, found: list[tuple[np.ndarray, np.ndarray, float]], last_wrist: dict[str, np.ndarray | None]
    ) -> dict[str, HandObservation]:
        """Side per detection: the assignment that best agrees with chirality, ties broken by the
        distance to each track's previous wrist."""
        if not found:
            return {}
        scores = [float(chirality(rel)) for _, rel, _ in found]
        orders = [("right", "left"), ("left", "right")] if len(found) == 2 else [("right",), ("left",)]

        def cost(order: tuple[str, ...]) -> tuple[float, float]:
            agree = sum(
                -np.sign(s) * (1 if side == "right" else -1) for s, side in zip(scores, order) if abs(s) >= self.min_chirality
            )
            distance = sum(
                float(np.linalg.norm(uv[0] - last_wrist[side])) if last_wrist[side] is not None else 0.0
                for (uv, _, _), side in zip(found, order)
            )
            return agree, distance

        best = min(orders, key=cost)
        return {side: HandObservation(uv, rel, conf, side) for (uv, rel, conf), side in zip(found, best)}  # type: ignore[arg-type]


def _observations(result: Any, size: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(pixels (21, 2), world landmarks (21, 3), score) per detected hand."""
    if not result.multi_hand_landmarks:
        return []
    out = []
    for image, world, label in zip(result.multi_hand_landmarks, result.multi_hand_world_landmarks, result.multi_handedness):
        uv = np.array([[p.x, p.y] for p in image.landmark]) * size
        rel = np.array([[p.x, p.y, p.z] for p in world.landmark])
        out.append((uv, rel - rel[0], float(label.classification[0].score)))
    return out

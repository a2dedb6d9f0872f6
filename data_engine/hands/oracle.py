"""Oracle backend: HumanSim's ground truth, optionally degraded like a detector.

It isolates the later stages from detector error (and, with noise and dropout, measures how
much detector error they tolerate) without running a network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from data_engine.hands.base import SIDES, HandDetections, SideDetections
from vitra_bench.geometry import project_points


@dataclass(frozen=True)
class OracleBackend:
    """Truth keypoints from the ``.truth.npz`` beside the video.

    Attributes:
        noise_px: standard deviation of Gaussian noise on the 2D keypoints, pixels.
        noise_m: standard deviation of Gaussian noise on the wrist-relative 3D keypoints, metres
            (the wrist stays at the origin: it is the reference).
        dropout: probability that a frame's hand is dropped (independently per frame and side).
        min_visible: a hand with fewer visible keypoints counts as missing, as for a detector.
        seed: noise and dropout are reproducible.
    """

    reads_frames: ClassVar[bool] = False  # reads a sidecar file; the pipeline skips decoding for it
    shapes_in_camera_axes: ClassVar[bool] = True  # the truth is in camera axes: focal from 3D shapes (intrinsics.estimate_focal_from_shapes)

    noise_px: float = 0.0
    noise_m: float = 0.0
    dropout: float = 0.0
    min_visible: int = 6
    seed: int = 0

    def detect(self, frames: np.ndarray | None, video_path: Path | None = None) -> HandDetections:
        if video_path is None:
            raise ValueError("the oracle backend needs the video path to find its truth sidecar")
        from envs.humansim.truth import load_truth

        truth = load_truth(Path(video_path))
        rng = np.random.default_rng(self.seed)
        hands = {}
        for side in SIDES:
            hand = truth.hands[side]
            cam = np.asarray(hand.joints_cam, dtype=np.float64)
            t = len(cam)
            uv = project_points(cam, truth.intrinsics) + rng.normal(0.0, 1.0, (t, 21, 2)) * self.noise_px
            rel = cam - cam[:, :1]
            rel[:, 1:] += rng.normal(0.0, 1.0, (t, 20, 3)) * self.noise_m
            keep = hand.present.astype(bool) & (hand.visible.sum(axis=1) >= self.min_visible)
            keep &= rng.random(t) >= self.dropout
            keep &= np.all(cam[:, :, 2] > 0, axis=1)
            uv[~keep] = np.nan
            rel[~keep] = np.nan
            hands[side] = SideDetections(uv, rel, keep.astype(np.float64))
        return HandDetections(hands)

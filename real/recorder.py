"""Recording trials and demonstrations as corpus episodes, and reading their commands back for replay.

A trial becomes the same kind of episode as an imported VITRA-TeleData demonstration: a
``TeleEpisode`` (measured joints, the commands really sent after safety clamping, the calibration's
transforms, head-camera frames) turned into a corpus ``Episode`` by
``vitra_bench.corpus.importers.teledata.episode_from_tele``. So real-robot data lands in the human
layout the policy is fine-tuned on, exports to the authors' format, and keeps its exact robot
record (``extra["robot"]``) for replay. Trial facts (task, split, instance, success label,
latencies) go to ``extra["trial"]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from real.calibration import Calibration
from vitra_bench.corpus import Corpus, CorpusWriter
from vitra_bench.corpus.importers.teledata import (
    ROBOT_TYPE,
    ArmTrack,
    TeleEpisode,
    episode_from_tele,
    tele_from_episode,
)
from vitra_bench.episode import Episode

CAMERA = "head"
TRIAL_KEY = "trial"


class TrialRecorder:
    """Collects one trial's steps; ``episode()`` builds the corpus episode."""

    def __init__(self, size: tuple[int, int], calibration: Calibration, joint_table: str, fps: float) -> None:
        self.size, self.calibration, self.joint_table, self.fps = size, calibration, joint_table, fps
        self._rows: dict[str, list[np.ndarray]] = {}
        self._intrinsics = np.eye(3)
        self._key = self._instruction = ""

    def start(self, key: str, instruction: str, intrinsics: np.ndarray, frame_size: tuple[int, int]) -> None:
        """Begin a trial; ``intrinsics`` are the camera's at ``frame_size`` (width, height)."""
        self._key, self._instruction = key, instruction
        scale = np.diag([self.size[0] / frame_size[0], self.size[1] / frame_size[1], 1.0])
        self._intrinsics = scale @ np.asarray(intrinsics, float)
        self._rows = {name: [] for name in ("frames", "arm", "hand", "arm_cmd", "hand_cmd")}

    def add(self, frame: np.ndarray, arm: np.ndarray, hand: np.ndarray, arm_cmd: np.ndarray, hand_cmd: np.ndarray) -> None:
        """One step: the frame seen, the joints measured, the commands sent (all radians)."""
        if frame.shape[1::-1] != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        for name, value in zip(self._rows, (frame, arm, hand, arm_cmd, hand_cmd)):
            self._rows[name].append(np.asarray(value))

    def episode(self, trial: dict[str, Any]) -> Episode:
        """The trial as a corpus episode; ``trial`` (JSON-serialisable) goes to ``extra["trial"]``."""
        rows = {name: np.stack(values) for name, values in self._rows.items()}
        steps = len(rows["frames"])
        arm = ArmTrack(
            arm_joint=rows["arm"], hand_joint=rows["hand"], arm_target=rows["arm_cmd"], hand_target=rows["hand_cmd"],
            arm_mask=np.ones(steps, bool), hand_mask=np.ones(steps, bool),
            ee_to_mount=self.calibration.flange_to_mount, camera_to_base=self.calibration.camera_to_base,
        )
        tele = TeleEpisode(self._key, self._instruction, self.fps, self._intrinsics, {"right": arm}, rows["frames"])
        episode = episode_from_tele(tele, self.joint_table)
        episode.extra[TRIAL_KEY] = trial
        return episode


def open_writer(root: str | Path, size: tuple[int, int], fps: float) -> CorpusWriter:
    """The corpus for real-robot episodes at ``root`` (created or resumed)."""
    return CorpusWriter(root, fps=fps, cameras={CAMERA: size}, robot_type=ROBOT_TYPE)


def load_commands(root: str | Path, key: str) -> tuple[np.ndarray, np.ndarray, float]:
    """``(arm (T, 7), hand (T, 12), fps)``: the commands a recorded episode sent, for replay."""
    with Corpus(root) as corpus:
        episode = corpus.episode(key)
    tele = tele_from_episode(episode, np.zeros((0, 1, 1, 3), np.uint8))
    if "right" not in tele.arms:
        raise ValueError(f"episode {key!r} has no right arm record")
    arm = tele.arms["right"]
    return np.asarray(arm.arm_target, float), np.asarray(arm.hand_target, float), float(episode.fps)

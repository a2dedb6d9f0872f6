"""What every annotator takes and returns, so the VLM and the offline captioner are interchangeable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

Source = Literal["vlm", "offline"]


@dataclass
class Caption:
    """One segment's instruction.

    ``na`` (the hand manipulates nothing) and ``error`` (no usable reply after the retries) are
    results, not exceptions: one bad segment must not stop a run, and the filter stage drops both.
    ``source`` is written into the episode so offline-captioned episodes stay recognisable.
    """

    text: str | None
    paraphrases: list[str]
    source: Source
    na: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        """A usable instruction: neither N/A nor an error."""
        return self.text is not None and not self.na and self.error is None


@dataclass
class SceneObject:
    """A labelled object near the hands (known for HumanSim): world points at the segment's start and end.

    ``start`` and ``end`` are (N, 3) points in the segment's world frame (N = 1 for a centre);
    surface points give better hand-object distances than a centre for long objects.
    """

    label: str  # "red cup"
    start: np.ndarray
    end: np.ndarray


@dataclass
class SegmentView:
    """Everything annotation needs about one hand's segment (frames already cut to the segment).

    ``theta`` (T, 15, 3) are the fitted finger joint angles when available; without them the
    offline captioner judges grasping from the keypoints.
    """

    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    extrinsics: np.ndarray  # (T, 4, 4) world -> camera
    intrinsics: np.ndarray  # (3, 3)
    keypoints: np.ndarray  # (T, 21, 3) world
    kept: np.ndarray  # (T,) bool
    hand: Literal["left", "right"]
    theta: np.ndarray | None = None
    objects: list[SceneObject] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.kept = np.asarray(self.kept, dtype=bool)
        lengths = {len(self.frames), len(self.extrinsics), len(self.keypoints), len(self.kept)}
        if len(lengths) != 1 or (self.theta is not None and len(self.theta) not in lengths):
            raise ValueError(f"segment arrays disagree on the number of frames: {sorted(lengths)}")
        if len(self.frames) == 0:
            raise ValueError("empty segment")
        if self.hand not in ("left", "right"):
            raise ValueError(f"hand must be 'left' or 'right', not {self.hand!r}")


class Annotator(Protocol):
    """Turns a segment into a caption; never raises for a bad reply (see ``Caption.error``)."""

    def annotate(self, segment: SegmentView) -> Caption: ...

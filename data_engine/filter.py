"""Stage 9a, filter: which annotated segments become corpus episodes.

Segmentation already drops near-static segments (``SegmentConfig.min_mean_speed`` and
``min_extent``); what is left to judge needs the later stages: whether the hand was really seen
through the segment (a segment stitched mostly from interpolated frames teaches invented motion),
and whether the annotator found something to say (VITRA drops segments its VLM answers "N/A",
and a failed reply has no instruction to train on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from data_engine.annotate.base import Caption

DropReason = Literal["untracked", "n/a", "caption error"]


@dataclass(frozen=True)
class FilterConfig:
    """Attributes:
    min_tracked_fraction: least fraction of a segment's frames in which the detector found the
        hand (interpolated frames do not count); below it the segment is "untracked".
    """

    min_tracked_fraction: float = 0.7

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_tracked_fraction <= 1.0:
            raise ValueError(f"min_tracked_fraction must lie in [0, 1], got {self.min_tracked_fraction}")


def drop_reason(tracked: np.ndarray, caption: Caption, config: FilterConfig = FilterConfig()) -> DropReason | None:
    """Why the segment must not be written, or None to keep it.

    ``tracked`` (T,) marks the segment's frames where the hand was detected and not an outlier.
    """
    if len(tracked) == 0 or float(np.mean(tracked)) < config.min_tracked_fraction:
        return "untracked"
    if caption.na:
        return "n/a"
    if not caption.ok:
        return "caption error"
    return None

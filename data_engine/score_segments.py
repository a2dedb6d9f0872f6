"""Scores for stage 7 against ground-truth segments: boundary F1 within a tolerance, temporal IoU.

A boundary is any segment start or end. Predicted and true boundaries are matched one to one
(an optimal assignment, so one prediction can never count for two true boundaries that lie
close together, as a segment's end and the next one's start do across a short pause).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, Union

import numpy as np
from scipy.optimize import linear_sum_assignment


class HasSpan(Protocol):
    """Anything with a half-open frame span: a predicted ``Segment`` or a HumanSim truth segment."""

    start: int
    end: int


Span = Union[HasSpan, tuple[int, int]]


@dataclass(frozen=True)
class BoundaryScore:
    """Matched (true positives), predicted and true boundary counts and the derived rates.

    Empty sets score 1 (nothing to find, nothing wrongly found), so a hand that truly does
    nothing and gets no segments does not pull an average down.
    """

    matched: int
    predicted: int
    truth: int

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.truth if self.truth else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: BoundaryScore) -> BoundaryScore:
        return BoundaryScore(self.matched + other.matched, self.predicted + other.predicted, self.truth + other.truth)


def boundaries(spans: Iterable[Span]) -> np.ndarray:
    """Sorted distinct frames where the spans start or end."""
    frames: set[int] = set()
    for span in spans:
        start, end = span if isinstance(span, tuple) else (span.start, span.end)
        frames.update((int(start), int(end)))
    return np.array(sorted(frames), dtype=np.int64)


def match_boundaries(predicted: Sequence[int], truth: Sequence[int], tolerance: int = 5) -> BoundaryScore:
    """Largest one-to-one matching of boundaries at most ``tolerance`` frames apart (least total offset among those)."""
    predicted, truth = np.asarray(predicted, dtype=np.int64), np.asarray(truth, dtype=np.int64)
    if len(predicted) == 0 or len(truth) == 0:
        return BoundaryScore(0, len(predicted), len(truth))
    distance = np.abs(predicted[:, None] - truth[None, :]).astype(np.float64)
    # A forbidden pair costs more than every allowed pair together, so the assignment first
    # maximises the number of allowed pairs and only then minimises their offsets.
    forbidden = (min(distance.shape) + 1) * (tolerance + 1)
    cost = np.where(distance <= tolerance, distance, forbidden)
    rows, cols = linear_sum_assignment(cost)
    return BoundaryScore(int(np.sum(distance[rows, cols] <= tolerance)), len(predicted), len(truth))


def score_hands(
    predicted: Mapping[str, Iterable[Span]], truth: Mapping[str, Iterable[Span]], tolerance: int = 5
) -> BoundaryScore:
    """Boundary counts summed over hands (micro average); each hand is matched only with itself."""
    total = BoundaryScore(0, 0, 0)
    for hand in sorted(set(predicted) | set(truth)):
        total += match_boundaries(boundaries(predicted.get(hand, [])), boundaries(truth.get(hand, [])), tolerance)
    return total


def temporal_iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Intersection over union of two half-open frame spans (0 when either is empty and they do not meet)."""
    intersection = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - intersection
    return intersection / union if union > 0 else 0.0


def mean_best_iou(predicted: Sequence[tuple[int, int]], truth: Sequence[tuple[int, int]]) -> float:
    """Mean over true spans of the best IoU any predicted span reaches (1 when there is no truth)."""
    if not truth:
        return 1.0
    return float(np.mean([max((temporal_iou(p, t) for p in predicted), default=0.0) for t in truth]))

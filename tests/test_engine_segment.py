"""Stage 7 (segmentation) and its scores, on trajectories whose cuts are known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from data_engine.score_segments import (
    BoundaryScore,
    boundaries,
    match_boundaries,
    mean_best_iou,
    score_hands,
    temporal_iou,
)
from data_engine.segment import SegmentConfig, segment_hand, segment_hands, split_long

FPS = 30.0


def min_jerk(start: np.ndarray, end: np.ndarray, frames: int) -> np.ndarray:
    """``frames`` positions after ``start`` on a minimum-jerk path ending exactly at ``end``."""
    u = np.arange(1, frames + 1) / frames
    return start + np.outer(10 * u**3 - 15 * u**4 + 6 * u**5, end - start)


def choreography(
    targets: np.ndarray, durations: list[int], pauses: list[int], lead: int = 20, tail: int = 20
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Wrist path through ``targets`` (moves of ``durations`` frames, ``pauses`` rests after each) and its true moves."""
    parts, moves, frame, here = [np.repeat(targets[:1], lead, 0)], [], lead, targets[0]
    for target, duration, pause in zip(targets[1:], durations, pauses):
        parts += [min_jerk(here, target, duration), np.repeat(target[None], pause, 0)]
        moves.append((frame, frame + duration))
        frame, here = frame + duration + pause, target
    parts.append(np.repeat(here[None], tail, 0))
    return np.concatenate(parts), moves


TARGETS = np.array([[0.0, 0.0, 0.0], [0.35, 0.1, 0.0], [0.1, 0.4, 0.1], [-0.25, 0.2, 0.0], [0.1, -0.2, 0.1]])


def test_cuts_at_the_velocity_minima_between_back_to_back_moves() -> None:
    """Without pauses each junction is an isolated zero of the speed: VITRA's plain rule cuts there."""
    position, moves = choreography(TARGETS, [30, 36, 28, 32], [0, 0, 0, 0])
    segments = segment_hand(position, None, FPS, "right", SegmentConfig(trim=False))
    junctions = [end for _, end in moves[:-1]]
    cuts = [s.start for s in segments[1:]]
    assert len(cuts) == len(junctions)
    assert np.abs(np.array(cuts) - junctions).max() <= 2


def test_moves_separated_by_pauses_start_and_stop_with_the_motion() -> None:
    rng = np.random.default_rng(0)
    position, moves = choreography(TARGETS, [30, 36, 28, 32], [12, 20, 9, 15])
    noisy = position + rng.normal(0.0, 0.0005, position.shape)
    segments = segment_hand(noisy, None, FPS, "right")
    assert len(segments) == len(moves)
    found = np.array([(s.start, s.end) for s in segments])
    assert np.abs(found - np.array(moves)).max() <= 3
    assert all(s.hand == "right" and s.mean_speed > 0.1 and s.path_length > 0.2 for s in segments)
    assert match_boundaries(boundaries(segments), boundaries(moves), 5).f1 == 1.0


def test_static_stretches_give_no_segments() -> None:
    rng = np.random.default_rng(1)
    still = np.array([0.1, 0.2, 0.5]) + rng.normal(0.0, 0.001, (300, 3))
    assert segment_hand(still, None, FPS, "left") == []
    position, moves = choreography(TARGETS[:2], [30], [0], lead=150, tail=150)
    segments = segment_hand(position + rng.normal(0.0, 0.001, position.shape), None, FPS, "left")
    assert len(segments) == 1 and abs(segments[0].start - moves[0][0]) <= 3


def test_hands_are_segmented_independently() -> None:
    right, _ = choreography(TARGETS, [30, 36, 28, 32], [12, 20, 9, 15])
    left_busy, _ = choreography(TARGETS[::-1], [25, 40, 30, 30], [5, 10, 20, 12], lead=10, tail=0)
    left_busy = np.concatenate([left_busy, np.repeat(left_busy[-1:], len(right) - len(left_busy), 0)])
    left_idle = np.zeros_like(right)
    busy = segment_hands({"left": (left_busy, None), "right": (right, None)}, FPS)
    idle = segment_hands({"left": (left_idle, None), "right": (right, None)}, FPS)
    assert busy["right"] == idle["right"] == segment_hand(right, None, FPS, "right")
    assert idle["left"] == [] and len(busy["left"]) == 4
    assert all(s.hand == "left" for s in busy["left"])


def test_segments_never_span_a_not_kept_stretch() -> None:
    position, _ = choreography(TARGETS, [60, 60, 60, 60], [0, 0, 0, 0])
    kept = np.ones(len(position), bool)
    kept[50:70] = False
    segments = segment_hand(position, kept, FPS, "right")
    assert segments
    assert all(kept[s.start : s.end].all() for s in segments)


def test_fixed_mode_cuts_one_second_pieces() -> None:
    t = np.arange(95) / FPS
    circle = 0.2 * np.stack([np.cos(t), np.sin(t), 0 * t], axis=1)
    segments = segment_hand(circle, None, FPS, "right", SegmentConfig(mode="fixed"))
    assert [(s.start, s.end) for s in segments] == [(0, 30), (30, 60), (60, 90)]  # the 5-frame rest is too short
    half_rate = segment_hand(circle, None, 15.0, "right", SegmentConfig(mode="fixed"))
    assert [s.length for s in half_rate] == [15] * 6


def test_long_segments_split_at_their_deepest_interior_minimum() -> None:
    """Speed dips at frames 50 (deepest) and 100 on a steady circle; one 150-frame segment allowed at most 60."""
    frames = np.arange(150)
    speed = 0.6 - 0.4 * np.exp(-((frames - 50) ** 2) / 30) - 0.3 * np.exp(-((frames - 100) ** 2) / 30)
    angle = np.cumsum(speed / FPS) / 0.2
    circle = 0.2 * np.stack([np.cos(angle), np.sin(angle), 0 * angle], axis=1)
    config = SegmentConfig(half_window=500, max_length=60, trim=False)
    found = [(s.start, s.end) for s in segment_hand(circle, None, FPS, "right", config)]
    assert len(found) == 3 and np.abs(np.array(found) - [(0, 50), (50, 100), (100, 150)]).max() <= 1
    assert split_long(0, 150, speed, config) == [(0, 50), (50, 100), (100, 150)]
    assert split_long(0, 40, speed, config) == [(0, 40)]


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        SegmentConfig(mode="words")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SegmentConfig(min_length=10, max_length=15)


def test_boundary_scores() -> None:
    truth = [(10, 40), (70, 100), (130, 160)]
    assert match_boundaries(boundaries(truth), boundaries(truth)).f1 == 1.0
    shifted = [(a + 10, b + 10) for a, b in truth]
    assert match_boundaries(boundaries(shifted), boundaries(truth), tolerance=5).f1 == 0.0
    assert match_boundaries(boundaries(shifted), boundaries(truth), tolerance=10).f1 == 1.0

    partial = match_boundaries([10, 50, 90], [12, 60, 88, 120], tolerance=5)
    assert (partial.matched, partial.precision, partial.recall) == (2, 2 / 3, 0.5)
    assert partial.f1 == pytest.approx(4 / 7)
    # One prediction counts for one truth only, even when two lie within reach.
    assert match_boundaries([30], [28, 32]) == BoundaryScore(1, 1, 2)
    # Greedy nearest-first would pair 9 with 8 and strand 5 and 13; the optimum pairs both.
    assert match_boundaries([5, 9], [8, 13], tolerance=4).matched == 2
    assert match_boundaries([], []).f1 == 1.0 and match_boundaries([3], []).f1 == 0.0


def test_boundary_scores_per_hand_and_iou() -> None:
    truth = {"left": [(0, 30)], "right": [(10, 40)]}
    swapped = {"left": [(10, 40)], "right": [(0, 30)]}
    assert score_hands(truth, truth).f1 == 1.0
    assert score_hands(swapped, truth).f1 == 0.0  # hands are never matched with each other
    assert score_hands({"left": [(0, 30)]}, truth) == BoundaryScore(2, 2, 4)

    assert temporal_iou((0, 10), (5, 15)) == pytest.approx(1 / 3)
    assert temporal_iou((0, 10), (10, 20)) == 0.0
    assert temporal_iou((3, 9), (3, 9)) == 1.0
    assert mean_best_iou([(0, 10), (20, 30)], [(0, 10), (25, 35)]) == pytest.approx((1 + 1 / 3) / 2)
    assert mean_best_iou([], [(0, 10)]) == 0.0

"""Stage 7: cut each hand's world-space wrist trajectory into atomic-action segments.

VITRA's rule (VITRA_FACTS.md, "Data engine"): smooth the 3D wrist trajectory, cut at frames
whose speed is the minimum of a fixed window centred on them, segment the hands independently,
drop near-static segments. The window, kernel and lengths are unpublished; the defaults are the
third-party implementation's. Two additions, both configurable, make the cuts usable:

* a segment never spans a not-kept frame (stage 6 already filled the short gaps, so what is
  left is a stretch where nobody knows what the hand did);
* the hand's rest at either end of a segment is trimmed off (``trim``), so segments start and
  stop where the motion does, as annotated segments do, instead of somewhere in the pause
  where the speed minimum happens to fall. ``trim=False`` is VITRA's plain rule.

``mode="fixed"`` is the paper's ablation: consecutive cuts of ``fixed_seconds`` each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.signal import savgol_filter

from data_engine.trajectories import runs


@dataclass(frozen=True)
class SegmentConfig:
    """Stage 7 settings; frame counts assume the corpus' 30 fps.

    Attributes:
        mode: "minima" (VITRA's speed-minimum cuts) or "fixed" (cuts every ``fixed_seconds``).
        smooth_window: Savitzky-Golay window (odd, frames) for the position before the speed
            is taken (third-party default 5).
        smooth_order: Savitzky-Golay polynomial order (third-party default 2).
        half_window: a frame is a cut candidate when its speed is the lowest within this many
            frames on either side (third-party default 15, i.e. a 1-second window at 30 fps).
        min_length: shortest segment, frames; closer cuts lose to the slower one
            (third-party default 8).
        max_length: longest segment, frames; longer ones are split at their slowest interior
            speed minimum (third-party default 300, 10 s at 30 fps). At least 2 * min_length.
        trim: trim the hand's rest off both ends of each segment (minima mode only; False
            gives VITRA's plain rule).
        rest_speed: m/s; frames slower than this (or than ``rest_fraction`` of the segment's
            peak speed, whichever is higher) are resting. 5 cm/s sits above the jitter left
            after stage 6 and below any deliberate motion.
        rest_fraction: relative part of the rest threshold, for fast segments (5 % of a
            minimum-jerk move's peak speed is reached 6 % into the move).
        min_rest: frames; shorter slow stretches at a segment's end are a turn between two
            moves, not a rest, and stay in the segment.
        min_mean_speed: m/s; slower segments are near-static and dropped.
        min_extent: metres; segments whose wrist never leaves a ball of this radius around
            its median position are near-static and dropped (robust to jitter, unlike the
            path length, which noise inflates).
        fixed_seconds: segment duration in fixed mode (the paper's ablation uses 1 second).
    """

    mode: Literal["minima", "fixed"] = "minima"
    smooth_window: int = 5
    smooth_order: int = 2
    half_window: int = 15
    min_length: int = 8
    max_length: int = 300
    trim: bool = True
    rest_speed: float = 0.05
    rest_fraction: float = 0.05
    min_rest: int = 4
    min_mean_speed: float = 0.01
    min_extent: float = 0.02
    fixed_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in ("minima", "fixed"):
            raise ValueError(f"unknown segmentation mode {self.mode!r}")
        if self.smooth_window % 2 == 0 or self.smooth_window <= self.smooth_order:
            raise ValueError("smooth_window must be odd and larger than smooth_order")
        if self.min_length < 2 or self.max_length < 2 * self.min_length:
            raise ValueError("need min_length >= 2 and max_length >= 2 * min_length")
        if not 0.0 <= self.rest_fraction < 1.0 or self.rest_speed < 0 or self.min_rest < 0:
            raise ValueError("need 0 <= rest_fraction < 1, rest_speed >= 0 and min_rest >= 0")


@dataclass(frozen=True)
class Segment:
    """One hand's atomic action over frames ``[start, end)``.

    Attributes:
        hand: "left" or "right".
        start, end: half-open frame span.
        mean_speed: mean smoothed wrist speed over the span, m/s.
        path_length: length of the smoothed wrist path over the span, metres.
        extent: largest distance of the wrist from its median position over the span, metres.
    """

    hand: str
    start: int
    end: int
    mean_speed: float
    path_length: float
    extent: float

    @property
    def length(self) -> int:
        return self.end - self.start


def smoothed_motion(position: np.ndarray, kept: np.ndarray, fps: float, config: SegmentConfig) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed positions (T, 3) and speeds (T,) in m/s, each run of kept frames on its own; NaN elsewhere."""
    smooth = np.full((len(kept), 3), np.nan)
    speed = np.full(len(kept), np.nan)
    for start, end in runs(kept):
        window = min(config.smooth_window, end - start if (end - start) % 2 else end - start - 1)
        chunk = np.asarray(position[start:end], dtype=np.float64)
        if window > config.smooth_order:
            smooth[start:end] = savgol_filter(chunk, window, config.smooth_order, axis=0, mode="interp")
            velocity = savgol_filter(chunk, window, config.smooth_order, deriv=1, axis=0, mode="interp")
        else:
            smooth[start:end] = chunk
            velocity = np.gradient(chunk, axis=0) if end - start > 1 else np.zeros_like(chunk)
        speed[start:end] = np.linalg.norm(velocity, axis=1) * fps
    return smooth, speed


def minima_cuts(speed: np.ndarray, half_window: int, min_length: int) -> list[int]:
    """Interior cuts of one run: frames slowest within ``half_window`` either side, at least
    ``min_length`` apart and from the run's ends; slower candidates win conflicts."""
    n = len(speed)
    padded = np.concatenate([np.full(half_window, np.inf), speed, np.full(half_window, np.inf)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half_window + 1)
    candidates = np.flatnonzero(np.argmin(windows, axis=1) == half_window)  # ties: the first frame wins
    chosen: list[int] = []
    for t in sorted(candidates, key=lambda c: speed[c]):
        if min(t, n - t) >= min_length and all(abs(t - c) >= min_length for c in chosen):
            chosen.append(int(t))
    return sorted(chosen)


def split_long(start: int, end: int, speed: np.ndarray, config: SegmentConfig) -> list[tuple[int, int]]:
    """Split ``[start, end)`` at its slowest interior local speed minimum until no part exceeds max_length."""
    if end - start <= config.max_length:
        return [(start, end)]
    inner = np.arange(start + config.min_length, end - config.min_length + 1)
    local_minima = inner[(speed[inner] <= speed[inner - 1]) & (speed[inner] <= speed[inner + 1])]
    pool = local_minima if len(local_minima) else inner
    cut = int(pool[np.argmin(speed[pool])])
    return split_long(start, cut, speed, config) + split_long(cut, end, speed, config)


def trim_rest(start: int, end: int, speed: np.ndarray, config: SegmentConfig) -> tuple[int, int]:
    """``[start, end)`` without the rest at either end: at least ``min_rest`` leading or trailing
    frames slower than ``max(rest_speed, rest_fraction * peak speed)``.

    Shorter slow stretches are the instant where one move turns into the next; trimming them
    would turn one true boundary into two predicted ones a few frames apart.
    """
    threshold = max(config.rest_speed, config.rest_fraction * float(np.max(speed[start:end])))
    moving = np.flatnonzero(speed[start:end] >= threshold)
    if len(moving) == 0:
        return start, end
    lead, tail = int(moving[0]), end - start - 1 - int(moving[-1])
    return start + (lead if lead >= config.min_rest else 0), end - (tail if tail >= config.min_rest else 0)


def _spans(kept: np.ndarray, speed: np.ndarray, fps: float, config: SegmentConfig) -> list[tuple[int, int]]:
    """Candidate spans of every kept run, before the near-static filter."""
    spans = []
    for start, end in runs(kept):
        if config.mode == "fixed":
            step = max(1, int(round(config.fixed_seconds * fps)))
            spans += [(s, min(s + step, end)) for s in range(start, end, step)]
            continue
        bounds = [start] + [start + c for c in minima_cuts(speed[start:end], config.half_window, config.min_length)] + [end]
        for a, b in zip(bounds[:-1], bounds[1:]):
            for piece in split_long(a, b, speed, config):
                spans.append(trim_rest(*piece, speed, config) if config.trim else piece)
    return [(a, b) for a, b in spans if b - a >= config.min_length]


def segment_hand(
    position: np.ndarray, kept: np.ndarray | None, fps: float, hand: str, config: SegmentConfig = SegmentConfig()
) -> list[Segment]:
    """Segments of one hand from its world wrist positions (T, 3) and kept mask (T,; None: all kept)."""
    position = np.asarray(position, dtype=np.float64)
    kept = np.ones(len(position), bool) if kept is None else np.asarray(kept, bool)
    if position.shape != (len(kept), 3):
        raise ValueError(f"position: expected shape ({len(kept)}, 3), got {position.shape}")
    smooth, speed = smoothed_motion(position, kept, fps, config)
    segments = []
    for start, end in _spans(kept, speed, fps, config):
        path = smooth[start:end]
        extent = float(np.linalg.norm(path - np.median(path, axis=0), axis=1).max())
        mean_speed = float(np.mean(speed[start:end]))
        if mean_speed < config.min_mean_speed or extent < config.min_extent:
            continue
        path_length = float(np.linalg.norm(np.diff(path, axis=0), axis=1).sum())
        segments.append(Segment(hand, start, end, mean_speed, path_length, extent))
    return segments


def segment_hands(
    tracks: Mapping[str, tuple[np.ndarray, np.ndarray | None]], fps: float, config: SegmentConfig = SegmentConfig()
) -> dict[str, list[Segment]]:
    """Segments per hand from ``{hand: (world wrist positions, kept)}``; hands never influence each other."""
    return {hand: segment_hand(position, kept, fps, hand, config) for hand, (position, kept) in tracks.items()}

"""Stage 6: per-frame camera-space hands + camera track -> clean world-space hand trajectories.

A detector's output is noisy, drops frames and sometimes jumps to a wrong hand or a wrong depth.
Segmentation (stage 7) cuts at speed minima, so one spike or one hole makes a spurious cut; this
stage therefore, per hand and in this order:

1. moves every frame into the world frame (the first camera frame, as in VITRA);
2. drops outliers: frames far from the local median of their neighbours (robust z-score) and
   frames the wrist could only reach faster than a human can move;
3. fills short gaps (positions linearly or by cubic spline, rotations by slerp); longer gaps stay
   not-kept, because anything filled there would be invented motion;
4. smooths each run of kept frames with a Savitzky-Golay filter, never across a not-kept frame.

Keypoints are interpolated and smoothed in the wrist's own frame and then re-posed with the
processed wrist, so fingers stay rigidly attached to the palm instead of drifting independently.
Frames that end up not kept hold identity rotations and zeros (as ``vitra_bench.episode.HandTrack``
expects); only ``kept`` says which frames carry information.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.signal import savgol_filter
from scipy.spatial.transform import Rotation, Slerp

from vitra_bench.geometry import invert_transform


@dataclass(frozen=True)
class TrajectoryConfig:
    """Thresholds of stage 6; defaults suit 30 fps hand tracks in metres.

    Attributes:
        min_confidence: frames whose detector confidence is below this count as untracked
            (ignored when the detector gives no confidence).
        max_speed: fastest plausible wrist speed, m/s; a frame reachable from its kept neighbour
            only faster than this is an outlier. Human hand motion during manipulation rarely
            exceeds 2 m/s; 3 m/s leaves margin for fast throws.
        outlier_window: frames (odd) around a frame whose symmetric midpoints predict where it
            should be (see ``_expected_positions``); wider windows predict worse while the hand
            accelerates (7 frames: about 1.5 cm off at 7 m/s^2, a brisk 30 cm reach).
        outlier_z: robust z-score above which a frame is an outlier: its offset from the
            prediction, per axis, over 1.4826 * the median absolute offset of that axis over
            the track (the standard deviation, for Gaussian noise).
        outlier_min_distance: metres; a frame closer than this to its prediction is never an
            outlier, so clean tracks (tiny MAD) do not lose frames where the hand accelerates;
            smaller errors are left to the smoothing.
        max_gap: longest run of missing frames that is filled by interpolation; at 30 fps the
            default 5 frames (1/6 s) is short enough that a hand cannot do much unseen.
        interpolation: "linear" or "cubic" (a cubic spline through the kept frames of the run).
        smooth_window: Savitzky-Golay window (odd, frames) for positions, finger angles and
            rotations; runs shorter than this use the longest odd window that fits.
        smooth_order: Savitzky-Golay polynomial order; order 2 over 9 frames removes detector
            jitter while keeping the speed minima that segmentation cuts at.
        smooth_rotations: smooth wrist rotations (SG on sign-aligned quaternions, renormalised).
        smooth_theta: smooth the finger joint angles.
    """

    min_confidence: float = 0.0
    max_speed: float = 3.0
    outlier_window: int = 7
    outlier_z: float = 5.0
    outlier_min_distance: float = 0.03
    max_gap: int = 5
    interpolation: Literal["linear", "cubic"] = "cubic"
    smooth_window: int = 9
    smooth_order: int = 2
    smooth_rotations: bool = True
    smooth_theta: bool = True

    def __post_init__(self) -> None:
        if self.outlier_window < 3 or self.outlier_window % 2 == 0:
            raise ValueError("outlier_window must be odd and >= 3")
        if self.smooth_window % 2 == 0 or self.smooth_window <= self.smooth_order:
            raise ValueError("smooth_window must be odd and larger than smooth_order")
        if self.interpolation not in ("linear", "cubic"):
            raise ValueError(f"unknown interpolation {self.interpolation!r}")
        if self.max_gap < 0 or self.max_speed <= 0:
            raise ValueError("max_gap must be >= 0 and max_speed > 0")


@dataclass(frozen=True)
class CameraHandTrack:
    """One hand as the detector (stage 5) gives it, in each frame's camera frame.

    Attributes:
        rotation: (T, 3, 3) wrist rotation, camera frame.
        position: (T, 3) wrist position (keypoint 0), camera frame, metres.
        theta: (T, 15, 3) local finger-joint rotations (axis-angle), frame independent.
        keypoints: (T, 21, 3) keypoints, camera frame, metres, OpenPose order.
        tracked: (T,) whether the detector found the hand; other frames may hold anything.
        confidence: (T,) detector confidence in [0, 1], or None.
    """

    rotation: np.ndarray
    position: np.ndarray
    theta: np.ndarray
    keypoints: np.ndarray
    tracked: np.ndarray
    confidence: np.ndarray | None = None

    def __post_init__(self) -> None:
        t = len(self.tracked)
        shapes = {"rotation": (t, 3, 3), "position": (t, 3), "theta": (t, 15, 3), "keypoints": (t, 21, 3)}
        for name, shape in shapes.items():
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"{name}: expected shape {shape}, got {np.shape(getattr(self, name))}")
        if self.confidence is not None and np.shape(self.confidence) != (t,):
            raise ValueError(f"confidence: expected shape ({t},), got {np.shape(self.confidence)}")


@dataclass(frozen=True)
class WorldHandTrack:
    """One hand after stage 6, in the world frame (the first camera frame).

    Attributes:
        rotation: (T, 3, 3) wrist rotation, world frame; identity where not kept.
        position: (T, 3) wrist position, world frame, metres; zero where not kept.
        theta: (T, 15, 3) finger joint angles (axis-angle); zero where not kept.
        keypoints: (T, 21, 3) keypoints, world frame, metres; zero where not kept.
        kept: (T,) frames that carry information (tracked and not outliers, or filled).
        interpolated: (T,) kept frames filled by interpolation (a subset of ``kept``).
        outliers: (T,) tracked frames dropped as outliers (filled again if in a short gap).
    """

    rotation: np.ndarray
    position: np.ndarray
    theta: np.ndarray
    keypoints: np.ndarray
    kept: np.ndarray
    interpolated: np.ndarray
    outliers: np.ndarray = field(repr=False)

    @property
    def num_frames(self) -> int:
        return len(self.kept)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open (start, end) of every run of True in a 1-D boolean mask."""
    padded = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def to_world(track: CameraHandTrack, extrinsics: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World-frame wrist rotations, positions and keypoints from world->camera ``extrinsics`` (T, 4, 4)."""
    cam_to_world = invert_transform(np.asarray(extrinsics, dtype=np.float64))
    r, t = cam_to_world[:, :3, :3], cam_to_world[:, :3, 3]
    rotation = r @ np.asarray(track.rotation, dtype=np.float64)
    position = np.einsum("tij,tj->ti", r, track.position) + t
    keypoints = np.einsum("tij,tnj->tni", r, track.keypoints) + t[:, None]
    return rotation, position, keypoints


def _expected_positions(position: np.ndarray, valid: np.ndarray, half: int) -> np.ndarray:
    """Per frame, the median over k = 1..half of the midpoints of valid frames t - k and t + k.

    Symmetric midpoints are unbiased for motion at constant velocity (a plain running median lags
    near gaps and track ends), and the median over several of them outvotes one bad neighbour.
    Frames with fewer than three such pairs get NaN: they are left to the speed test.
    """
    num_frames = len(valid)
    padded = np.full((num_frames + 2 * half, 3), np.nan)
    padded[half : half + num_frames][valid] = position[valid]
    midpoints = np.stack(
        [(padded[half - k : half - k + num_frames] + padded[half + k : half + k + num_frames]) / 2 for k in range(1, half + 1)],
        axis=1,
    )
    expected = np.full((num_frames, 3), np.nan)
    enough = np.isfinite(midpoints[..., 0]).sum(axis=1) >= 3
    expected[enough] = np.nanmedian(midpoints[enough], axis=1)
    return expected


def _distance_to_neighbours(position: np.ndarray, usable: np.ndarray, frame: int, half: int) -> float:
    """Distance of ``frame`` to the median of the usable frames within ``half`` frames of it (0 if none)."""
    lo, hi = max(0, frame - half), min(len(usable), frame + half + 1)
    neighbours = position[lo:hi][usable[lo:hi]]
    return float(np.linalg.norm(position[frame] - np.median(neighbours, axis=0))) if len(neighbours) else 0.0


def find_outliers(position: np.ndarray, valid: np.ndarray, fps: float, config: TrajectoryConfig) -> np.ndarray:
    """Valid frames that are outliers: far from what their neighbours predict, or reachable only too fast.

    The z-score test catches spikes whatever their size relative to the motion; the speed test
    catches jumps too large for a hand where the first test cannot look (track ends, frames next
    to gaps) or is fooled. Of a too-fast pair, the frame farther from the median of its other
    neighbours is dropped, and the check repeats until every remaining pair is plausible.
    """
    half = config.outlier_window // 2
    outliers = np.zeros(len(valid), bool)
    expected = _expected_positions(position, valid, half)
    testable = np.flatnonzero(valid & np.isfinite(expected[:, 0]))
    if len(testable) >= 3:
        offset = position[testable] - expected[testable]
        scale = 1.4826 * np.maximum(np.median(np.abs(offset), axis=0), 1e-12)
        far = (np.abs(offset) / scale).max(axis=1) > config.outlier_z
        far &= np.linalg.norm(offset, axis=1) > config.outlier_min_distance
        outliers[testable[far]] = True

    keep = valid & ~outliers
    while True:
        index = np.flatnonzero(keep)
        if len(index) < 2:
            break
        speed = np.linalg.norm(np.diff(position[index], axis=0), axis=1) * fps / np.diff(index)
        worst = int(np.argmax(speed))
        if speed[worst] <= config.max_speed:
            break
        pair = (index[worst], index[worst + 1])
        others = keep.copy()
        others[list(pair)] = False
        drop = max(pair, key=lambda frame: _distance_to_neighbours(position, others, frame, half))
        keep[drop] = False
        outliers[drop] = True
    return outliers


def fillable_gaps(valid: np.ndarray, max_gap: int) -> np.ndarray:
    """Frames in interior runs of invalid frames no longer than ``max_gap`` (never at the ends)."""
    fill = np.zeros(len(valid), bool)
    for start, end in runs(~valid):
        if start > 0 and end < len(valid) and end - start <= max_gap:
            fill[start:end] = True
    return fill


def _interpolate_positions(values: np.ndarray, known: np.ndarray, wanted: np.ndarray, method: str) -> np.ndarray:
    """Values (T, ...) at ``wanted`` frames from those at ``known`` frames (both sorted indices)."""
    flat = values[known].reshape(len(known), -1)
    if method == "cubic" and len(known) >= 4:
        out = CubicSpline(known, flat, axis=0)(wanted)
    else:
        out = np.stack([np.interp(wanted, known, column) for column in flat.T], axis=1)
    return out.reshape((len(wanted),) + values.shape[1:])


def _slerp(rotation: np.ndarray, known: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    return Slerp(known, Rotation.from_matrix(rotation[known]))(wanted).as_matrix()


def _savgol(values: np.ndarray, window: int, order: int) -> np.ndarray:
    """Savitzky-Golay along axis 0, shrinking the window to fit short runs; too short: unchanged."""
    window = min(window, len(values) if len(values) % 2 else len(values) - 1)
    if window <= order:
        return values
    return savgol_filter(values, window, order, axis=0, mode="interp")


def _smooth_rotations(rotation: np.ndarray, window: int, order: int) -> np.ndarray:
    """Savitzky-Golay on unit quaternions made sign-continuous, then renormalised.

    For the small rotation change within a window this equals smoothing on the rotation
    manifold to first order, without a global reference that would break past 180 degrees.
    """
    quat = Rotation.from_matrix(rotation).as_quat()
    flips = np.cumsum(np.concatenate([[0], np.sum(quat[1:] * quat[:-1], axis=1) < 0])) % 2
    quat = np.where(flips[:, None] == 1, -quat, quat)
    smooth = _savgol(quat, window, order)
    return Rotation.from_quat(smooth / np.linalg.norm(smooth, axis=1, keepdims=True)).as_matrix()


def world_trajectory(
    track: CameraHandTrack, extrinsics: np.ndarray, fps: float, config: TrajectoryConfig = TrajectoryConfig()
) -> WorldHandTrack:
    """Stage 6 for one hand: world transform, outlier removal, short-gap filling, smoothing."""
    num_frames = len(track.tracked)
    if np.shape(extrinsics) != (num_frames, 4, 4):
        raise ValueError(f"extrinsics: expected shape ({num_frames}, 4, 4), got {np.shape(extrinsics)}")
    valid = np.asarray(track.tracked, bool).copy()
    if track.confidence is not None:
        valid &= np.asarray(track.confidence) >= config.min_confidence
    rotation, position, keypoints = to_world(track, extrinsics)
    finite = np.isfinite(position).all(1) & np.isfinite(keypoints).all((1, 2)) & np.isfinite(rotation).all((1, 2))
    valid &= finite & np.isfinite(track.theta).all((1, 2))
    # Keypoints in the wrist frame: rigid parts of the hand then stay put under interpolation.
    local = np.zeros_like(keypoints)
    local[valid] = np.einsum("tji,tnj->tni", rotation[valid], keypoints[valid] - position[valid, None])
    theta = np.where(valid[:, None, None], np.asarray(track.theta, dtype=np.float64), 0.0)

    outliers = find_outliers(position, valid, fps, config)
    valid &= ~outliers
    filled = fillable_gaps(valid, config.max_gap)
    kept = valid | filled

    out_rotation = np.broadcast_to(np.eye(3), (num_frames, 3, 3)).copy()
    out_position = np.zeros((num_frames, 3))
    out_theta = np.zeros((num_frames, 15, 3))
    out_local = np.zeros((num_frames, 21, 3))
    for start, end in runs(kept):
        frames = np.arange(start, end)
        known = frames[valid[start:end]]
        gaps = frames[filled[start:end]]
        pos, rot, th, loc = position.copy(), rotation.copy(), theta.copy(), local.copy()
        if len(gaps):
            pos[gaps] = _interpolate_positions(position, known, gaps, config.interpolation)
            loc[gaps] = _interpolate_positions(local, known, gaps, config.interpolation)
            th[gaps] = _interpolate_positions(theta, known, gaps, "linear")
            rot[gaps] = _slerp(rotation, known, gaps)
        window, order = config.smooth_window, config.smooth_order
        out_position[frames] = _savgol(pos[frames], window, order)
        out_local[frames] = _savgol(loc[frames], window, order)
        out_theta[frames] = _savgol(th[frames], window, order) if config.smooth_theta else th[frames]
        out_rotation[frames] = _smooth_rotations(rot[frames], window, order) if config.smooth_rotations else rot[frames]

    out_keypoints = np.einsum("tij,tnj->tni", out_rotation, out_local) + out_position[:, None]
    out_keypoints[~kept] = 0.0
    return WorldHandTrack(
        rotation=out_rotation,
        position=out_position,
        theta=out_theta,
        keypoints=out_keypoints,
        kept=kept,
        interpolated=filled,
        outliers=outliers,
    )


def world_trajectories(
    hands: Mapping[str, CameraHandTrack],
    extrinsics: np.ndarray,
    fps: float,
    config: TrajectoryConfig = TrajectoryConfig(),
) -> dict[str, WorldHandTrack]:
    """Stage 6 for every hand (keys such as "left", "right"); hands are processed independently."""
    return {side: world_trajectory(track, extrinsics, fps, config) for side, track in hands.items()}

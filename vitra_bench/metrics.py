"""Hand-motion prediction metrics: the paper's grasp distance and EgoDex's best-of-K ADE/FDE.

VITRA scores zero-shot grasp prediction by ``d_hand-obj``, the smallest distance between any
predicted fingertip at any step and the target object's point cloud (VITRA_FACTS.md,
"Evaluation"): a hand that reaches the object scores 0 and one that never moves scores its start
distance (20 cm in the paper). EgoDex's metric compares predicted futures with the recorded one,
keeping the best of K samples, because a diffusion policy is asked for *a* plausible future, not
*the* future. Everything here is in metres; reports convert to cm.

The metrics take keypoint arrays so that they do not care where predictions come from;
``chunk_keypoints`` turns a predicted action chunk plus its anchor state into those arrays through
the same integration (``layout.integrate_actions``) and skeleton (``hand.forward_kinematics``)
that built the training targets, so a metric never disagrees with the data about what an action
means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from vitra_bench import layout
from vitra_bench.geometry import invert_transform, transform_points
from vitra_bench.hand import FINGERTIPS, NUM_KEYPOINTS, Side, forward_kinematics

WRIST_AND_FINGERTIPS: tuple[int, ...] = (0, *FINGERTIPS)
"""The keypoints EgoDex scores: wrist and the five fingertips."""


def chunk_keypoints(
    state: np.ndarray,
    actions: np.ndarray,
    side: Side,
    *,
    action_mask: np.ndarray | None = None,
    state_mask: np.ndarray | None = None,
    extrinsic: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints of one hand along predicted chunk(s), starting from the anchor state.

    Args:
        state: (122,) bimanual anchor state as the dataset stores it (``layout.state_at``: in the
            anchor camera frame, with beta, which sets the bone lengths).
        actions: (..., K, 102) bimanual action chunk(s), unnormalised; leading axes are samples.
        side: the hand to integrate; its slices of ``state`` and ``actions`` are used.
        action_mask: same shape as ``actions``; masked entries are read as zero (no wrist motion,
            flat finger joint). ``None`` means all valid.
        state_mask: (122,); the hand's block must be valid, since without a start pose there is
            nothing to integrate from.
        extrinsic: (4, 4) world -> camera transform of the anchor frame; given, keypoints are
            returned in the world frame instead of the anchor camera frame.

    Returns:
        ``(keypoints (..., K+1, 21, 3), valid (..., K+1))``: frame 0 is the anchor itself (its
        fingers from the state), ``valid`` as ``layout.Trajectory.valid``. Metrics of the
        *predicted future* should drop frame 0, which the model was given.
    """
    state = np.asarray(state, np.float64)
    if state.shape != (layout.STATE_DIM,):
        raise ValueError(f"state: expected shape ({layout.STATE_DIM},), got {state.shape}")
    actions = np.asarray(actions, np.float64)
    if actions.ndim < 2 or actions.shape[-1] != layout.ACTION_DIM:
        raise ValueError(f"actions: expected shape (..., K, {layout.ACTION_DIM}), got {actions.shape}")
    mask = np.ones(actions.shape, bool) if action_mask is None else np.asarray(action_mask, bool)
    if mask.shape != actions.shape:
        raise ValueError(f"action_mask {mask.shape} does not match actions {actions.shape}")
    hand_state = state[layout.STATE_SLICES[side]]
    if state_mask is not None and not np.asarray(state_mask, bool)[layout.STATE_SLICES[side]].all():
        raise ValueError(f"the {side} hand's anchor state is masked: no start pose to integrate from")
    rotation0 = Rotation.from_euler(layout.EULER, hand_state[layout.ROTATION]).as_matrix()
    theta0 = Rotation.from_euler(layout.EULER, hand_state[layout.FINGERS].reshape(-1, 3)).as_rotvec()
    beta = hand_state[layout.BETA]

    lead, steps = actions.shape[:-2], actions.shape[-2]
    flat_actions = actions[..., layout.ACTION_SLICES[side]].reshape(-1, steps, layout.HAND_ACTION_DIM)
    flat_mask = mask[..., layout.ACTION_SLICES[side]].reshape(-1, steps, layout.HAND_ACTION_DIM)
    keypoints = np.empty((len(flat_actions), steps + 1, NUM_KEYPOINTS, 3))
    valid = np.empty((len(flat_actions), steps + 1), bool)
    for i, (chunk, chunk_mask) in enumerate(zip(flat_actions, flat_mask)):
        trajectory = layout.integrate_actions(rotation0, hand_state[layout.TRANSLATION], chunk, chunk_mask)
        theta = np.concatenate([theta0[None], trajectory.hand_pose])
        keypoints[i] = forward_kinematics(trajectory.rotation, trajectory.translation, theta, beta, side)
        valid[i] = trajectory.valid
    if extrinsic is not None:
        keypoints = transform_points(invert_transform(np.asarray(extrinsic, np.float64)), keypoints)
    return keypoints.reshape(*lead, steps + 1, NUM_KEYPOINTS, 3), valid.reshape(*lead, steps + 1)


def fingertips(keypoints: np.ndarray) -> np.ndarray:
    """The five fingertips (..., 5, 3) of keypoints (..., 21, 3), thumb first."""
    return np.asarray(keypoints)[..., list(FINGERTIPS), :]


def hand_object_distance(
    points: np.ndarray, object_points: np.ndarray, valid: np.ndarray | None = None
) -> float | np.ndarray:
    """The paper's ``d_hand-obj``: the smallest distance (m) from any point at any step to the object.

    Args:
        points: (..., T, P, 3) predicted fingertip trajectories (P = 5 for the paper's metric);
            leading axes (e.g. K samples) are scored independently.
        object_points: (N, 3) the target object's point cloud, in the same frame.
        valid: (..., T) steps to score; a trajectory with no valid step scores NaN, so that a
            batch can be averaged with ``nanmean`` and the gap counted.

    Returns:
        A float for a single trajectory, else an array of the leading shape.
    """
    points = np.asarray(points, np.float64)
    if points.ndim < 3 or points.shape[-1] != 3:
        raise ValueError(f"points: expected shape (..., T, P, 3), got {points.shape}")
    cloud = np.asarray(object_points, np.float64)
    if cloud.ndim != 2 or cloud.shape[1] != 3 or len(cloud) == 0:
        raise ValueError(f"object_points: expected a non-empty (N, 3) cloud, got {cloud.shape}")
    valid = np.ones(points.shape[:-2], bool) if valid is None else np.asarray(valid, bool)
    if valid.shape != points.shape[:-2]:
        raise ValueError(f"valid {valid.shape} does not match points' steps {points.shape[:-2]}")
    distances, _ = cKDTree(cloud).query(points.reshape(-1, 3))
    distances = np.where(valid[..., None], distances.reshape(points.shape[:-1]), np.inf)
    nearest = distances.min(axis=(-2, -1))
    nearest = np.where(np.isinf(nearest), np.nan, nearest)
    return float(nearest) if nearest.ndim == 0 else nearest


@dataclass(frozen=True)
class DisplacementErrors:
    """Best-of-K displacement errors (m) and the per-sample values they were picked from.

    ``ade`` and ``fde`` are minimised over samples independently (minADE_K / minFDE_K, the usual
    forecasting convention), so they may come from different samples; ``best_sample`` is the
    sample with the smallest ADE. All NaN (and ``best_sample`` None) when nothing is valid.
    """

    ade: float
    fde: float
    ade_per_sample: np.ndarray
    fde_per_sample: np.ndarray
    best_sample: int | None


def displacement_errors(
    predicted: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None, horizon: int | None = None
) -> DisplacementErrors:
    """EgoDex's best-of-K ADE and FDE over the first ``horizon`` steps.

    Args:
        predicted: (K, T, J, 3) sampled futures, or (T, J, 3) for one; J usually the wrist and
            fingertips (``WRIST_AND_FINGERTIPS``) of one or both hands.
        truth: (T, J, 3) the recorded future.
        valid: (T,) or (T, J) truth that exists (tracked, inside the episode); ``None``: all.
        horizon: evaluate steps ``0 .. horizon-1`` only; ``None``: all T.

    ADE averages the Euclidean error over valid (step, joint) entries. FDE averages, over joints,
    the error at each joint's last valid step within the horizon: a track lost before the horizon
    still has a final position to compare, rather than dropping out of FDE altogether.
    """
    predicted = np.asarray(predicted, np.float64)
    truth = np.asarray(truth, np.float64)
    if predicted.ndim == 3:
        predicted = predicted[None]
    if truth.ndim != 3 or truth.shape[-1] != 3 or predicted.shape[1:] != truth.shape:
        raise ValueError(f"predicted {predicted.shape} must be (K, T, J, 3) for truth (T, J, 3), got {truth.shape}")
    steps, joints = truth.shape[:2]
    valid = np.ones((steps, joints), bool) if valid is None else np.asarray(valid, bool)
    if valid.shape == (steps,):
        valid = np.repeat(valid[:, None], joints, axis=1)
    if valid.shape != (steps, joints):
        raise ValueError(f"valid {valid.shape} must be ({steps},) or ({steps}, {joints})")
    horizon = steps if horizon is None else horizon
    if not 1 <= horizon <= steps:
        raise ValueError(f"horizon {horizon} outside 1..{steps} steps")
    errors = np.linalg.norm(predicted[:, :horizon] - truth[:horizon], axis=-1)  # (K, H, J)
    valid = valid[:horizon]
    if not valid.any():
        nan = np.full(len(predicted), np.nan)
        return DisplacementErrors(np.nan, np.nan, nan, nan.copy(), None)
    ade = errors[:, valid].mean(axis=1)
    tracked = valid.any(axis=0)
    last = horizon - 1 - np.argmax(valid[::-1], axis=0)  # each joint's last valid step
    fde = errors[:, last[tracked], np.flatnonzero(tracked)].mean(axis=1)
    return DisplacementErrors(float(ade.min()), float(fde.min()), ade, fde, int(np.argmin(ade)))

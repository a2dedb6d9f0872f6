"""The VITRA action and state vectors: building them from episodes, integrating them back, normalising.

Definitions follow VITRA_FACTS.md, "Action, state, instruction". Per hand, an action step is
``[dt(3), dR(3), theta(45)]`` (51) and a state is ``[t(3), euler(R)(3), theta(45), beta(10)]`` (61);
the bimanual vectors put the left hand first. All Euler angles are scipy's lowercase ``"xyz"``
(extrinsic, ``R = Rz Ry Rx``), the convention of the released code.

Every frame of a window is expressed in the camera frame of the *anchor* frame only: the model
sees one image, so the actions it predicts must live in that image's frame, whatever the camera
does afterwards.

Masks are per dimension (same shape as the values) rather than per step so that robot data can
mask finger slots its hand does not have; masked values are exactly zero so that a masked entry
never leaks into a loss or a statistic by accident. The building blocks compute and return float64
(the integration round trip is checked at 1e-6); the episode-level helpers return float32 because
that is what the corpus stores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.spatial.transform import Rotation

from vitra_bench.episode import HANDS, NUM_BETAS, NUM_FINGER_JOINTS, Episode

EULER = "xyz"

HAND_ACTION_DIM = 51
ACTION_DIM = 2 * HAND_ACTION_DIM
HAND_STATE_DIM = HAND_ACTION_DIM + NUM_BETAS
STATE_DIM = 2 * HAND_STATE_DIM
CHUNK_SIZE = 16

# Within one hand's action or state block.
TRANSLATION = slice(0, 3)
ROTATION = slice(3, 6)
WRIST = slice(0, 6)
FINGERS = slice(6, HAND_ACTION_DIM)
BETA = slice(HAND_ACTION_DIM, HAND_STATE_DIM)

# Within the bimanual vectors.
LEFT_ACTION = slice(0, HAND_ACTION_DIM)
RIGHT_ACTION = slice(HAND_ACTION_DIM, ACTION_DIM)
LEFT_STATE = slice(0, HAND_STATE_DIM)
RIGHT_STATE = slice(HAND_STATE_DIM, STATE_DIM)
ACTION_SLICES: dict[str, slice] = {"left": LEFT_ACTION, "right": RIGHT_ACTION}
STATE_SLICES: dict[str, slice] = {"left": LEFT_STATE, "right": RIGHT_STATE}

NORM_EPS = 1e-7


def finger_slot(joint: int, axis: int) -> int:
    """Index in a hand's 51-dim action of MANO finger joint ``joint`` (0..14), Euler axis ``axis`` (0..2)."""
    if not (0 <= joint < NUM_FINGER_JOINTS and 0 <= axis < 3):
        raise ValueError(f"finger joint {joint} / axis {axis} out of range (15 joints, 3 axes)")
    return FINGERS.start + 3 * joint + axis


def _check(array: np.ndarray, shape: tuple[int | None, ...], name: str, dtype: type = np.float64) -> np.ndarray:
    """Cast and check a shape (``None`` matches any size) so a wrong input fails here, not in scipy."""
    out = np.asarray(array, dtype=dtype)
    if out.ndim != len(shape) or any(want is not None and got != want for got, want in zip(out.shape, shape)):
        wanted = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name}: expected shape {wanted}, got {tuple(out.shape)}")
    return out


def _euler(matrices: np.ndarray) -> np.ndarray:
    """Euler "xyz" of (..., 3, 3) rotation matrices."""
    flat = matrices.reshape(-1, 3, 3)
    return Rotation.from_matrix(flat).as_euler(EULER).reshape(*matrices.shape[:-2], 3)


def _finger_euler(hand_pose: np.ndarray) -> np.ndarray:
    """(N, 15, 3) axis-angle local joint rotations -> (N, 45) joint-major Euler angles."""
    n = len(hand_pose)
    return Rotation.from_rotvec(hand_pose.reshape(-1, 3)).as_euler(EULER).reshape(n, 3 * NUM_FINGER_JOINTS)


def _step_actions(
    r_a: np.ndarray, t_a: np.ndarray, r_b: np.ndarray, t_b: np.ndarray, pose_b: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Actions of N independent transitions a -> b (already in one camera frame), masked by ``valid``.

    Invalid transitions are replaced by identities *before* scipy sees them, because untracked frames
    may hold zero matrices that are not rotations.
    """
    eye = np.eye(3)
    r_a = np.where(valid[:, None, None], r_a, eye)
    r_b = np.where(valid[:, None, None], r_b, eye)
    pose_b = np.where(valid[:, None, None], pose_b, 0.0)
    values = np.concatenate(
        [t_b - t_a, _euler(r_b @ np.swapaxes(r_a, -1, -2)), _finger_euler(pose_b)], axis=1
    )
    mask = np.repeat(valid[:, None], HAND_ACTION_DIM, axis=1)
    return np.where(mask, values, 0.0), mask


def hand_actions(
    rotation: np.ndarray, translation: np.ndarray, hand_pose: np.ndarray, kept: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One hand's actions for the T-1 transitions of a trajectory already expressed in one camera frame.

    Args:
        rotation: (T, 3, 3) wrist rotations.
        translation: (T, 3) wrist positions.
        hand_pose: (T, 15, 3) local finger-joint rotations, axis-angle.
        kept: (T,) tracked frames; a step is valid only when both of its frames are tracked.

    Returns:
        ``(values, mask)``, both (T-1, 51), float64 and bool; masked values are zero.
    """
    kept = _check(kept, (None,), "kept", bool)
    n = len(kept)
    rotation = _check(rotation, (n, 3, 3), "rotation")
    translation = _check(translation, (n, 3), "translation")
    hand_pose = _check(hand_pose, (n, NUM_FINGER_JOINTS, 3), "hand_pose")
    if n < 2:
        return np.zeros((0, HAND_ACTION_DIM)), np.zeros((0, HAND_ACTION_DIM), bool)
    return _step_actions(
        rotation[:-1], translation[:-1], rotation[1:], translation[1:], hand_pose[1:], kept[:-1] & kept[1:]
    )


def hand_state(
    rotation: np.ndarray, translation: np.ndarray, hand_pose: np.ndarray, beta: np.ndarray, kept: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One hand's 61-dim states for N frames, each already expressed in the wanted camera frame.

    Args:
        rotation: (N, 3, 3) wrist rotations.
        translation: (N, 3) wrist positions.
        hand_pose: (N, 15, 3) local finger-joint rotations, axis-angle.
        beta: (10,) shape coefficients (constant over an episode).
        kept: (N,) tracked frames; an untracked frame's whole block is masked.

    Returns:
        ``(values, mask)``, both (N, 61), float64 and bool; masked values are zero.
    """
    kept = _check(kept, (None,), "kept", bool)
    n = len(kept)
    rotation = _check(rotation, (n, 3, 3), "rotation")
    translation = _check(translation, (n, 3), "translation")
    hand_pose = _check(hand_pose, (n, NUM_FINGER_JOINTS, 3), "hand_pose")
    beta = _check(beta, (NUM_BETAS,), "beta")
    rotation = np.where(kept[:, None, None], rotation, np.eye(3))
    hand_pose = np.where(kept[:, None, None], hand_pose, 0.0)
    values = np.concatenate(
        [translation, _euler(rotation), _finger_euler(hand_pose), np.broadcast_to(beta, (n, NUM_BETAS))], axis=1
    )
    mask = np.repeat(kept[:, None], HAND_STATE_DIM, axis=1)
    return np.where(mask, values, 0.0), mask


class HandArrays(NamedTuple):
    """One hand's world-frame track as plain arrays: a ``HandTrack``'s, or a corpus's frame-table columns.

    Attributes:
        wrist_orient_world: (T, 3) wrist rotation in the world frame (axis-angle).
        wrist_world: (T, 3) wrist position in the world frame.
        hand_pose: (T, 15, 3) local finger-joint rotations (axis-angle).
        kept: (T,) tracked frames.
    """

    wrist_orient_world: np.ndarray
    wrist_world: np.ndarray
    hand_pose: np.ndarray
    kept: np.ndarray


def _episode_hands(episode: Episode) -> dict[str, HandArrays]:
    return {
        hand: HandArrays(track.wrist_orient_world, track.wrist_world, track.hand_pose, track.kept)
        for hand, track in episode.hands.items()
    }


def _wrist_in_cameras(
    extrinsics: np.ndarray, hand: HandArrays, frames: np.ndarray, cameras: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Wrist rotation (N,3,3) and position (N,3) of ``frames`` expressed in the cameras of frames ``cameras``.

    ``extrinsics`` are the (T, 4, 4) world -> camera transforms of every frame.
    """
    ext = np.asarray(extrinsics)[cameras].astype(np.float64)
    rot_world = Rotation.from_rotvec(np.asarray(hand.wrist_orient_world)[frames].astype(np.float64)).as_matrix()
    pos_world = np.asarray(hand.wrist_world)[frames].astype(np.float64)
    rotation = ext[:, :3, :3] @ rot_world
    translation = np.einsum("nij,nj->ni", ext[:, :3, :3], pos_world) + ext[:, :3, 3]
    return rotation, translation


def _check_frame(episode: Episode, t0: int) -> None:
    if not 0 <= t0 < episode.num_frames:
        raise ValueError(f"anchor frame {t0} outside episode {episode.key!r} of {episode.num_frames} frames")


def anchored_chunk(
    extrinsics: np.ndarray, hands: Mapping[str, HandArrays], t0: int, chunk_size: int = CHUNK_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """The bimanual action chunk anchored at ``t0`` from plain arrays; see ``action_chunk``.

    Args:
        extrinsics: (T, 4, 4) world -> camera transforms of every frame.
        hands: ``{"left": HandArrays, "right": HandArrays}``, each over the same T frames.
        t0: anchor frame; every step is expressed in its camera.
        chunk_size: steps in the chunk; those whose target frame lies past frame T-1 are masked zeros.

    Returns:
        ``(values, mask)``, both (chunk_size, 102), float32 and bool.
    """
    num_frames = len(extrinsics)
    if not 0 <= t0 < num_frames:
        raise ValueError(f"anchor frame {t0} outside {num_frames} frames")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    frames = np.arange(t0, min(t0 + chunk_size, num_frames - 1) + 1)
    steps = len(frames) - 1
    values = np.zeros((chunk_size, ACTION_DIM), np.float32)
    mask = np.zeros((chunk_size, ACTION_DIM), bool)
    for hand in HANDS:
        arrays = hands[hand]
        rotation, translation = _wrist_in_cameras(extrinsics, arrays, frames, np.full_like(frames, t0))
        hand_pose, kept = np.asarray(arrays.hand_pose)[frames], np.asarray(arrays.kept)[frames]
        v, m = hand_actions(rotation, translation, hand_pose, kept)
        values[:steps, ACTION_SLICES[hand]] = v
        mask[:steps, ACTION_SLICES[hand]] = m
    return values, mask


def action_chunk(episode: Episode, t0: int, chunk_size: int = CHUNK_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """The bimanual action chunk anchored at ``t0``: step k is the transition t0+k -> t0+k+1.

    Steps whose target frame lies past the episode end are masked zeros. Near the end this differs
    from the release, which marks one extra zero-delta step valid; that step teaches "stop" where the
    data says nothing.

    Returns:
        ``(values, mask)``, both (chunk_size, 102), float32 and bool.
    """
    _check_frame(episode, t0)
    return anchored_chunk(episode.extrinsics, _episode_hands(episode), t0, chunk_size)


def state_at(episode: Episode, t0: int) -> tuple[np.ndarray, np.ndarray]:
    """The bimanual state at ``t0`` in its own camera frame: ``(values, mask)``, both (122,), float32 and bool."""
    _check_frame(episode, t0)
    values, mask = _states(episode, np.array([t0]))
    return values[0], mask[0]


def episode_step_actions(episode: Episode) -> tuple[np.ndarray, np.ndarray]:
    """Per frame t, the one-step action t -> t+1 in camera t (the corpus's ``action`` column).

    The last frame has no successor, so its row is masked.

    Returns:
        ``(values, mask)``, both (T, 102), float32 and bool.
    """
    n = episode.num_frames
    values = np.zeros((n, ACTION_DIM), np.float32)
    mask = np.zeros((n, ACTION_DIM), bool)
    if n < 2:
        return values, mask
    now, nxt = np.arange(n - 1), np.arange(1, n)
    hands = _episode_hands(episode)
    for hand in HANDS:
        arrays = hands[hand]
        r_a, t_a = _wrist_in_cameras(episode.extrinsics, arrays, now, now)
        r_b, t_b = _wrist_in_cameras(episode.extrinsics, arrays, nxt, now)
        valid = arrays.kept[now] & arrays.kept[nxt]
        v, m = _step_actions(r_a, t_a, r_b, t_b, arrays.hand_pose[nxt].astype(np.float64), valid)
        values[:-1, ACTION_SLICES[hand]] = v
        mask[:-1, ACTION_SLICES[hand]] = m
    return values, mask


def episode_states(episode: Episode) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the bimanual state in that frame's camera (the corpus's ``observation.state`` column).

    Returns:
        ``(values, mask)``, both (T, 122), float32 and bool.
    """
    return _states(episode, np.arange(episode.num_frames))


def _states(episode: Episode, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bimanual float32 states of ``frames``, each in its own camera frame."""
    values = np.zeros((len(frames), STATE_DIM), np.float32)
    mask = np.zeros((len(frames), STATE_DIM), bool)
    hands = _episode_hands(episode)
    for hand in HANDS:
        arrays = hands[hand]
        rotation, translation = _wrist_in_cameras(episode.extrinsics, arrays, frames, frames)
        beta = episode.hands[hand].beta
        v, m = hand_state(rotation, translation, arrays.hand_pose[frames], beta, arrays.kept[frames])
        values[:, STATE_SLICES[hand]] = v
        mask[:, STATE_SLICES[hand]] = m
    return values, mask


@dataclass
class Trajectory:
    """A chunk integrated back into poses, all in the anchor camera frame.

    Attributes:
        rotation: (K+1, 3, 3) wrist rotations, frame 0 being the given start.
        translation: (K+1, 3) wrist positions.
        hand_pose: (K, 15, 3) local finger rotations (axis-angle) at frames 1..K; masked slots read 0.
        valid: (K+1,) frames reached from the start through unmasked wrist steps only. A masked
            delta is read as "no motion", so frames after a gap still follow the later deltas but
            are off by the unknown motion of the gap, hence flagged.
    """

    rotation: np.ndarray
    translation: np.ndarray
    hand_pose: np.ndarray
    valid: np.ndarray


def integrate_actions(
    rotation0: np.ndarray, translation0: np.ndarray, actions: np.ndarray, mask: np.ndarray | None = None
) -> Trajectory:
    """Invert ``hand_actions``: chain ``R[k+1] = dR[k] R[k]`` and ``t[k+1] = t[k] + dt[k]`` from a start pose.

    Args:
        rotation0: (3, 3) wrist rotation at the anchor frame, in the anchor camera frame.
        translation0: (3,) wrist position at the anchor frame.
        actions: (K, 51) one hand's action chunk.
        mask: (K, 51) validity; masked entries are read as zero. ``None`` means all valid.
    """
    rotation0 = _check(rotation0, (3, 3), "rotation0")
    translation0 = _check(translation0, (3,), "translation0")
    actions = _check(actions, (None, HAND_ACTION_DIM), "actions")
    k = len(actions)
    mask = np.ones(actions.shape, bool) if mask is None else _check(mask, (k, HAND_ACTION_DIM), "mask", bool)
    actions = np.where(mask, actions, 0.0)
    deltas = Rotation.from_euler(EULER, actions[:, ROTATION]).as_matrix()
    rotation = np.empty((k + 1, 3, 3))
    rotation[0] = rotation0
    for step in range(k):
        rotation[step + 1] = deltas[step] @ rotation[step]
    translation = translation0 + np.concatenate([np.zeros((1, 3)), np.cumsum(actions[:, TRANSLATION], axis=0)])
    hand_pose = (
        Rotation.from_euler(EULER, actions[:, FINGERS].reshape(-1, 3)).as_rotvec().reshape(k, NUM_FINGER_JOINTS, 3)
    )
    valid = np.concatenate([[True], np.cumprod(mask[:, WRIST].all(axis=1)).astype(bool)])
    return Trajectory(rotation, translation, hand_pose, valid)


@dataclass
class NormStats:
    """Per-dimension statistics over valid entries (arrays of shape (D,)); ``count`` is valid entries per dim.

    The corpus stores one per feature (``meta/stats.json``, see ``vitra_bench.corpus.feature_stats``); there
    an unmasked feature has ``count`` of shape (1,) (its number of frames) and an image feature (3, 1, 1)
    statistics.
    """

    mean: np.ndarray
    std: np.ndarray
    min: np.ndarray
    max: np.ndarray
    count: np.ndarray


def normalization_stats(values: np.ndarray, mask: np.ndarray) -> NormStats:
    """Statistics over every axis but the last, ignoring masked entries.

    A dimension with no valid entry (e.g. a finger slot the robot hand lacks) gets mean 0 and std 1
    so that normalising is the identity there: its targets are masked zeros anyway, and a prediction
    in that slot is passed through instead of being multiplied by 1 / 1e-7 on unnormalisation (the
    "absurdly large outputs" the authors warn about). Its min and max are 0.
    """
    values = np.asarray(values, np.float64)
    mask = np.asarray(mask, bool)
    if values.ndim < 1 or mask.shape != values.shape:
        raise ValueError(f"values {values.shape} and mask {mask.shape} must have the same non-scalar shape")
    dim = values.shape[-1]
    x, m = values.reshape(-1, dim), mask.reshape(-1, dim)
    count = m.sum(axis=0)
    some = count > 0
    safe = np.maximum(count, 1)
    mean = np.where(m, x, 0.0).sum(axis=0) / safe
    var = np.where(m, (x - mean) ** 2, 0.0).sum(axis=0) / safe
    return NormStats(
        mean=mean,
        std=np.where(some, np.sqrt(var), 1.0),
        min=np.where(some, np.where(m, x, np.inf).min(axis=0, initial=np.inf), 0.0),
        max=np.where(some, np.where(m, x, -np.inf).max(axis=0, initial=-np.inf), 0.0),
        count=count.astype(np.int64),
    )


def pooled_normalization_stats(values: np.ndarray, mask: np.ndarray) -> NormStats:
    """Like ``normalization_stats`` but with the left and right halves of the last axis pooled as one hand.

    Useful when one hand is rare (most robot data is right-handed, and flip augmentation mirrors
    hands anyway). The pooled per-hand statistic is tiled back to both halves so that the result
    plugs into ``normalize`` for 102-dim actions or 122-dim states alike.
    """
    values = np.asarray(values, np.float64)
    mask = np.asarray(mask, bool)
    if values.ndim < 1 or values.shape[-1] % 2 or mask.shape != values.shape:
        raise ValueError(f"values {values.shape} and mask {mask.shape} must match, with an even last axis")
    half = values.shape[-1] // 2
    pooled = normalization_stats(values.reshape(-1, 2, half), mask.reshape(-1, 2, half))
    return NormStats(*(np.concatenate([a, a]) for a in (pooled.mean, pooled.std, pooled.min, pooled.max, pooled.count)))


def _check_norm_inputs(x: np.ndarray, stats: NormStats, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x)
    if x.ndim < 1 or x.shape[-1] != len(stats.mean):
        raise ValueError(f"last axis of {x.shape} does not match {len(stats.mean)} statistics")
    mask = np.ones(x.shape, bool) if mask is None else np.asarray(mask, bool)
    if mask.shape != x.shape:
        raise ValueError(f"mask {mask.shape} does not match values {x.shape}")
    return x, mask


def normalize(x: np.ndarray, stats: NormStats, mask: np.ndarray | None = None) -> np.ndarray:
    """``(x - mean) / (std + 1e-7)`` per dimension, keeping masked entries at zero; keeps ``x``'s float dtype."""
    x, mask = _check_norm_inputs(x, stats, mask)
    out = (x - stats.mean) / (stats.std + NORM_EPS)
    return np.where(mask, out, 0.0).astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64)


def unnormalize(x: np.ndarray, stats: NormStats, mask: np.ndarray | None = None) -> np.ndarray:
    """Inverse of ``normalize``; masked entries stay zero."""
    x, mask = _check_norm_inputs(x, stats, mask)
    out = x * (stats.std + NORM_EPS) + stats.mean
    return np.where(mask, out, 0.0).astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64)

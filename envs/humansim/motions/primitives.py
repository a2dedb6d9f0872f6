"""Building blocks of human-like hand motion: timing profiles, paths, wrist attitudes, finger shapes.

Why these forms: point-to-point human reaches follow the minimum-jerk profile (Flash & Hogan,
1985), a single bell of speed that is zero with zero acceleration at both ends; that is what
puts the wrist-speed minima exactly at the ends of each movement, where the ground-truth segment
boundaries are. Curved paths are traversed by arc length so that a curve does not add speed
dips of its own inside a movement. Finger shapes are parameterised by how far the fingers curl,
which follows from the size of what they wrap.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from math import comb

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from vitra_bench import hand as hk

from .geometry import UP

# First row of each finger's three joints in theta (MANO order), the keypoints those joints
# move, and the four fingers' natural spread (MCP +y swings a finger toward the little-finger
# side): index toward the thumb, pinky away.
FINGER_ROWS = {"index": 0, "middle": 3, "pinky": 6, "ring": 9, "thumb": 12}
THUMB_ROW = FINGER_ROWS["thumb"]
FINGER_KEYPOINTS = {"thumb": (2, 3, 4), "index": (6, 7, 8), "middle": (10, 11, 12), "ring": (14, 15, 16), "pinky": (18, 19, 20)}
_SPREAD = {"index": -0.10, "middle": 0.0, "pinky": 0.18, "ring": 0.08}
_FINGER_LENGTH = 0.082  # index MCP -> tip of the average hand, metres
_PAD = 0.012  # distance from a finger's bone axis to the surface it touches
PINCH_WIDTH = 0.035  # thinner non-handle things are pinched between thumb and fingers
WRIST_CLEARANCE = 0.02  # the wrist keypoint stays this far above the table top
KEYPOINT_CLEARANCE = 0.005  # and every keypoint this far (the fingertip keypoint lies on the skin)
PALM = [0, 1, 5, 9, 13, 17]  # keypoints rigid with the wrist


def min_jerk(n: int) -> np.ndarray:
    """Progress (n,) of a minimum-jerk movement lasting ``n`` frames, sampled at frames 1..n.

    Frame 0 is the still start (already on the track), so the last sample is exactly 1.
    """
    tau = np.arange(1, n + 1) / n
    return tau**3 * (10 - 15 * tau + 6 * tau**2)


def cruise(n: int, ramp: float = 0.2) -> np.ndarray:
    """Progress (n,) at constant speed between smooth minimum-jerk-shaped speed ramps.

    Used for wiping: a long rubbing movement has one still start and end but no stops inside.
    """
    tau = np.linspace(0.0, 1.0, 4 * n + 1)
    speed = np.minimum(1.0, np.minimum(tau, 1.0 - tau) / ramp)
    speed = speed**3 * (10 - 15 * speed + 6 * speed**2)
    distance = np.concatenate([[0.0], np.cumsum((speed[1:] + speed[:-1]) / 2)])
    return np.interp(np.arange(1, n + 1) / n, tau, distance / distance[-1])


def bezier(control: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Points (len(u), 3) of the Bezier curve with ``control`` points (k, 3) at parameters ``u``."""
    degree = len(control) - 1
    basis = np.stack([comb(degree, i) * u**i * (1 - u) ** (degree - i) for i in range(degree + 1)], axis=1)
    return basis @ control


def along(points: np.ndarray, progress: np.ndarray) -> np.ndarray:
    """Positions at fractions ``progress`` of the arc length of a dense polyline ``points`` (m, 3)."""
    lengths = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    if lengths[-1] < 1e-9:
        return np.repeat(points[:1], len(progress), axis=0)
    target = progress * lengths[-1]
    return np.stack([np.interp(target, lengths, points[:, k]) for k in range(3)], axis=1)


def curve_positions(start: np.ndarray, control: Sequence[np.ndarray], progress: np.ndarray) -> np.ndarray:
    """Positions along the Bezier from ``start`` through ``control`` (last = end), by arc length."""
    points = bezier(np.vstack([start, *control]), np.linspace(0.0, 1.0, 257))
    return along(points, progress)


def slerp(start: np.ndarray, end: np.ndarray, progress: np.ndarray) -> np.ndarray:
    """Rotation matrices (n, 3, 3) between two rotations at fractions ``progress``."""
    return Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([start, end])))(np.clip(progress, 0, 1)).as_matrix()


def blend(keys: Sequence[tuple[float, np.ndarray]], tau: np.ndarray) -> np.ndarray:
    """Values at times ``tau`` passing through ``keys`` [(time, value)], minimum-jerk between keys.

    Each piece is a convex combination of its two keys, so finger poses stay inside the joint
    limits whenever the keys are.
    """
    times = np.array([t for t, _ in keys])
    values = np.stack([v for _, v in keys])
    piece = np.clip(np.searchsorted(times, tau, side="right") - 1, 0, len(times) - 2)
    span = np.maximum(times[piece + 1] - times[piece], 1e-9)
    x = np.clip((tau - times[piece]) / span, 0.0, 1.0)
    s = (x**3 * (10 - 15 * x + 6 * x**2)).reshape((-1,) + (1,) * (values.ndim - 1))
    return values[piece] + s * (values[piece + 1] - values[piece])


def wander(rng: np.random.Generator, n: int, fps: float, dims: int) -> np.ndarray:
    """Slow smooth wander (n, dims) of unit scale that is zero, with zero speed, at both ends.

    A resting hand never holds perfectly still; the sin^2 window keeps the movement boundaries
    (speed minima) where the motion programs put them.
    """
    t = np.arange(1, n + 1) / fps
    frequency = rng.uniform(0.15, 0.7, (3, dims))
    phase = rng.uniform(0.0, 2 * np.pi, (3, dims))
    waves = np.sin(2 * np.pi * frequency[:, None] * t[None, :, None] + phase[:, None]).sum(axis=0) / np.sqrt(3)
    return waves * (np.sin(np.pi * np.arange(1, n + 1) / n) ** 2)[:, None]


# --- wrist attitudes ---------------------------------------------------------------------------


def hand_frame(side: str, palm_normal: np.ndarray, fingers: np.ndarray) -> np.ndarray:
    """Wrist rotation (3, 3) whose palm faces ``palm_normal`` with fingers along ``fingers``.

    ``fingers`` is made orthogonal to the palm normal. The right hand's fingers are its +x, the
    left hand's its -x (mirrored geometry), so the same world attitude gives each side its own
    matrix; the thumb is +z on both.
    """
    y = palm_normal / np.linalg.norm(palm_normal)
    f = fingers - (fingers @ y) * y
    f /= np.linalg.norm(f)
    x = f if side == "right" else -f
    return np.stack([x, y, np.cross(x, y)], axis=1)


def fingers_of(side: str, rotation: np.ndarray) -> np.ndarray:
    """World direction (3,) the fingers of a hand with wrist ``rotation`` point to."""
    return rotation[:, 0] if side == "right" else -rotation[:, 0]


def grasp_rotation(
    side: str,
    approach: np.ndarray,
    preferred: np.ndarray,
    palm_point: np.ndarray,
    theta: np.ndarray,
    table: float,
    beta: np.ndarray | None = None,
    thumb_axis: np.ndarray | None = None,
) -> np.ndarray:
    """Wrist rotation for a grasp: palm along ``approach``, then the most natural roll about it.

    Candidate rolls put the palm point of the hand shaped ``theta`` on ``palm_point`` and are
    scored by how well the fingers follow ``preferred`` (roughly along the forearm, away from
    the body) and how upright the thumb is (a thumb pointing down means a strained forearm);
    rolls that put the wrist within ``WRIST_CLEARANCE`` of the ``table`` top are ruled out, and
    those that sink the hand into it are penalised by the depth, the rigid palm most (fingers
    can still be re-curled afterwards, ``keep_above``). With a ``thumb_axis`` (a handle) the
    handle lies across the palm, so only its two senses remain.
    """
    offset = palm_offset(theta, side, beta)
    a = approach / np.linalg.norm(approach)
    if thumb_axis is not None and np.linalg.norm(np.cross(a, thumb_axis)) > 0.2:
        across = np.cross(a, thumb_axis)
        candidates = [across, -across]
    else:
        e1 = np.cross(a, UP if abs(a @ UP) < 0.9 else np.array([1.0, 0.0, 0.0]))
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(a, e1)
        candidates = [np.cos(q) * e1 + np.sin(q) * e2 for q in np.linspace(0.0, 2 * np.pi, 36, endpoint=False)]
    rotations = np.stack([hand_frame(side, a, fingers) for fingers in candidates])
    wrists = palm_point - rotations @ offset
    heights = hk.forward_kinematics(rotations, wrists, theta, beta, side)[..., 2]
    floor = table + KEYPOINT_CLEARANCE
    score = (
        np.array([f @ preferred / np.linalg.norm(f) for f in candidates])
        + 0.5 * rotations[:, 2, 2]
        - 10.0 * (wrists[:, 2] < table + WRIST_CLEARANCE)
        - 100.0 * np.maximum(floor - heights[:, PALM].min(axis=-1), 0.0)
        - 30.0 * np.maximum(floor - heights.min(axis=-1), 0.0)
    )
    return rotations[int(np.argmax(score))]


def palm_offset(theta: np.ndarray, side: str, beta: np.ndarray | None) -> np.ndarray:
    """VITRA's palm point (3,) in the hand frame for finger pose ``theta``."""
    return hk.palm_point(hk.forward_kinematics(np.eye(3), np.zeros(3), theta, beta, side))


def keypoint_offset(theta: np.ndarray, side: str, beta: np.ndarray | None, keypoints: Sequence[int]) -> np.ndarray:
    """Mean (3,) of some keypoints in the hand frame, e.g. the index and middle fingertips."""
    return hk.forward_kinematics(np.eye(3), np.zeros(3), theta, beta, side)[list(keypoints)].mean(axis=0)


# --- finger shapes -----------------------------------------------------------------------------


def hand_shape(curl: Sequence[float], thumb: float, spread: float = 0.5) -> np.ndarray:
    """Finger pose (15, 3) from the total curl (rad) of index, middle, ring, pinky and a thumb closure.

    A finger wrapping a cylinder turns each joint by about the angle its phalanx subtends, so
    the curl is shared MCP 38%, PIP 40%, DIP 22%. ``thumb`` in [0, 1] goes from an abducted,
    opposed thumb (ready to close) to one flexed across the palm.
    """
    theta = np.zeros((15, 3))
    for finger, total in zip(("index", "middle", "ring", "pinky"), curl, strict=True):
        row = FINGER_ROWS[finger]
        theta[row : row + 3, 2] = np.array([0.38, 0.40, 0.22]) * total
        theta[row, 1] = spread * _SPREAD[finger]
    theta[THUMB_ROW] = (0.0, 0.05 + 0.40 * thumb, 0.35 + 0.55 * thumb)
    theta[THUMB_ROW + 1, 1] = 0.10 + 0.50 * thumb
    theta[THUMB_ROW + 2, 1] = 0.10 + 0.70 * thumb
    return np.clip(theta, hk.JOINT_LIMITS[..., 0], hk.JOINT_LIMITS[..., 1])


def wrap_curl(width: float) -> float:
    """Rough total finger curl (rad) around something ``width`` across: for pre-shaping the reach."""
    return float(np.clip(_FINGER_LENGTH / (width / 2 + _PAD), 0.3, 3.4))


@lru_cache(maxsize=512)
def _wrap(width: float, gap: float, beta: tuple[float, ...] | None) -> np.ndarray:
    target = width / 2 + _PAD
    beta_array = None if beta is None else np.array(beta)
    curls = np.linspace(0.0, 4.0, 81)
    fingers = np.stack([hand_shape((c, c, c, c), thumb=0.5, spread=0.3) for c in curls])
    grid = np.stack(np.meshgrid(np.linspace(0.0, 0.8, 9), np.linspace(0.2, 1.2, 11), np.linspace(0.0, 1.5, 7)), -1).reshape(-1, 3)
    thumbs = np.repeat(fingers[40][None], len(grid), axis=0)
    thumbs[:, THUMB_ROW] = np.stack([np.zeros(len(grid)), grid[:, 0], grid[:, 1]], axis=1)
    thumbs[:, THUMB_ROW + 1, 1] = 0.6 * grid[:, 2]
    thumbs[:, THUMB_ROW + 2, 1] = grid[:, 2]
    thumbs = np.clip(thumbs, hk.JOINT_LIMITS[..., 0], hk.JOINT_LIMITS[..., 1])
    theta = np.zeros((15, 3))
    for candidates, names in ((fingers, ("index", "middle", "ring", "pinky")), (thumbs, ("thumb",))):
        keypoints = hk.forward_kinematics(np.eye(3), np.zeros(3), candidates, beta_array)
        axis = hk.palm_point(keypoints) + np.array([0.0, gap + width / 2, 0.0])
        radial = np.linalg.norm((keypoints - axis[:, None])[..., :2], axis=-1)
        for name in names:
            points = list(FINGER_KEYPOINTS[name])
            gaps = radial[:, points] - target
            cost = np.mean(gaps**2 + 10.0 * np.minimum(gaps, 0.0) ** 2, axis=1)
            if name == "thumb":  # around the cylinder, not up along it
                cost += 0.5 * (keypoints[:, 4, 2] - keypoints[:, 5, 2]) ** 2
            rows = slice(FINGER_ROWS[name], FINGER_ROWS[name] + 3)
            theta[rows] = candidates[int(np.argmin(cost)), rows]
    return theta


def wrap_shape(width: float, gap: float, beta: np.ndarray | None = None) -> np.ndarray:
    """Fingers (15, 3) wrapped around something ``width`` across whose near side is ``gap`` in front of the palm point.

    The thing is modelled as a cylinder along the hand's thumb axis (a cup's side, a handle
    across the palm), ``gap + width / 2`` out along the palm normal; each finger gets the curl,
    and the thumb the closure, that lays its distal keypoints about a finger pad (1.2 cm) off
    that cylinder without sinking in. Both hands share it: the left hand's geometry is the
    mirror image, which keeps these distances.
    """
    key = None if beta is None else tuple(np.round(beta, 3))
    return _wrap(round(float(width), 3), round(float(gap), 3), key).copy()


def closed_shape(width: float, handle: bool, gap: float = 0.015, beta: np.ndarray | None = None) -> np.ndarray:
    """Finger pose holding something of ``width``: wrapped around it, or a pinch for small things."""
    if width < PINCH_WIDTH and not handle:
        tips = 1.0 + 12.0 * (PINCH_WIDTH - width)
        return hand_shape((tips, tips + 0.2, 2.2, 2.4), thumb=0.75, spread=0.2)
    return wrap_shape(width, gap, beta)


def open_shape(width: float) -> np.ndarray:
    """The pre-shaped hand of a reach: the aperture peaks wider than the object, thumb opposed."""
    curl = 0.5 * wrap_curl(width + 0.06)
    return hand_shape((curl, curl, curl + 0.1, curl + 0.15), thumb=0.0, spread=1.0)


def relaxed_shape(rng: np.random.Generator | None = None) -> np.ndarray:
    """A resting hand: fingers lightly curled, the pinky side more, thumb alongside."""
    curl = np.array([0.6, 0.7, 0.85, 0.95])
    if rng is not None:
        curl = curl + rng.uniform(-0.15, 0.15, 4)
    return hand_shape(curl, thumb=0.1, spread=0.5)


def flat_shape() -> np.ndarray:
    """A nearly flat hand, for pressing a cloth on the table."""
    return hand_shape((0.15, 0.15, 0.2, 0.25), thumb=0.0, spread=0.4)


def push_shape() -> np.ndarray:
    """Fingers nearly straight and together: their tips meet an object's side, the palm faces down."""
    return hand_shape((0.35, 0.35, 0.5, 0.6), thumb=0.2, spread=0.2)


def keep_above(
    theta: np.ndarray,
    rotation: np.ndarray,
    wrist: np.ndarray,
    floor: float,
    side: str,
    beta: np.ndarray | None,
    fingers: Sequence[str] = tuple(FINGER_KEYPOINTS),
) -> np.ndarray:
    """``theta`` with each of ``fingers`` that dips below ``floor`` re-curled until it clears it.

    A finger closing around something low on the table stops on the table. Whether uncurling or
    curling lifts a finger depends on where it points (palm down: uncurl; fingers down: curl),
    so each finger's joints are scaled by the factor nearest 1 that clears the floor, or the one
    that gets highest when none does; the scaled pose is clipped to the joint limits.
    """
    theta = theta.copy()
    factors = _CURL_FACTORS[np.argsort(np.abs(_CURL_FACTORS - 1.0), kind="stable")]
    low, high = hk.JOINT_LIMITS[..., 0], hk.JOINT_LIMITS[..., 1]
    for finger in fingers:
        rows, points = slice(FINGER_ROWS[finger], FINGER_ROWS[finger] + 3), list(FINGER_KEYPOINTS[finger])
        candidates = np.repeat(theta[None], len(factors), axis=0)
        candidates[:, rows] = np.clip(factors[:, None, None] * theta[rows], low[rows], high[rows])
        lowest = hk.forward_kinematics(rotation, wrist, candidates, beta, side)[:, points, 2].min(axis=1)
        if lowest[0] >= floor:
            continue
        clear = np.flatnonzero(lowest >= floor)
        theta = candidates[clear[0] if len(clear) else int(np.argmax(lowest))]
    return theta


_CURL_FACTORS = np.array([1.0, 0.85, 0.7, 0.55, 0.4, 0.25, 0.1, 1.15, 1.3, 1.5, 1.75, 2.0])

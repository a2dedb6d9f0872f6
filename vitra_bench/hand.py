"""The project's own MANO-convention hand skeleton: keypoints, forward/inverse kinematics, mirroring.

MANO's mesh and shape files are licence-restricted, so the suite carries this skeleton instead:
the same joints, joint order and rotation parameterisation as MANO, with average adult bone
lengths and a documented scale-vector shape. Everything is vectorised over leading (time) axes
and every rotation goes through ``scipy.spatial.transform.Rotation``.

Keypoints (21, OpenPose order, metres)
    0 wrist; 1-4 thumb CMC, MCP, IP, tip; 5-8 index MCP, PIP, DIP, tip; 9-12 middle;
    13-16 ring; 17-20 pinky. The wrist keypoint *is* the hand's translation: the hand frame's
    origin sits on it, so there is no separate MANO ``transl`` whose offset depends on shape.

Finger joints (15, MANO order)
    index1-3, middle1-3, pinky1-3, ring1-3, thumb1-3; ``theta`` is (..., 15, 3) axis-angle
    *local* rotations. index1 sits on keypoint 5 and moves 6, 7, 8; index3 sits on 7 and moves
    8; thumb1 sits on the CMC (keypoint 1) and moves 2, 3, 4. As in MANO, every joint frame is
    aligned with the wrist frame in the rest pose, so theta's axes are the wrist frame's axes.
    The palm (keypoints 1, 5, 9, 13, 17) is rigid with the wrist.

Wrist frame and rest pose (theta = 0 is a flat hand, like MANO's ``flat_hand_mean``)
    Right hand: fingers along +x, palm normal +y (the palm side), thumb on the +z side; every
    rest keypoint has y = 0.
    Index, middle, ring, pinky: +z is flexion (the tip curls toward the palm, +y); y is
    ab/adduction (+y swings the finger toward the little-finger side, -z); x is twist about the
    bone, which keypoints do not determine.
    Thumb: it rests in the palm plane, pointing diagonally 40 degrees from +x toward +z. +y is
    flexion (the tip sweeps across the palm plane toward the fingers); +z is palmar abduction /
    opposition (the thumb lifts toward the palm side, +y); rotation about the thumb's own
    direction (cos 40, 0, sin 40) is its unobservable twist. So XHand flexion joints map to +z
    of the finger joints and to thumb1 +z for thumb_bend, as VITRA's joint table says.

Relation to genuine MANO parameters
    MANO's own right-hand axes have the fingers along -x and the palm normal along -y: this frame
    is MANO's turned 180 degrees about z. Hence z components (flexion) agree, x and y flip sign.
    ``from_mano`` / ``to_mano`` convert exactly (e.g. VITRA-1M's ``global_orient`` and
    ``hand_pose``, whose ``transl`` already is the wrist keypoint). Read VITRA's XHand table with
    this in mind: its y-axis entries (index_bend -> index1 +y, thumb_rota -> thumb -y) are in
    MANO's axes and change sign here.

Left hand (``side="left"``): the right-hand model with x mirrored, as in VITRA's release
    A left hand's keypoints are ``t + R @ M @ p`` where ``p`` are the right-hand keypoints of
    ``theta`` in the hand frame (identity wrist) and ``M = diag(-1, 1, 1)``. Its ``theta`` keeps
    the right-hand convention (flexion is +z on both hands, so one robot joint table serves
    both); only the rest geometry is mirrored: fingers -x, palm +y, thumb +z. This is what
    VITRA's data engine and visualiser do (MANO right model, x flipped, then the global pose);
    it is *not* MANO's separate left model, whose pose would be ``(r_x, -r_y, -r_z)``.
    Mirroring a scene (a horizontal image flip) turns a hand of one side with pose
    ``(R, t, theta)`` into a hand of the other side with pose ``mirror_pose(R, t, theta) =
    (M R M, M t, theta)``:
    ``forward_kinematics(*mirror_pose(R, t, theta), beta, side=other)
    == mirror_keypoints(forward_kinematics(R, t, theta, beta, side))``.

Shape ``beta`` (10,): not MANO's PCA space. Coefficient k is a standard-normal-like number whose
effect is the multiplicative factor ``exp(BETA_SIGMAS[k] * beta[k])``; sigmas are of the order
of adult within-population coefficients of variation (our choice, not a published fit).

    ==  =================  =====  ==========================================================
    k   name               sigma  scales
    ==  =================  =====  ==========================================================
    0   scale              0.06   every bone (global hand size)
    1   palm_width         0.04   z of the wrist -> CMC/MCP offsets (keypoints 1,5,9,13,17)
    2   palm_length        0.04   x of the wrist -> CMC/MCP offsets
    3   thumb_length       0.04   thumb bones CMC -> MCP -> IP -> tip
    4   index_length       0.04   index bones MCP -> PIP -> DIP -> tip
    5   middle_length      0.04   middle finger bones
    6   ring_length        0.04   ring finger bones
    7   pinky_length       0.04   pinky bones
    8   finger_thickness   0.08   finger radius, renderers only (keypoints unaffected)
    9   palm_thickness     0.08   palm thickness, renderers only (keypoints unaffected)
    ==  =================  =====  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.transform import Rotation

Side = Literal["left", "right"]

NUM_KEYPOINTS = 21
NUM_JOINTS = 15
NUM_BETAS = 10

KEYPOINT_NAMES: tuple[str, ...] = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)  # fmt: skip
FINGER_JOINT_NAMES: tuple[str, ...] = tuple(
    f"{finger}{i}" for finger in ("index", "middle", "pinky", "ring", "thumb") for i in (1, 2, 3)
)
FINGERTIPS: tuple[int, ...] = (4, 8, 12, 16, 20)
PALM_KEYPOINTS: tuple[int, ...] = (0, 2, 5, 9, 13, 17)  # VITRA's palm point averages these
KEYPOINT_PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19)
# Keypoint on which each MANO joint sits, and each joint's parent joint (-1: the wrist).
JOINT_KEYPOINTS: tuple[int, ...] = (5, 6, 7, 9, 10, 11, 17, 18, 19, 13, 14, 15, 1, 2, 3)
JOINT_PARENTS: tuple[int, ...] = (-1, 0, 1, -1, 3, 4, -1, 6, 7, -1, 9, 10, -1, 12, 13)

BETA_NAMES: tuple[str, ...] = (
    "scale", "palm_width", "palm_length", "thumb_length", "index_length",
    "middle_length", "ring_length", "pinky_length", "finger_thickness", "palm_thickness",
)  # fmt: skip
BETA_SIGMAS = np.array([0.06, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04, 0.08, 0.08])

# Fingers in keypoint order (thumb, index, middle, ring, pinky): first keypoint and MANO joints.
_FINGER_BASES = np.array([1, 5, 9, 13, 17])
_FINGER_JOINTS = np.array([[12, 13, 14], [0, 1, 2], [3, 4, 5], [9, 10, 11], [6, 7, 8]])
_MIRROR = np.array([-1.0, 1.0, 1.0])
_MANO_AXES = np.diag([-1.0, -1.0, 1.0])  # this frame's axes in MANO's: a half turn about z (its own inverse)

# Rest layout of an average adult right hand, metres. Targets: hand length (wrist crease to
# middle fingertip) ~18.4 cm, between the 50th-percentile man (~19 cm) and woman (~17.5 cm) in
# Pheasant & Haslegrave, "Bodyspace" (3rd ed., 2006); palm ~9-10 cm; MCP joint centres spread
# ~6 cm (hand breadth ~8 cm with soft tissue). Phalanx proportions after Buryanov & Kotiuk,
# "Proportions of hand segments", Int. J. Morphol. 28(3):755-758 (2010), with ~5 mm of pulp
# added beyond each distal phalanx, since the tip keypoint lies on the skin.
_THUMB_DIRECTION = np.array([np.cos(np.radians(40.0)), 0.0, np.sin(np.radians(40.0))])
_PALM_OFFSETS = {  # wrist -> CMC / MCP
    1: (0.025, 0.0, 0.025),
    5: (0.088, 0.0, 0.022),
    9: (0.092, 0.0, 0.000),
    13: (0.085, 0.0, -0.020),
    17: (0.076, 0.0, -0.037),
}
_BONE_LENGTHS = {  # per finger (keypoint order): the three bones after its base keypoint
    1: (0.040, 0.032, 0.029),
    5: (0.038, 0.023, 0.021),
    9: (0.042, 0.027, 0.023),
    13: (0.040, 0.026, 0.022),
    17: (0.031, 0.019, 0.020),
}

# Anatomical ranges of each local rotation-vector component (radians, MANO joint order, axes as
# above): generous enough for everyday grasps, tight enough that sampled hands look human.
# Fingers: MCP flexion -20..92 deg, PIP -3..103, DIP -9..80; abduction mostly at the MCP,
# toward the outside for index and pinky; twist only a few degrees. Thumb: CMC opposition
# -11..69 deg and flexion -17..46; MCP flexion -6..52; IP -17..74.
_MCP_ABDUCTION = {"index": (-0.4, 0.2), "middle": (-0.25, 0.25), "pinky": (-0.2, 0.5), "ring": (-0.2, 0.3)}
JOINT_LIMITS = np.array(
    [
        row
        for finger in ("index", "middle", "pinky", "ring")
        for row in (
            [(-0.20, 0.20), _MCP_ABDUCTION[finger], (-0.35, 1.60)],
            [(-0.05, 0.05), (-0.10, 0.10), (-0.05, 1.80)],
            [(-0.05, 0.05), (-0.10, 0.10), (-0.15, 1.40)],
        )
    ]
    + [
        [(-0.40, 0.40), (-0.30, 0.80), (-0.20, 1.20)],
        [(-0.15, 0.15), (-0.10, 0.90), (-0.15, 0.30)],
        [(-0.10, 0.10), (-0.30, 1.30), (-0.10, 0.10)],
    ]
)  # (15, 3, 2): [joint, axis, (low, high)]


@dataclass(frozen=True)
class HandFit:
    """Result of ``inverse_kinematics``; leading axes are those of the fitted keypoints.

    Attributes:
        wrist_rotation: (..., 3, 3) from the hand frame to the keypoints' frame (e.g. the camera's).
        wrist_translation: (..., 3) the wrist keypoint.
        theta: (..., 15, 3) local axis-angle finger rotations, MANO order.
        beta: (10,) the shape used (with the fitted ``beta[0]`` when ``fit_scale``).
        error: (...,) root-mean-square distance between the fitted and given keypoints, metres.
    """

    wrist_rotation: np.ndarray
    wrist_translation: np.ndarray
    theta: np.ndarray
    beta: np.ndarray
    error: np.ndarray


def beta_scales(beta: ArrayLike | None = None) -> np.ndarray:
    """Multiplicative factors (10,) ``exp(BETA_SIGMAS * beta)``; renderers read 8 and 9 here."""
    return np.exp(BETA_SIGMAS * _check_beta(beta))


def rest_offsets(beta: ArrayLike | None = None, side: Side = "right") -> np.ndarray:
    """Offset (21, 3) of each keypoint from its parent (``KEYPOINT_PARENTS``) at theta = 0.

    Row 0 (the wrist) is zero. Expressed in the hand frame, so with the rotations of
    ``keypoint_frames``: ``keypoints[k] = keypoints[parent] + frames[parent] @ offsets[k]``.
    """
    scales = beta_scales(beta)
    offsets = np.zeros((NUM_KEYPOINTS, 3))
    palm_scale = np.array([scales[2], 1.0, scales[1]])
    for finger, base in enumerate(_FINGER_BASES):
        offsets[base] = np.asarray(_PALM_OFFSETS[base]) * palm_scale
        direction = _THUMB_DIRECTION if base == 1 else np.array([1.0, 0.0, 0.0])
        offsets[base + 1 : base + 4] = np.outer(_BONE_LENGTHS[base], direction) * scales[3 + finger]
    offsets *= scales[0]
    return offsets * _MIRROR if _check_side(side) == "left" else offsets


def rest_keypoints(beta: ArrayLike | None = None, side: Side = "right") -> np.ndarray:
    """Keypoints (21, 3) of the flat rest hand in its own frame (wrist at the origin)."""
    offsets = rest_offsets(beta, side)
    points = np.zeros_like(offsets)
    for k in range(1, NUM_KEYPOINTS):
        points[k] = points[KEYPOINT_PARENTS[k]] + offsets[k]
    return points


def forward_kinematics(
    wrist_rotation: ArrayLike | Rotation,
    wrist_translation: ArrayLike,
    theta: ArrayLike,
    beta: ArrayLike | None = None,
    side: Side = "right",
) -> np.ndarray:
    """Keypoints (..., 21, 3) of a posed hand.

    Args:
        wrist_rotation: (..., 3, 3) rotation matrices, (..., 3) rotation vectors or a
            ``Rotation``. An array ending in (3, 3) is always read as matrices and must hold
            proper rotations; wrap rotation vectors of exactly 3 frames in a ``Rotation``.
        wrist_translation: (..., 3) position of the wrist keypoint.
        theta: (..., 15, 3) local finger rotations (axis-angle, MANO order).
        beta: (10,) shape; ``None`` is the average hand.
        side: ``"left"`` mirrors the right-hand model in x (module docstring).

    Leading axes of the three pose arrays broadcast against each other.
    """
    rotation, translation, local = _check_pose(wrist_rotation, wrist_translation, theta)
    points, _ = _chain(local, rest_offsets(beta))
    if _check_side(side) == "left":
        points = points * _MIRROR
    return np.einsum("...ij,...kj->...ki", rotation, points) + translation[..., None, :]


def keypoint_frames(wrist_rotation: ArrayLike | Rotation, theta: ArrayLike, side: Side = "right") -> np.ndarray:
    """Rotation (..., 21, 3, 3) of the rigid frame at each keypoint, for skinning a mesh.

    Frame 0 is the wrist, a joint keypoint carries its joint's global rotation and a fingertip
    its parent's. The bone from ``KEYPOINT_PARENTS[k]`` to ``k`` moves rigidly with the parent's
    frame, applied to ``rest_offsets(beta, side)`` (mirrored geometry for a left hand, whose
    frames are then ``R M G M``, proper rotations).
    """
    rotation, _, local = _check_pose(wrist_rotation, np.zeros(3), theta)
    _, frames = _chain(local, rest_offsets())
    if _check_side(side) == "left":
        frames = frames * np.outer(_MIRROR, _MIRROR)  # M G M for M = diag(-1, 1, 1)
    return np.einsum("...ij,...kjl->...kil", rotation, frames)


def mirror_keypoints(points: ArrayLike) -> np.ndarray:
    """Points (..., 3) reflected through the y-z plane (x negated); its own inverse."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim == 0 or points.shape[-1] != 3:
        raise ValueError(f"points: expected shape (..., 3), got {points.shape}")
    return points * _MIRROR


def mirror_pose(
    wrist_rotation: ArrayLike | Rotation, wrist_translation: ArrayLike, theta: ArrayLike
) -> tuple[np.ndarray | Rotation, np.ndarray, np.ndarray]:
    """Pose of the mirror-image hand (on the other side): ``(M R M, M t, theta)``.

    The rotation keeps its form (matrices, rotation vectors or ``Rotation``); theta is unchanged
    because both sides share the right-hand convention. Mirroring twice is the identity.
    """
    if isinstance(wrist_rotation, Rotation):
        return (
            Rotation.from_matrix(wrist_rotation.as_matrix() * np.outer(_MIRROR, _MIRROR)),
            mirror_keypoints(wrist_translation),
            _check_theta(theta).copy(),
        )
    rotation = np.asarray(wrist_rotation, dtype=np.float64)
    if _is_matrix(rotation):
        mirrored = rotation * np.outer(_MIRROR, _MIRROR)
    else:
        mirrored = _check_rotvec(rotation) * -_MIRROR  # a rotation vector maps to (x, -y, -z)
    return mirrored, mirror_keypoints(wrist_translation), _check_theta(theta).copy()


def palm_point(keypoints: ArrayLike) -> np.ndarray:
    """VITRA's palm point (..., 3): the mean of keypoints 0, 2, 5, 9, 13, 17."""
    return _check_keypoints(keypoints)[..., list(PALM_KEYPOINTS), :].mean(axis=-2)


def sample_pose(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random plausible finger poses (n, 15, 3), uniform within ``JOINT_LIMITS``.

    Both sides share the convention, so the same samples serve left hands.
    """
    low, high = JOINT_LIMITS[..., 0], JOINT_LIMITS[..., 1]
    return low + rng.random((n, NUM_JOINTS, 3)) * (high - low)


def from_mano(global_orient: ArrayLike, hand_pose: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert genuine MANO rotations (matrices, as VITRA-1M stores them) to this skeleton's.

    Args:
        global_orient: (..., 3, 3) MANO ``global_orient``.
        hand_pose: (..., 15, 3, 3) MANO local joint rotations.

    Returns:
        ``(wrist_rotation (..., 3, 3), theta (..., 15, 3))``. Both sides convert alike; MANO's
        ``transl`` as VITRA stores it is already the wrist keypoint and needs no change.
    """
    orient = _check_matrices(global_orient, "global_orient")
    pose = _check_matrices(hand_pose, "hand_pose")
    if pose.shape[-3] != NUM_JOINTS:
        raise ValueError(f"hand_pose: expected shape (..., 15, 3, 3), got {pose.shape}")
    theta = Rotation.from_matrix((_MANO_AXES @ pose @ _MANO_AXES).reshape(-1, 3, 3)).as_rotvec()
    return orient @ _MANO_AXES, theta.reshape(pose.shape[:-2] + (3,))


def to_mano(wrist_rotation: ArrayLike | Rotation, theta: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of ``from_mano``: ``(global_orient (..., 3, 3), hand_pose (..., 15, 3, 3))``."""
    rotation, theta = _as_matrices(wrist_rotation), _check_theta(theta)
    return rotation @ _MANO_AXES, _MANO_AXES @ _rotation_matrices(theta) @ _MANO_AXES


def inverse_kinematics(
    keypoints: ArrayLike,
    beta: ArrayLike | None = None,
    side: Side = "right",
    *,
    theta_init: ArrayLike | None = None,
    fit_scale: bool = False,
    regularization: float = 1e-3,
) -> HandFit:
    """Fit wrist pose and finger rotations to keypoints (..., 21, 3) by least squares.

    The palm is rigid, so the wrist pose comes in closed form: the translation is the observed
    wrist keypoint and the rotation best aligns the palm keypoints 1, 5, 9, 13, 17 about it
    (Kabsch); it is not refined with the fingers, so noise on the palm passes into it. Each
    finger chain then depends only on its own nine rotation components: a closed-form "swing"
    solution (each bone turned onto its observed direction, with no twist) starts a
    Levenberg-Marquardt fit run on all chains of all frames at once, vectorised; clean keypoints
    take two or three iterations.

    Args:
        keypoints: (..., 21, 3) keypoints of one hand, metres; leading axes are frames.
        beta: (10,) shape held fixed (``None``: the average hand).
        side: which hand the keypoints show.
        theta_init: initial finger pose, (15, 3) or (..., 15, 3), e.g. the previous frame's
            solution when tracking online; the fit is local, so it must be close. Default: the
            swing solution, which is exact for noise-free keypoints of this skeleton.
        fit_scale: replace ``beta[0]`` by the global scale whose bone lengths best match the
            observed ones (least squares over all frames and bones, one value for the whole
            sequence: a hand does not change size); the other betas stay as given.
        regularization: weight of ``theta`` in the residual, metres per radian: 1e-3 trades
            1 rad of rotation for 1 mm of keypoint error. It picks the smallest rotations among
            the equally good ones (twist about a bone is invisible in keypoints).
    """
    observed = _check_keypoints(keypoints)
    if not regularization > 0:
        raise ValueError(f"regularization must be positive, got {regularization}")
    lead = observed.shape[:-2]
    points = observed.reshape(-1, NUM_KEYPOINTS, 3)
    if _check_side(side) == "left":
        points = points * _MIRROR  # the mirror image of a left hand is a right hand
    beta = _check_beta(beta).copy()
    if fit_scale:
        beta[0] = _fit_scale(points, beta)
    offsets = rest_offsets(beta)

    translation = points[:, 0]
    rotation = _kabsch(offsets[_FINGER_BASES], points[:, _FINGER_BASES] - translation[:, None])
    local_points = np.einsum("nji,nkj->nki", rotation, points - translation[:, None])
    if theta_init is None:
        theta0 = _swing_solution(local_points, offsets)
    else:
        theta0 = np.broadcast_to(_check_theta(theta_init), lead + (NUM_JOINTS, 3)).reshape(-1, NUM_JOINTS, 3)
    theta = _refine(local_points, offsets, theta0, regularization)

    if side == "left":
        rotation, translation = rotation * np.outer(_MIRROR, _MIRROR), translation * _MIRROR
    rotation = rotation.reshape(lead + (3, 3))
    translation = translation.reshape(lead + (3,))
    theta = theta.reshape(lead + (NUM_JOINTS, 3))
    fitted = forward_kinematics(rotation, translation, theta, beta, side)
    error = np.sqrt(np.mean(np.sum((fitted - observed) ** 2, axis=-1), axis=-1))
    return HandFit(rotation, translation, theta, beta, error)


# --- internals -------------------------------------------------------------------------------


def _chain(local: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hand-frame keypoints (..., 21, 3) and keypoint frames (..., 21, 3, 3) of a right hand."""
    lead = local.shape[:-3]
    points = np.zeros(lead + (NUM_KEYPOINTS, 3))
    frames = np.broadcast_to(np.eye(3), lead + (NUM_KEYPOINTS, 3, 3)).copy()
    position = np.broadcast_to(offsets[_FINGER_BASES], lead + (5, 3))
    points[..., _FINGER_BASES, :] = position
    frame = frames[..., _FINGER_BASES, :, :]
    for level in range(3):
        frame = frame @ local[..., _FINGER_JOINTS[:, level], :, :]
        frames[..., _FINGER_BASES + level, :, :] = frame
        position = position + np.einsum("...fij,fj->...fi", frame, offsets[_FINGER_BASES + level + 1])
        points[..., _FINGER_BASES + level + 1, :] = position
    frames[..., _FINGER_BASES + 3, :, :] = frame
    return points, frames


def _rotation_matrices(rotvecs: np.ndarray) -> np.ndarray:
    """Matrices (..., 3, 3) of rotation vectors (..., 3)."""
    flat = np.array(rotvecs, dtype=np.float64).reshape(-1, 3)  # a copy: scipy rejects read-only views
    return Rotation.from_rotvec(flat).as_matrix().reshape(rotvecs.shape + (3,))


def _kabsch(model: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Rotations (N, 3, 3) best taking ``model`` (P, 3) onto each ``observed`` (N, P, 3), about the origin."""
    u, _, vt = np.linalg.svd(np.einsum("pi,npj->nij", model, observed))
    d = np.sign(np.linalg.det(np.swapaxes(vt, -1, -2) @ np.swapaxes(u, -1, -2)))
    d[d == 0] = 1.0
    correction = np.broadcast_to(np.eye(3), d.shape + (3, 3)).copy()
    correction[:, 2, 2] = d
    return np.swapaxes(vt, -1, -2) @ correction @ np.swapaxes(u, -1, -2)


def _swing_solution(local_points: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Finger rotations (N, 15, 3) turning each rest bone onto its observed direction, twist-free."""
    theta = np.zeros((len(local_points), NUM_JOINTS, 3))
    frame = np.broadcast_to(np.eye(3), (len(local_points), 5, 3, 3))
    for level in range(3):
        bone = local_points[:, _FINGER_BASES + level + 1] - local_points[:, _FINGER_BASES + level]
        target = np.einsum("nfji,nfj->nfi", frame, bone)  # observed bone in the parent joint's frame
        rotvec = _minimal_rotation(offsets[_FINGER_BASES + level + 1], target)
        theta[:, _FINGER_JOINTS[:, level]] = rotvec
        frame = frame @ _rotation_matrices(rotvec)
    return theta


def _minimal_rotation(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation vectors turning directions ``source`` onto ``target`` about their common normal."""
    a = source / np.linalg.norm(source, axis=-1, keepdims=True)
    b = target / np.maximum(np.linalg.norm(target, axis=-1, keepdims=True), 1e-12)
    a = np.broadcast_to(a, b.shape)
    cross = np.cross(a, b)
    sin, cos = np.linalg.norm(cross, axis=-1), np.sum(a * b, axis=-1)
    axis = cross / np.maximum(sin, 1e-12)[..., None]
    opposite = (sin < 1e-9) & (cos < 0)  # any normal serves for a half turn
    if np.any(opposite):
        normal = np.cross(a[opposite], np.eye(3)[np.argmin(np.abs(a[opposite]), axis=-1)])
        axis[opposite] = normal / np.linalg.norm(normal, axis=-1, keepdims=True)
    return axis * np.arctan2(sin, cos)[..., None]


def _refine(local_points: np.ndarray, offsets: np.ndarray, theta0: np.ndarray, weight: float) -> np.ndarray:
    """Regularised least squares on every finger chain of every frame, as one batch.

    The chains are independent 9-parameter problems, so each gets its own Levenberg-Marquardt
    damping (Nielsen's update) and an analytic Jacobian. scipy's ``least_squares`` on the stacked
    block-sparse problem shares one trust region among thousands of chains and was ~20x slower
    on noisy keypoints.
    """
    n = len(local_points)
    chain = _FINGER_BASES[:, None] + np.arange(4)  # (5, 4): base keypoint, then the moved ones
    parent_of_joint = np.array(KEYPOINT_PARENTS)[chain[:, :3]]  # keypoint whose frame each joint turns in
    target = local_points[:, chain[:, 1:]].reshape(n, 5, 9)
    theta = theta0.copy()

    def evaluate(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Residuals (n, 5, 18), chain keypoints (n, 5, 4, 3), joints' parent frames (n, 5, 3, 3, 3)."""
        theta[:, _FINGER_JOINTS] = x.reshape(n, 5, 3, 3)
        points, frames = _chain(_rotation_matrices(theta), offsets)
        error = points[:, chain[:, 1:]].reshape(n, 5, 9) - target
        return np.concatenate([error, weight * x], axis=-1), points[:, chain], frames[:, parent_of_joint]

    def jacobian(x: np.ndarray, positions: np.ndarray, parents: np.ndarray) -> np.ndarray:
        # Nudging joint l's rotation vector by d turns everything distal to it by the rotation
        # vector w = parent_l @ J_left(theta_l) @ d, so keypoint m moves by w x (p_m - p_l).
        jac = np.zeros((n, 5, 18, 9))
        for level in range(3):
            turn = parents[:, :, level] @ _left_jacobian(x[..., 3 * level : 3 * level + 3])
            for m in range(level + 1, 4):
                lever = positions[:, :, m] - positions[:, :, level]
                jac[:, :, 3 * m - 3 : 3 * m, 3 * level : 3 * level + 3] = -_skew(lever) @ turn
        jac[:, :, 9:] = weight * np.eye(9)
        return jac

    x = theta0[:, _FINGER_JOINTS].reshape(n, 5, 9)
    residual, positions, parents = evaluate(x)
    cost = np.sum(residual**2, axis=-1)
    jac = jacobian(x, positions, parents)
    normal = np.swapaxes(jac, -1, -2) @ jac
    damping = 1e-6 * np.einsum("nfii->nfi", normal).max(axis=-1)
    growth = np.full((n, 5), 2.0)
    active = np.ones((n, 5), dtype=bool)
    for _ in range(100):
        gradient = np.einsum("nfri,nfr->nfi", jac, residual)
        step = -np.linalg.solve(normal + damping[..., None, None] * np.eye(9), gradient[..., None])[..., 0]
        promised = -2.0 * np.sum(gradient * step, axis=-1) - np.sum((jac @ step[..., None]) ** 2, axis=(-2, -1))
        # A chain is done once its linear model promises no real decrease: twists keep creeping
        # along the weakly regularised null space long after the keypoints have settled.
        active &= promised > 1e-6 * cost
        if not np.any(active):
            break
        new_residual, new_positions, new_parents = evaluate(x + step)
        new_cost = np.sum(new_residual**2, axis=-1)
        better = active & (new_cost < cost)
        worse = active & ~better
        gain = (cost[better] - new_cost[better]) / promised[better]
        x[better] += step[better]
        residual[better], cost[better] = new_residual[better], new_cost[better]
        positions[better], parents[better] = new_positions[better], new_parents[better]
        damping[better] *= np.maximum(1 / 3, 1 - (2 * gain - 1) ** 3)
        damping[worse] *= growth[worse]
        growth[better], growth[worse] = 2.0, 2.0 * growth[worse]
        jac = jacobian(x, positions, parents)
        normal = np.swapaxes(jac, -1, -2) @ jac
    theta[:, _FINGER_JOINTS] = x.reshape(n, 5, 3, 3)
    return Rotation.from_rotvec(theta.reshape(-1, 3)).as_rotvec().reshape(theta.shape)  # angles <= pi


def _left_jacobian(rotvec: np.ndarray) -> np.ndarray:
    """Left Jacobian of SO(3) (..., 3, 3): exp(r + d) ~ exp(J d) exp(r) for small d."""
    angle = np.linalg.norm(rotvec, axis=-1)[..., None, None]
    small = angle < 1e-4
    safe = np.where(small, 1.0, angle)
    a = np.where(small, 0.5 - angle**2 / 24.0, (1.0 - np.cos(safe)) / safe**2)
    b = np.where(small, 1.0 / 6.0 - angle**2 / 120.0, (safe - np.sin(safe)) / safe**3)
    k = _skew(rotvec)
    return np.eye(3) + a * k + b * (k @ k)


def _skew(v: np.ndarray) -> np.ndarray:
    """Cross-product matrices (..., 3, 3): ``_skew(a) @ b == np.cross(a, b)``."""
    out = np.zeros(v.shape + (3,))
    out[..., 0, 1], out[..., 0, 2] = -v[..., 2], v[..., 1]
    out[..., 1, 0], out[..., 1, 2] = v[..., 2], -v[..., 0]
    out[..., 2, 0], out[..., 2, 1] = -v[..., 1], v[..., 0]
    return out


def _fit_scale(points: np.ndarray, beta: np.ndarray) -> float:
    """``beta[0]`` whose bone lengths best match the observed ones, over all frames."""
    unit = beta.copy()
    unit[0] = 0.0
    model = np.linalg.norm(rest_offsets(unit)[1:], axis=-1)
    observed = np.linalg.norm(points[:, 1:] - points[:, list(KEYPOINT_PARENTS[1:])], axis=-1)
    scale = np.sum(observed * model) / (len(points) * np.sum(model**2))
    if not scale > 0:
        raise ValueError("fit_scale: keypoints are degenerate (all bones of zero length)")
    return float(np.log(scale) / BETA_SIGMAS[0])


def _check_side(side: str) -> str:
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    return side


def _check_beta(beta: ArrayLike | None) -> np.ndarray:
    if beta is None:
        return np.zeros(NUM_BETAS)
    beta = np.asarray(beta, dtype=np.float64)
    if beta.shape != (NUM_BETAS,):
        raise ValueError(f"beta: expected shape ({NUM_BETAS},), got {beta.shape}")
    if not np.all(np.isfinite(beta)):
        raise ValueError("beta: contains NaN or inf")
    return beta


def _check_rows(array: ArrayLike, rows: int, name: str) -> np.ndarray:
    """``array`` as float64 of shape (..., rows, 3), finite."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim < 2 or array.shape[-2:] != (rows, 3):
        raise ValueError(f"{name}: expected shape (..., {rows}, 3), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: contains NaN or inf")
    return array


def _check_theta(theta: ArrayLike) -> np.ndarray:
    return _check_rows(theta, NUM_JOINTS, "theta")


def _check_keypoints(keypoints: ArrayLike) -> np.ndarray:
    return _check_rows(keypoints, NUM_KEYPOINTS, "keypoints")


def _check_rotvec(rotvec: np.ndarray) -> np.ndarray:
    if rotvec.ndim == 0 or rotvec.shape[-1] != 3:
        raise ValueError(
            f"wrist_rotation: expected (..., 3, 3) matrices or (..., 3) rotation vectors, got {rotvec.shape}"
        )
    if not np.all(np.isfinite(rotvec)):
        raise ValueError("wrist_rotation: contains NaN or inf")
    return rotvec


def _is_matrix(rotation: np.ndarray) -> bool:
    """Whether an array is read as rotation matrices; raises if it looks like ones but is not."""
    if rotation.ndim < 2 or rotation.shape[-2:] != (3, 3):
        return False
    _check_matrices(rotation, "wrist_rotation")
    return True


def _check_matrices(matrices: ArrayLike, name: str) -> np.ndarray:
    matrices = np.asarray(matrices, dtype=np.float64)
    if matrices.ndim < 2 or matrices.shape[-2:] != (3, 3):
        raise ValueError(f"{name}: expected shape (..., 3, 3), got {matrices.shape}")
    gram = np.swapaxes(matrices, -1, -2) @ matrices
    if not (np.allclose(gram, np.eye(3), atol=1e-4) and np.allclose(np.linalg.det(matrices), 1.0, atol=1e-4)):
        raise ValueError(
            f"{name}: arrays ending in (3, 3) are read as rotation matrices, and these are not proper "
            "rotations (for rotation vectors of 3 frames, pass a scipy Rotation)"
        )
    return matrices


def _as_matrices(rotation: ArrayLike | Rotation) -> np.ndarray:
    if isinstance(rotation, Rotation):
        return rotation.as_matrix()
    rotation = np.asarray(rotation, dtype=np.float64)
    if _is_matrix(rotation):
        return rotation
    return _rotation_matrices(_check_rotvec(rotation))


def _check_pose(
    wrist_rotation: ArrayLike | Rotation, wrist_translation: ArrayLike, theta: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Broadcast pose arrays to one leading shape: rotations, translations, local joint matrices."""
    rotation = _as_matrices(wrist_rotation)
    translation = np.asarray(wrist_translation, dtype=np.float64)
    if translation.ndim == 0 or translation.shape[-1] != 3 or not np.all(np.isfinite(translation)):
        raise ValueError(f"wrist_translation: expected finite (..., 3), got shape {translation.shape}")
    theta = _check_theta(theta)
    try:
        lead = np.broadcast_shapes(rotation.shape[:-2], translation.shape[:-1], theta.shape[:-2])
    except ValueError:
        raise ValueError(
            f"leading axes do not broadcast: wrist_rotation {rotation.shape}, "
            f"wrist_translation {translation.shape}, theta {theta.shape}"
        ) from None
    return (
        np.broadcast_to(rotation, lead + (3, 3)),
        np.broadcast_to(translation, lead + (3,)),
        np.broadcast_to(_rotation_matrices(theta), lead + (NUM_JOINTS, 3, 3)),
    )

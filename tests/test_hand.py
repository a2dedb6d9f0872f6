"""The hand skeleton: rest-pose conventions, shape, FK/IK round trips, mirroring, input checks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from vitra_bench import hand

INDEX1, THUMB1 = hand.FINGER_JOINT_NAMES.index("index1"), hand.FINGER_JOINT_NAMES.index("thumb1")
FINGERS = {"thumb": 1, "index": 5, "middle": 9, "ring": 13, "pinky": 17}  # first keypoint of each


def random_poses(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random wrist rotations (n, 3, 3), translations (n, 3), plausible theta (n, 15, 3), beta (10,)."""
    rotation = Rotation.random(n, random_state=rng).as_matrix()
    translation = rng.uniform(-0.5, 0.5, size=(n, 3)) + np.array([0.0, 0.0, 0.6])
    beta = np.clip(rng.standard_normal(hand.NUM_BETAS), -2, 2)
    return rotation, translation, hand.sample_pose(rng, n), beta


def bone_lengths(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[1:] - points[list(hand.KEYPOINT_PARENTS[1:])], axis=-1)


def tip_after(joint: int, rotvec: tuple[float, float, float], tip: int) -> np.ndarray:
    theta = np.zeros((15, 3))
    theta[joint] = rotvec
    return hand.forward_kinematics(np.eye(3), np.zeros(3), theta)[tip]


# --- rest pose and conventions ---------------------------------------------------------------


def test_tables_are_consistent():
    assert len(hand.KEYPOINT_NAMES) == 21 and len(hand.FINGER_JOINT_NAMES) == 15
    assert hand.FINGER_JOINT_NAMES[:4] == ("index1", "index2", "index3", "middle1")
    assert hand.FINGER_JOINT_NAMES[6] == "pinky1" and hand.FINGER_JOINT_NAMES[9] == "ring1"
    assert all(hand.KEYPOINT_NAMES[k].endswith("_tip") for k in hand.FINGERTIPS)
    for joint, name in enumerate(hand.FINGER_JOINT_NAMES):
        keypoint = hand.JOINT_KEYPOINTS[joint]
        finger, level = name[:-1], int(name[-1])
        assert keypoint == FINGERS[finger] + level - 1
        parent = hand.JOINT_PARENTS[joint]
        assert (parent == -1) == (level == 1)
        if parent >= 0:
            assert hand.KEYPOINT_PARENTS[keypoint] == hand.JOINT_KEYPOINTS[parent]
    assert hand.JOINT_LIMITS.shape == (15, 3, 2)
    assert np.all(hand.JOINT_LIMITS[..., 0] < hand.JOINT_LIMITS[..., 1])


def test_rest_pose_is_a_flat_average_right_hand():
    rest = hand.rest_keypoints()
    assert np.allclose(rest[0], 0.0)
    assert np.allclose(rest[:, 1], 0.0)  # flat: every keypoint in the palm plane y = 0
    for finger in ("index", "middle", "ring", "pinky"):
        chain = rest[FINGERS[finger] : FINGERS[finger] + 4]
        assert np.allclose(chain[:, 1:], chain[0, 1:])  # a straight line ...
        assert np.all(np.diff(chain[:, 0]) > 0)  # ... pointing along +x
    assert np.all(rest[1:5, 2] > rest[5, 2])  # the thumb is on the +z side
    thumb = rest[4] - rest[1]
    assert thumb[0] > 0 and thumb[2] > 0  # pointing diagonally forward and out
    # Palm normal: (index side - pinky side) x (toward the fingers) = +z x +x = +y.
    normal = np.cross(rest[5] - rest[17], rest[9] - rest[0])
    assert normal[1] > 0 and np.allclose(normal[[0, 2]], 0.0)
    assert 0.17 < rest[12, 0] < 0.20  # hand length, wrist to middle fingertip
    assert 0.085 < rest[9, 0] < 0.105  # palm length, wrist to middle MCP


def test_flexion_axes():
    index_tip, thumb_tip = tip_after(INDEX1, (0, 0, 0), 8), tip_after(THUMB1, (0, 0, 0), 4)
    # +z flexes a finger toward the palm (+y); every finger the same way.
    for joint, tip in ((INDEX1, 8), (3, 12), (6, 20), (9, 16)):
        assert tip_after(joint, (0, 0, 0.5), tip)[1] > 0.02
        assert tip_after(joint, (0, 0, -0.3), tip)[1] < 0
    assert tip_after(INDEX1, (0, 0.3, 0), 8)[2] < index_tip[2]  # +y swings toward the pinky
    # Thumb: +y flexes it across the palm plane toward the fingers, +z lifts it toward the palm.
    flexed = tip_after(THUMB1, (0, 0.5, 0), 4)
    assert flexed[2] < thumb_tip[2] - 0.02 and abs(flexed[1]) < 1e-12
    opposed = tip_after(THUMB1, (0, 0, 0.5), 4)
    assert opposed[1] > 0.02


def test_forward_kinematics_places_and_turns_the_rest_hand():
    rng = np.random.default_rng(0)
    rotation, translation, _, beta = random_poses(rng, 1)
    points = hand.forward_kinematics(rotation[0], translation[0], np.zeros((15, 3)), beta)
    expected = hand.rest_keypoints(beta) @ rotation[0].T + translation[0]
    assert np.allclose(points, expected)
    assert np.allclose(points[0], translation[0])  # the wrist keypoint is the translation


def test_rotation_forms_and_broadcasting_agree():
    rng = np.random.default_rng(1)
    rotation, translation, theta, beta = random_poses(rng, 6)
    matrices = hand.forward_kinematics(rotation, translation, theta, beta)
    rotvecs = hand.forward_kinematics(Rotation.from_matrix(rotation).as_rotvec(), translation, theta, beta)
    objects = hand.forward_kinematics(Rotation.from_matrix(rotation), translation, theta, beta)
    assert matrices.shape == (6, 21, 3)
    assert np.allclose(matrices, rotvecs) and np.allclose(matrices, objects)
    read_only = np.broadcast_to([0.1, 0.2, 0.3], (6, 3))
    shared = hand.forward_kinematics(read_only, translation, theta, beta)
    assert np.allclose(shared[0], hand.forward_kinematics([0.1, 0.2, 0.3], translation[0], theta[0], beta))
    grid = hand.forward_kinematics(
        rotation.reshape(2, 3, 3, 3), translation.reshape(2, 3, 3), theta.reshape(2, 3, 15, 3), beta
    )
    assert np.allclose(grid.reshape(6, 21, 3), matrices)
    one_wrist = hand.forward_kinematics(rotation[0], translation[0], theta, beta)
    assert np.allclose(one_wrist[2], hand.forward_kinematics(rotation[0], translation[0], theta[2], beta))


@pytest.mark.parametrize("side", ["right", "left"])
def test_keypoint_frames_carry_the_rest_bones(side):
    rng = np.random.default_rng(2)
    rotation, translation, theta, beta = random_poses(rng, 4)
    points = hand.forward_kinematics(rotation, translation, theta, beta, side)
    frames = hand.keypoint_frames(rotation, theta, side)
    assert frames.shape == (4, 21, 3, 3)
    assert np.allclose(np.linalg.det(frames), 1.0)
    offsets = hand.rest_offsets(beta, side)
    for k in range(1, 21):
        parent = hand.KEYPOINT_PARENTS[k]
        assert np.allclose(points[:, k] - points[:, parent], frames[:, parent] @ offsets[k])


# --- shape -----------------------------------------------------------------------------------


def test_global_scale_beta_scales_every_bone():
    beta = np.zeros(10)
    beta[0] = 1.5
    ratio = bone_lengths(hand.rest_keypoints(beta)) / bone_lengths(hand.rest_keypoints())
    assert np.allclose(ratio, np.exp(hand.BETA_SIGMAS[0] * 1.5))


@pytest.mark.parametrize("finger", ["thumb", "index", "middle", "ring", "pinky"])
def test_finger_length_betas_scale_only_their_finger(finger):
    k = hand.BETA_NAMES.index(f"{finger}_length")
    beta = np.zeros(10)
    beta[k] = -2.0
    ratio = bone_lengths(hand.rest_keypoints(beta)) / bone_lengths(hand.rest_keypoints())
    own = np.arange(FINGERS[finger] + 1, FINGERS[finger] + 4) - 1  # bone ending at keypoint k is k-1
    assert np.allclose(ratio[own], np.exp(-2.0 * hand.BETA_SIGMAS[k]))
    assert np.allclose(np.delete(ratio, own), 1.0)


def test_palm_betas_and_renderer_only_betas():
    rest = hand.rest_keypoints()
    roots = list(FINGERS.values())
    wide = hand.rest_keypoints(np.eye(10)[hand.BETA_NAMES.index("palm_width")])
    assert np.allclose(wide[roots, 2], rest[roots, 2] * np.exp(hand.BETA_SIGMAS[1]))
    assert np.allclose(wide[roots, 0], rest[roots, 0])
    long = hand.rest_keypoints(np.eye(10)[hand.BETA_NAMES.index("palm_length")])
    assert np.allclose(long[roots, 0], rest[roots, 0] * np.exp(hand.BETA_SIGMAS[2]))
    for name in ("finger_thickness", "palm_thickness"):
        k = hand.BETA_NAMES.index(name)
        assert np.allclose(hand.rest_keypoints(3.0 * np.eye(10)[k]), rest)
        assert hand.beta_scales(np.eye(10)[k])[k] == pytest.approx(np.exp(hand.BETA_SIGMAS[k]))


def test_palm_point_is_the_mean_of_vitras_six_keypoints():
    points = np.random.default_rng(3).normal(size=(5, 21, 3))
    expected = (points[:, 0] + points[:, 2] + points[:, 5] + points[:, 9] + points[:, 13] + points[:, 17]) / 6
    assert np.allclose(hand.palm_point(points), expected)
    assert hand.palm_point(points[0]).shape == (3,)


# --- mirroring -------------------------------------------------------------------------------


def test_mirroring_twice_is_the_identity():
    rng = np.random.default_rng(4)
    rotation, translation, theta, _ = random_poses(rng, 5)
    points = rng.normal(size=(5, 21, 3))
    assert np.allclose(hand.mirror_keypoints(hand.mirror_keypoints(points)), points)
    for form in (rotation, Rotation.from_matrix(rotation).as_rotvec()):
        twice = hand.mirror_pose(*hand.mirror_pose(form, translation, theta))
        assert all(np.allclose(a, b) for a, b in zip(twice, (form, translation, theta)))
    twice = hand.mirror_pose(*hand.mirror_pose(Rotation.from_matrix(rotation), translation, theta))
    assert np.allclose(twice[0].as_matrix(), rotation)


def test_mirror_pose_forms_agree():
    rng = np.random.default_rng(5)
    rotation, translation, theta, _ = random_poses(rng, 5)
    from_matrix = hand.mirror_pose(rotation, translation, theta)[0]
    from_rotvec = hand.mirror_pose(Rotation.from_matrix(rotation).as_rotvec(), translation, theta)[0]
    from_object = hand.mirror_pose(Rotation.from_matrix(rotation), translation, theta)[0]
    assert np.allclose(np.linalg.det(from_matrix), 1.0)
    assert np.allclose(Rotation.from_rotvec(from_rotvec).as_matrix(), from_matrix)
    assert np.allclose(from_object.as_matrix(), from_matrix)


@pytest.mark.parametrize("side,other", [("right", "left"), ("left", "right")])
def test_mirror_pose_gives_the_mirror_image_hand(side, other):
    rng = np.random.default_rng(6)
    rotation, translation, theta, beta = random_poses(rng, 8)
    points = hand.forward_kinematics(rotation, translation, theta, beta, side)
    mirrored = hand.forward_kinematics(*hand.mirror_pose(rotation, translation, theta), beta, other)
    assert np.allclose(mirrored, hand.mirror_keypoints(points))


def test_left_hand_is_the_mirrored_right_model():
    rng = np.random.default_rng(7)
    rotation, translation, theta, beta = random_poses(rng, 4)
    assert np.allclose(hand.rest_keypoints(beta, "left"), hand.mirror_keypoints(hand.rest_keypoints(beta)))
    # VITRA: right-hand model posed with an identity wrist, x flipped, then the wrist pose applied.
    local = hand.forward_kinematics(np.eye(3), np.zeros(3), theta, beta)
    expected = hand.mirror_keypoints(local) @ np.swapaxes(rotation, -1, -2) + translation[:, None]
    assert np.allclose(hand.forward_kinematics(rotation, translation, theta, beta, "left"), expected)
    # Same theta flexes both hands toward their palms: left palm normal is +y too.
    assert tip_after(INDEX1, (0, 0, 0.5), 8)[1] > 0
    flexed = np.zeros((15, 3))
    flexed[INDEX1] = (0, 0, 0.5)
    assert hand.forward_kinematics(np.eye(3), np.zeros(3), flexed, side="left")[8, 1] > 0


# --- inverse kinematics ----------------------------------------------------------------------


@pytest.mark.parametrize("side", ["right", "left"])
def test_inverse_kinematics_reproduces_keypoints(side):
    rng = np.random.default_rng(8 if side == "right" else 9)
    rotation, translation, theta, beta = random_poses(rng, 300)
    points = hand.forward_kinematics(rotation, translation, theta, beta, side)
    fit = hand.inverse_kinematics(points, beta, side)
    again = hand.forward_kinematics(fit.wrist_rotation, fit.wrist_translation, fit.theta, fit.beta, side)
    assert np.max(np.linalg.norm(again - points, axis=-1)) < 1e-3
    assert np.allclose(fit.error, np.sqrt(np.mean(np.sum((again - points) ** 2, -1), -1)))
    assert np.allclose(fit.wrist_rotation, rotation, atol=1e-9)  # the palm fixes the wrist exactly
    assert np.allclose(fit.wrist_translation, translation)
    # Flexion is observable: recovered to a few degrees on the four fingers.
    assert np.median(np.abs(fit.theta[:, :12, 2] - theta[:, :12, 2])) < 0.05


def test_inverse_kinematics_shapes_warm_start_and_noise():
    rng = np.random.default_rng(10)
    rotation, translation, theta, beta = random_poses(rng, 6)
    points = hand.forward_kinematics(rotation, translation, theta, beta).reshape(2, 3, 21, 3)
    fit = hand.inverse_kinematics(points, beta)
    assert fit.wrist_rotation.shape == (2, 3, 3, 3) and fit.theta.shape == (2, 3, 15, 3)
    assert fit.wrist_translation.shape == (2, 3, 3) and fit.error.shape == (2, 3)
    single = hand.inverse_kinematics(points[0, 0], beta)
    assert single.theta.shape == (15, 3) and single.error.shape == ()
    # Warm start from the previous frame of a slow motion.
    nudged = hand.forward_kinematics(rotation[0], translation[0], theta[0] + 0.02, beta)
    warm = hand.inverse_kinematics(nudged, beta, theta_init=single.theta)
    assert warm.error < 1e-4
    # Noisy keypoints: about as close as the true pose (the wrist pose follows the noisy palm).
    noise = rng.normal(scale=0.002, size=points.shape)
    noise_rms = np.sqrt(np.mean(np.sum(noise**2, axis=-1), axis=-1))
    assert np.all(hand.inverse_kinematics(points + noise, beta).error < 1.2 * noise_rms)


def test_inverse_kinematics_fits_the_global_scale():
    rng = np.random.default_rng(11)
    rotation, translation, theta, beta = random_poses(rng, 20)
    beta[0] = 1.7
    points = hand.forward_kinematics(rotation, translation, theta, beta, "left")
    start = beta.copy()
    start[0] = -1.0
    fit = hand.inverse_kinematics(points, start, "left", fit_scale=True)
    assert fit.beta[0] == pytest.approx(1.7, abs=1e-6)
    assert np.allclose(fit.beta[1:], beta[1:])
    assert np.max(fit.error) < 1e-3


def test_sample_pose_stays_within_limits():
    samples = hand.sample_pose(np.random.default_rng(12), 500)
    assert samples.shape == (500, 15, 3)
    assert np.all(samples >= hand.JOINT_LIMITS[..., 0]) and np.all(samples <= hand.JOINT_LIMITS[..., 1])


# --- genuine MANO parameters -----------------------------------------------------------------


def test_mano_conversion_round_trips_and_keeps_flexion():
    rng = np.random.default_rng(13)
    rotation, _, theta, _ = random_poses(rng, 4)
    orient, pose = hand.to_mano(rotation, theta)
    assert pose.shape == (4, 15, 3, 3)
    back_rotation, back_theta = hand.from_mano(orient, pose)
    assert np.allclose(back_rotation, rotation) and np.allclose(back_theta, theta)
    # MANO's axes are ours turned half a turn about z: z (flexion) agrees, x and y flip.
    mano_pose = Rotation.from_rotvec(np.tile([0.1, 0.2, 0.3], (15, 1))).as_matrix()
    assert np.allclose(hand.from_mano(np.eye(3), mano_pose)[1], [-0.1, -0.2, 0.3])
    # Fingers point along -x in MANO's frame: our +x maps to MANO's -x under the identity.
    assert np.allclose(hand.from_mano(np.eye(3), mano_pose)[0] @ [1, 0, 0], [-1, 0, 0])


# --- input checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: hand.forward_kinematics(np.eye(3), np.zeros(3), np.zeros((15, 2))),
        lambda: hand.forward_kinematics(np.eye(3), np.zeros(3), np.zeros((14, 3))),
        lambda: hand.forward_kinematics(np.eye(3), np.zeros(2), np.zeros((15, 3))),
        lambda: hand.forward_kinematics(np.ones((3, 3)), np.zeros(3), np.zeros((15, 3))),
        lambda: hand.forward_kinematics(np.zeros((4, 4)), np.zeros(3), np.zeros((15, 3))),
        lambda: hand.forward_kinematics(np.zeros((4, 3)), np.zeros((5, 3)), np.zeros((15, 3))),
        lambda: hand.forward_kinematics(np.eye(3), np.zeros(3), np.zeros((15, 3)), beta=np.zeros(9)),
        lambda: hand.forward_kinematics(np.eye(3), np.zeros(3), np.zeros((15, 3)), side="up"),
        lambda: hand.forward_kinematics(np.eye(3), np.zeros(3), np.full((15, 3), np.nan)),
        lambda: hand.inverse_kinematics(np.zeros((20, 3))),
        lambda: hand.inverse_kinematics(np.full((2, 21, 3), np.nan)),
        lambda: hand.inverse_kinematics(np.zeros((21, 3)), fit_scale=True),
        lambda: hand.inverse_kinematics(np.zeros((21, 3)), theta_init=np.zeros(45)),
        lambda: hand.palm_point(np.zeros((21, 2))),
        lambda: hand.mirror_keypoints(np.zeros((21, 4))),
        lambda: hand.mirror_pose(np.zeros(4), np.zeros(3), np.zeros((15, 3))),
        lambda: hand.rest_offsets(np.zeros((2, 10))),
        lambda: hand.from_mano(np.eye(3), np.zeros((15, 3))),
    ],
)
def test_bad_inputs_raise_value_error(call):
    with pytest.raises(ValueError):
        call()

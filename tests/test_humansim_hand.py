"""HumanSim's MuJoCo hands: the body tree reproduces the skeleton, and renders put keypoints on hand pixels."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported: offscreen rendering without a display

import mujoco
import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt
from scipy.spatial.transform import Rotation

from envs.humansim.hand_model import (
    HIDDEN_POSITION,
    SITE_GROUP,
    VISIBLE_GROUP,
    add_hand,
    forearm_geom_ids,
    hand_geom_ids,
    hand_scene,
    hide_hand,
    keypoint_sites,
    sample_appearance,
    segmentation_mask,
    set_hand_pose,
)
from vitra_bench.hand import (
    FINGER_JOINT_NAMES,
    JOINT_KEYPOINTS,
    NUM_KEYPOINTS,
    forward_kinematics,
    mirror_keypoints,
    mirror_pose,
    rest_offsets,
    sample_pose,
)

WIDTH, HEIGHT, FOVY = 320, 240, 45.0


def random_scene(seed: int):
    rng = np.random.default_rng(seed)
    betas = {side: rng.normal(0, 1.5, 10) for side in ("left", "right")}
    spec, handles = hand_scene(betas, {side: sample_appearance(rng) for side in ("left", "right")})
    model = spec.compile()
    return model, mujoco.MjData(model), handles, betas


@pytest.fixture(scope="module")
def scene():
    return random_scene(0)


@pytest.fixture(scope="module")
def renderer(scene):
    model = scene[0]
    try:
        renderer = mujoco.Renderer(model, HEIGHT, WIDTH)
    except Exception as err:  # no GL backend at all (e.g. no EGL/OSMesa library)
        pytest.skip(f"no OpenGL context: {err}")
    yield renderer
    renderer.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sites_match_forward_kinematics(seed):
    model, data, handles, betas = random_scene(seed)
    rng = np.random.default_rng(seed)
    thetas = sample_pose(rng, 20)
    rotations = Rotation.random(20, random_state=seed).as_matrix()
    translations = rng.normal(0, 0.5, (20, 3))
    for side, handle in handles.items():
        other = handles["left" if side == "right" else "right"]
        for rotation, translation, theta in zip(rotations, translations, thetas):
            set_hand_pose(model, data, handle, rotation, translation, theta)
            set_hand_pose(model, data, other, rotation.T, -translation, theta[::-1])  # the hands are independent
            mujoco.mj_forward(model, data)
            expected = forward_kinematics(rotation, translation, theta, betas[side], side)
            np.testing.assert_allclose(keypoint_sites(model, data, handle), expected, atol=1e-6)


def test_body_tree_is_the_skeleton(scene):
    model, _, handles, betas = scene
    for side, handle in handles.items():
        offsets = rest_offsets(betas[side], side)
        for name, keypoint in zip(FINGER_JOINT_NAMES, JOINT_KEYPOINTS):
            body = model.body(f"{handle.prefix}{name}")
            np.testing.assert_allclose(body.pos, offsets[keypoint], atol=1e-12)
            np.testing.assert_allclose(body.quat, [1, 0, 0, 0])
            assert model.joint(f"{handle.prefix}{name}").type == mujoco.mjtJoint.mjJNT_BALL
        assert model.joint(handle.root_joint).type == mujoco.mjtJoint.mjJNT_FREE
        assert {model.site(name).group[0] for name in handle.sites} == {SITE_GROUP}
        geoms = np.concatenate([hand_geom_ids(model, handle), forearm_geom_ids(model, handle)])
        assert np.all(model.geom_group[geoms] == VISIBLE_GROUP)
        assert np.all(model.geom_contype[geoms] == 0) and np.all(model.geom_conaffinity[geoms] == 0)
        assert not set(hand_geom_ids(model, handle)) & set(forearm_geom_ids(model, handle))


def test_left_hand_is_the_mirror_image_of_the_right():
    """Same shape on both sides: the left hand in the mirrored pose puts every geom at the mirrored place."""
    beta = np.random.default_rng(4).normal(0, 1, 10)
    spec, handles = hand_scene({"left": beta, "right": beta})
    model = spec.compile()
    data = mujoco.MjData(model)
    rotation, translation = Rotation.random(random_state=5).as_matrix(), np.array([0.1, -0.2, 0.3])
    theta = sample_pose(np.random.default_rng(6), 1)[0]
    set_hand_pose(model, data, handles["right"], rotation, translation, theta)
    set_hand_pose(model, data, handles["left"], *mirror_pose(rotation, translation, theta))
    mujoco.mj_forward(model, data)
    for geom_ids in (hand_geom_ids, forearm_geom_ids):
        right, left = geom_ids(model, handles["right"]), geom_ids(model, handles["left"])
        np.testing.assert_allclose(data.geom_xpos[left], mirror_keypoints(data.geom_xpos[right]), atol=1e-9)


def test_hands_in_one_spec_need_distinct_prefixes():
    spec = mujoco.MjSpec()
    add_hand(spec, "right", prefix="a_")
    add_hand(spec, "right", prefix="b_")
    assert spec.compile().nbody == 1 + 2 * 16
    with pytest.raises(ValueError, match="repeated name"):
        add_hand(spec, "right", prefix="a_")
    with pytest.raises(ValueError, match="side"):
        add_hand(mujoco.MjSpec(), "up")


def look_at(model, eye, target, up=(0.0, 0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """Point the scene's camera from ``eye`` at ``target``; returns its position and rotation (MuJoCo axes)."""
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    rotation = np.stack([right, np.cross(right, forward), -forward], axis=1)
    model.cam_pos[0], model.cam_fovy[0] = eye, FOVY
    model.cam_quat[0] = Rotation.from_matrix(rotation).as_quat(scalar_first=True)
    return eye, rotation


def project(points, eye, rotation) -> np.ndarray:
    local = (points - eye) @ rotation
    focal = 0.5 * HEIGHT / np.tan(np.radians(FOVY) / 2)
    return np.stack([WIDTH / 2 - focal * local[:, 0] / local[:, 2], HEIGHT / 2 + focal * local[:, 1] / local[:, 2]], 1)


def segment(renderer, data) -> np.ndarray:
    """Segmentation render (H, W, 2): object id and type per pixel."""
    renderer.enable_segmentation_rendering()
    try:
        renderer.update_scene(data, camera="camera")
        return renderer.render()
    finally:
        renderer.disable_segmentation_rendering()


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("facing", ["palm", "back"])
def test_rest_keypoints_fall_on_their_hands_pixels(scene, renderer, side, facing):
    """Flat hand, fingers up, seen face-on: every keypoint projects onto (within 2 px of) that hand's pixels.

    Joint keypoints are inside the flesh; fingertip keypoints lie on the skin at the pad's end, so
    they sit on the silhouette, hence the 2 px tolerance.
    """
    model, data, handles, _ = scene
    handle = handles[side]
    hide_hand(model, data, handles["left" if side == "right" else "right"])
    # Hand frame: fingers along x (-x for the left), palm normal +y. Fingers point to world +z.
    rotation = Rotation.from_euler("y", -90 if side == "right" else 90, degrees=True).as_matrix()
    set_hand_pose(model, data, handle, rotation, np.zeros(3), np.zeros((15, 3)))
    mujoco.mj_forward(model, data)
    keypoints = keypoint_sites(model, data, handle)
    centre = keypoints.mean(axis=0)
    eye, camera = look_at(model, centre + (0.0, 0.4 if facing == "palm" else -0.4, 0.0), centre)
    mujoco.mj_forward(model, data)

    ids = segment(renderer, data)
    hand = segmentation_mask(ids, hand_geom_ids(model, handle))
    assert 0.05 < hand.mean() < 0.5, f"hand covers {hand.mean():.1%} of the image"
    assert segmentation_mask(ids, forearm_geom_ids(model, handle)).any()  # the forearm is seen, and apart
    pixels = project(keypoints, eye, camera)
    assert np.all((pixels > 0) & (pixels < (WIDTH, HEIGHT)))
    distance = distance_transform_edt(~hand)  # px to the nearest hand pixel
    columns, rows = pixels.astype(int).T
    assert distance[rows, columns].max() <= 2.0, distance[rows, columns]
    inside = distance[rows, columns] == 0
    assert inside.sum() >= NUM_KEYPOINTS - 5  # only fingertips may sit on the very edge


def test_segmentation_ids_and_hidden_hand(scene, renderer):
    model, data, handles, _ = scene
    rotation = Rotation.from_euler("y", -90, degrees=True).as_matrix()
    mirrored = Rotation.from_euler("y", 90, degrees=True).as_matrix()  # fingers up, palms toward +y
    set_hand_pose(model, data, handles["right"], rotation, np.array([0.12, 0.0, 0.0]), np.zeros((15, 3)))
    set_hand_pose(model, data, handles["left"], mirrored, (-0.12, 0.0, 0.0), np.zeros((15, 3)))
    look_at(model, np.array([0.0, 0.7, 0.08]), np.array([0.0, 0.0, 0.08]))
    mujoco.mj_forward(model, data)
    ids = segment(renderer, data)
    left, right = (segmentation_mask(ids, hand_geom_ids(model, handles[side])) for side in ("left", "right"))
    assert left.sum() > 500 and right.sum() > 500
    assert not set(hand_geom_ids(model, handles["left"])) & set(hand_geom_ids(model, handles["right"]))
    assert np.median(np.nonzero(left)[1]) > np.median(np.nonzero(right)[1])  # camera on +y: world -x is image right

    hide_hand(model, data, handles["left"])
    mujoco.mj_forward(model, data)
    np.testing.assert_allclose(keypoint_sites(model, data, handles["left"])[0], HIDDEN_POSITION)
    ids = segment(renderer, data)
    hidden = np.concatenate([hand_geom_ids(model, handles["left"]), forearm_geom_ids(model, handles["left"])])
    assert not segmentation_mask(ids, hidden).any()
    assert segmentation_mask(ids, hand_geom_ids(model, handles["right"])).sum() == right.sum()


def test_renders_skin_coloured_pixels(scene, renderer):
    """The RGB render shows the hand in its skin colour (lit, so within a broad band around it)."""
    model, data, handles, _ = scene
    hide_hand(model, data, handles["left"])
    rotation = Rotation.from_euler("y", -90, degrees=True).as_matrix()
    set_hand_pose(model, data, handles["right"], rotation, np.zeros(3), np.zeros((15, 3)))
    look_at(model, np.array([0.0, 0.4, 0.08]), np.array([0.0, 0.0, 0.08]))
    mujoco.mj_forward(model, data)
    renderer.update_scene(data, camera="camera")
    image = renderer.render().astype(float)
    hand = segmentation_mask(segment(renderer, data), hand_geom_ids(model, handles["right"]))
    skin = model.mat_rgba[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_MATERIAL, "right_skin"), :3] * 255
    ratio = np.median(image[hand], axis=0) / skin
    assert np.all((ratio > 0.4) & (ratio < 1.6)), ratio

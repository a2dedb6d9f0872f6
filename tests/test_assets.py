"""The MJCF robot and scene descriptions in assets/xhand1 (Menagerie-style checks).

Numbers copied below come from ROBOT_FACTS.md (cited per block); the kinematics were checked against
the vendor URDFs during development (assets/xhand1/README.md, "Kinematic check"), which are not
needed here.
"""

import warnings

import mujoco
import numpy as np
import pytest

from assets import XHAND1_DIR
from vitra_bench.xhand_mapping import XHAND1_JOINTS, mjcf_joint_names

ALL_XML = sorted(p.name for p in XHAND1_DIR.glob("*.xml"))
ROBOTS = ["xhand_right.xml", "xhand_left.xml", "rm75_6f.xml", "rm75_xhand_right.xml"]
SCENES = sorted(p.name for p in XHAND1_DIR.glob("scene*.xml"))
TIPS = ("thumb_tip", "index_tip", "mid_tip", "ring_tip", "pinky_tip")
ARM_JOINTS = tuple(f"rm_joint{i}" for i in range(1, 8))


def load(name: str) -> mujoco.MjModel:
    return mujoco.MjModel.from_xml_path(str(XHAND1_DIR / name))


def at_home(model: mujoco.MjModel) -> mujoco.MjData:
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("home").id)
    mujoco.mj_forward(model, data)
    return data


def test_expected_files_and_names():
    assert set(ROBOTS + ["scene.xml"]) <= set(ALL_XML)
    model = load("scene.xml")
    for name in mjcf_joint_names("right") + ARM_JOINTS:
        assert model.joint(name).name == name and model.actuator(name).name == name
    for site in ("rm_attachment_site", "rh_grasp_site", "rh_ee_site") + tuple(
        "rh_" + t for t in TIPS
    ):
        model.site(site)
    model.camera("head_camera")
    model.body("table")
    left = load("xhand_left.xml")
    assert [left.actuator(i).name for i in range(left.nu)] == list(
        mjcf_joint_names("left")
    )


@pytest.mark.parametrize("name", ALL_XML)
def test_loads_with_radians_and_home_key(name):
    model = load(name)
    assert model.nkey >= 1 and model.key("home").id >= 0
    assert model.opt.integrator == mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    # Radians: no range wider than a few turns (degrees would read 1.919 as 0.033 rad, 6.28 as 0.11).
    assert np.abs(model.jnt_range).max() <= 6.3 and np.abs(model.jnt_range).max() > 1.5


@pytest.mark.parametrize("name", ALL_XML)
def test_actuator_ctrlrange_equals_joint_range(name):
    model = load(name)
    assert (
        model.nu == model.njnt
    )  # every joint is actuated, no coupled or passive joints
    for i in range(model.nu):
        assert model.actuator_trntype[i] == mujoco.mjtTrn.mjTRN_JOINT
        joint = model.actuator_trnid[i, 0]
        assert model.jnt_limited[joint] and model.actuator_ctrllimited[i]
        np.testing.assert_array_equal(
            model.actuator_ctrlrange[i], model.jnt_range[joint]
        )
        # The servo's force limit is the joint's actuator force limit (vendor effort).
        np.testing.assert_array_equal(
            model.actuator_forcerange[i], model.jnt_actfrcrange[joint]
        )


@pytest.mark.parametrize("name", ALL_XML)
def test_home_keyframe_is_static(name):
    model = load(name)
    key = model.key("home")
    joints = model.actuator_trnid[:, 0]
    np.testing.assert_array_equal(key.ctrl, key.qpos[model.jnt_qposadr[joints]])
    data = at_home(model)
    assert data.ncon == 0  # nothing touches at home
    for _ in range(200):
        mujoco.mj_step(model, data)
    assert np.abs(data.qpos - key.qpos).max() < 1e-3


@pytest.mark.parametrize("name", SCENES + ROBOTS)
def test_stability_under_random_controls(name):
    # Menagerie's model test: pseudo-random controls inside the ctrlranges, no warning, no NaN.
    model = load(name)
    data = at_home(model)
    rng = np.random.default_rng(0)
    low, high = model.actuator_ctrlrange.T
    for step in range(500):
        if step % 25 == 0:
            data.ctrl[:] = rng.uniform(low, high)
        mujoco.mj_step(model, data)
    assert all(w.number == 0 for w in data.warning), [
        mujoco.mjtWarning(i).name for i, w in enumerate(data.warning) if w.number
    ]
    assert np.all(np.isfinite(data.qpos)) and np.all(np.isfinite(data.qvel))


def test_left_hand_mirrors_right():
    right, left = load("xhand_right.xml"), load("xhand_left.xml")
    dr, dl = mujoco.MjData(right), mujoco.MjData(left)
    np.testing.assert_array_equal(right.jnt_range, left.jnt_range)
    mirror = np.array([1.0, -1.0, 1.0])
    rng = np.random.default_rng(2)
    for _ in range(20):
        q = rng.uniform(*right.jnt_range.T)
        dr.qpos[:], dl.qpos[:] = (
            q,
            q,
        )  # same joint angles: the mirror-image configuration
        mujoco.mj_kinematics(right, dr)
        mujoco.mj_kinematics(left, dl)
        np.testing.assert_allclose(
            dl.xpos, dr.xpos * mirror, atol=1e-9
        )  # every joint frame
        for tip in TIPS:
            # The vendor's left thumb tip is 0.0499881 m from its last joint, the right one 0.0502276 m
            # (ROBOT_FACTS.md, "Known disagreements"): 0.24 mm, kept as the URDFs have it. The right mid_tip
            # offset is rounded to 0.042248 (left 0.0422483): 0.3 um.
            atol = 3e-4 if tip == "thumb_tip" else 1e-6
            np.testing.assert_allclose(
                dl.site("lh_" + tip).xpos, dr.site("rh_" + tip).xpos * mirror, atol=atol
            )


def test_fingertips_at_zero_match_the_facts():
    # ROBOT_FACTS.md, "XHAND1": joint origins in the palm frame, links 0.0178 / 0.0558 m, fingertip offset
    # 0.042248 m along z (0.04224829 in the URDF), thumb tip 0.0502276 m along y (right hand).
    data = mujoco.MjData(model := load("xhand_right.xml"))
    mujoco.mj_kinematics(model, data)
    tip = 0.04224829
    expected = {
        "index_tip": (0.0065, 0.0265, 0.0899 + 0.0178 + 0.0558 + tip),
        "mid_tip": (0.0065, 0.004, 0.1082 + 0.0558 + 0.042248),
        "ring_tip": (0.0065, -0.016, 0.1052 + 0.0558 + tip),
        "pinky_tip": (0.0065, -0.036, 0.1022 + 0.0558 + tip),
    }
    for name, pos in expected.items():
        np.testing.assert_allclose(data.site("rh_" + name).xpos, pos, atol=1e-7)
    # Thumb: origins (0.0095, 0.0228, 0.0305) then (0.0083177, 0.028599, -0.00178) with rpy (0, 0.2618, -0.0407).
    rot = _rpy(0.0, 0.2618, -0.0407)
    thumb = (
        np.array([0.0095, 0.0228, 0.0305])
        + [0.0083177, 0.028599, -0.00178]
        + rot @ [0.0, 0.0553 + 0.0502276, 0.0]
    )
    np.testing.assert_allclose(data.site("rh_thumb_tip").xpos, thumb, atol=1e-7)
    # ROBOT_FACTS.md: whole hand 1.10 kg; RM75-6F arm 7.8 kg.
    assert model.body_mass.sum() == pytest.approx(1.10, abs=0.01)
    assert load("rm75_6f.xml").body_mass.sum() == pytest.approx(7.8, abs=0.05)


def _rpy(roll: float, pitch: float, yaw: float) -> np.ndarray:
    cr, sr, cp, sp, cy, sy = (
        np.cos(roll),
        np.sin(roll),
        np.cos(pitch),
        np.sin(pitch),
        np.cos(yaw),
        np.sin(yaw),
    )
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    return rz @ ry @ rx


def test_arm_flange_at_zero_matches_the_facts():
    # ROBOT_FACTS.md, "Realman RM75-6F": 0.2405 + 0.256 + 0.21 + 0.1725 m straight up at q = 0; the URDF writes
    # pi/2 as 1.5708, which leaves the flange 2.3e-6 m off the z axis.
    model = load("rm75_6f.xml")
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    np.testing.assert_allclose(
        data.site("rm_attachment_site").xpos, [0, 0, 0.879], atol=1e-5
    )


# ROBOT_FACTS.md, "XHAND1 (Robotera), right hand" table (range rad) and "Realman RM75-6F" table (limit rad).
FACT_LIMITS = {
    "thumb_bend": (0.0, 1.832), "thumb_rota1": (-0.698, 1.57), "thumb_rota2": (0.0, 1.57),
    "index_bend": (-0.174, 0.174), "index_joint1": (0.0, 1.919), "index_joint2": (0.0, 1.919),
    "mid_joint1": (0.0, 1.919), "mid_joint2": (0.0, 1.919), "ring_joint1": (0.0, 1.919),
    "ring_joint2": (0.0, 1.919), "pinky_joint1": (0.0, 1.919), "pinky_joint2": (0.0, 1.919),
    "rm_joint1": (-3.106, 3.106), "rm_joint2": (-2.2689, 2.2689), "rm_joint3": (-3.106, 3.106),
    "rm_joint4": (-2.356, 2.356), "rm_joint5": (-3.106, 3.106), "rm_joint6": (-2.234, 2.234),
    "rm_joint7": (-6.28, 6.28),
}  # fmt: skip
# ROBOT_FACTS.md: XHAND1 effort 1.1 N m (proximal) / 0.4 N m (distal), velocity 8.63 / 14.38 rad/s (the URDF's
# per-joint split); RM75-6F effort 60/60/30/30/10/10/10 N m, speed 180 deg/s (URDF 3.14 rad/s, the lower value).
HAND_EFFORT = dict(
    zip(XHAND1_JOINTS, [1.1, 1.1, 0.4, 0.4, 1.1, 0.4, 1.1, 0.4, 1.1, 0.4, 1.1, 0.4])
)
HAND_SPEED = {
    name: 8.63 if effort == 1.1 else 14.38 for name, effort in HAND_EFFORT.items()
}
ARM_EFFORT = dict(zip(ARM_JOINTS, [60, 60, 30, 30, 10, 10, 10]))
ARM_SPEED = 3.14


def test_joint_limits_and_efforts_equal_the_facts():
    model = load("rm75_xhand_right.xml")
    left = load("xhand_left.xml")
    for name, limits in FACT_LIMITS.items():
        full = name if name.startswith("rm_") else "rh_" + name
        np.testing.assert_array_equal(model.joint(full).range, limits)
        if not name.startswith("rm_"):
            np.testing.assert_array_equal(left.joint("lh_" + name).range, limits)
    for name, effort in {
        **{"rh_" + k: v for k, v in HAND_EFFORT.items()},
        **ARM_EFFORT,
    }.items():
        np.testing.assert_array_equal(
            model.actuator(name).forcerange, (-effort, effort)
        )


def test_servos_stay_within_vendor_speeds():
    # Hand: all 12 joints step across their full range at once.
    model = load("xhand_right.xml")
    data = mujoco.MjData(model)
    data.qpos[:] = model.jnt_range[:, 0]
    data.ctrl[:] = model.jnt_range[:, 1]
    limit = np.array([HAND_SPEED[n] for n in XHAND1_JOINTS])
    peak = np.zeros(model.nv)
    for _ in range(300):
        mujoco.mj_step(model, data)
        peak = np.maximum(peak, np.abs(data.qvel))
    assert np.all(peak < limit), peak / limit
    # Arm: each joint alone steps by 1.5 rad from home (a larger step than a 30 Hz policy ever commands).
    model = load("rm75_xhand_right.xml")
    for j in range(7):
        data = at_home(model)
        sign = 1.0 if data.qpos[j] < 0 else -1.0
        data.ctrl[j] = data.qpos[j] + 1.5 * sign
        peak = 0.0
        for _ in range(1000):
            mujoco.mj_step(model, data)
            peak = max(peak, abs(data.qvel[j]))
        assert peak < ARM_SPEED, (j, peak)
        assert abs(data.qpos[j] - data.ctrl[j]) < 1e-3  # and it gets there within 2 s


def test_combined_model_equals_mjspec_attach():
    arm = mujoco.MjSpec.from_file(str(XHAND1_DIR / "rm75_6f.xml"))
    hand = mujoco.MjSpec.from_file(str(XHAND1_DIR / "xhand_right.xml"))
    hand.delete(hand.key("home"))
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # "empty prefix": the names already carry rh_ / rm_
        arm.site("rm_attachment_site").attach_body(hand.body("rh_palm"), "", "")
        built = arm.compile()
    committed = load("rm75_xhand_right.xml")
    for field in ("body_pos", "body_quat", "body_mass", "body_inertia", "body_ipos", "jnt_range", "jnt_axis",
                  "dof_damping", "dof_armature", "actuator_gainprm", "actuator_biasprm", "actuator_ctrlrange",
                  "actuator_forcerange", "site_pos", "geom_size", "geom_pos", "geom_type", "geom_contype"):  # fmt: skip
        np.testing.assert_allclose(
            getattr(built, field), getattr(committed, field), atol=1e-12, err_msg=field
        )
    names = [committed.body(i).name for i in range(committed.nbody)]
    assert [built.body(i).name for i in range(built.nbody)] == names
    assert built.nexclude == committed.nexclude
    # The arm's home and the hand's home make the combined home.
    np.testing.assert_array_equal(
        committed.key("home").qpos[:7], load("rm75_6f.xml").key("home").qpos
    )
    np.testing.assert_array_equal(
        committed.key("home").qpos[7:], load("xhand_right.xml").key("home").qpos
    )


def test_mink_reaches_a_pose_in_front_of_home():
    mink = pytest.importorskip("mink")
    model = load("rm75_6f.xml")
    data = at_home(model)
    site = data.site("rm_attachment_site")
    target_pos = site.xpos + [0.10, 0.0, 0.0]
    target_rot = site.xmat.reshape(3, 3).copy()
    configuration = mink.Configuration(model, q=data.qpos.copy())
    task = mink.FrameTask(
        "rm_attachment_site", "site", position_cost=1.0, orientation_cost=1.0
    )
    task.set_target(
        mink.SE3.from_rotation_and_translation(
            mink.SO3.from_matrix(target_rot), target_pos
        )
    )
    limits = [mink.ConfigurationLimit(model)]
    for iteration in range(100):
        velocity = mink.solve_ik(
            configuration, [task], 0.05, solver="daqp", damping=1e-3, limits=limits
        )
        configuration.integrate_inplace(velocity, 0.05)
        error = task.compute_error(configuration)
        if (
            np.linalg.norm(error[:3]) < 1e-3
            and np.degrees(np.linalg.norm(error[3:])) < 1.0
        ):
            break
    else:
        pytest.fail(f"no convergence in 100 iterations: error {error}")
    reached = configuration.data.site("rm_attachment_site")
    assert np.linalg.norm(reached.xpos - target_pos) < 1e-3
    angle = np.arccos(
        np.clip((np.trace(reached.xmat.reshape(3, 3).T @ target_rot) - 1) / 2, -1, 1)
    )
    assert np.degrees(angle) < 1.0
    assert np.all(configuration.q >= model.jnt_range[:, 0]) and np.all(
        configuration.q <= model.jnt_range[:, 1]
    )


def test_head_camera_fovy_is_the_d455s():
    # ROBOT_FACTS.md, "Camera": D455 colour 1280 x 720, fx about 610 px (square pixels, fy = fx), so
    # fovy = 2 atan(360 / 610) = 61.095 deg. (The quoted ~87 deg horizontal FoV is the depth camera's;
    # fx = 610 px gives 92.7 deg.)
    fovy = np.degrees(2 * np.arctan(360 / 610))
    model = load("scene.xml")
    camera = model.camera("head_camera")
    assert camera.fovy[0] == pytest.approx(fovy, abs=1e-3)
    np.testing.assert_array_equal(model.cam_resolution[camera.id], (1280, 720))
    assert (model.vis.global_.offwidth, model.vis.global_.offheight) == (1280, 720)
    # The frustum the renderer builds from it (mjv_updateScene, no GL context needed).
    data = at_home(model)
    scene = mujoco.MjvScene(model, maxgeom=1000)
    cam = mujoco.MjvCamera()
    cam.type, cam.fixedcamid = mujoco.mjtCamera.mjCAMERA_FIXED, camera.id
    mujoco.mjv_updateScene(
        model, data, mujoco.MjvOption(), None, cam, mujoco.mjtCatBit.mjCAT_ALL, scene
    )
    gl = scene.camera[0]
    rendered = np.degrees(
        np.arctan(gl.frustum_top / gl.frustum_near)
        - np.arctan(gl.frustum_bottom / gl.frustum_near)
    )
    assert rendered == pytest.approx(fovy, abs=1e-3)
    # The camera sees the hand: the grasp site projects inside the 1280 x 720 image.
    point = data.site("rh_grasp_site").xpos - data.cam("head_camera").xpos
    local = data.cam("head_camera").xmat.reshape(3, 3).T @ point
    assert local[2] < 0  # in front (MuJoCo cameras look along -z)
    f = 360 / np.tan(np.radians(fovy) / 2)
    u, v = 640 + f * local[0] / -local[2], 360 - f * local[1] / -local[2]
    assert 0 < u < 1280 and 0 < v < 720

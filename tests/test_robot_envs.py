"""The XHAND1 + RM75-6F task envs (envs/robot): gymnasium conformance, determinism, IK, predicates,
stability, vector envs. Small images (32 px) and state-only runs keep the file fast."""

import warnings

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from scipy.spatial.transform import Rotation

import envs.robot  # noqa: F401  (registers the ids)
from envs.robot import tasks as T
from envs.robot.base_env import MAX_DT, RobotTaskEnv
from vitra_bench.xhand_mapping import THETA_MASK
from envs.robot.ik import ArmIK, IKConfig, pose_error
from envs.robot.registration import ENV_IDS, TASKS
from envs.robot.scene import OBJECTS, build_object
from envs.robot.vector import evaluate, make_vector_env, zero_policy
from vitra_bench.layout import RIGHT_ACTION, RIGHT_STATE, STATE_DIM
from vitra_bench.tasks import get_task


def test_ids_registered_and_every_task_object_buildable():
    assert ENV_IDS == [f"VitraBench/{t}-v0" for t in TASKS]
    for task in TASKS:
        spec = get_task(task)
        assert gym.spec(f"VitraBench/{task}-v0").max_episode_steps == spec.horizon
        for split in spec.splits:
            s = spec.split_spec(split)
            for name in {n for pool in s.objects.values() for n in pool} | set(s.distractors):
                assert name in OBJECTS
                obj = build_object(name)
                assert obj.geoms and obj.height > 0
            if task == "FunctionalGrasp":  # every functional-grasp object has a marked handle
                assert all(build_object(n).handle for n in s.objects["object"])


@pytest.mark.parametrize("task", TASKS)
def test_check_env(task):
    env = gym.make(f"VitraBench/{task}-v0", render_mode="rgb_array", image_size=32).unwrapped
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unbounded state / non-normalised action box: by design
        check_env(env)
    assert env.render().shape == (32, 32, 3)
    env.close()


def test_reset_is_deterministic_per_seed_and_observation_layout():
    env = gym.make("VitraBench/PickPlace-v0", image_size=32, split="unseen_category")
    obs_a, info_a = env.reset(seed=7)
    obs_b, info_b = env.reset(seed=7)
    assert info_a["instruction"] == info_b["instruction"] and info_a["task_instance"] == info_b["task_instance"]
    for key in obs_a:
        np.testing.assert_array_equal(obs_a[key], obs_b[key])
    _, info_c = env.reset(seed=8)
    assert info_c["task_instance"] != info_a["task_instance"]
    state, mask = obs_a["state"], obs_a["state_mask"].astype(bool)
    assert state.shape == (STATE_DIM,) and state.dtype == np.float32
    assert not mask[:61].any() and not state[:61].any()  # left hand masked and zero
    right = mask[RIGHT_STATE]
    assert right[:6].all() and (right[6:51] == THETA_MASK).all() and not right[51:].any()
    # The end effector is in front of the camera (OpenCV: +z forward), 0.5-1.2 m away.
    assert 0.5 < state[61 + 2] < 1.2
    assert obs_a["image"].shape == (32, 32, 3) and obs_a["image"].dtype == np.uint8
    env.close()


def test_ik_reaches_target_within_velocity_limits():
    ik = ArmIK()
    start = ik.forward()
    target = start.copy()
    target[:3, 3] += [-0.05, 0.12, 0.08]
    target[:3, :3] = Rotation.from_euler("xyz", [0.2, -0.1, 0.3]).as_matrix() @ start[:3, :3]
    qs = [ik.q]
    for _ in range(90):
        qs.append(ik.step(target, 1 / 30))
    pos_err, rot_err = pose_error(ik.forward(), target)
    assert pos_err < 1e-3 and rot_err < 1e-2
    speed = np.abs(np.diff(qs, axis=0)).max() * 30
    assert speed <= IKConfig().max_speed + 1e-6
    lo, hi = ik.model.jnt_range.T
    assert np.all(qs[-1] >= lo) and np.all(qs[-1] <= hi)
    _, ok = ArmIK().solve(target)
    assert ok


def test_env_tracks_end_effector_targets_through_its_action_interface():
    env = RobotTaskEnv("FunctionalGrasp", observe_image=False)
    env.reset(seed=0)
    target = env.ee_pose("world")
    target[:3, 3] += [0.0, 0.1, 0.12]  # up and to the left, away from the objects
    hand = np.zeros(12)
    hand[4:] = 0.6
    steps = 0
    for steps in range(1, 61):
        action = env.action_from_targets(target, hand)
        assert np.all(np.abs(action[RIGHT_ACTION][:3]) <= MAX_DT + 1e-7)
        env.step(action)
    pos_err, rot_err = pose_error(env.ee_pose("world"), target)
    assert pos_err < 0.005 and rot_err < 0.02
    np.testing.assert_allclose(env.hand_joints()[4:], 0.6, atol=0.05)
    info = env.object_info()
    obj = info["obj_object"]
    assert obj["handle"] and obj["handle_geoms"] and obj["pose"].shape == (4, 4)
    env.close()


def _body(pos, **kw):
    return T.BodyState(pos=np.asarray(pos, float), **kw)


def test_object_in_container():
    box = T.Region(np.array([0.4, 0.2, 0.06]), np.array([0.11, 0.08, 0.06]))
    inside = T.TaskState({"object": _body([0.42, 0.18, 0.03])}, {"container": box})
    assert T.get_predicate("object_in_container")(inside)
    held = T.TaskState({"object": _body([0.42, 0.18, 0.03], robot_contact=True)}, {"container": box})
    outside = T.TaskState({"object": _body([0.42, -0.1, 0.03])}, {"container": box})
    assert not T.object_in_container(held) and not T.object_in_container(outside)


def test_grasped_by_handle():
    lifted = {"pos": [0.4, 0.0, 0.08], "init_pos": [0.4, 0.0, 0.0]}
    assert T.grasped_by_handle(T.TaskState({"object": _body(robot_contact=True, handle_contact=True, **lifted)}))
    by_body = _body(robot_contact=True, handle_contact=True, other_contact=True, **lifted)
    on_table = _body([0.4, 0.0, 0.01], init_pos=[0.4, 0.0, 0.0], robot_contact=True, handle_contact=True)
    assert not T.grasped_by_handle(T.TaskState({"object": by_body}))
    assert not T.grasped_by_handle(T.TaskState({"object": on_table}))


def test_lifted_milestone_is_sticky_and_needs_the_lift_height_in_the_hand():
    up = T.TaskState({"object": _body([0.4, 0.0, T.LIFT_HEIGHT + 0.001], init_pos=[0.4, 0.0, 0.0], robot_contact=True)})
    barely = T.TaskState({"object": _body([0.4, 0.0, T.LIFT_HEIGHT - 0.001], init_pos=[0.4, 0.0, 0.0], robot_contact=True)})
    thrown = T.TaskState({"object": _body([0.4, 0.0, T.LIFT_HEIGHT + 0.05], init_pos=[0.4, 0.0, 0.0])})
    assert T.update_memory("object_in_container", barely, {}) == {"lifted": False}
    assert T.update_memory("object_in_container", thrown, {}) == {"lifted": False}  # knocked up, not held
    memory = T.update_memory("object_in_container", up, {})
    assert memory == {"lifted": True}
    assert T.update_memory("object_in_container", barely, memory) == {"lifted": True}  # dropped again: still reached
    assert set(T.update_memory("balls_swept_and_broom_returned", T.TaskState({"broom": _body([0, 0, 0])}), {})) == {"lifted"}


def test_poured_and_returned_needs_the_pour_event_then_the_bottle_back():
    cup_region = T.Region(np.array([0.44, 0.06, 0.15]), np.array([0.046, 0.046, 0.08]))
    tilted = Rotation.from_euler("x", 100, degrees=True).as_quat(scalar_first=True)
    pouring = T.TaskState(
        {"bottle": _body([0.44, 0.15, 0.2], quat=tilted, init_pos=[0.42, -0.14, 0.0], robot_contact=True),
         "cup": _body([0.44, 0.06, 0.0])},
        {"cup": cup_region}, {"bottle/mouth": np.array([0.44, 0.07, 0.16])})
    memory = T.update_memory("poured_and_returned", pouring, {})
    assert memory == {"lifted": True, "poured": True} and not T.poured_and_returned(pouring)
    back = T.TaskState({"bottle": _body([0.43, -0.13, 0.0], init_pos=[0.42, -0.14, 0.0]), "cup": _body([0.44, 0.06, 0.0])},
                       {"cup": cup_region}, {"bottle/mouth": np.array([0.43, -0.13, 0.2])}, memory)
    assert T.poured_and_returned(back)
    never_poured = T.TaskState(back.bodies, back.regions, back.keypoints, {})
    assert not T.poured_and_returned(never_poured)
    assert T.update_memory("poured_and_returned", never_poured, memory)["poured"]  # sticky
    # Tilted but beside the cup is no pour.
    beside = T.TaskState(pouring.bodies, pouring.regions, {"bottle/mouth": np.array([0.3, -0.1, 0.16])})
    assert not T.pouring(beside)


def test_balls_swept_and_broom_returned():
    zone = T.Region(np.array([0.42, -0.22, 0.0]), np.array([0.07, 0.07, 0.03]))
    basket = T.Region(np.array([0.42, 0.21, 0.045]), np.array([0.19, 0.08, 0.045]))
    balls_in = {f"paper_ball_{i}": _body([0.42 + 0.02 * i, -0.22, 0.018]) for i in range(3)}
    balls_in["paper_ball_3"] = _body([0.3, 0.0, 0.018])  # 3 of 4 = 75 % is enough
    broom_in = _body([0.42, 0.21, 0.01])
    ok = T.TaskState({**balls_in, "broom": broom_in}, {"zone": zone, "basket": basket})
    assert T.balls_swept_and_broom_returned(ok)
    held = T.TaskState({**balls_in, "broom": _body([0.42, 0.21, 0.01], robot_contact=True)}, ok.regions)
    broom_out = T.TaskState({**balls_in, "broom": _body([0.3, -0.1, 0.01])}, ok.regions)
    balls_out = T.TaskState({**{k: _body([0.3, 0.0, 0.018]) for k in balls_in}, "broom": broom_in}, ok.regions)
    assert not any(T.balls_swept_and_broom_returned(s) for s in (held, broom_out, balls_out))
    # a ball counts by its centre: a rolled ball's origin (the point it first rested on) can sit on
    # top, above the zone's 3 cm, while the ball lies in the square
    rolled = {k: _body([b.pos[0], b.pos[1], 0.036], centre=b.pos) for k, b in balls_in.items()}
    assert T.balls_swept_and_broom_returned(T.TaskState({**rolled, "broom": broom_in}, ok.regions))


def test_env_success_from_a_hand_made_scene_state():
    """Put the pick & place object into the box by hand: the env's own predicate must fire."""
    env = RobotTaskEnv("PickPlace", observe_image=False)
    env.reset(seed=3)
    assert not env.task_state().bodies["object"].robot_contact
    info = env.object_info()
    drop = info["obj_container"]["keypoints"]["drop"]
    m, d = env.model, env.data
    adr = m.jnt_qposadr[m.joint("obj_object").id]
    d.qpos[adr : adr + 3] = drop - [0, 0, 0.05]
    mujoco.mj_forward(m, d)
    hold = np.zeros(102, np.float32)
    for _ in range(20):
        _, reward, terminated, _, step_info = env.step(hold)
        if terminated:
            break
    assert terminated and reward == 1.0 and step_info["is_success"]
    env.close()


@pytest.mark.parametrize("task", TASKS)
def test_one_second_of_random_control_is_stable(task):
    env = RobotTaskEnv(task, observe_image=False)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(30):
        obs, *_ = env.step(env.action_space.sample())
    assert all(w.number == 0 for w in env.data.warning), [w.number for w in env.data.warning]
    assert np.isfinite(env.data.qpos).all() and np.isfinite(env.data.qvel).all() and np.isfinite(obs["state"]).all()
    env.close()


def test_vector_env_steps_and_evaluates():
    venv = make_vector_env("Pour", num_envs=2, observe_image=False)
    obs, info = venv.reset(seed=[0, 1])
    assert obs["state"].shape == (2, STATE_DIM) and len(info["instruction"]) == 2
    obs, reward, terminated, _, info = venv.step(np.zeros((2, 102), np.float32))
    assert reward.shape == (2,) and not terminated.any()
    venv.close()
    result = evaluate(zero_policy(2), "Sweep", num_trials=2, num_envs=2, max_steps=3, observe_image=False)
    assert result["aggregated"]["n_episodes"] == 2 and result["aggregated"]["pc_success"] == 0.0
    assert [e["seed"] for e in result["per_episode"]] == [0, 1]

"""The XHAND1 + RM75-6F task environment: one gymnasium env class serving all four TaskSpecs.

Description
    A right XHAND1 on a Realman RM75-6F at a table, seen by the head-mounted D455
    (``assets/xhand1/scene.xml``). Each reset draws a trial of the task's split from its
    :class:`~vitra_bench.tasks.TaskSpec` (objects, distractors, background, instruction) and builds
    the scene (``envs.robot.scene``); the policy steps at 30 Hz; the TaskSpec's success predicate
    (``envs.robot.tasks``) ends the episode.

Action Space
    ``Box(102,)`` float32 in the VITRA bimanual layout (``vitra_bench.layout``): left hand
    ``0:51`` (ignored: the robot has no left arm), right hand ``51:102`` =
    ``[dt(3), dR(3), theta(45)]``:

    * ``dt`` (m) and ``dR`` (scipy Euler ``"xyz"``, rad) are a **per-step delta** of the
      end-effector (hand mount = ``rm_attachment_site``) pose, expressed in the head camera's
      OpenCV frame of the current step (x right, y down, z forward): ``p' = p + dt``,
      ``R' = dR R``. They move the env's **commanded** pose (not the measured one) -- see below.
    * ``theta`` is the 45 MANO finger slots, **absolute**; the 12 slots of
      ``vitra_bench.xhand_mapping.THETA_MASK`` become XHAND1 joint targets through the project's
      joint table (``theta_to_xhand``), clipped to the joint ranges; the other 33 are ignored.

    Why a delta: the human data the policy is pretrained on has exactly these semantics in these
    slots (VITRA_FACTS.md, "Action, state, instruction": step-relative wrist deltas in the camera
    frame, absolute finger angles), so a pretrained action head keeps its meaning on the robot,
    and a predicted chunk integrates with ``vitra_bench.layout.integrate_actions`` into absolute
    camera-frame poses, which is how the real robot consumes them ("Real robot": camera-frame
    EEF actions become absolute robot-frame poses, then joint angles through IK).
    Why the commanded pose: recorded actions are the executed commands (VITRA_FACTS), so the
    deltas between consecutive commands replay exactly, independent of tracking lag; deltas on
    the measured pose would shrink every motion by the servo lag. The command is kept on a leash
    (``max_lead``): when the arm cannot follow (limits, unreachable targets) the command is pulled
    back to within 5 cm / 0.3 rad of what IK reached, so it never runs away.
    ``action_reference="measured"`` applies the deltas to the measured pose instead.

    Bounds: ``dt`` +-3 cm and ``dR`` +-0.2 rad per step (0.9 m/s, 6 rad/s: above what the arm can
    do, so they never bind a feasible motion); mapped theta slots the joint ranges (with the
    table's sign); unmapped slots and the left hand +-pi. Out-of-bound actions are clipped.

Observation Space
    ``Dict``:

    * ``"image"``: ``(H, W, 3)`` uint8 head-camera RGB (default 128 x 128; the D455's fy, so a
      square image is the centre crop of its 1280 x 720 frame; ``intrinsics`` gives K), absent
      when ``observe_image=False`` (state-only runs).
    * ``"state"``: ``(122,)`` float32 in the VITRA state layout ``[left 61 | right 61]``, per hand
      ``[t_cam(3), euler_xyz(R_cam)(3), theta(45), beta(10)]``. Right: the measured hand-mount
      pose in the head camera's OpenCV frame and the measured XHAND1 joints mapped into theta.
      Left, beta and unmapped theta slots are zero.
    * ``"state_mask"``: ``(122,)`` int8 (MultiBinary), 1 where ``state`` carries data.

Rewards
    Sparse: 1.0 on the step the success predicate holds, else 0.0 (``info["is_success"]``).
    ``info["events"]`` holds the task's sticky milestones (``envs.robot.tasks.EVENTS``: the
    object lifted, for Pour also poured), which say how far a failed trial got.

Starting State
    Arm at the ``home`` keyframe, hand open, objects placed by ``envs.robot.scene.place_objects``
    from ``np_random`` and settled for 0.1 s.

Episode End
    ``terminated`` when the task's success predicate holds; ``truncated`` after ``TaskSpec.horizon``
    steps (600 PickPlace, 450 FunctionalGrasp, 900 Pour, 1200 Sweep at 30 Hz).

Arguments
    ``task``, ``split`` (a TaskSpec split), ``seed`` (the first reset's, when ``reset`` is given
    none), ``render_mode`` (``"rgb_array"`` or None), ``image_size`` (int or (H, W)),
    ``observe_image``, ``substeps`` (physics steps per control step; timestep = 1/30/substeps),
    ``action_reference`` (``"command"``/``"measured"``), ``joint_table`` (``"project"``/``"release"``),
    ``shadows``, ``ik_config``.

Version History
    v0: first version.

For scripted experts (the same action interface, no private state needed):
``object_info()`` (poses, grasp frames, keypoints, regions per object), ``ee_pose()``,
``ee_command()``, ``hand_joints()``, ``camera_pose()``, ``intrinsics``, and
``action_from_targets(ee_pose, hand_q)`` which returns the action that moves the command toward
an absolute end-effector pose with the given hand joint targets.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, ClassVar

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces
from scipy.spatial.transform import Rotation

from envs.robot.ik import ARM_JOINTS, ArmIK, IKConfig
from envs.robot.rotations import euler_to_matrix, matrix_to_euler
from envs.robot.scene import (
    CAMERA,
    EE_SITE,
    TaskScene,
    build_scene,
    place_objects,
    set_body_pose,
)
from envs.robot.tasks import BodyState, Region, TaskState, get_predicate, update_memory
from vitra_bench.geometry import intrinsics_from_fov
from vitra_bench.layout import (
    ACTION_DIM,
    BETA,
    EULER,
    FINGERS,
    HAND_ACTION_DIM,
    RIGHT_ACTION,
    RIGHT_STATE,
    ROTATION,
    STATE_DIM,
    STATE_SLICES,
    TRANSLATION,
    WRIST,
)
from vitra_bench.tasks import TaskInstance, get_task
from vitra_bench.xhand_mapping import (
    DEFAULT_TABLE,
    NUM_XHAND_JOINTS,
    mjcf_joint_names,
    theta_mask,
    theta_to_xhand,
    xhand_to_theta,
)

MAX_DT = 0.03  # m per step
MAX_DR = 0.2  # rad per step (each Euler angle)
SETTLE_TIME = 0.1  # s of physics after placing objects
_CV_FROM_MJ = np.diag([1.0, -1.0, -1.0])  # MuJoCo camera axes (x right, y up, z back) -> OpenCV
_MODEL_CACHE: OrderedDict[tuple, TaskScene] = OrderedDict()
_MODEL_CACHE_SIZE = 8


def _pose(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = rotation, translation
    return out


def _inv(pose: np.ndarray) -> np.ndarray:
    return _pose(pose[:3, :3].T, -pose[:3, :3].T @ pose[:3, 3])


def action_bounds(table: str = DEFAULT_TABLE) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of the 102-dim action (see the module docstring)."""
    low, high = np.full(HAND_ACTION_DIM, -np.pi), np.full(HAND_ACTION_DIM, np.pi)
    low[TRANSLATION], high[TRANSLATION] = -MAX_DT, MAX_DT
    low[ROTATION], high[ROTATION] = -MAX_DR, MAX_DR
    # Joint ranges mapped into theta (a -1 sign swaps the ends); ranges from the MJCF (ROBOT_FACTS).
    ranges = _hand_ranges()
    a, b = xhand_to_theta(ranges[:, 0], table), xhand_to_theta(ranges[:, 1], table)
    mapped = FINGERS.start + np.flatnonzero(theta_mask(table))
    low[mapped] = np.minimum(a, b)[mapped - FINGERS.start]
    high[mapped] = np.maximum(a, b)[mapped - FINGERS.start]
    return np.tile(low, 2).astype(np.float32), np.tile(high, 2).astype(np.float32)


_HAND_RANGES: np.ndarray | None = None


def _hand_ranges() -> np.ndarray:
    global _HAND_RANGES
    if _HAND_RANGES is None:
        from assets import XHAND1_DIR

        model = mujoco.MjModel.from_xml_path(str(XHAND1_DIR / "xhand_right.xml"))
        _HAND_RANGES = np.array([model.actuator(n).ctrlrange for n in mjcf_joint_names("right")])
    return _HAND_RANGES


class RobotTaskEnv(gym.Env):
    """XHAND1 + RM75-6F gymnasium env for one TaskSpec (module docstring: spaces, rewards, ends)."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        task: str = "PickPlace",
        split: str = "seen",
        seed: int | None = None,
        render_mode: str | None = None,
        image_size: int | tuple[int, int] = 128,
        observe_image: bool = True,
        substeps: int = 16,
        action_reference: str = "command",
        joint_table: str = DEFAULT_TABLE,
        shadows: bool = False,
        ik_config: IKConfig | None = None,
        max_lead: tuple[float, float] = (0.05, 0.3),
    ) -> None:
        self.task = get_task(task)
        self.split = split
        self.task.split_spec(split)  # fails early with the task's splits
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        if action_reference not in ("command", "measured"):
            raise ValueError(f"action_reference must be 'command' or 'measured', got {action_reference!r}")
        self.render_mode = render_mode
        self.image_size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        self.observe_image = observe_image
        self.substeps = int(substeps)
        self._substep_fractions = np.arange(1, self.substeps + 1) / self.substeps  # arm-target interpolation
        self.control_dt = 1.0 / self.task.control_hz
        self.metadata = {**self.metadata, "render_fps": round(self.task.control_hz)}
        self.action_reference = action_reference
        self.joint_table = joint_table
        self.shadows = shadows
        self.max_lead = max_lead
        self._init_seed = seed
        self._predicate = get_predicate(self.task.success)
        self.ik = ArmIK(ik_config)

        low, high = action_bounds(joint_table)
        self.action_space = spaces.Box(low, high, (ACTION_DIM,), np.float32)
        obs = {
            "state": spaces.Box(-np.inf, np.inf, (STATE_DIM,), np.float32),
            "state_mask": spaces.MultiBinary(STATE_DIM),
        }
        if observe_image:
            obs = {"image": spaces.Box(0, 255, (*self.image_size, 3), np.uint8), **obs}
        self.observation_space = spaces.Dict(obs)
        mask = np.zeros(STATE_DIM, np.int8)
        right = np.zeros(STATE_SLICES["right"].stop - STATE_SLICES["right"].start, np.int8)
        right[WRIST] = 1
        right[FINGERS] = theta_mask(joint_table)
        right[BETA] = 0
        mask[RIGHT_STATE] = right
        self._state_mask = mask

        self.scene: TaskScene | None = None
        self.model: mujoco.MjModel | None = None
        self.data: mujoco.MjData | None = None
        self.instance: TaskInstance | None = None
        self._renderer: mujoco.Renderer | None = None
        self._steps = 0

    # --- scene ----------------------------------------------------------------------------------

    def _scene_for(self, instance: TaskInstance) -> TaskScene:
        key = (instance.task, tuple(instance.objects.items()), instance.distractors, instance.background,
               self.shadows)
        if key in _MODEL_CACHE:
            _MODEL_CACHE.move_to_end(key)
        else:
            scene = build_scene(instance, shadows=self.shadows)
            scene.model.opt.timestep = self.control_dt / self.substeps
            _MODEL_CACHE[key] = scene
            while len(_MODEL_CACHE) > _MODEL_CACHE_SIZE:
                _MODEL_CACHE.popitem(last=False)
        return _MODEL_CACHE[key]

    def _bind(self, scene: TaskScene) -> None:
        """Index the model once per model: actuators, robot bodies, object geoms, the camera."""
        if self.scene is scene:
            return
        self.scene, m = scene, scene.model
        self.model, self.data = m, mujoco.MjData(m)
        self._arm_act = np.array([m.actuator(n).id for n in ARM_JOINTS])
        self._hand_act = np.array([m.actuator(n).id for n in mjcf_joint_names("right")])
        self._arm_qpos = np.array([m.jnt_qposadr[m.joint(n).id] for n in ARM_JOINTS])
        self._hand_qpos = np.array([m.jnt_qposadr[m.joint(n).id] for n in mjcf_joint_names("right")])
        self._hand_ctrlrange = m.actuator_ctrlrange[self._hand_act]
        self._site = m.site(EE_SITE).id
        names = [m.body(i).name for i in range(m.nbody)]
        self._robot_body = np.array([n.startswith(("rh_", "rm_")) for n in names])
        self._object_body = {b: m.body(b).id for b in scene.objects}
        self._handle_geom = np.array(["/handle_" in (m.geom(i).name or "") for i in range(m.ngeom)])
        self._aabb_centre = {b: 0.5 * (o.aabb[0] + o.aabb[1]) for b, o in scene.objects.items()}
        self._key_home = m.key("home").id
        data = mujoco.MjData(m)
        mujoco.mj_forward(m, data)  # camera poses come from mj_camlight, not mj_kinematics
        cam = data.cam(CAMERA)
        self._cam_to_world = _pose(cam.xmat.reshape(3, 3) @ _CV_FROM_MJ, cam.xpos.copy())
        self._world_to_cam = _inv(self._cam_to_world)
        fovy = np.deg2rad(m.cam_fovy[m.camera(CAMERA).id])
        h, w = self.image_size
        self.intrinsics = intrinsics_from_fov(2 * np.arctan(np.tan(fovy / 2) * w / h), w, h)
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # --- gymnasium API --------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is None and self._init_seed is not None and self.data is None:
            seed = self._init_seed
        super().reset(seed=seed)
        instance = (options or {}).get("instance") or self.task.sample(self.split, self.np_random)
        scene = self._scene_for(instance)
        self._bind(scene)
        self.instance = instance
        m, d = self.model, self.data
        mujoco.mj_resetDataKeyframe(m, d, self._key_home)
        self._poses0 = place_objects(scene, instance.task, self.np_random)
        for body, pose in self._poses0.items():
            set_body_pose(m, d, body, pose)
        mujoco.mj_forward(m, d)
        for _ in range(round(SETTLE_TIME / m.opt.timestep)):
            mujoco.mj_step(m, d)
        self._init = {b: (d.xpos[i].copy(), d.xquat[i].copy()) for b, i in self._object_body.items()}
        self.ik.reset(d.qpos[self._arm_qpos])
        self._arm_target = d.ctrl[self._arm_act].copy()
        self._command = self.ee_pose("camera")
        self._memory: dict[str, bool] = {}
        self._steps = 0
        state = self.task_state()
        self._memory = update_memory(self.task.success, state, self._memory)
        self._success = self._predicate(state)
        return self._observation(), self._info()

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        if self.data is None:
            raise RuntimeError("call reset() before step()")
        action = np.clip(np.asarray(action, np.float64).reshape(ACTION_DIM), self.action_space.low, self.action_space.high)
        right = action[RIGHT_ACTION]
        base = self._command if self.action_reference == "command" else self.ee_pose("camera")
        dR = euler_to_matrix(right[ROTATION])
        self._command = _pose(dR @ base[:3, :3], base[:3, 3] + right[TRANSLATION])
        q_prev = self._arm_target
        self._arm_target = self.ik.step(self._cam_to_world @ self._command, self.control_dt)
        self._leash()
        hand = np.clip(theta_to_xhand(right[FINGERS], self.joint_table), *self._hand_ctrlrange.T)
        m, d = self.model, self.data
        d.ctrl[self._hand_act] = hand
        for arm in q_prev + np.outer(self._substep_fractions, self._arm_target - q_prev):  # interpolated, as the real controller does
            d.ctrl[self._arm_act] = arm
            mujoco.mj_step(m, d)
        self._steps += 1
        state = self.task_state()
        self._memory = update_memory(self.task.success, state, self._memory)
        state.memory = self._memory
        self._success = bool(self._predicate(state))
        terminated = self._success
        truncated = self._steps >= self.task.horizon and not terminated
        return self._observation(), float(self._success), terminated, truncated, self._info()

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return self._render_image()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # --- observation ----------------------------------------------------------------------------

    def _render_image(self) -> np.ndarray:
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, *self.image_size)
        self._renderer.update_scene(self.data, camera=CAMERA)
        return self._renderer.render()

    def _observation(self) -> dict[str, np.ndarray]:
        state = np.zeros(STATE_DIM, np.float32)
        ee = self.ee_pose("camera")
        right = state[RIGHT_STATE]
        right[TRANSLATION] = ee[:3, 3]
        right[ROTATION] = matrix_to_euler(ee[:3, :3])
        right[FINGERS] = xhand_to_theta(self.hand_joints(), self.joint_table)
        obs = {"state": state, "state_mask": self._state_mask.copy()}
        if self.observe_image:
            obs = {"image": self._render_image(), **obs}
        return obs

    def _info(self) -> dict[str, Any]:
        return {
            "is_success": self._success,
            "success": self._success,
            "instruction": self.instance.instruction,
            "task_instance": self.instance,
            "steps": self._steps,
            "events": dict(self._memory),
        }

    def _leash(self) -> None:
        """Pull the command back toward the pose IK reached when it leads by more than ``max_lead``."""
        reached = self._world_to_cam @ self.ik.forward()
        offset = self._command[:3, 3] - reached[:3, 3]
        dist = np.linalg.norm(offset)
        if dist > self.max_lead[0]:
            self._command[:3, 3] = reached[:3, 3] + offset * (self.max_lead[0] / dist)
        rel_matrix = reached[:3, :3].T @ self._command[:3, :3]
        if (np.trace(rel_matrix) - 1.0) / 2.0 >= np.cos(self.max_lead[1]):  # within the angle: done
            return
        rel = Rotation.from_matrix(rel_matrix, assume_valid=True).as_rotvec()
        angle = np.linalg.norm(rel)
        if angle > self.max_lead[1]:
            self._command[:3, :3] = reached[:3, :3] @ Rotation.from_rotvec(rel * (self.max_lead[1] / angle)).as_matrix()

    # --- state for predicates and experts -----------------------------------------------------

    def _robot_contacts(self) -> tuple[set[int], set[int], set[int]]:
        """Body ids touched by the robot: through any geom, through handle geoms, through others."""
        d, m = self.data, self.model
        n = d.ncon
        if n == 0:
            return set(), set(), set()
        g1, g2 = d.contact.geom1[:n], d.contact.geom2[:n]
        b1, b2 = m.geom_bodyid[g1], m.geom_bodyid[g2]
        r1, r2 = self._robot_body[b1], self._robot_body[b2]
        touched = np.concatenate([b2[r1 & ~r2], b1[r2 & ~r1]])
        touched_geom = np.concatenate([g2[r1 & ~r2], g1[r2 & ~r1]])
        handle = self._handle_geom[touched_geom]
        return set(touched.tolist()), set(touched[handle].tolist()), set(touched[~handle].tolist())

    def task_state(self) -> TaskState:
        """The snapshot the success predicates read (``envs.robot.tasks.TaskState``)."""
        d, scene = self.data, self.scene
        touched, by_handle, by_other = self._robot_contacts()
        slot_of = {body: slot for slot, body in scene.roles.items()}
        bodies, regions, keypoints = {}, {}, {}
        for body, bid in self._object_body.items():
            key = slot_of.get(body, body)
            if key.startswith("distractor_"):
                continue
            obj = scene.objects[body]
            rot = d.xmat[bid].reshape(3, 3)
            state = BodyState(
                pos=d.xpos[bid].copy(), quat=d.xquat[bid].copy(), init_pos=self._init[body][0],
                init_quat=self._init[body][1], robot_contact=bid in touched, handle_contact=bid in by_handle,
                other_contact=bid in by_other, centre=rot @ self._aabb_centre[body] + d.xpos[bid],
            )
            bodies[key] = state
            if obj.interior is not None:
                centre, half = obj.interior
                regions[key] = Region(rot @ centre + d.xpos[bid], half.copy(), d.xquat[bid].copy())
            for name, point in obj.keypoints.items():
                keypoints[f"{key}/{name}"] = rot @ point + d.xpos[bid]
        if scene.zone is not None:
            regions["zone"] = Region(*scene.zone)
        return TaskState(bodies, regions, keypoints, dict(getattr(self, "_memory", {})))

    def ee_pose(self, frame: str = "camera") -> np.ndarray:
        """Measured 4x4 hand-mount pose in the head camera's OpenCV frame (or ``"world"``)."""
        d = self.data
        world = _pose(d.site_xmat[self._site].reshape(3, 3), d.site_xpos[self._site])
        return self._world_to_cam @ world if frame == "camera" else world

    def ee_command(self, frame: str = "camera") -> np.ndarray:
        """The commanded hand-mount pose that the next action's delta applies to."""
        return self._command.copy() if frame == "camera" else self._cam_to_world @ self._command

    def hand_joints(self) -> np.ndarray:
        """Measured XHAND1 joints (12,), SDK order."""
        return self.data.qpos[self._hand_qpos].copy()

    def arm_joints(self) -> np.ndarray:
        """Measured arm joints (7,), ``rm_joint1..7`` (recorded demonstrations store them)."""
        return self.data.qpos[self._arm_qpos].copy()

    def joint_commands(self) -> tuple[np.ndarray, np.ndarray]:
        """The joint targets the last step sent: arm (7,) from IK and hand (12,) after the joint
        table and clipping -- the executed command that robot data records as its action."""
        return self._arm_target.copy(), self.data.ctrl[self._hand_act].copy()

    def camera_pose(self) -> np.ndarray:
        """4x4 head camera -> world (OpenCV axes: x right, y down, z forward)."""
        return self._cam_to_world.copy()

    def object_info(self, frame: str = "world") -> dict[str, dict[str, Any]]:
        """Per object body: name, role, pose (4x4), grasp point/approach/width/handle, keypoints,
        the "inside" region, surface points, geoms -- everything in ``frame`` (world or camera)."""
        to = np.eye(4) if frame == "world" else self._world_to_cam
        slot_of = {body: slot for slot, body in self.scene.roles.items()}
        out = {}
        for body, bid in self._object_body.items():
            obj = self.scene.objects[body]
            pose = to @ _pose(self.data.xmat[bid].reshape(3, 3), self.data.xpos[bid])
            rot, pos = pose[:3, :3], pose[:3, 3]
            out[body] = {
                "name": obj.name,
                "role": slot_of.get(body, "distractor" if body.startswith("distractor_") else body),
                "pose": pose,
                "grasp_point": rot @ obj.grasp.point + pos,
                "grasp_approach": rot @ obj.grasp.approach,
                "grasp_width": obj.grasp.width,
                "handle": obj.grasp.handle,
                "keypoints": {k: rot @ v + pos for k, v in obj.keypoints.items()},
                "interior": None if obj.interior is None else (rot @ obj.interior[0] + pos, obj.interior[1], rot),
                "points": obj.points @ rot.T + pos,
                "geoms": obj.geoms,
                "handle_geoms": obj.handle,
            }
        return out

    def action_from_targets(
        self, ee_pose: np.ndarray, hand_q: np.ndarray, frame: str = "world", clip: bool = True
    ) -> np.ndarray:
        """The (102,) action moving the command toward the absolute 4x4 ``ee_pose`` with hand joints
        ``hand_q`` (12,). With ``clip`` the step is shortened to the action bounds along the same
        direction (translation; rotation along its axis), so calling it every step converges."""
        target = self._world_to_cam @ ee_pose if frame == "world" else np.asarray(ee_pose, float)
        base = self._command if self.action_reference == "command" else self.ee_pose("camera")
        dt = target[:3, 3] - base[:3, 3]
        rotvec = Rotation.from_matrix(target[:3, :3] @ base[:3, :3].T).as_rotvec()
        if clip:
            dt *= min(1.0, MAX_DT / max(np.abs(dt).max(), 1e-12))
            for _ in range(3):  # shrink the rotation until its Euler angles fit the bounds
                euler = Rotation.from_rotvec(rotvec).as_euler(EULER)
                if np.abs(euler).max() <= MAX_DR:
                    break
                rotvec *= 0.95 * MAX_DR / np.abs(euler).max()
        action = np.zeros(ACTION_DIM, np.float32)
        right = np.zeros(HAND_ACTION_DIM)
        right[TRANSLATION] = dt
        right[ROTATION] = Rotation.from_rotvec(rotvec).as_euler(EULER)
        right[FINGERS] = xhand_to_theta(np.asarray(hand_q, float).reshape(NUM_XHAND_JOINTS), self.joint_table)
        action[RIGHT_ACTION] = right
        return np.clip(action, self.action_space.low, self.action_space.high)

    @property
    def steps(self) -> int:
        return self._steps

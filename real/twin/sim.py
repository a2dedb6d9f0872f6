"""The twin's physics: ``assets/xhand1/scene.xml`` (the arm + right hand of ``rm75_xhand_right.xml``,
the table and the head camera) stepped in wall-clock time by a background thread.

Why wall-clock time: the drivers, the watchdog and the runner's 30 Hz loop all measure real time,
so the simulated robot must move at the speed a real one would between two of their calls.
Actuators are the MJCF's position servos; the controller's behaviour sits on top:

* ``movej``: the controller plans a straight line in joint space at ``v`` percent of the joint
  speed limits (the slowest joint sets the duration) and reports arrival; ``plan_move`` does that.
* ``movej_canfd``: streamed set-points go straight to the servos (``set_arm_target``).
* stop: the servos hold the measured position and any plan is dropped.

Later, the twin could run ``envs.robot.base_env.RobotTaskEnv``'s task scene instead (objects,
success predicates for automatic labels); this module's small API (targets in, joints and frames
out) is what it would have to offer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from assets import XHAND1_DIR

SCENE_XML = XHAND1_DIR / "scene.xml"
ARM_JOINTS: tuple[str, ...] = tuple(f"rm_joint{i}" for i in range(1, 8))
HAND_JOINTS: tuple[str, ...] = (
    "rh_thumb_bend", "rh_thumb_rota1", "rh_thumb_rota2", "rh_index_bend", "rh_index_joint1", "rh_index_joint2",
    "rh_mid_joint1", "rh_mid_joint2", "rh_ring_joint1", "rh_ring_joint2", "rh_pinky_joint1", "rh_pinky_joint2",
)  # fmt: skip
FLANGE_SITE = "rm_attachment_site"
CAMERA = "head_camera"
ARM_MAX_SPEED = np.radians([180, 180, 225, 225, 225, 225, 225])  # ROBOT_FACTS.md, spec sheet
_MAX_LAG_S = 0.2  # if the stepping thread falls this far behind (a loaded CI box), it skips ahead


@dataclass
class _Plan:
    start: np.ndarray
    goal: np.ndarray
    t0: float
    duration: float
    on_done: Callable[[], None] | None


class TwinSim:
    """Real-time MuJoCo simulation of the arm and hand; thread-safe; use as a context manager."""

    def __init__(self, xml: str = str(SCENE_XML), realtime_factor: float = 1.0) -> None:
        self.model = mujoco.MjModel.from_xml_path(xml)
        self.data = mujoco.MjData(self.model)
        m = self.model
        mujoco.mj_resetDataKeyframe(m, self.data, m.key("home").id)
        mujoco.mj_forward(m, self.data)
        self._arm_act = np.array([m.actuator(n).id for n in ARM_JOINTS])
        self._hand_act = np.array([m.actuator(n).id for n in HAND_JOINTS])
        self._arm_qpos = np.array([m.jnt_qposadr[m.joint(n).id] for n in ARM_JOINTS])
        self._hand_qpos = np.array([m.jnt_qposadr[m.joint(n).id] for n in HAND_JOINTS])
        self.arm_range = m.jnt_range[[m.joint(n).id for n in ARM_JOINTS]].copy()
        self.hand_range = m.actuator_ctrlrange[self._hand_act].copy()
        self._site = m.site(FLANGE_SITE).id
        self.realtime_factor = realtime_factor
        self.lock = threading.RLock()
        self._plan: _Plan | None = None
        self._thread: threading.Thread | None = None
        self._running = False

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> TwinSim:
        if self._thread is None:
            self._running = True
            self._thread = threading.Thread(target=self._run, name="twin-sim", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        dt = self.model.opt.timestep
        wall0, sim0 = time.monotonic(), self.data.time
        while self._running:
            with self.lock:
                target = sim0 + (time.monotonic() - wall0) * self.realtime_factor
                if target - self.data.time > _MAX_LAG_S:
                    sim0, wall0 = self.data.time, time.monotonic()
                    target = sim0
                while self.data.time + dt <= target:
                    self._apply_plan()
                    mujoco.mj_step(self.model, self.data)
            time.sleep(0.004)

    def _apply_plan(self) -> None:
        plan = self._plan
        if plan is None:
            return
        s = 1.0 if plan.duration <= 0 else min(1.0, (self.data.time - plan.t0) / plan.duration)
        self.data.ctrl[self._arm_act] = plan.start + s * (plan.goal - plan.start)
        if s >= 1.0:
            self._plan = None
            if plan.on_done is not None:
                threading.Thread(target=plan.on_done, name="twin-move-done", daemon=True).start()

    # --- commands ---------------------------------------------------------------------------

    def set_arm_target(self, q: np.ndarray) -> None:
        """A streamed set-point: straight to the servos (clipped to the joint ranges like the controller)."""
        with self.lock:
            self._plan = None
            self.data.ctrl[self._arm_act] = np.clip(q, self.arm_range[:, 0], self.arm_range[:, 1])

    def plan_move(self, q: np.ndarray, speed_percent: float, on_done: Callable[[], None] | None = None) -> float:
        """Start a controller-planned joint move; ``on_done`` runs (in its own thread) on arrival. Returns seconds."""
        with self.lock:
            start = self.data.ctrl[self._arm_act].copy()
            goal = np.clip(q, self.arm_range[:, 0], self.arm_range[:, 1])
            speed = ARM_MAX_SPEED * max(speed_percent, 1.0) / 100.0
            duration = float(np.max(np.abs(goal - start) / speed))
            self._plan = _Plan(start, goal, self.data.time, duration, on_done)
            return duration

    @property
    def plan_goal(self) -> np.ndarray | None:
        plan = self._plan
        return None if plan is None else plan.goal.copy()

    def stop(self) -> None:
        """Hold the measured arm position; cancel any planned move (no arrival is reported)."""
        with self.lock:
            self._plan = None
            self.data.ctrl[self._arm_act] = self.data.qpos[self._arm_qpos]

    def set_hand_target(self, q: np.ndarray) -> None:
        with self.lock:
            self.data.ctrl[self._hand_act] = np.clip(q, self.hand_range[:, 0], self.hand_range[:, 1])

    # --- measurements -----------------------------------------------------------------------

    def arm_joints(self) -> np.ndarray:
        with self.lock:
            return self.data.qpos[self._arm_qpos].copy()

    def arm_targets(self) -> np.ndarray:
        with self.lock:
            return self.data.ctrl[self._arm_act].copy()

    def hand_joints(self) -> np.ndarray:
        with self.lock:
            return self.data.qpos[self._hand_qpos].copy()

    def flange_pose6(self) -> np.ndarray:
        """``[x, y, z, rx, ry, rz]`` of the flange in the base frame (Euler xyz, the controller's convention)."""
        with self.lock:
            pos = self.data.site_xpos[self._site].copy()
            rot = self.data.site_xmat[self._site].reshape(3, 3).copy()
        return np.concatenate([pos, Rotation.from_matrix(rot).as_euler("xyz")])

    def camera_fovy(self) -> float:
        """Vertical field of view of the head camera, radians."""
        return float(np.radians(self.model.cam_fovy[self.model.camera(CAMERA).id]))

"""Differential inverse kinematics of the RM75-6F with ``mink``: end-effector pose -> arm joint targets.

Choices, and why:

* **Model.** IK runs on ``assets/xhand1/rm75_6f.xml`` alone (7 DoF), not on the task scene: the
  hand's 12 joints and the objects' free joints do not move the flange, and a 7-column Jacobian
  keeps each QP tiny. The target frame is ``rm_attachment_site`` (the flange face, where
  ``rh_palm`` is mounted with an identity transform: README "Hand mount"), so a target for the
  hand mount is a target for this site.
* **Differential IK, warm-started.** Each control step solves one linearised QP
  (``mink.solve_ik``, ~0.35 ms in Python) from the previous solution instead of a global IK from
  scratch: a policy's targets move a few millimetres per 33 ms step, so one Newton step per
  control step tracks them (the residual is taken up by the next step: IK error decays
  geometrically while the target rests), and the joint path stays continuous (no branch flips
  of the redundant elbow). ``iterations`` > 1 trades speed for lag.
* **Redundancy.** The arm has 7 joints for a 6-DoF task; a low-weight posture task pulls the
  null space toward ``home`` (elbow out to the right, away from the head camera's line of sight),
  so the elbow does not drift over a long episode.
* **Joint limits** (``mink.ConfigurationLimit``) from the MJCF ranges (= the vendor URDF's), with a
  small margin so targets never sit exactly on a limit.
* **Velocity limits** (``mink.VelocityLimit``): ROBOT_FACTS gives 180 deg/s for J1-J2 and 225 deg/s
  for J3-J7 (spec sheet) but 3.14 rad/s for every joint (URDF); the lower, 3.14 rad/s, everywhere,
  scaled by 0.8: the MJCF servos saturate at 80 % of the vendor speed (README "Actuator gains"),
  so targets that move faster than that would only build up tracking error. The limit is applied
  over the whole control period: ``k`` iterations each get ``dt / k``. The env also interpolates
  the targets linearly over the physics substeps, as the real controller does.
* **Orientation weight** 0.5 vs position 1.0 (per metre vs per radian): 1 cm of position error
  weighs like ~1.1 deg of rotation, about the grasping tolerance of a 5-finger hand.
* **Damping.** Levenberg-Marquardt damping (1e-3) in the QP keeps steps bounded near singularities
  (stretched arm, wrist J6 = 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import mink
import mujoco
import numpy as np

from assets import XHAND1_DIR

ARM_XML = XHAND1_DIR / "rm75_6f.xml"
ARM_JOINTS: tuple[str, ...] = tuple(f"rm_joint{i}" for i in range(1, 8))
EE_SITE = "rm_attachment_site"
VENDOR_SPEED = 3.14  # rad/s, every joint: min(URDF 3.14, spec sheet 180 / 225 deg/s), ROBOT_FACTS.md
SPEED_SCALE = 0.8  # the MJCF servos saturate at 80 % of the vendor speed (assets/xhand1/README.md)


@dataclass
class IKConfig:
    """Settings of :class:`ArmIK` (every field a project choice, explained in the module docstring).

    Attributes:
        position_cost: frame task cost per metre.
        orientation_cost: frame task cost per radian.
        posture_cost: null-space pull toward the home posture.
        damping: Levenberg-Marquardt damping of the QP.
        max_speed: rad/s per joint; ``None`` disables the velocity limit.
        limit_margin: rad kept from each joint limit.
        iterations: QP iterations per ``step`` call (each over ``dt / iterations``).
        solver: QP solver name for ``mink.solve_ik`` (daqp is the one installed with mink).
    """

    position_cost: float = 1.0
    orientation_cost: float = 0.5
    posture_cost: float = 1e-3
    damping: float = 1e-3
    max_speed: float | None = VENDOR_SPEED * SPEED_SCALE
    limit_margin: float = 0.01
    iterations: int = 1
    solver: str = "daqp"


class ArmIK:
    """Warm-started differential IK of the arm's flange (``rm_attachment_site``) in the arm base frame.

    The base frame is the world frame of every scene (``assets/xhand1/scene.xml``), so targets in
    the scene's world frame can be passed as they are.
    """

    def __init__(self, config: IKConfig | None = None, home: np.ndarray | None = None) -> None:
        self.config = config or IKConfig()
        self.model = mujoco.MjModel.from_xml_path(str(ARM_XML))
        self.home = np.array(self.model.key("home").qpos) if home is None else np.asarray(home, float)
        self.configuration = mink.Configuration(self.model, self.home.copy())
        cfg = self.config
        self.frame_task = mink.FrameTask(EE_SITE, "site", position_cost=cfg.position_cost,
                                         orientation_cost=cfg.orientation_cost, lm_damping=cfg.damping)
        self.posture_task = mink.PostureTask(self.model, cost=cfg.posture_cost)
        self.posture_task.set_target(self.home)
        self.limits: list = [mink.ConfigurationLimit(self.model, min_distance_from_limits=cfg.limit_margin)]
        if cfg.max_speed is not None:
            self.limits.append(mink.VelocityLimit(self.model, {j: cfg.max_speed for j in ARM_JOINTS}))
        self._lower = self.model.jnt_range[:, 0] + cfg.limit_margin
        self._upper = self.model.jnt_range[:, 1] - cfg.limit_margin

    @property
    def q(self) -> np.ndarray:
        """The current solution (7,) (the warm start of the next call)."""
        return self.configuration.q.copy()

    def reset(self, q: np.ndarray) -> None:
        """Restart from joint angles ``q`` (e.g. the measured arm at an episode's start)."""
        self.configuration.update(np.clip(np.asarray(q, float), self._lower, self._upper))

    def forward(self, q: np.ndarray | None = None) -> np.ndarray:
        """4x4 pose of the flange in the base frame at ``q`` (the current solution by default).

        Evaluating at another ``q`` leaves the solution (and so the warm start) unchanged.
        """
        if q is None:  # the configuration's kinematics are current (mink updates them on every change)
            data = self.configuration.data
        else:
            data = mujoco.MjData(self.model)
            data.qpos[:] = q
            mujoco.mj_kinematics(self.model, data)
        out = np.eye(4)
        out[:3, :3] = data.site(EE_SITE).xmat.reshape(3, 3)
        out[:3, 3] = data.site(EE_SITE).xpos
        return out

    def step(self, target: np.ndarray, dt: float, iterations: int | None = None) -> np.ndarray:
        """Move the solution toward the 4x4 ``target`` for one control period ``dt``; return q (7,).

        Joint speeds stay within ``max_speed`` over the whole period, so a far target is reached
        over several calls (this is the env's per-step call).
        """
        self.frame_task.set_target(mink.SE3.from_matrix(np.asarray(target, float)))
        k = iterations or self.config.iterations
        for _ in range(k):
            velocity = mink.solve_ik(self.configuration, [self.frame_task, self.posture_task], dt / k,
                                     solver=self.config.solver, damping=self.config.damping, limits=self.limits)
            self.configuration.integrate_inplace(velocity, dt / k)
        return self.q

    def solve(
        self, target: np.ndarray, q_init: np.ndarray | None = None, dt: float = 1.0 / 30.0, max_steps: int = 300,
        pos_tol: float = 1e-3, rot_tol: float = 1e-2,
    ) -> tuple[np.ndarray, bool]:
        """Run ``step`` until the flange is within ``pos_tol`` m and ``rot_tol`` rad of ``target``.

        Returns ``(q, converged)``; with the velocity limit on, ``max_steps * dt`` is the time the
        arm would take to get there.
        """
        if q_init is not None:
            self.reset(q_init)
        converged = False
        for _ in range(max_steps):
            self.step(target, dt)
            pos_err, rot_err = pose_error(self.forward(), target)
            if pos_err < pos_tol and rot_err < rot_tol:
                converged = True
                break
        return self.q, converged


def pose_error(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Position (m) and rotation angle (rad) between two 4x4 poses."""
    rel = a[:3, :3].T @ b[:3, :3]
    angle = float(np.arccos(np.clip((np.trace(rel) - 1.0) / 2.0, -1.0, 1.0)))
    return float(np.linalg.norm(a[:3, 3] - b[:3, 3])), angle

"""Forward and inverse kinematics of the RM75-6F flange, on ``assets/xhand1/rm75_6f.xml`` with plain MuJoCo.

Why a damped-least-squares (DLS) IK here rather than ``mink`` (which ``envs/robot/ik.py`` uses):
``real/`` must not import ``envs/``, and on the robot the IK sits inside the 30 Hz loop and in the
safety layer's workspace check, where a dependency-free, allocation-light solver is easier to
reason about. Each call does a few Gauss-Newton iterations warm-started from the previous solution:
policy targets move millimetres per step, so 3-4 iterations converge and the joint path stays
continuous (no elbow flips).

* Error: position (m) and rotation vector of ``R_target R^T`` (rad), rotation weighted 0.5 (1 cm
  weighs like ~1.1 deg, the tolerance of a five-finger grasp).
* Step: ``dq = J^T (J J^T + lambda^2 I)^-1 e`` with lambda = 0.05: bounded steps near singularities
  (stretched arm, wrist J6 = 0), exact solutions away from them.
* Redundancy (7 joints, 6-DoF task): a null-space pull toward ``home`` (elbow out to the right,
  out of the head camera's view) keeps the elbow from drifting.
* Joint limits: every iterate is clipped into the MJCF ranges (the vendor URDF's). The safety
  layer clamps again with a margin; the IK does not have to be the safety mechanism.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from assets import XHAND1_DIR

ARM_XML = XHAND1_DIR / "rm75_6f.xml"
FLANGE_SITE = "rm_attachment_site"
ARM_JOINTS: tuple[str, ...] = tuple(f"rm_joint{i}" for i in range(1, 8))


@dataclass
class IKConfig:
    """Settings of the DLS IK (project choices, explained in the module docstring).

    Attributes:
        damping: lambda of the damped pseudo-inverse.
        orientation_weight: weight of the rotation error (per rad) against position (per m).
        posture_gain: fraction of the distance to ``home`` pulled back per iteration, in the null space.
        iterations: Gauss-Newton iterations per call.
        max_joint_step: rad per iteration per joint (keeps a far target from causing a jump).
    """

    damping: float = 0.05
    orientation_weight: float = 0.5
    posture_gain: float = 0.05
    iterations: int = 4
    max_joint_step: float = 0.2


class ArmKinematics:
    """FK of the flange in the arm base frame and warm-started DLS IK; not thread-safe (one per thread)."""

    def __init__(self, config: IKConfig | None = None) -> None:
        self.config = config or IKConfig()
        self.model = mujoco.MjModel.from_xml_path(str(ARM_XML))
        self.data = mujoco.MjData(self.model)
        m = self.model
        self._qpos = np.array([m.jnt_qposadr[m.joint(n).id] for n in ARM_JOINTS])
        self._dofs = np.array([m.jnt_dofadr[m.joint(n).id] for n in ARM_JOINTS])
        self.lower = m.jnt_range[[m.joint(n).id for n in ARM_JOINTS], 0].copy()
        self.upper = m.jnt_range[[m.joint(n).id for n in ARM_JOINTS], 1].copy()
        self.home = np.asarray(m.key("home").qpos)[self._qpos].copy()
        self._site = m.site(FLANGE_SITE).id
        self._jacp = np.zeros((3, m.nv))
        self._jacr = np.zeros((3, m.nv))

    def fk(self, q: np.ndarray) -> np.ndarray:
        """4x4 pose of the flange (= hand mount) in the arm base frame at joints ``q`` (rad)."""
        self.data.qpos[self._qpos] = q
        mujoco.mj_kinematics(self.model, self.data)
        out = np.eye(4)
        out[:3, :3] = self.data.site_xmat[self._site].reshape(3, 3)
        out[:3, 3] = self.data.site_xpos[self._site]
        return out

    def points(self, q: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """(N, 3) base-frame positions of ``offsets`` (N, 3) given in the flange frame."""
        pose = self.fk(q)
        return offsets @ pose[:3, :3].T + pose[:3, 3]

    def ik(self, target: np.ndarray, q0: np.ndarray) -> np.ndarray:
        """Joints (7,) moving the flange toward the 4x4 ``target``, starting from ``q0``."""
        cfg = self.config
        q = np.clip(np.asarray(q0, np.float64), self.lower, self.upper)
        weight = np.array([1.0, 1.0, 1.0, cfg.orientation_weight, cfg.orientation_weight, cfg.orientation_weight])
        for _ in range(cfg.iterations):
            pose = self.fk(q)
            error = np.concatenate([
                target[:3, 3] - pose[:3, 3],
                Rotation.from_matrix(target[:3, :3] @ pose[:3, :3].T).as_rotvec(),
            ]) * weight
            mujoco.mj_comPos(self.model, self.data)
            mujoco.mj_jacSite(self.model, self.data, self._jacp, self._jacr, self._site)
            jac = np.vstack([self._jacp[:, self._dofs], self._jacr[:, self._dofs]]) * weight[:, None]
            inverse = jac.T @ np.linalg.inv(jac @ jac.T + cfg.damping**2 * np.eye(6))
            null = np.eye(len(q)) - inverse @ jac
            dq = inverse @ error + null @ (cfg.posture_gain * (self.home - q))
            dq = np.clip(dq, -cfg.max_joint_step, cfg.max_joint_step)
            q = np.clip(q + dq, self.lower, self.upper)
        return q

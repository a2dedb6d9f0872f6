"""Policy vectors <-> robot joints: the VITRA 102-dim action to arm and hand targets, and the robot's
measured joints to the 122-dim state the policy reads.

Semantics are the simulated env's (``envs/robot/base_env.py`` docstring), so a policy behaves the
same in sim and on the robot:

* Right-hand slots ``51:102`` = ``[dt(3), dR(3), theta(45)]``. ``dt``, ``dR`` (scipy Euler
  ``"xyz"``) are a per-step delta of the hand-mount pose in the head camera's OpenCV frame:
  ``p' = p + dt``, ``R' = dR R``. They move the *commanded* pose, not the measured one (recorded
  actions are executed commands, and deltas on the measured pose would shrink every motion by the
  servo lag). The left-hand slots are ignored: there is no left arm.
* ``theta`` is absolute; the 12 mapped slots become XHAND1 joint targets through
  ``vitra_bench.xhand_mapping`` (the joint table is a setting; the same as the checkpoint's).
* Wrist deltas are bounded like the env's action space (``MAX_DT``, ``MAX_DR``; a bound that
  binds is logged); the safety layer's joint-space limits come after.
* The commanded pose goes camera -> base with the calibration, then to joints with the DLS IK.
  It is kept on a leash: after the safety layer has clamped what was really sent, the command is
  pulled back to within ``max_lead`` of the pose the sent joints reach, so a clamped or
  unreachable command never winds up.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.spatial.transform import Rotation

from real.calibration import Calibration
from real.kinematics import ArmKinematics
from real.safety import format_values
from vitra_bench import layout, xhand_mapping


log = logging.getLogger(__name__)

MAX_DT = 0.03
"""m per step, each axis: the sim env's action bound (0.9 m/s, above what the arm can do)."""
MAX_DR = 0.2
"""rad per step, each Euler angle: the sim env's action bound."""


def _pose(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = rotation, translation
    return out


class ActionMapper:
    """Stateful mapping for one trial: call ``reset`` at its start, ``targets`` then ``sync`` every step."""

    def __init__(
        self,
        kinematics: ArmKinematics,
        calibration: Calibration,
        joint_table: str = xhand_mapping.DEFAULT_TABLE,
        max_lead: tuple[float, float] = (0.05, 0.3),
    ) -> None:
        self.kinematics = kinematics
        self.calibration = calibration
        self.joint_table = joint_table
        self.max_lead = max_lead
        self._mount_to_flange = np.linalg.inv(calibration.flange_to_mount)
        self._command = np.eye(4)
        self._q = kinematics.home.copy()
        mask = np.zeros(layout.STATE_DIM, bool)
        right = mask[layout.RIGHT_STATE]
        right[layout.WRIST] = True
        right[layout.FINGERS] = xhand_mapping.theta_mask(joint_table)
        self.state_mask = mask

    def mount_in_camera(self, q_arm: np.ndarray) -> np.ndarray:
        """4x4 hand-mount pose in the camera frame at arm joints ``q_arm``."""
        base = self.kinematics.fk(q_arm) @ self.calibration.flange_to_mount
        return self.calibration.base_to_camera @ base

    def reset(self, q_arm: np.ndarray) -> None:
        """Start commanding from the measured arm pose."""
        self._q = np.asarray(q_arm, np.float64).copy()
        self._command = self.mount_in_camera(self._q)

    def targets(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Arm (7,) and hand (12,) joint targets for one 102-dim action step (unclamped: safety clamps)."""
        right = np.asarray(action, np.float64).reshape(layout.ACTION_DIM)[layout.RIGHT_ACTION]
        if not np.all(np.isfinite(right)):
            raise ValueError("policy action holds NaN or inf")
        dt = np.clip(right[layout.TRANSLATION], -MAX_DT, MAX_DT)
        dr = np.clip(right[layout.ROTATION], -MAX_DR, MAX_DR)
        if np.any(dt != right[layout.TRANSLATION]) or np.any(dr != right[layout.ROTATION]):
            log.warning("action clamp [wrist delta bounds]: requested dt %s dR %s -> dt %s dR %s",
                        format_values(right[layout.TRANSLATION]), format_values(right[layout.ROTATION]),
                        format_values(dt), format_values(dr))
        rotation = Rotation.from_euler(layout.EULER, dr).as_matrix()
        self._command = _pose(rotation @ self._command[:3, :3], self._command[:3, 3] + dt)
        flange = self.calibration.camera_to_base @ self._command @ self._mount_to_flange
        q_arm = self.kinematics.ik(flange, self._q)
        q_hand = xhand_mapping.theta_to_xhand(right[layout.FINGERS], self.joint_table)
        return q_arm, q_hand

    def sync(self, q_sent: np.ndarray) -> None:
        """Warm-start the next IK from what was sent and pull the command within ``max_lead`` of it."""
        self._q = np.asarray(q_sent, np.float64).copy()
        reached = self.mount_in_camera(self._q)
        offset = self._command[:3, 3] - reached[:3, 3]
        distance = np.linalg.norm(offset)
        if distance > self.max_lead[0]:
            self._command[:3, 3] = reached[:3, 3] + offset * (self.max_lead[0] / distance)
        relative = Rotation.from_matrix(reached[:3, :3].T @ self._command[:3, :3]).as_rotvec()
        angle = np.linalg.norm(relative)
        if angle > self.max_lead[1]:
            scaled = Rotation.from_rotvec(relative * (self.max_lead[1] / angle)).as_matrix()
            self._command[:3, :3] = reached[:3, :3] @ scaled

    def state(self, q_arm: np.ndarray, q_hand: np.ndarray) -> np.ndarray:
        """(122,) float32 policy state: measured hand-mount pose in the camera frame and mapped fingers."""
        state = np.zeros(layout.STATE_DIM, np.float32)
        pose = self.mount_in_camera(q_arm)
        right = state[layout.RIGHT_STATE]
        right[layout.TRANSLATION] = pose[:3, 3]
        right[layout.ROTATION] = Rotation.from_matrix(pose[:3, :3]).as_euler(layout.EULER)
        right[layout.FINGERS] = xhand_mapping.xhand_to_theta(q_hand, self.joint_table)
        return np.where(self.state_mask, state, 0.0).astype(np.float32)

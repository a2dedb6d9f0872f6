"""Where the head camera and the hand sit relative to the arm: the transforms that turn the policy's
camera-frame actions into arm-base targets.

The policy predicts wrist motion in the head camera's frame (OpenCV axes: x right, y down, z
forward), as in its human training data (VITRA_FACTS.md). The robot needs targets in the arm's
base frame. Two rigid transforms do it, and both come from a calibration file because only a
measurement on the real set-up can give them:

* ``camera_to_base``: pose of the camera (OpenCV axes) in the arm base frame. Measure it with a
  hand-eye calibration: fix a marker (e.g. an ArUco board) to the flange, record 15-20 arm poses
  (``get_current_arm_state``) with the camera's marker detections, solve ``AX = XB`` with
  ``cv2.calibrateHandEye`` (eye-to-hand form: pass base->gripper and target->camera), and write
  the 4x4 result here. Re-calibrate whenever the head mount is touched.
* ``flange_to_mount``: pose of the hand mount in the flange frame (identity when the XHAND1
  palm is bolted straight onto the flange, as in ``assets/xhand1``; set it for an adapter plate).

The defaults are the simulated set-up's (``assets/xhand1/scene.xml``: ``head_camera`` converted to
OpenCV axes, hand on the flange), which is also the digital twin's, so twin runs need no file.

File format (YAML)::

    camera_to_base: [[r11, r12, r13, x], [r21, r22, r23, y], [r31, r32, r33, z], [0, 0, 0, 1]]
    flange_to_mount: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from assets import XHAND1_DIR

_CV_FROM_MJ = np.diag([1.0, -1.0, -1.0])  # MuJoCo camera axes (x right, y up, z back) -> OpenCV


def _check_transform(matrix: np.ndarray, name: str) -> np.ndarray:
    matrix = np.asarray(matrix, np.float64)
    if matrix.shape != (4, 4) or not np.allclose(matrix[3], [0, 0, 0, 1]):
        raise ValueError(f"{name} must be a 4x4 homogeneous transform, got {matrix.tolist()}")
    rotation = matrix[:3, :3]
    if not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-4) or np.linalg.det(rotation) < 0:
        raise ValueError(f"{name}: the 3x3 block is not a rotation (orthonormal, det +1)")
    return matrix


@dataclass
class Calibration:
    """The set-up's rigid transforms (see the module docstring); 4x4 numpy arrays."""

    camera_to_base: np.ndarray
    flange_to_mount: np.ndarray = field(default_factory=lambda: np.eye(4))

    def __post_init__(self) -> None:
        self.camera_to_base = _check_transform(self.camera_to_base, "camera_to_base")
        self.flange_to_mount = _check_transform(self.flange_to_mount, "flange_to_mount")

    @property
    def base_to_camera(self) -> np.ndarray:
        return np.linalg.inv(self.camera_to_base)

    @classmethod
    def load(cls, path: str | Path | None) -> Calibration:
        """The calibration in ``path`` (YAML), or the simulated set-up's when ``path`` is None."""
        if path is None:
            return cls.simulated()
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "camera_to_base" not in data:
            raise ValueError(f"{path}: a calibration file needs a camera_to_base 4x4 matrix")
        unknown = set(data) - {"camera_to_base", "flange_to_mount"}
        if unknown:
            raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
        return cls(np.array(data["camera_to_base"]), np.array(data.get("flange_to_mount", np.eye(4))))

    def save(self, path: str | Path) -> None:
        text = yaml.safe_dump({"camera_to_base": self.camera_to_base.tolist(),
                               "flange_to_mount": self.flange_to_mount.tolist()})
        Path(path).write_text(text, encoding="utf-8")

    @classmethod
    def simulated(cls) -> Calibration:
        """``head_camera`` of ``assets/xhand1/scene.xml`` in OpenCV axes; hand on the flange."""
        import mujoco

        model = mujoco.MjModel.from_xml_path(str(XHAND1_DIR / "scene.xml"))
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        cam = data.cam("head_camera")
        pose = np.eye(4)
        pose[:3, :3] = cam.xmat.reshape(3, 3) @ _CV_FROM_MJ
        pose[:3, 3] = cam.xpos
        return cls(pose)

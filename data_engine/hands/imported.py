"""Import per-frame MANO outputs of external estimators (HaWoR, WiLoR, ...) from an ``.npz``.

Those estimators already solve depth, so their hands arrive in camera space and lifting is only
IK. Expected keys (N detections, any order; loaded with ``allow_pickle=False``):

    frame_index    (N,) int, video frame of each detection.
    is_right       (N,) bool/int; or ``side`` (N,) str "left"/"right".
    global_orient  (N, 3, 3) or (N, 3) genuine MANO wrist rotation (matrix or axis-angle), camera frame.
    hand_pose      (N, 15, 3, 3) or (N, 45) genuine MANO local finger rotations.
    transl         (N, 3) wrist keypoint in the camera frame, metres (VITRA's convention);
                   or joints_cam (N, 21, 3) camera keypoints, OpenPose order (then used as is).
    beta           optional (10,) or (N, 10) shape in *this skeleton's* convention (MANO's
                   ``betas`` are ignored: the MANO shape space is licence-restricted).
    confidence     optional (N,) in [0, 1]; keeps the best detection per frame and side.
    focal          optional scalar or (N,) focal length in pixels, principal point at the image
                   centre; used for the 2D keypoints when no ``intrinsics`` are given.
    num_frames     optional scalar; otherwise the frames passed to ``detect`` decide.

MANO rotations go through ``vitra_bench.hand.from_mano``; keypoints come from this skeleton's FK.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
from scipy.spatial.transform import Rotation

from data_engine.hands.base import SIDES, HandDetections, SideDetections
from vitra_bench.geometry import project_points
from vitra_bench.hand import forward_kinematics, from_mano

SUFFIX = ".hands.npz"


@dataclass(frozen=True)
class ImportedBackend:
    """Reads ``path`` (default: ``<video stem>.hands.npz`` beside the video).

    Attributes:
        path: the npz, or None for the sidecar beside the video.
        intrinsics: (3, 3) camera matrix for the 2D keypoints; else built from the npz's ``focal``.
    """

    reads_frames: ClassVar[bool] = False  # reads a sidecar file; the pipeline skips decoding for it
    shapes_in_camera_axes: ClassVar[bool] = True  # MANO estimators report camera-frame hands: focal from 3D shapes (intrinsics.estimate_focal_from_shapes)

    path: Path | None = None
    intrinsics: np.ndarray | None = None

    def detect(self, frames: np.ndarray | None, video_path: Path | None = None) -> HandDetections:
        if self.path is not None:
            path = Path(self.path)
        elif video_path is not None:
            path = Path(video_path).with_suffix("").with_suffix(SUFFIX)
        else:
            raise ValueError("the import backend needs a path or the video path")
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        frame_index = arrays["frame_index"].astype(int)
        n = len(frame_index)
        if "num_frames" in arrays:
            t = int(arrays["num_frames"])
        elif frames is not None:
            t = len(frames)
        else:
            t = int(frame_index.max()) + 1 if n else 0
        is_right = arrays["is_right"].astype(bool) if "is_right" in arrays else arrays["side"] == "right"
        cam = _camera_keypoints(arrays, n)
        k = self._intrinsics(arrays, frames, n)
        uv = project_points(cam, k) if k.ndim == 2 else np.stack([project_points(c, ki) for c, ki in zip(cam, k)])
        confidence = arrays.get("confidence", np.ones(n)).astype(np.float64)

        hands = {}
        for side in SIDES:
            out = SideDetections.empty(t)
            out = SideDetections(out.keypoints2d, out.keypoints3d, out.confidence, np.full((t, 21, 3), np.nan))
            best = np.full(t, -np.inf)
            for i in np.flatnonzero(is_right == (side == "right")):
                f = frame_index[i]
                if 0 <= f < t and confidence[i] > best[f]:
                    best[f] = confidence[i]
                    out.keypoints2d[f], out.keypoints_cam[f] = uv[i], cam[i]
                    out.keypoints3d[f], out.confidence[f] = cam[i] - cam[i, 0], confidence[i]
            hands[side] = out
        return HandDetections(hands)

    def _intrinsics(self, arrays: dict[str, np.ndarray], frames: np.ndarray | None, n: int) -> np.ndarray:
        """One camera matrix (3, 3) or per-detection (N, 3, 3)."""
        if self.intrinsics is not None:
            return np.asarray(self.intrinsics, dtype=np.float64)
        if "focal" not in arrays or frames is None:
            raise ValueError("the import backend needs intrinsics, or a 'focal' key and the frames")
        height, width = frames.shape[1:3]
        k = np.tile(np.eye(3), (n, 1, 1))
        k[:, 0, 0] = k[:, 1, 1] = np.broadcast_to(arrays["focal"], (n,))
        k[:, 0, 2], k[:, 1, 2] = width / 2.0, height / 2.0
        return k


def _camera_keypoints(arrays: dict[str, np.ndarray], n: int) -> np.ndarray:
    if "joints_cam" in arrays:
        return arrays["joints_cam"].astype(np.float64).reshape(n, 21, 3)
    orient = arrays["global_orient"].astype(np.float64)
    if orient.shape[-2:] != (3, 3):
        orient = Rotation.from_rotvec(orient.reshape(n, 3)).as_matrix()
    pose = arrays["hand_pose"].astype(np.float64)
    if pose.shape[-2:] != (3, 3):
        pose = Rotation.from_rotvec(pose.reshape(n * 15, 3)).as_matrix().reshape(n, 15, 3, 3)
    rotation, theta = from_mano(orient, pose)
    beta = np.broadcast_to(arrays.get("beta", np.zeros(10)), (n, 10))
    is_right = arrays["is_right"].astype(bool) if "is_right" in arrays else arrays["side"] == "right"
    transl = arrays["transl"].astype(np.float64)
    return np.stack(
        [
            forward_kinematics(rotation[i], transl[i], theta[i], beta[i], "right" if is_right[i] else "left")
            for i in range(n)
        ]
    )

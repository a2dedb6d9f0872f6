"""Human hand -> XHAND1: the joint table and keypoint retargeting, and replaying human episodes.

Two ways to turn a human hand into the 12 XHAND1 joints:

* **Joint table** (``table_retarget``): each robot joint takes the angle of the topologically
  closest MANO joint with a sign (``vitra_bench.xhand_mapping``, documented there). Exact and
  invertible on the 12 mapped slots; what the VITRA action layout itself uses.
* **Keypoint retargeting** (:class:`KeypointRetargeter`): ``dex-retargeting``'s vector optimiser
  (ROBOT_FACTS.md, "Human (MANO) -> XHAND1 joint mapping": wrist-to-fingertip vectors, human
  keypoints ``[0]*5 -> [4, 8, 12, 16, 20]``, scaling ~1.15, low-pass filter). It matches where the
  fingertips are rather than joint angles, so it copes with the hands' different proportions.
  dex-retargeting ships no robot models; the URDF it needs is *generated at run time from the
  MJCF* (``assets/xhand1/xhand_{side}.xml``: the same joint origins, axes, limits and inertials)
  into a cache folder, so the two descriptions cannot drift apart and no vendor URDF is committed.

Frames. Human keypoints (OpenPose order) are turned into the hand's palm frame before
retargeting, with the robot's axes: +z wrist -> middle knuckle, +y toward the index/thumb side,
+x = y x z the palm normal (the side fingers curl to), the XHAND1 palm frame's convention
(``assets/xhand1/README.md``), so the vectors need no further alignment. The same frame in the
camera is the hand-mount orientation a human wrist pose becomes on the robot (VITRA_FACTS.md: the
hand mount's axes are aligned with the human hand frame).

``replay_human`` plays a human corpus episode on the simulated robot: wrist trajectory in the
camera -> hand-mount targets (shifted so it starts at the arm's home pose, since a human's reach
is not the robot's), fingers by either method, through the env's normal action interface.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vitra_bench.xhand_mapping import (
    DEFAULT_TABLE,
    mjcf_joint_names,
    theta_to_xhand,
    xhand_to_theta,
)

FINGERTIPS = ("thumb", "index", "mid", "ring", "pinky")
HUMAN_TIPS = (4, 8, 12, 16, 20)  # OpenPose keypoints of the thumb, index, middle, ring, little tips
SCALING = 1.15  # robot fingertip vectors are longer than an average adult's (ROBOT_FACTS)
LOW_PASS_ALPHA = 0.2  # dex-retargeting's default smoothing for video input


def table_retarget(theta: np.ndarray, table: str = DEFAULT_TABLE) -> np.ndarray:
    """(..., 45) MANO finger angles -> (..., 12) XHAND1 joints through the joint table (unclipped)."""
    return theta_to_xhand(theta, table)


def table_theta(q: np.ndarray, table: str = DEFAULT_TABLE) -> np.ndarray:
    """(..., 12) XHAND1 joints -> (..., 45) theta (unmapped slots zero): the table's inverse."""
    return xhand_to_theta(q, table)


def palm_frame(keypoints: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation of the palm frame (robot axes, module docstring) from (..., 21, 3) keypoints."""
    k = np.asarray(keypoints, float)
    z = k[..., 9, :] - k[..., 0, :]
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    y = k[..., 5, :] - k[..., 17, :]
    y -= np.sum(y * z, axis=-1, keepdims=True) * z
    y /= np.linalg.norm(y, axis=-1, keepdims=True)
    return np.stack([np.cross(y, z), y, z], axis=-1)


# --- the URDF, generated from the MJCF ----------------------------------------------------------


def _origin(pos: np.ndarray, quat: np.ndarray) -> str:
    from scipy.spatial.transform import Rotation

    w, x, y, z = quat
    rpy = Rotation.from_quat([x, y, z, w]).as_euler("xyz")  # URDF rpy: fixed axes x, y, z
    return f'<origin xyz="{pos[0]:.9g} {pos[1]:.9g} {pos[2]:.9g}" rpy="{rpy[0]:.9g} {rpy[1]:.9g} {rpy[2]:.9g}"/>'


def _inertial(mass: float, inertia: np.ndarray, ipos: np.ndarray, iquat: np.ndarray) -> str:
    m = max(float(mass), 1e-6)
    ixx, iyy, izz = np.maximum(inertia, 1e-9)
    return (f"<inertial>{_origin(ipos, iquat)}<mass value=\"{m:.9g}\"/>"
            f'<inertia ixx="{ixx:.9g}" ixy="0" ixz="0" iyy="{iyy:.9g}" iyz="0" izz="{izz:.9g}"/></inertial>')


def urdf_from_mjcf(side: str = "right") -> str:
    """URDF text of the XHAND1 ``side`` hand: links = MJCF bodies, revolute joints = MJCF joints
    (origin = body pose in its parent, axis, range), fingertip sites = fixed ``<side>_<finger>_tip``
    links. Inertials are the MJCF's (principal axes); there is no geometry (kinematics only)."""
    import mujoco

    from assets import XHAND1_DIR

    model = mujoco.MjModel.from_xml_path(str(XHAND1_DIR / f"xhand_{side}.xml"))
    prefix = "rh_" if side == "right" else "lh_"
    lines = [f'<robot name="xhand1_{side}">']
    for b in range(1, model.nbody):
        lines.append(f'<link name="{model.body(b).name}">'
                     + _inertial(model.body_mass[b], model.body_inertia[b], model.body_ipos[b], model.body_iquat[b])
                     + "</link>")
    for b in range(1, model.nbody):
        parent = model.body_parentid[b]
        if parent == 0:
            continue
        origin = _origin(model.body_pos[b], model.body_quat[b])
        if model.body_jntnum[b] == 1:
            j = model.body_jntadr[b]
            lo, hi = model.jnt_range[j]
            axis = model.jnt_axis[j]
            lines.append(
                f'<joint name="{model.joint(j).name}" type="revolute"><parent link="{model.body(parent).name}"/>'
                f'<child link="{model.body(b).name}"/>{origin}<axis xyz="{axis[0]:.9g} {axis[1]:.9g} {axis[2]:.9g}"/>'
                f'<limit lower="{lo:.9g}" upper="{hi:.9g}" effort="1" velocity="10"/></joint>'
            )
        else:
            lines.append(f'<joint name="{model.body(b).name}_fixed" type="fixed"><parent link="{model.body(parent).name}"/>'
                         f'<child link="{model.body(b).name}"/>{origin}</joint>')
    for finger in FINGERTIPS:
        site = model.site(f"{prefix}{finger}_tip")
        parent = model.body(model.site_bodyid[site.id]).name
        lines.append(f'<link name="{prefix}{finger}_tip"/>')
        lines.append(f'<joint name="{prefix}{finger}_tip_fixed" type="fixed"><parent link="{parent}"/>'
                     f'<child link="{prefix}{finger}_tip"/>{_origin(model.site_pos[site.id], model.site_quat[site.id])}</joint>')
    lines.append("</robot>")
    return "\n".join(lines)


def cache_dir() -> Path:
    """Where generated URDFs go: ``$VITRA_BENCH_CACHE`` or the system temp folder."""
    root = Path(os.environ.get("VITRA_BENCH_CACHE", Path(tempfile.gettempdir()) / "vitra_bench"))
    (root / "urdf").mkdir(parents=True, exist_ok=True)
    return root / "urdf"


def write_urdf(side: str = "right") -> Path:
    """Generate (or refresh) the hand's URDF in :func:`cache_dir`; rewritten when the text changed."""
    text = urdf_from_mjcf(side)
    path = cache_dir() / f"xhand1_{side}.urdf"
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return path


# --- keypoint retargeting -----------------------------------------------------------------------


@dataclass
class KeypointRetargeter:
    """dex-retargeting's vector optimiser on the generated XHAND1 URDF.

    ``retarget(keypoints)`` takes (21, 3) human keypoints in any frame (they are expressed in the
    palm frame first) and returns the 12 XHAND1 joints in SDK order. Stateful: the optimiser warm
    starts from the previous frame and low-pass filters (``reset`` between episodes).
    """

    side: str = "right"
    scaling: float = SCALING
    low_pass_alpha: float | None = LOW_PASS_ALPHA

    def __post_init__(self) -> None:
        from dex_retargeting.retargeting_config import RetargetingConfig

        prefix = "rh_" if self.side == "right" else "lh_"
        config = {
            "type": "vector",
            "urdf_path": str(write_urdf(self.side)),
            "target_joint_names": list(mjcf_joint_names(self.side)),
            "target_origin_link_names": [f"{prefix}palm"] * len(FINGERTIPS),
            "target_task_link_names": [f"{prefix}{f}_tip" for f in FINGERTIPS],
            "target_link_human_indices": [[0] * len(FINGERTIPS), list(HUMAN_TIPS)],
            "scaling_factor": self.scaling,
            "low_pass_alpha": self.low_pass_alpha if self.low_pass_alpha is not None else 1.0,
        }
        self._config = RetargetingConfig.from_dict(config)
        self._retargeting = self._config.build()
        names = self._retargeting.joint_names
        self._order = np.array([names.index(n) for n in mjcf_joint_names(self.side)])

    def reset(self) -> None:
        self._retargeting.reset()

    def retarget(self, keypoints: np.ndarray) -> np.ndarray:
        """(21, 3) human keypoints -> (12,) XHAND1 joints (SDK order, within the joint ranges)."""
        k = np.asarray(keypoints, float)
        local = (k - k[0]) @ palm_frame(k)  # rows: keypoints in the palm frame
        indices = self._retargeting.optimizer.target_link_human_indices
        vectors = local[indices[1]] - local[indices[0]]
        q = self._retargeting.retarget(vectors)
        return np.asarray(q, float)[self._order]


# --- replaying a human episode on the robot ----------------------------------------------------


def human_targets(episode: Any, side: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per frame of a corpus episode's hand: palm-frame pose in the camera (T, 4, 4), keypoints
    (T, 21, 3), theta (T, 45) and the tracked mask (T,). ``side`` defaults to the main hand."""
    from scipy.spatial.transform import Rotation

    hand = episode.hands[side or episode.main_hand]
    keypoints = np.asarray(hand.joints_cam, float)
    poses = np.tile(np.eye(4), (len(keypoints), 1, 1))
    kept = np.asarray(hand.kept, bool)
    if kept.any():
        poses[kept, :3, :3] = palm_frame(keypoints[kept])
        poses[kept, :3, 3] = keypoints[kept, 0]
    theta = Rotation.from_rotvec(np.asarray(hand.hand_pose, float).reshape(-1, 3)).as_euler("xyz")
    return poses, keypoints, theta.reshape(len(keypoints), -1), kept


def replay_human(
    corpus: str | Path, episode: int | str, out: str | Path, task: str = "PickPlace", method: str = "keypoints",
    image_size: int = 256, seed: int = 0,
) -> dict[str, float]:
    """Play episode ``episode`` of a human corpus on the simulated robot and write the head-camera
    video to ``out`` (mp4). Returns tracking numbers: mean wrist error to the (shifted) human wrist
    (m) and the frames played. Untracked frames hold the last target."""
    import gymnasium as gym

    import envs.robot  # noqa: F401
    from vitra_bench.corpus import Corpus
    from vitra_bench.corpus.video import VideoSettings, encode_video

    if method not in ("keypoints", "table"):
        raise ValueError(f"method must be 'keypoints' or 'table', got {method!r}")
    reader = Corpus(corpus)
    human = reader.episode(episode)
    reader.close()
    poses, keypoints, theta, kept = human_targets(human)
    if not kept.any():
        raise ValueError(f"episode {episode!r} of {corpus} has no tracked frame of its main hand")
    env = gym.make(f"VitraBench/{task}-v0", render_mode="rgb_array", image_size=image_size, observe_image=True)
    robot = env.unwrapped
    env.reset(seed=seed)
    # Shift the human wrist path (camera frame) so that its first tracked pose is the robot's start.
    first = int(np.flatnonzero(kept)[0])
    start = robot.ee_pose("camera")
    shift = start[:3, 3] - poses[first, :3, 3]
    retargeter = KeypointRetargeter() if method == "keypoints" else None
    target, q = start.copy(), robot.hand_joints()
    frames, errors = [], []
    for t in range(len(kept)):
        if kept[t]:
            target = poses[t].copy()
            target[:3, 3] += shift
            q = retargeter.retarget(keypoints[t]) if retargeter else table_retarget(theta[t])
        obs, *_ = env.step(robot.action_from_targets(target, q, frame="camera"))
        frames.append(obs["image"])
        errors.append(np.linalg.norm(robot.ee_pose("camera")[:3, 3] - target[:3, 3]))
    env.close()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    encode_video(np.stack(frames), out, human.fps, VideoSettings(codec="libx264", pix_fmt="yuv420p", crf=23))
    return {"frames": float(len(frames)), "mean_wrist_error_m": float(np.mean(errors))}


__all__ = [
    "KeypointRetargeter", "human_targets", "palm_frame", "replay_human", "table_retarget",
    "table_theta", "urdf_from_mjcf", "write_urdf",
]

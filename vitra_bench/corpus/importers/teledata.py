"""Import VITRA-TeleData robot episodes (VITRA_FACTS.md, "Robot teleoperation episodes") into a corpus.

A released episode is ``<id>.h5`` (groups ``meta``, ``kinematics``, ``observation/camera``,
``state``, ``action``, ``mask``) plus ``<id>.mp4`` from the head camera. Mapping, in order:

* **Kinematics are the episode's own.** The hand-mount pose is composed, never read on trust:
  ``T(mount in base) = FK(arm joints to joint7) @ {side}_ee_urdf_to_hand_mount`` and
  ``T(mount in camera) = inv(head_camera_to_{side}_arm_base) @ T(mount in base)``, FK being MuJoCo's
  on ``assets/xhand1/rm75_6f.xml`` (site ``rm_attachment_site`` = URDF joint7/link_7 frame). The
  stored ``state/{side}_hand_mount_pose[_in_cam]`` must agree with the composition on valid frames
  (a file whose poses disagree with its own kinematics is reported, not silently trusted).
* **Robot dims -> human slots** (the release's 18-dim vector per hand): hand-mount translation in
  the camera (m) -> slots 0:3, its rotation as scipy Euler ``"xyz"`` -> 3:6, the 12 XHand joints ->
  the theta slots of ``vitra_bench.xhand_mapping`` (``table="release"`` by default: these files come
  from the authors, whose table is the release's). Unmapped slots are zero and masked; beta is
  masked (robot data has no hand shape). See ``robot_vectors``.
* **Action** (not stated by the release, chosen here): per step t, the wrist part is the motion
  from the *measured* hand-mount pose at t to the *commanded* one, FK of ``action/{side}_arm_joint``
  at t, in the camera frame (``dt = t_cmd - t``, ``dR = R_cmd R^T``), like the human action's step
  deltas; the finger part is the absolute commanded joints ``action/{side}_hand_joint`` at t, like the
  human action's absolute finger angles. Commands, not next states: a hand closed on an object
  lags its target, and the policy must learn the target.
* **Corpus episode.** The head camera is fixed to the arm bases within an episode (one
  ``head_camera_to_arm_base`` per episode), so the world frame is the camera frame and the
  extrinsics are identities. Each arm becomes a ``HandTrack`` (wrist = hand mount in the camera,
  finger rotations from the mapped theta, keypoints from the project skeleton's FK; ``kept`` =
  arm mask and hand mask). The exact robot data (joints, commands, both masks, kinematics) travels
  in ``extra["robot"]`` (``record_json``), from which ``robot_vectors`` rebuilds the vectors above
  and ``vitra_bench.corpus.exporters.teledata`` writes the released format back.

Missing arms are zero-filled and masked in the release (``meta/has_left`` false); they become
untracked hands. Every file that breaks the format raises ``TeleDataFormatError`` naming the file
and the field; ``import_teledata`` records it and goes on with the next file.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import h5py
import numpy as np
from scipy.spatial.transform import Rotation

from vitra_bench import layout, xhand_mapping
from vitra_bench.corpus.importers.vitra1m import ImportReport
from vitra_bench.corpus.video import VideoSettings
from vitra_bench.corpus.writer import CorpusWriter
from vitra_bench.embodiment import REALMAN_XHAND1_ROBOT_TYPE
from vitra_bench.episode import HANDS, NUM_BETAS, Episode, HandTrack, Instruction
from vitra_bench.hand import forward_kinematics
from vitra_bench.xhand_mapping import NUM_XHAND_JOINTS, xhand_to_theta

CAMERA = "head"
ROBOT_TYPE = REALMAN_XHAND1_ROBOT_TYPE
RECORD_KEY = "robot"
RECORD_FORMAT = "vitra-teledata"
NUM_ARM_JOINTS = 7
DEFAULT_TABLE = "release"
POSITION_TOLERANCE_M = 1e-3
ROTATION_TOLERANCE_RAD = 2e-3
GROUPS = ("meta", "kinematics", "observation/camera", "state", "action", "mask")


class TeleDataFormatError(ValueError):
    """A TeleData file (or its video) breaks the released format; ``file`` and ``field`` say where."""

    def __init__(self, file: str, field: str, problem: str) -> None:
        super().__init__(f"{file}: {field}: {problem}")
        self.file, self.field = file, field


@dataclass
class ArmTrack:
    """One arm + hand over an episode, as the release stores it (radians, metres).

    Attributes:
        arm_joint: (T, 7) measured arm joints. hand_joint: (T, 12) measured XHand joints (SDK order).
        arm_target / hand_target: the commanded joints (``action/`` group), same shapes.
        arm_mask / hand_mask: (T,) valid frames of the arm and of the hand.
        ee_to_mount: (4, 4) ``{side}_ee_urdf_to_hand_mount``.
        camera_to_base: (4, 4) ``head_camera_to_{side}_arm_base`` (the camera's pose in the arm base).
    """

    arm_joint: np.ndarray
    hand_joint: np.ndarray
    arm_target: np.ndarray
    hand_target: np.ndarray
    arm_mask: np.ndarray
    hand_mask: np.ndarray
    ee_to_mount: np.ndarray
    camera_to_base: np.ndarray

    @property
    def num_frames(self) -> int:
        return len(self.arm_mask)


@dataclass
class TeleEpisode:
    """A robot episode in the release's terms: present arms only, frames at the corpus's size."""

    key: str
    instruction: str
    fps: float
    intrinsics: np.ndarray
    arms: dict[str, ArmTrack]
    frames: np.ndarray

    @property
    def num_frames(self) -> int:
        return len(self.frames)


# ---------------------------------------------------------------------- kinematics


@functools.cache
def _arm_model() -> tuple[Any, np.ndarray, int]:
    """The RM75-6F MJCF, qpos addresses of rm_joint1..7 and the flange site (loaded once; MuJoCo imported lazily)."""
    import mujoco

    from assets import XHAND1_DIR

    model = mujoco.MjModel.from_xml_path(str(XHAND1_DIR / "rm75_6f.xml"))
    qpos = np.array([model.joint(f"rm_joint{k}").qposadr[0] for k in range(1, NUM_ARM_JOINTS + 1)])
    return model, qpos, model.site("rm_attachment_site").id


def flange_poses(arm_joint: np.ndarray) -> np.ndarray:
    """(T, 4, 4) pose of URDF joint7 (``ee_urdf``) in the arm base for (T, 7) joint angles."""
    import mujoco

    model, qpos, site = _arm_model()
    data = mujoco.MjData(model)
    out = np.tile(np.eye(4), (len(arm_joint), 1, 1))
    for t, q in enumerate(np.asarray(arm_joint, np.float64)):
        data.qpos[qpos] = q
        mujoco.mj_kinematics(model, data)
        out[t, :3, :3] = data.site_xmat[site].reshape(3, 3)
        out[t, :3, 3] = data.site_xpos[site]
    return out


def mount_in_base(arm_joint: np.ndarray, ee_to_mount: np.ndarray) -> np.ndarray:
    """(T, 4, 4) hand-mount pose in the arm base: FK to joint7, then the episode's flange offset."""
    return flange_poses(arm_joint) @ ee_to_mount


def mount_in_camera(arm_joint: np.ndarray, ee_to_mount: np.ndarray, camera_to_base: np.ndarray) -> np.ndarray:
    """(T, 4, 4) hand-mount pose in the head camera: ``inv(head_camera_to_arm_base) @ T(mount in base)``."""
    return np.linalg.inv(camera_to_base) @ mount_in_base(arm_joint, ee_to_mount)


def to_pose6(matrices: np.ndarray) -> np.ndarray:
    """(T, 4, 4) -> (T, 6) ``[x, y, z, rx, ry, rz]`` (metres, rotation vector), the release's pose."""
    return np.concatenate([matrices[:, :3, 3], Rotation.from_matrix(matrices[:, :3, :3]).as_rotvec()], axis=1)


def from_pose6(poses: np.ndarray) -> np.ndarray:
    """(T, 6) release poses -> (T, 4, 4)."""
    out = np.tile(np.eye(4), (len(poses), 1, 1))
    out[:, :3, :3] = Rotation.from_rotvec(poses[:, 3:]).as_matrix()
    out[:, :3, 3] = poses[:, :3]
    return out


# ---------------------------------------------------------------------- robot vectors in human slots


def robot_vectors(tele: TeleEpisode, table: str = DEFAULT_TABLE) -> tuple[np.ndarray, ...]:
    """Per frame, the bimanual state (T, 122) and action (T, 102) with their masks, robot dims in human slots.

    Returns ``(state, state_mask, action, action_mask)`` (float64 / bool); see the module docstring
    for the definitions. The wrist block is valid where the arm mask is, the mapped finger slots
    where the hand mask is; everything else is zero and masked.
    """
    t = tele.num_frames
    state, state_mask = np.zeros((t, layout.STATE_DIM)), np.zeros((t, layout.STATE_DIM), bool)
    action, action_mask = np.zeros((t, layout.ACTION_DIM)), np.zeros((t, layout.ACTION_DIM), bool)
    fingers = xhand_mapping.action_mask(table)[layout.FINGERS]
    for side, arm in tele.arms.items():
        now = mount_in_camera(arm.arm_joint, arm.ee_to_mount, arm.camera_to_base)
        command = mount_in_camera(arm.arm_target, arm.ee_to_mount, arm.camera_to_base)
        wrist = np.concatenate([now[:, :3, 3], Rotation.from_matrix(now[:, :3, :3]).as_euler(layout.EULER)], axis=1)
        delta = command[:, :3, :3] @ np.swapaxes(now[:, :3, :3], 1, 2)
        step = np.concatenate(
            [command[:, :3, 3] - now[:, :3, 3], Rotation.from_matrix(delta).as_euler(layout.EULER)], axis=1
        )
        for values, mask, block, wrist_part, joints in (
            (state, state_mask, layout.STATE_SLICES[side], wrist, arm.hand_joint),
            (action, action_mask, layout.ACTION_SLICES[side], step, arm.hand_target),
        ):
            hand = values[:, block]
            hand_mask = mask[:, block]
            hand_mask[:, layout.WRIST] = arm.arm_mask[:, None]
            hand_mask[:, layout.FINGERS] = arm.hand_mask[:, None] & fingers
            hand[:, layout.WRIST] = wrist_part
            hand[:, layout.FINGERS] = xhand_to_theta(joints, table)
            values[:, block] = np.where(hand_mask, hand, 0.0)
            mask[:, block] = hand_mask
    return state, state_mask, action, action_mask


# ---------------------------------------------------------------------- corpus episode and record


def _hand_pose(hand_joint: np.ndarray, table: str) -> np.ndarray:
    """(T, 15, 3) MANO finger rotations (axis-angle) of XHAND1 joints (T, 12) through ``table``."""
    theta = xhand_to_theta(hand_joint, table)
    return Rotation.from_euler(layout.EULER, theta.reshape(-1, 3)).as_rotvec().reshape(len(hand_joint), -1, 3)


def _hand_track(arm: ArmTrack, side: str, table: str) -> HandTrack:
    """The arm as a human-layout ``HandTrack`` in the camera (= world) frame; see the module docstring."""
    kept = arm.arm_mask & arm.hand_mask
    pose = mount_in_camera(arm.arm_joint, arm.ee_to_mount, arm.camera_to_base)
    hand_pose = _hand_pose(arm.hand_joint, table)
    rotvec = Rotation.from_matrix(pose[:, :3, :3]).as_rotvec()
    joints = forward_kinematics(pose[:, :3, :3], pose[:, :3, 3], hand_pose, side=side)
    zero = lambda a: np.where(kept.reshape((-1,) + (1,) * (a.ndim - 1)), a, 0.0)
    return HandTrack(
        beta=np.zeros(NUM_BETAS),
        wrist_orient_cam=zero(rotvec),
        wrist_orient_world=zero(rotvec),
        hand_pose=zero(hand_pose),
        wrist_world=zero(pose[:, :3, 3]),
        joints_cam=zero(joints),
        joints_world=zero(joints),
        kept=kept,
    )


def sent_commands(tele: TeleEpisode, table: str) -> np.ndarray:
    """(T, 102) the actions that reproduce the joint targets each arm was sent: step t moves the
    commanded hand-mount pose from the target of step t-1 (the measured pose before the first) to
    the target of step t, fingers at step t's targets through the joint table. These, not the
    measured track, are what a policy must learn (``Episode.commands``); for simulated demonstrations
    they match the env's own action vectors within 1.2 mm and 1.2 mrad and replay to success."""
    t = tele.num_frames
    out = np.zeros((t, layout.ACTION_DIM), np.float32)
    for side, arm in tele.arms.items():
        poses = mount_in_camera(np.concatenate([arm.arm_joint[:1], arm.arm_target]), arm.ee_to_mount, arm.camera_to_base)
        hand_pose = _hand_pose(np.concatenate([arm.hand_joint[:1], arm.hand_target]), table)
        kept = arm.arm_mask & arm.hand_mask
        values, _ = layout.hand_actions(poses[:, :3, :3], poses[:, :3, 3], hand_pose, np.concatenate([kept[:1], kept]))
        out[:, layout.ACTION_SLICES[side]] = values
    return out


def record_json(tele: TeleEpisode, table: str) -> dict[str, Any]:
    """The exact robot data of ``tele`` as ``extra["robot"]`` (float32 arrays as JSON lists, kinematics float64)."""
    f32 = lambda a: np.asarray(a, np.float32).tolist()
    return {
        "format": RECORD_FORMAT,
        "joint_table": table,
        "instruction": tele.instruction,
        "arms": {
            side: {
                "arm_joint": f32(arm.arm_joint),
                "hand_joint": f32(arm.hand_joint),
                "arm_target": f32(arm.arm_target),
                "hand_target": f32(arm.hand_target),
                "arm_mask": np.asarray(arm.arm_mask, bool).tolist(),
                "hand_mask": np.asarray(arm.hand_mask, bool).tolist(),
                "ee_to_mount": np.asarray(arm.ee_to_mount, np.float64).tolist(),
                "camera_to_base": np.asarray(arm.camera_to_base, np.float64).tolist(),
            }
            for side, arm in tele.arms.items()
        },
    }


def tele_from_episode(episode: Episode, frames: np.ndarray) -> TeleEpisode:
    """Inverse of ``episode_from_tele`` (frames passed in: the corpus reader decodes them separately).

    Raises ``ValueError`` when the episode carries no robot record (e.g. a human episode).
    """
    record = episode.extra.get(RECORD_KEY)
    if not isinstance(record, Mapping) or record.get("format") != RECORD_FORMAT:
        raise ValueError(f"episode {episode.key!r} has no extra[{RECORD_KEY!r}] robot record; not a robot episode")
    arms = {
        side: ArmTrack(
            arm_joint=np.asarray(arm["arm_joint"], np.float32).reshape(-1, NUM_ARM_JOINTS),
            hand_joint=np.asarray(arm["hand_joint"], np.float32).reshape(-1, NUM_XHAND_JOINTS),
            arm_target=np.asarray(arm["arm_target"], np.float32).reshape(-1, NUM_ARM_JOINTS),
            hand_target=np.asarray(arm["hand_target"], np.float32).reshape(-1, NUM_XHAND_JOINTS),
            arm_mask=np.asarray(arm["arm_mask"], bool),
            hand_mask=np.asarray(arm["hand_mask"], bool),
            ee_to_mount=np.asarray(arm["ee_to_mount"], np.float64),
            camera_to_base=np.asarray(arm["camera_to_base"], np.float64),
        )
        for side, arm in record["arms"].items()
    }
    return TeleEpisode(episode.key, str(record["instruction"]), episode.fps, episode.intrinsics, arms, frames)


def episode_from_tele(tele: TeleEpisode, table: str = DEFAULT_TABLE, source_video: str = "") -> Episode:
    """``tele`` as a corpus ``Episode``: camera = world frame, one ``HandTrack`` per arm, record in ``extra``.

    The instruction goes to every present arm's hand (the right one is the main hand when present).
    Producers of robot demonstrations (simulation, real-robot recordings) build a ``TeleEpisode`` and
    call this, so that every robot episode in a corpus can be exported the same way.
    """
    t = tele.num_frames
    hands = {
        side: _hand_track(tele.arms[side], side, table) if side in tele.arms else HandTrack.untracked(t)
        for side in HANDS
    }
    main = "right" if "right" in tele.arms else "left"
    return Episode(
        key=tele.key,
        source_video=source_video or f"{tele.key}.mp4",
        fps=tele.fps,
        intrinsics=tele.intrinsics,
        image_size=(tele.frames.shape[2], tele.frames.shape[1]),
        extrinsics=np.tile(np.eye(4), (t, 1, 1)),
        video_frame_index=np.arange(t),
        hands=hands,
        instructions={side: [Instruction(tele.instruction, 0, t)] for side in tele.arms},
        main_hand=main,
        caption_source="import",
        frames={CAMERA: tele.frames},
        extra={RECORD_KEY: record_json(tele, table)},
        commands=sent_commands(tele, table),
    )


# ---------------------------------------------------------------------- reading the released files


class _H5Reader:
    """Field access on one open file that turns every format problem into a ``TeleDataFormatError``."""

    def __init__(self, h5: h5py.File, name: str) -> None:
        self.h5, self.name = h5, name

    def fail(self, field: str, problem: str) -> TeleDataFormatError:
        return TeleDataFormatError(self.name, field, problem)

    def has(self, field: str) -> bool:
        return field in self.h5

    def value(self, field: str) -> Any:
        """A scalar ``meta`` field, stored as a dataset or (some writers) as an attribute of ``meta``."""
        group, _, name = field.rpartition("/")
        if field in self.h5 and isinstance(self.h5[field], h5py.Dataset):
            value = self.h5[field][()]
        elif name in self.h5[group].attrs:
            value = self.h5[group].attrs[name]
        else:
            raise self.fail(field, "missing")
        value = value.item() if isinstance(value, np.ndarray) and value.size == 1 else value
        return value.decode("utf-8") if isinstance(value, bytes) else value

    def array(self, field: str, shape: tuple[int, ...]) -> np.ndarray:
        if field not in self.h5 or not isinstance(self.h5[field], h5py.Dataset):
            raise self.fail(field, "missing dataset")
        data = self.h5[field][()]
        if not isinstance(data, np.ndarray) or data.shape != shape:
            got = data.shape if isinstance(data, np.ndarray) else "a scalar"
            raise self.fail(field, f"expected shape {shape}, got {got}")
        if data.dtype.kind not in "biuf":
            raise self.fail(field, f"expected numbers, got dtype {data.dtype}")
        return data

    def mask(self, field: str, t: int) -> np.ndarray:
        data = self.array(field, (t,))
        if data.dtype.kind != "b" and not np.isin(data, (0, 1)).all():
            bad = data[~np.isin(data, (0, 1))]
            raise self.fail(field, f"mask values must be 0/1 or bool, found {bad[0].item()!r} ({len(bad)} entries)")
        return data.astype(bool)

    def transform(self, field: str) -> np.ndarray:
        m = self.array(field, (4, 4)).astype(np.float64)
        r = m[:3, :3]
        if (
            not np.isfinite(m).all()
            or not np.allclose(m[3], [0, 0, 0, 1], atol=1e-6)
            or not np.allclose(r @ r.T, np.eye(3), atol=1e-4)
            or np.linalg.det(r) < 0
        ):
            raise self.fail(field, "not a rigid transform (rotation + translation, last row 0 0 0 1)")
        return m

    def trajectory(self, field: str, shape: tuple[int, int], valid: np.ndarray) -> np.ndarray:
        """A (T, D) array; NaN or inf is tolerated on masked frames only, which are zeroed."""
        data = self.array(field, shape).astype(np.float64)
        bad = valid & ~np.isfinite(data).all(axis=1)
        if bad.any():
            raise self.fail(field, f"NaN or inf on valid frame {int(np.flatnonzero(bad)[0])}")
        return np.where(valid[:, None], data, 0.0)


def _check_pose(reader: _H5Reader, field: str, composed: np.ndarray, valid: np.ndarray) -> None:
    """The stored pose must equal the composition from the episode's kinematics on valid frames."""
    stored = from_pose6(reader.trajectory(field, (len(valid), 6), valid))
    position = np.linalg.norm(stored[:, :3, 3] - composed[:, :3, 3], axis=1)
    relative = Rotation.from_matrix(stored[:, :3, :3] @ np.swapaxes(composed[:, :3, :3], 1, 2))
    angle = relative.magnitude()
    error = np.where(valid, np.maximum(position / POSITION_TOLERANCE_M, angle / ROTATION_TOLERANCE_RAD), 0.0)
    if error.max(initial=0.0) > 1.0:
        frame = int(np.argmax(error))
        raise reader.fail(
            field,
            f"disagrees with FK of the arm joints and the episode's kinematics at frame {frame} "
            f"({position[frame] * 1000:.2f} mm, {np.degrees(angle[frame]):.3f} deg; tolerance "
            f"{POSITION_TOLERANCE_M * 1000:g} mm, {np.degrees(ROTATION_TOLERANCE_RAD):.3f} deg)",
        )


def _read_arm(reader: _H5Reader, side: str, t: int) -> ArmTrack:
    arm_mask = reader.mask(f"mask/{side}_arm", t)
    hand_mask = reader.mask(f"mask/{side}_hand", t)
    arm = ArmTrack(
        arm_joint=reader.trajectory(f"state/{side}_arm_joint", (t, NUM_ARM_JOINTS), arm_mask),
        hand_joint=reader.trajectory(f"state/{side}_hand_joint", (t, NUM_XHAND_JOINTS), hand_mask),
        arm_target=reader.trajectory(f"action/{side}_arm_joint", (t, NUM_ARM_JOINTS), arm_mask),
        hand_target=reader.trajectory(f"action/{side}_hand_joint", (t, NUM_XHAND_JOINTS), hand_mask),
        arm_mask=arm_mask,
        hand_mask=hand_mask,
        ee_to_mount=reader.transform(f"kinematics/{side}_ee_urdf_to_hand_mount"),
        camera_to_base=reader.transform(f"kinematics/head_camera_to_{side}_arm_base"),
    )
    in_base = mount_in_base(arm.arm_joint, arm.ee_to_mount)
    _check_pose(reader, f"state/{side}_hand_mount_pose", in_base, arm_mask)
    _check_pose(reader, f"state/{side}_hand_mount_pose_in_cam", np.linalg.inv(arm.camera_to_base) @ in_base, arm_mask)
    return arm


def _check_absent(reader: _H5Reader, side: str, t: int) -> None:
    """An arm the file says is absent must be masked out wherever its masks are stored."""
    for part in ("arm", "hand"):
        field = f"mask/{side}_{part}"
        if reader.has(field) and reader.mask(field, t).any():
            raise reader.fail(field, f"true on some frames but meta/has_{side} is false")


def _find_video(path: Path, stored: str) -> Path:
    """``meta/video_path`` relative to the h5 file's folder, else ``<id>.mp4`` beside it (paired one to one)."""
    candidates = [path.parent / stored, path.parent / Path(stored).name] if stored else []
    for candidate in [*candidates, path.with_suffix(".mp4")]:
        if candidate.is_file():
            return candidate
    raise TeleDataFormatError(
        path.name, "meta/video_path", f"video {stored!r} not found, nor {path.stem}.mp4 beside it"
    )


def _decode(path: Path, size: tuple[int, int] | None) -> tuple[np.ndarray, tuple[int, int]]:
    """Every frame (resized to ``size`` = (W, H) when given) and the source's (W, H)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        source = (stream.codec_context.width, stream.codec_context.height)
        width, height = size or source
        frames = [f.reformat(width=width, height=height, format="rgb24").to_ndarray() for f in container.decode(stream)]
    return np.stack(frames) if frames else np.zeros((0, height, width, 3), np.uint8), source


def read_teledata(path: str | Path, size: tuple[int, int] | None = None) -> TeleEpisode:
    """One released episode (``<id>.h5`` and its video) as a ``TeleEpisode``, every field checked.

    ``size`` = (W, H) resizes the frames, scaling the intrinsics with them; ``None`` keeps the video's.
    Raises ``TeleDataFormatError`` naming the file and the field at the first problem found.
    """
    path = Path(path)
    try:
        h5 = h5py.File(path, "r")
    except OSError as error:
        raise TeleDataFormatError(path.name, "(file)", f"not a readable HDF5 file ({error})") from error
    with h5:
        reader = _H5Reader(h5, path.name)
        for group in GROUPS:
            if group not in h5 or not isinstance(h5[group], h5py.Group):
                raise reader.fail(group, "missing group")
        t = reader.value("meta/frame_count")
        if not isinstance(t, (int, np.integer)) or t < 1:
            raise reader.fail("meta/frame_count", f"expected a positive integer, got {t!r}")
        t = int(t)
        fps = reader.value("meta/fps")
        if not isinstance(fps, (int, float, np.number)) or not fps > 0:
            raise reader.fail("meta/fps", f"expected a positive number, got {fps!r}")
        instruction = str(reader.value("meta/instruction")).strip()
        if not instruction:
            raise reader.fail("meta/instruction", "empty")
        present = [side for side in HANDS if bool(reader.value(f"meta/has_{side}"))]
        if not present:
            raise reader.fail("meta/has_left", "both meta/has_left and meta/has_right are false: no arm")
        for side in HANDS:
            if side not in present:
                _check_absent(reader, side, t)
        arms = {side: _read_arm(reader, side, t) for side in present}
        intrinsics = reader.array("observation/camera/intrinsics", (3, 3)).astype(np.float64)
        if not np.isfinite(intrinsics).all() or intrinsics[0, 0] <= 0 or intrinsics[1, 1] <= 0:
            raise reader.fail("observation/camera/intrinsics", "not a pinhole matrix with positive focal lengths")
        video = _find_video(path, str(reader.value("meta/video_path")))
    try:
        frames, source = _decode(video, size)
    except av.FFmpegError as error:
        raise TeleDataFormatError(
            path.name, "meta/video_path", f"{video.name} is not a readable video ({error})"
        ) from error
    if len(frames) != t:
        raise TeleDataFormatError(path.name, "meta/frame_count", f"{t} frames, but {video.name} has {len(frames)}")
    k = intrinsics.copy()
    k[0] *= frames.shape[2] / source[0]
    k[1] *= frames.shape[1] / source[1]
    return TeleEpisode(path.stem, instruction, float(fps), k, arms, frames)


# Everything a bad file can raise past the checks above; anything else is a bug and stops the run.
FILE_ERRORS = (ValueError, KeyError, TypeError, OSError, av.FFmpegError)


def import_teledata(
    episodes: str | Path,
    out: str | Path,
    *,
    fps: float = 30.0,
    size: tuple[int, int] = (320, 180),
    table: str = DEFAULT_TABLE,
    video: VideoSettings | None = None,
) -> ImportReport:
    """Import every ``*.h5`` in ``episodes`` (with its mp4) into the corpus at ``out`` (created or resumed).

    The key is the file stem, so a re-run skips episodes already written; a bad file is recorded in
    the report (``errors[file name] = "<file>: <field>: <problem>"``) and the run goes on.
    """
    files = sorted(Path(episodes).glob("*.h5"))
    if not files:
        raise FileNotFoundError(f"no .h5 episode files in {episodes}")
    report = ImportReport()
    with CorpusWriter(out, fps=fps, cameras={CAMERA: size}, robot_type=ROBOT_TYPE, video=video) as writer:
        for path in files:
            if writer.contains(path.stem):
                report.skipped.append(path.stem)
                continue
            try:
                tele = read_teledata(path, size)
                if not np.isclose(tele.fps, fps):
                    raise TeleDataFormatError(path.name, "meta/fps", f"{tele.fps:g}, the corpus is at {fps:g} fps")
                episode = episode_from_tele(tele, table)
            except TeleDataFormatError as error:
                report.errors[path.name] = str(error)
                continue
            except FILE_ERRORS as error:  # EpisodeError and h5py's own errors: no field to name
                report.errors[path.name] = f"{path.name}: {type(error).__name__}: {error}"
                continue
            writer.add(episode)
            report.imported.append(path.stem)
    return report

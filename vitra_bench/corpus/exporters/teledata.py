"""Export robot episodes of a corpus in the VITRA-TeleData format (``<id>.h5`` + ``<id>.mp4``).

The inverse of ``vitra_bench.corpus.importers.teledata`` (whose module docstring gives the field
mapping): every robot episode carries its exact robot data in ``extra["robot"]``, so an export
reproduces joints, commands, masks and kinematics, and the poses are composed from them with the
same FK the importer checks against. Layout as the release (VITRA_FACTS.md, "Robot teleoperation
episodes"): both arms' datasets are always present; an absent arm is zero-filled, masked, has
identity kinematics and ``meta/has_<side>`` false. ``right_only`` writes the right arm alone, as
the released data is, for loaders that expect it.

Frames are encoded as H.264 (any decoder the authors' loaders may use reads it), video first and
h5 last under temporary names, so an existing ``<id>.h5`` marks a finished episode and a re-run
skips it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from vitra_bench.xhand_mapping import NUM_XHAND_JOINTS
from vitra_bench.corpus.importers.teledata import (
    CAMERA,
    NUM_ARM_JOINTS,
    RECORD_KEY,
    ArmTrack,
    TeleEpisode,
    mount_in_base,
    tele_from_episode,
    to_pose6,
)
from vitra_bench.corpus.reader import Corpus
from vitra_bench.corpus.video import VideoSettings, encode_video
from vitra_bench.episode import HANDS

EXPORT_VIDEO = VideoSettings(codec="libx264", gop=30, crf=18)


@dataclass
class ExportReport:
    """What an export run did: episodes written, skipped (with the reason) and per-episode errors."""

    exported: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def file_id(key: str) -> str:
    """A file name for an episode key (keys may hold '/', file names may not)."""
    return key.replace("/", "__")


def _arm_datasets(side: str, arm: ArmTrack | None, t: int) -> dict[str, np.ndarray]:
    """The per-arm datasets of one side; zeros and false masks for an absent arm."""
    if arm is None:
        zeros = lambda d: np.zeros((t, d), np.float32)  # noqa: E731
        return {
            f"state/{side}_arm_joint": zeros(NUM_ARM_JOINTS),
            f"state/{side}_hand_mount_pose": zeros(6),
            f"state/{side}_hand_mount_pose_in_cam": zeros(6),
            f"state/{side}_hand_joint": zeros(NUM_XHAND_JOINTS),
            f"action/{side}_arm_joint": zeros(NUM_ARM_JOINTS),
            f"action/{side}_hand_joint": zeros(NUM_XHAND_JOINTS),
            f"mask/{side}_arm": np.zeros(t, bool),
            f"mask/{side}_hand": np.zeros(t, bool),
            f"kinematics/{side}_ee_urdf_to_hand_mount": np.eye(4),
            f"kinematics/head_camera_to_{side}_arm_base": np.eye(4),
        }
    in_base = mount_in_base(arm.arm_joint, arm.ee_to_mount)
    valid = arm.arm_mask[:, None]
    pose = lambda m: np.where(valid, to_pose6(m), 0.0).astype(np.float32)  # noqa: E731
    return {
        f"state/{side}_arm_joint": np.asarray(arm.arm_joint, np.float32),
        f"state/{side}_hand_mount_pose": pose(in_base),
        f"state/{side}_hand_mount_pose_in_cam": pose(np.linalg.inv(arm.camera_to_base) @ in_base),
        f"state/{side}_hand_joint": np.asarray(arm.hand_joint, np.float32),
        f"action/{side}_arm_joint": np.asarray(arm.arm_target, np.float32),
        f"action/{side}_hand_joint": np.asarray(arm.hand_target, np.float32),
        f"mask/{side}_arm": np.asarray(arm.arm_mask, bool),
        f"mask/{side}_hand": np.asarray(arm.hand_mask, bool),
        f"kinematics/{side}_ee_urdf_to_hand_mount": np.asarray(arm.ee_to_mount, np.float64),
        f"kinematics/head_camera_to_{side}_arm_base": np.asarray(arm.camera_to_base, np.float64),
    }


def write_teledata(
    tele: TeleEpisode, out: str | Path, *, right_only: bool = False, video: VideoSettings = EXPORT_VIDEO
) -> Path:
    """Write ``tele`` as ``<out>/<id>.mp4`` then ``<out>/<id>.h5`` (the commit marker); returns the h5 path.

    Raises ``ValueError`` when ``right_only`` is asked of an episode without a right arm.
    """
    if right_only and "right" not in tele.arms:
        raise ValueError(f"episode {tele.key!r} has no right arm; cannot export it right-only")
    arms = {"right": tele.arms["right"]} if right_only else tele.arms
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    name, t = file_id(tele.key), tele.num_frames
    h5_path, mp4_path = out / f"{name}.h5", out / f"{name}.mp4"
    partial_mp4, partial_h5 = out / f".{name}.mp4.part", out / f".{name}.h5.part"
    encode_video(tele.frames, partial_mp4, tele.fps, video)
    os.replace(partial_mp4, mp4_path)
    with h5py.File(partial_h5, "w") as h5:
        meta = h5.create_group("meta")
        meta.create_dataset("instruction", data=tele.instruction, dtype=h5py.string_dtype())
        meta.create_dataset("video_path", data=mp4_path.name, dtype=h5py.string_dtype())
        meta.create_dataset("frame_count", data=np.int64(t))
        meta.create_dataset("fps", data=np.float64(tele.fps))
        for side in HANDS:
            meta.create_dataset(f"has_{side}", data=np.bool_(side in arms))
        h5.create_dataset("observation/camera/intrinsics", data=np.asarray(tele.intrinsics, np.float64))
        for side in HANDS:
            for path, data in _arm_datasets(side, arms.get(side), t).items():
                h5.create_dataset(path, data=data)
    os.replace(partial_h5, h5_path)
    return h5_path


def export_teledata(
    corpus: str | Path, out: str | Path, *, right_only: bool = False, video: VideoSettings = EXPORT_VIDEO
) -> ExportReport:
    """Export every robot episode of ``corpus`` to ``out``; human episodes and finished ones are skipped.

    An episode that cannot be exported is recorded in the report and the run goes on.
    """
    report = ExportReport()
    with Corpus(corpus) as reader:
        camera = CAMERA if CAMERA in reader.cameras else None
        for index in range(reader.num_episodes):
            episode = reader.episode(index)
            if RECORD_KEY not in episode.extra:
                report.skipped[episode.key] = f"not a robot episode (no extra[{RECORD_KEY!r}])"
                continue
            if (Path(out) / f"{file_id(episode.key)}.h5").exists():
                report.skipped[episode.key] = "already exported"
                continue
            try:
                tele = tele_from_episode(episode, reader.frames(index, camera))
                write_teledata(tele, out, right_only=right_only, video=video)
            except ValueError as error:
                report.errors[episode.key] = str(error)
                continue
            report.exported.append(episode.key)
    return report

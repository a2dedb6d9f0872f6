"""A clip's hidden ground truth: the sidecar written beside its mp4, and episodes made straight from it.

A clip ``clip_000012.mp4`` has ``clip_000012.truth.npz`` (arrays; loaded with ``allow_pickle=False``,
so a sidecar from anywhere is safe to open) and ``clip_000012.json`` (everything else, written
last: its presence marks the clip finished). Poses are in HumanSim's world (z up); cameras map
world -> camera in OpenCV axes. ``clip_episodes`` converts a clip into corpus episodes with VITRA's
world convention (world = the clip's first camera frame), one episode per ground-truth segment:
the upper bound the data engine is scored against.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from envs.humansim.spec import HANDS, Narration, Segment
from vitra_bench.corpus.files import atomic_write, atomic_write_json
from vitra_bench.episode import Episode, HandTrack, Instruction
from vitra_bench.geometry import transform_points

TRUTH_SUFFIX = ".truth.npz"
META_SUFFIX = ".json"
VIDEO_SUFFIX = ".mp4"


@dataclass
class HandTruth:
    beta: np.ndarray  # (10,)
    wrist_rotation: np.ndarray  # (T, 3, 3) hand -> world
    wrist_translation: np.ndarray  # (T, 3) world
    theta: np.ndarray  # (T, 15, 3)
    joints_world: np.ndarray  # (T, 21, 3)
    joints_cam: np.ndarray  # (T, 21, 3)
    present: np.ndarray  # (T,) the hand is in the scene
    visible: np.ndarray  # (T, 21) keypoint inside the image and not occluded (segmentation test)


@dataclass
class ClipTruth:
    """Everything known about one rendered clip."""

    clip_id: str
    fps: float
    width: int
    height: int
    intrinsics: np.ndarray  # (3, 3)
    extrinsics: np.ndarray  # (T, 4, 4) world -> camera
    hands: dict[str, HandTruth]
    prop_names: list[str]
    prop_poses: np.ndarray  # (T, P, 7) world poses
    prop_points: list[np.ndarray]  # per prop (N_i, 3) surface points in the prop frame
    segments: list[Segment]
    narrations: list[Narration]
    meta: dict[str, Any] = field(default_factory=dict)  # preset, split, environment, camera mode, props...

    @property
    def num_frames(self) -> int:
        return len(self.extrinsics)

    def prop_cloud_world(self, name: str, frame: int) -> np.ndarray:
        """The prop's surface points in the world at ``frame`` (for hand-object distances)."""
        index = self.prop_names.index(name)
        pose = self.prop_poses[frame, index]
        rotation = Rotation.from_quat(pose[3:], scalar_first=True).as_matrix()
        return self.prop_points[index] @ rotation.T + pose[:3]


def save_truth(truth: ClipTruth, directory: Path) -> Path:
    """Write the sidecar pair; the JSON goes last so that its presence means "finished"."""
    directory = Path(directory)
    arrays: dict[str, np.ndarray] = {
        "intrinsics": truth.intrinsics,
        "extrinsics": truth.extrinsics,
        "prop_poses": truth.prop_poses,
        "prop_points": np.concatenate(truth.prop_points) if truth.prop_points else np.zeros((0, 3)),
        "prop_point_counts": np.array([len(p) for p in truth.prop_points], np.int64),
    }
    for side, hand in truth.hands.items():
        arrays.update({f"{side}/{name}": value for name, value in asdict(hand).items()})

    def write_npz(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)

    atomic_write(directory / f"{truth.clip_id}{TRUTH_SUFFIX}", write_npz)
    meta = {
        "clip_id": truth.clip_id,
        "fps": truth.fps,
        "width": truth.width,
        "height": truth.height,
        "prop_names": truth.prop_names,
        "segments": [asdict(s) for s in truth.segments],
        "narrations": [asdict(n) for n in truth.narrations],
        "meta": truth.meta,
    }
    path = directory / f"{truth.clip_id}{META_SUFFIX}"
    atomic_write_json(path, meta)
    return path


def load_truth(path: Path) -> ClipTruth:
    """Read a clip's truth from its JSON, its ``.truth.npz`` or its ``.mp4`` path."""
    path = Path(path)
    stem = path.name.removesuffix(TRUTH_SUFFIX).removesuffix(META_SUFFIX).removesuffix(VIDEO_SUFFIX)
    meta_path = path.with_name(stem + META_SUFFIX)
    if not meta_path.exists():
        raise FileNotFoundError(f"{meta_path}: no ground truth (is this a finished HumanSim clip?)")
    meta = json.loads(meta_path.read_text())
    with np.load(path.with_name(stem + TRUTH_SUFFIX), allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    counts = arrays["prop_point_counts"]
    points = np.split(arrays["prop_points"], np.cumsum(counts)[:-1]) if len(counts) else []
    hands = {
        side: HandTruth(**{name: arrays[f"{side}/{name}"] for name in HandTruth.__dataclass_fields__})
        for side in HANDS
    }
    return ClipTruth(
        clip_id=meta["clip_id"],
        fps=meta["fps"],
        width=meta["width"],
        height=meta["height"],
        intrinsics=arrays["intrinsics"],
        extrinsics=arrays["extrinsics"],
        hands=hands,
        prop_names=meta["prop_names"],
        prop_poses=arrays["prop_poses"],
        prop_points=points,
        segments=[Segment(**s) for s in meta["segments"]],
        narrations=[Narration(**n) for n in meta["narrations"]],
        meta=meta["meta"],
    )


def finished_clips(directory: Path) -> list[Path]:
    """The JSON files of finished clips in ``directory``, sorted by name."""
    return sorted(p for p in Path(directory).glob(f"clip_*{META_SUFFIX}") if not p.name.startswith("."))


def episode_key(clip_id: str, segment: Segment, number: int) -> str:
    """The corpus key of the episode made from a clip's ``number``-th segment."""
    return f"{clip_id}/{segment.hand}/{number:03d}"


def hand_track(truth: ClipTruth, side: str, frames: np.ndarray, min_visible: int) -> HandTrack:
    """The hand over ``frames`` with VITRA's world (the clip's first camera frame)."""
    hand = truth.hands[side]
    world_to_first = truth.extrinsics[0]
    first_rotation = world_to_first[:3, :3]
    rotations_world = first_rotation @ hand.wrist_rotation[frames]
    rotations_cam = truth.extrinsics[frames, :3, :3] @ hand.wrist_rotation[frames]
    kept = hand.present[frames] & (hand.visible[frames].sum(axis=1) >= min_visible)
    return HandTrack(
        beta=hand.beta,
        wrist_orient_cam=Rotation.from_matrix(rotations_cam).as_rotvec(),
        wrist_orient_world=Rotation.from_matrix(rotations_world).as_rotvec(),
        hand_pose=hand.theta[frames],
        wrist_world=transform_points(world_to_first, hand.wrist_translation[frames][:, None])[:, 0],
        joints_cam=hand.joints_cam[frames],
        joints_world=transform_points(world_to_first, hand.joints_world[frames]),
        kept=kept,
    )


def clip_episodes(truth: ClipTruth, frames: np.ndarray | None, camera: str = "ego", min_visible: int = 6) -> list[Episode]:
    """One corpus episode per ground-truth segment, with the truth's instructions and hands.

    The other hand's segments that overlap the episode become its instructions, clipped to the
    episode. A hand counts as tracked in a frame when at least ``min_visible`` keypoints are
    visible: a detector could not do better. ``frames`` are the clip's decoded RGB frames (T, H, W, 3).
    """
    world_to_first = truth.extrinsics[0]
    # Extrinsics relative to the first camera: world_new -> camera = E_t @ inv(E_0).
    extrinsics = truth.extrinsics @ np.linalg.inv(world_to_first)
    episodes = []
    for number, segment in enumerate(truth.segments):
        span = np.arange(segment.start, segment.end)
        instructions = {side: [] for side in HANDS}
        for other in truth.segments:
            start, end = max(other.start, segment.start), min(other.end, segment.end)
            if other.hand == segment.hand and other is not segment or start >= end:
                continue
            rephrases = list(getattr(other, "rephrases", []) or [])
            instructions[other.hand].append(Instruction(other.instruction, start - segment.start, end - segment.start, rephrases))
        episodes.append(
            Episode(
                key=episode_key(truth.clip_id, segment, number),
                source_video=f"{truth.clip_id}{VIDEO_SUFFIX}",
                fps=truth.fps,
                intrinsics=truth.intrinsics,
                image_size=(truth.width, truth.height),
                extrinsics=extrinsics[span],
                video_frame_index=span,
                hands={side: hand_track(truth, side, span, min_visible) for side in HANDS},
                instructions=instructions,
                main_hand=segment.hand,
                caption_source="truth",
                frames={camera: frames[span]} if frames is not None else {},
                extra={"generator": "humansim", "action": segment.action, "target": segment.target, **truth.meta},
            )
        )
    return episodes


def write_truth_corpus(clips: Path, out: Path, camera: str = "ego", progress: bool = True) -> Path:
    """Write every finished clip in ``clips`` as corpus episodes straight from its truth (resumable)."""
    return write_clip_corpus(
        clips, out, lambda truth: [episode_key(truth.clip_id, s, n) for n, s in enumerate(truth.segments)],
        lambda truth, frames: clip_episodes(truth, frames, camera), camera, "truth -> corpus", progress,
    )  # fmt: skip


def write_clip_corpus(
    clips: Path,
    out: Path,
    keys_of: Callable[[ClipTruth], list[str]],
    episodes_of: Callable[[ClipTruth, np.ndarray], list[Episode]],
    camera: str = "ego",
    description: str = "clips -> corpus",
    progress: bool = True,
) -> Path:
    """Every finished clip's ``episodes_of(truth, frames)`` into the corpus ``out``; a clip whose
    ``keys_of(truth)`` are all in the corpus already is skipped without decoding its video."""
    from tqdm import tqdm

    from vitra_bench.corpus import CorpusWriter
    from vitra_bench.corpus.video import decode_video

    metas = finished_clips(clips)
    if not metas:
        raise FileNotFoundError(f"{clips}: no finished HumanSim clips (clip_*.json)")
    first = json.loads(metas[0].read_text())
    with CorpusWriter(out, fps=first["fps"], cameras={camera: (first["width"], first["height"])}) as writer:
        for meta in tqdm(metas, desc=description, disable=not progress):
            truth = load_truth(meta)
            if all(writer.contains(key) for key in keys_of(truth)):
                continue
            frames = decode_video(meta.with_name(truth.clip_id + VIDEO_SUFFIX))
            for episode in episodes_of(truth, frames):
                writer.add(episode)
    return Path(out)

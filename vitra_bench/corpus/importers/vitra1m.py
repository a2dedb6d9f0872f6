"""Import VITRA-1M episode metadata (VITRA_FACTS.md, "Episode metadata") and its source videos.

Mapping to ``Episode`` (what changes and why):

* rotations: the release stores genuine-MANO rotation matrices; ``hand.from_mano`` turns them into
  this skeleton's axes, then scipy gives axis-angle (the corpus's parameterisation);
* translation: the release's ``transl_worldspace`` already is the wrist keypoint, as ours;
* keypoints, extrinsics and ``kept`` are kept as released, so ``joints_cam == extrinsics @
  joints_world`` holds as it did in the release;
* shape: MANO's PCA betas have no counterpart in this skeleton's scale-vector betas, so the
  episode stores zeros and keeps the original betas in ``extra["mano_beta"]``;
* frames the release marks as not kept may hold anything (zeros, NaN): they are zeroed, since an
  untracked frame carries no information in an ``Episode``;
* frames: decoded from the source video at ``video_decode_frame`` and resized to the corpus size,
  with K rescaled as the release does for another resolution (divide by (2 cx, 2 cy), multiply by
  (W, H), which can make fx != fy).
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
from scipy.spatial.transform import Rotation

from vitra_bench.corpus.importers.safe_pickle import load_npy_object
from vitra_bench.corpus.video import VideoSettings
from vitra_bench.corpus.writer import CorpusWriter
from vitra_bench.episode import HANDS, NUM_BETAS, Episode, HandTrack, Instruction
from vitra_bench.hand import from_mano

CAMERA = "ego"
VIDEO_SUFFIXES = ("", ".mp4", ".mkv", ".webm", ".mov")
SUMMARY_FIELDS = ("avg_speed", "total_rotvec_degree", "total_transl_dist")


class VitraFormatError(ValueError):
    """An episode file or its video does not match the released VITRA-1M format."""


def _field(data: Mapping[str, Any], name: str, where: str = "") -> Any:
    if name not in data:
        raise VitraFormatError(f"missing field {where}{name!r}")
    return data[name]


def _rotvecs(matrices: np.ndarray) -> np.ndarray:
    return Rotation.from_matrix(matrices.reshape(-1, 3, 3)).as_rotvec().reshape(matrices.shape[:-2] + (3,))


def hand_track(data: Mapping[str, Any], num_frames: int) -> HandTrack:
    """One hand's released dict as a ``HandTrack`` (betas zeroed; see the module docstring)."""
    get = lambda name: np.asarray(_field(data, name, "hand."), dtype=np.float64)  # noqa: E731
    kept = np.asarray(_field(data, "kept_frames", "hand."), dtype=bool).reshape(-1)
    if len(kept) != num_frames:
        raise VitraFormatError(f"kept_frames has {len(kept)} frames, episode has {num_frames}")
    identity = np.eye(3)
    # Untracked frames may hold non-rotations; replace them so the conversion is defined, zero after.
    orient_cam = np.where(kept[:, None, None], get("global_orient_camspace"), identity)
    orient_world = np.where(kept[:, None, None], get("global_orient_worldspace"), identity)
    pose = np.where(kept[:, None, None, None], get("hand_pose"), identity)
    wrist_cam, theta = from_mano(orient_cam, pose)
    wrist_world, _ = from_mano(orient_world, pose)
    zero = lambda a: np.where(kept.reshape((-1,) + (1,) * (a.ndim - 1)), np.nan_to_num(a), 0.0)  # noqa: E731
    return HandTrack(
        beta=np.zeros(NUM_BETAS),
        wrist_orient_cam=zero(_rotvecs(wrist_cam)),
        wrist_orient_world=zero(_rotvecs(wrist_world)),
        hand_pose=zero(theta),
        wrist_world=zero(get("transl_worldspace")),
        joints_cam=zero(get("joints_camspace")),
        joints_world=zero(get("joints_worldspace")),
        kept=kept,
    )


def instructions(text: Mapping[str, Sequence], rephrase: Mapping[str, Sequence]) -> dict[str, list[Instruction]]:
    """Per hand, the released ``(description, (start, end))`` items with paraphrases matched by span.

    A ``(0, 0)`` span is the release's "no instruction" and is dropped.
    """
    out: dict[str, list[Instruction]] = {}
    for hand in HANDS:
        paraphrases: dict[tuple[int, int], list[str]] = {}
        for options, (start, end) in rephrase.get(hand, []) or []:
            items = [options] if isinstance(options, str) else list(options)
            paraphrases.setdefault((int(start), int(end)), []).extend(str(s) for s in items if str(s).strip())
        out[hand] = [
            Instruction(str(description), int(start), int(end), paraphrases.get((int(start), int(end)), []))
            for description, (start, end) in text.get(hand, []) or []
            if (int(start), int(end)) != (0, 0)
        ]
    return out


def scaled_intrinsics(intrinsics: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """K for frames of ``size`` = (W, H), as the release rescales it: rows / (2 cx, 2 cy) * (W, H)."""
    k = np.asarray(intrinsics, dtype=np.float64).copy()
    k[0] *= size[0] / (2 * k[0, 2])
    k[1] *= size[1] / (2 * k[1, 2])
    return k


def find_video(videos: Path, name: str) -> Path:
    for suffix in VIDEO_SUFFIXES:
        path = videos / f"{name}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(f"source video {name!r} not found in {videos}")


def decode_frames(path: Path, indices: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Frames at decode-order ``indices`` (repeats allowed) resized to ``size``, in one sequential pass."""
    wanted = set(int(i) for i in indices)
    last = max(wanted)
    found: dict[int, np.ndarray] = {}
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                found[index] = frame.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray()
            if index >= last:
                break
    missing = sorted(wanted - set(found))
    if missing:
        raise VitraFormatError(f"{path.name}: has no frame {missing[0]} (video_decode_frame goes up to {last})")
    return np.stack([found[int(i)] for i in indices])


def episode_from_vitra(
    data: Any, key: str, videos: Path, *, fps: float, size: tuple[int, int]
) -> Episode:
    """One released episode dict plus its source video (found in ``videos``) as an ``Episode``."""
    if not isinstance(data, Mapping):
        raise VitraFormatError(f"expected a dict, got {type(data).__name__}")
    extrinsics = np.asarray(_field(data, "extrinsics"), dtype=np.float64)
    num_frames = len(extrinsics)
    frame_index = np.asarray(_field(data, "video_decode_frame"), dtype=np.int64).reshape(-1)
    if len(frame_index) != num_frames or num_frames == 0 or frame_index.min() < 0:
        raise VitraFormatError(f"video_decode_frame has {len(frame_index)} entries, extrinsics {num_frames}")
    video_name = str(_field(data, "video_name"))
    frames = decode_frames(find_video(videos, video_name), frame_index, size)
    hands = {hand: hand_track(_field(data, hand), num_frames) for hand in HANDS}
    mano_beta = {hand: np.asarray(data[hand]["beta"], float).tolist() for hand in HANDS if "beta" in data[hand]}
    extra: dict[str, Any] = {"mano_beta": mano_beta}
    extra.update({name: float(data[name]) for name in SUMMARY_FIELDS if name in data})
    return Episode(
        key=key,
        source_video=video_name,
        fps=fps,
        intrinsics=scaled_intrinsics(_field(data, "intrinsics"), size),
        image_size=size,
        extrinsics=extrinsics,
        video_frame_index=frame_index,
        hands=hands,
        instructions=instructions(_field(data, "text"), data.get("text_rephrase") or {}),
        main_hand=str(_field(data, "anno_type")),
        caption_source="import",
        frames={CAMERA: frames},
        extra=extra,
    )


@dataclass
class ImportReport:
    """What an import run did: episodes written, already present (resume), and per-file errors."""

    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


# Everything a bad file or video can raise; anything else is a bug and should stop the run.
FILE_ERRORS = (ValueError, KeyError, TypeError, OSError, EOFError, pickle.UnpicklingError, av.FFmpegError)


def import_vitra(
    annotations: Path,
    videos: Path,
    out: Path,
    *,
    fps: float = 30.0,
    size: tuple[int, int] = (256, 192),
    video: VideoSettings | None = None,
) -> ImportReport:
    """Import every ``*.npy`` in ``annotations`` into the corpus at ``out`` (created or resumed).

    The key is the file stem, so a re-run skips episodes already written; a file that cannot be read
    or converted is recorded in the report with its reason and the run goes on.
    """
    files = sorted(Path(annotations).glob("*.npy"))
    if not files:
        raise FileNotFoundError(f"no .npy episode files in {annotations}")
    report = ImportReport()
    with CorpusWriter(out, fps=fps, cameras={CAMERA: size}, video=video) as writer:
        for path in files:
            if writer.contains(path.stem):
                report.skipped.append(path.stem)
                continue
            try:
                episode = episode_from_vitra(load_npy_object(path), path.stem, Path(videos), fps=fps, size=size)
            except FILE_ERRORS as error:  # EpisodeError is a ValueError
                report.errors[path.name] = f"{type(error).__name__}: {error}"
                continue
            writer.add(episode)
            report.imported.append(path.stem)
    return report

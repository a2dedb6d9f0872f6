"""The data engine's stages in order, for one video: ``process_video(path, config) -> VideoResult``.

decode -> 3D hands (2D keypoints + relative shape) -> intrinsics -> static/moving camera ->
camera track -> lift to camera space -> world trajectories -> segments -> annotation -> filter
-> episodes. The function is pure with respect to the corpus: it returns episodes and a report,
and the runner (``data_engine.runners``) writes them, so the same function runs in-process, in
a process pool or as a Ray task.

Long videos are processed in overlapping chunks (``decode.chunks``; 20 s as in the paper) so a
video never has to sit in memory whole: detection and camera tracking run per chunk and their
per-frame results are merged; everything after the camera track works on small per-frame
arrays of the whole video. Frames are decoded at most twice (detection, then camera tracking,
which needs the intrinsics that detection yields), once when the video is a single chunk, and
once more per kept segment for annotation and writing.

Failures that concern the video (unreadable, no hands) are returned as a ``VideoResult`` with
``status="error"``/``"no hands"`` and a reason; bugs still raise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from data_engine.annotate import OfflineConfig, OverlayConfig, SegmentView, VLMConfig, humansim_objects, make_annotator
from data_engine.camera_motion import MotionConfig, camera_motion, masks_from_keypoints
from data_engine.camera_track import TrackConfig, camera_track
from data_engine.decode import VideoError, VideoInfo, chunks, merge_chunks, probe, read_frames
from data_engine.episodes import AnnotatedSegment, video_episodes
from data_engine.filter import FilterConfig, drop_reason
from data_engine.hands.base import SIDES, HandBackend, HandDetections, SideDetections, get_backend
from data_engine.intrinsics import (
    FocalConfig,
    Intrinsics,
    estimate_focal,
    estimate_focal_from_shapes,
    intrinsics_for,
    load_intrinsics,
)
from data_engine.lift import lift_side
from data_engine.segment import SegmentConfig, segment_hands
from data_engine.trajectories import TrajectoryConfig, world_trajectories
from vitra_bench.episode import Episode

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v")
Status = Literal["ok", "error", "no hands"]


@dataclass
class OracleOptions:
    """Degradation of the ``oracle`` hand backend (HumanSim truth), to mimic a detector."""

    noise_px: float = 2.0
    """Gaussian noise on the 2D keypoints, pixels."""
    noise_m: float = 0.005
    """Gaussian noise on the wrist-relative 3D keypoints, metres."""
    dropout: float = 0.05
    """Probability that a hand is missed in a frame."""
    seed: int = 0


@dataclass
class EngineConfig:
    """``vitra-bench engine run``: turn a folder of videos into a corpus."""

    videos: Path = Path("runs/humansim")
    """Folder searched (recursively) for .mp4/.mov/.webm/.mkv/.avi/.m4v videos."""
    out: Path = Path("runs/engine_corpus")
    """Corpus directory (created, or resumed)."""
    hands: Literal["mediapipe", "oracle", "import"] = "mediapipe"
    """Hand backend: the MediaPipe detector, HumanSim truth (sidecars beside the videos), or
    per-frame estimator outputs (``<video>.hands.npz`` beside each video)."""
    oracle: OracleOptions = field(default_factory=OracleOptions)
    intrinsics: Path | None = None
    """JSON/YAML with fx, fy, cx, cy for all videos or per video; otherwise estimated from the hands."""
    workers: int = 1
    """Videos processed in parallel (processes, or Ray tasks in flight)."""
    backend: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    """Ray cluster to join; none starts a local one."""
    retry_errors: bool = False
    """Reprocess videos that failed in an earlier run (by default they are reported and skipped)."""
    camera: str = "ego"
    """Camera name of the frames in the corpus."""
    width: int | None = None
    """Stored frame width (with ``height``); default: the first video's size. Frames of other
    sizes are resized and their intrinsics scaled."""
    height: int | None = None
    fps: float = 30.0
    chunk_seconds: float = 20.0
    overlap_seconds: float = 2.0
    scene_objects: bool = True
    """Let the offline captioner name HumanSim's props when a truth sidecar lies beside the video."""
    progress: bool = True
    focal: FocalConfig = field(default_factory=FocalConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    track: TrackConfig = field(default_factory=TrackConfig)
    trajectory: TrajectoryConfig = field(default_factory=TrajectoryConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    vlm: VLMConfig = field(default_factory=VLMConfig)
    overlay: OverlayConfig = field(default_factory=OverlayConfig)
    offline: OfflineConfig = field(default_factory=OfflineConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if (self.width is None) != (self.height is None):
            raise ValueError("give both width and height, or neither")

    def hand_backend(self) -> HandBackend:
        options = vars(self.oracle) if self.hands == "oracle" else {}
        return get_backend(self.hands, **options)


@dataclass
class VideoResult:
    """What one video gave: episodes to write and a JSON-friendly report.

    ``report`` holds the decisions the stages made (static camera, focal source, segment and
    drop counts) and ``seconds`` the wall time per stage, which the pipeline benchmark reads.
    """

    video_id: str
    status: Status
    reason: str = ""
    episodes: list[Episode] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def find_videos(root: Path) -> list[Path]:
    """Videos under ``root`` (recursive, sorted; hidden files skipped)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder of videos")
    return sorted(
        p for p in root.rglob("*")
        if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def video_id(path: Path, root: Path) -> str:
    """The video's id: its path relative to the videos folder, without suffix (``kitchen/take_03``)."""
    return Path(path).relative_to(root).with_suffix("").as_posix()


class _Timer:
    """Wall time per stage, summed over chunks."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


def process_video(
    path: Path,
    root: Path,
    config: EngineConfig,
    target_size: tuple[int, int] | None = None,
    backend: HandBackend | None = None,
) -> VideoResult:
    """Run every stage on one video (module docstring). ``target_size`` (W, H) of stored frames."""
    vid = video_id(path, root)
    timer = _Timer()
    try:
        with timer("decode"):
            info = probe(path)
        return _process(path, root, vid, info, config, target_size, backend or config.hand_backend(), timer)
    except VideoError as error:
        return VideoResult(vid, "error", error.reason, seconds=timer.seconds)
    except FileNotFoundError as error:  # the oracle's or importer's sidecar is missing
        return VideoResult(vid, "error", f"no hand sidecar: {error}", seconds=timer.seconds)
    except _NoHands as error:
        return VideoResult(vid, "no hands", str(error), report=error.report, seconds=timer.seconds)


class _NoHands(Exception):
    def __init__(self, message: str, report: dict[str, Any]) -> None:
        super().__init__(message)
        self.report = report


def _process(
    path: Path,
    root: Path,
    vid: str,
    info: VideoInfo,
    config: EngineConfig,
    target_size: tuple[int, int] | None,
    backend: HandBackend,
    timer: _Timer,
) -> VideoResult:
    fps = config.fps
    ranges = chunks(info, config.chunk_seconds, config.overlap_seconds, fps)
    cached: dict[tuple[int, int], np.ndarray] = {}

    def decode(start: int, stop: int) -> np.ndarray:
        if (start, stop) in cached:
            return cached.pop((start, stop))
        with timer("decode"):
            return read_frames(path, fps, start, stop if stop < info.resampled_length(fps) else None)[0]

    detections = _detect(path, ranges, backend, decode, cached, timer)
    num_frames = detections.num_frames
    if num_frames != info.resampled_length(fps):
        detail = f"the hand backend covers {num_frames} frames, the video {info.resampled_length(fps)}"
        raise VideoError(path, "corrupt", detail)
    report: dict[str, Any] = {"frames": num_frames, "source_fps": info.fps, "size": [info.width, info.height]}
    if not any(h.detected.any() for h in detections.hands.values()):
        raise _NoHands("no hand detected in any frame", report)

    with timer("intrinsics"):
        intrinsics, focal_source = _intrinsics(path, info, detections, config, backend.shapes_in_camera_axes)
    report.update(focal_px=intrinsics.fx, focal_source=focal_source)

    extrinsics, static = _camera(ranges, detections, intrinsics, decode, config, timer)
    report.update(static_camera=static)

    with timer("lift"):
        lifted = {side: lift_side(detections.hands[side], intrinsics.matrix(), side) for side in SIDES}
    with timer("trajectories"):
        worlds = world_trajectories({s: track for s, (track, _) in lifted.items()}, extrinsics, fps, config.trajectory)
    with timer("segment"):
        segments = segment_hands({s: (w.position, w.kept) for s, w in worlds.items()}, fps, config.segment)
    all_segments = [s for side in SIDES for s in segments[side]]
    report["segments"] = len(all_segments)

    size = target_size or (info.width, info.height)
    stored_k = intrinsics.for_size(*size)
    frame_cache: dict[tuple[int, int], np.ndarray] = {}

    def frames_for(start: int, end: int) -> np.ndarray:
        if (start, end) not in frame_cache:
            frame_cache[(start, end)] = _resize(decode(start, end), size)
        return frame_cache[(start, end)]

    truth = _truth(path) if config.scene_objects else None
    annotator = make_annotator(config.vlm if config.vlm.base_url else None, config.overlay, config.offline)
    dropped: dict[str, int] = {}
    kept_segments = []
    for segment in sorted(all_segments, key=lambda s: (s.start, s.hand)):
        world = worlds[segment.hand]
        span = slice(segment.start, segment.end)
        detected = lifted[segment.hand][0].tracked[span] & ~world.outliers[span]
        view = SegmentView(
            frames=frames_for(segment.start, segment.end),
            extrinsics=extrinsics[span],
            intrinsics=stored_k.matrix(),
            keypoints=world.keypoints[span],
            kept=world.kept[span],
            hand=segment.hand,  # type: ignore[arg-type]
            theta=world.theta[span],
            objects=humansim_objects(truth, segment.start, segment.end - 1) if truth is not None else [],
        )
        with timer("annotate"):
            caption = annotator.annotate(view)
        reason = drop_reason(detected, caption, config.filter)
        if reason is None:
            kept_segments.append(AnnotatedSegment(segment, caption))
        else:
            dropped[reason] = dropped.get(reason, 0) + 1
            frame_cache.pop((segment.start, segment.end), None)
    report.update(kept=len(kept_segments), dropped=dropped)

    with timer("episodes"):
        episodes = video_episodes(
            video_id=vid,
            source_video=Path(path).relative_to(root).as_posix(),
            fps=fps,
            intrinsics=stored_k.matrix(),
            image_size=size,
            extrinsics=extrinsics,
            hands={side: worlds[side] for side in SIDES},
            betas={side: beta for side, (_, beta) in lifted.items()},
            kept_segments=kept_segments,
            frames_for=frames_for,
            camera=config.camera,
            extra={
                "generator": "data_engine",
                "hands_backend": config.hands,
                "focal_source": focal_source,
                "static_camera": static,
                "camera_scale": "none",
            },
        )
    return VideoResult(vid, "ok", episodes=episodes, report=report, seconds=timer.seconds)


def _detect(
    path: Path,
    ranges: list[tuple[int, int]],
    backend: HandBackend,
    decode: Callable[[int, int], np.ndarray],
    cached: dict[tuple[int, int], np.ndarray],
    timer: _Timer,
) -> HandDetections:
    """Stage 5a over the whole video: sidecar backends at once, detectors chunk by chunk."""
    if not backend.reads_frames:
        with timer("hands"):
            return backend.detect(None, video_path=path)  # type: ignore[arg-type]
    parts = []
    for start, stop in ranges:
        frames = decode(start, stop)
        if len(ranges) == 1:
            cached[(start, stop)] = frames  # the camera stages reuse a single chunk
        with timer("hands"):
            parts.append(backend.detect(frames, video_path=path))
    if len(parts) == 1:
        return parts[0]
    merged = {}
    for side in SIDES:
        fields = ("keypoints2d", "keypoints3d", "confidence")
        merged[side] = SideDetections(*(merge_chunks(ranges, [getattr(p.hands[side], f) for p in parts]) for f in fields))
    return HandDetections(merged)


def _intrinsics(
    path: Path, info: VideoInfo, detections: HandDetections, config: EngineConfig, shapes_in_camera_axes: bool
) -> tuple[Intrinsics, str]:
    """Stage 3: the user's intrinsics when given for this video, else the focal from the hands:
    from their 3D shapes when the backend gives them in camera axes, else from the palms' outline."""
    if config.intrinsics is not None:
        given = intrinsics_for(load_intrinsics(config.intrinsics), path, info.width, info.height)
        if given is not None:
            return given, "given"
    keypoints = np.concatenate([detections.hands[side].keypoints2d for side in SIDES])
    if shapes_in_camera_axes:
        shapes = np.concatenate([detections.hands[side].keypoints3d for side in SIDES])
        estimate = estimate_focal_from_shapes(shapes, keypoints, info.width, info.height, config.focal)
        if estimate.source != "prior":
            return estimate.intrinsics, estimate.source
    estimate = estimate_focal(keypoints, info.width, info.height, config.focal)
    return estimate.intrinsics, estimate.source


def _camera(
    ranges: list[tuple[int, int]],
    detections: HandDetections,
    intrinsics: Intrinsics,
    decode: Callable[[int, int], np.ndarray],
    config: EngineConfig,
    timer: _Timer,
) -> tuple[np.ndarray, bool]:
    """Stages 2 and 4 per chunk: identity for static chunks, visual odometry for moving ones."""
    per_chunk = []
    static_all = True
    for start, stop in ranges:
        frames = decode(start, stop)
        height, width = frames.shape[1:3]
        keypoints = np.concatenate([detections.hands[side].keypoints2d[start:stop] for side in SIDES], axis=1)
        masks = masks_from_keypoints(keypoints, height, width)
        with timer("camera_motion"):
            static = camera_motion(frames, masks, config.motion).static
        static_all &= static
        if static:
            per_chunk.append(np.tile(np.eye(4), (stop - start, 1, 1)))
            continue
        with timer("camera_track"):
            per_chunk.append(camera_track(frames, intrinsics.for_size(width, height).matrix(), masks, config.track).extrinsics)
    return chain_chunk_tracks(ranges, per_chunk), static_all


def chain_chunk_tracks(ranges: list[tuple[int, int]], tracks: list[np.ndarray]) -> np.ndarray:
    """One world -> camera track over the video from per-chunk tracks (each anchored at its chunk's start).

    Chunk ``c`` takes over at the middle of its overlap with chunk ``c - 1`` (where
    ``merge_chunks`` cuts), re-anchored so that the two agree at that frame.
    """
    total = max(stop for _, stop in ranges)
    out = np.tile(np.eye(4), (total, 1, 1))
    (first_start, first_stop), first = ranges[0], tracks[0]
    out[first_start:first_stop] = first
    for (start, stop), (_, previous_stop), track in zip(ranges[1:], ranges[:-1], tracks[1:], strict=True):
        cut = (start + previous_stop) // 2
        anchor = out[cut] @ np.linalg.inv(track[cut - start])
        out[cut:stop] = track[cut - start :] @ anchor
    return out


def _resize(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if frames.shape[2] == size[0] and frames.shape[1] == size[1]:
        return frames
    return np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])


def _truth(path: Path) -> Any:
    """The HumanSim truth beside the video, or None for any other video."""
    from envs.humansim.truth import load_truth

    try:
        return load_truth(path)
    except FileNotFoundError:
        return None

"""Stage 9b: the surviving segments of one video as corpus ``Episode`` objects.

One episode per kept segment, like VITRA: the segment's hand is the episode's main hand; the
other hand rides along with whatever it does in those frames, and its own kept segments that
overlap the episode become its instructions (clipped to the episode), exactly as
``envs.humansim.truth.clip_episodes`` builds the truth corpus the engine is scored against.

Camera-frame hand quantities are recomputed from the *world* track (smoothed, gap-filled) and
the camera track, so the stored camera and world fields of an episode always agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from data_engine.annotate.base import Caption
from data_engine.segment import Segment
from data_engine.trajectories import WorldHandTrack
from vitra_bench.episode import HANDS, Episode, HandTrack, Instruction
from vitra_bench.geometry import transform_points


@dataclass(frozen=True)
class AnnotatedSegment:
    """A segment that passed the filter, with its caption."""

    segment: Segment
    caption: Caption


def episode_key(video_id: str, segment: Segment, number: int) -> str:
    """Stable key: the same video and segment always give the same key, so a resumed run skips it."""
    return f"{video_id}/{segment.hand}/{number:03d}"


def hand_track(world: WorldHandTrack, extrinsics: np.ndarray, beta: np.ndarray, frames: np.ndarray) -> HandTrack:
    """The hand over ``frames`` (indices into the video) in the corpus's representation."""
    camera_rotation = extrinsics[frames, :3, :3]
    rotation_world = world.rotation[frames]
    return HandTrack(
        beta=beta,
        wrist_orient_cam=Rotation.from_matrix(camera_rotation @ rotation_world).as_rotvec(),
        wrist_orient_world=Rotation.from_matrix(rotation_world).as_rotvec(),
        hand_pose=world.theta[frames],
        wrist_world=world.position[frames],
        joints_cam=transform_points(extrinsics[frames], world.keypoints[frames]),
        joints_world=world.keypoints[frames],
        kept=world.kept[frames],
    )


def video_episodes(
    video_id: str,
    source_video: str,
    fps: float,
    intrinsics: np.ndarray,
    image_size: tuple[int, int],
    extrinsics: np.ndarray,
    hands: Mapping[str, WorldHandTrack],
    betas: Mapping[str, np.ndarray],
    kept_segments: Sequence[AnnotatedSegment],
    frames_for: Any,
    camera: str,
    extra: Mapping[str, Any],
) -> list[Episode]:
    """Episodes of one video.

    Args:
        video_id: the video's id in the corpus (relative path without suffix).
        source_video: what the episode records as its source (relative path with suffix).
        intrinsics, image_size: of the frames as stored (after any resize).
        extrinsics: (T, 4, 4) world -> camera over the whole video.
        hands, betas: per side, the world track and hand shape.
        kept_segments: segments that passed the filter; numbered in this order for their keys.
        frames_for: ``frames_for(start, end) -> (n, H, W, 3)`` stored-size RGB frames of a span.
        camera: the corpus camera name.
        extra: producer information stored with every episode (backend, focal source...).
    """
    episodes = []
    for number, item in enumerate(kept_segments):
        segment = item.segment
        span = np.arange(segment.start, segment.end)
        instructions: dict[str, list[Instruction]] = {side: [] for side in HANDS}
        for other in kept_segments:
            start, end = max(other.segment.start, segment.start), min(other.segment.end, segment.end)
            if (other.segment.hand == segment.hand and other is not item) or start >= end:
                continue
            caption = other.caption
            instructions[other.segment.hand].append(
                Instruction(caption.text or "", start - segment.start, end - segment.start, list(caption.paraphrases))
            )
        episodes.append(
            Episode(
                key=episode_key(video_id, segment, number),
                source_video=source_video,
                fps=fps,
                intrinsics=intrinsics,
                image_size=image_size,
                extrinsics=extrinsics[span],
                video_frame_index=span,
                hands={side: hand_track(hands[side], extrinsics, betas[side], span) for side in HANDS},
                instructions=instructions,
                main_hand=segment.hand,  # type: ignore[arg-type]
                caption_source=item.caption.source,
                frames={camera: frames_for(segment.start, segment.end)},
                extra={
                    **extra,
                    "segment": {"mean_speed": segment.mean_speed, "path_length": segment.path_length, "extent": segment.extent},
                },
            )
        )
    return episodes

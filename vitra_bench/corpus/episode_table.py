"""The mapping between an ``Episode`` and what the corpus stores: per-frame columns and one metadata row.

Keeping both directions in one module is what makes the write -> read round trip exact: every
field of ``Episode`` is stored either as a frame feature (arrays over time, float32 as the dataclass
holds them) or as a ``vitra/...`` metadata column (constants and JSON).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from vitra_bench import layout
from vitra_bench.corpus.errors import CorpusError
from vitra_bench.corpus.schema import HAND_FIELDS, hand_feature
from vitra_bench.episode import (
    HANDS,
    NUM_FINGER_JOINTS,
    NUM_KEYPOINTS,
    Episode,
    HandTrack,
    Instruction,
)

# Per-episode VITRA metadata columns and their parquet types.
METADATA_TYPES: dict[str, pa.DataType] = {
    "vitra/key": pa.string(),
    "vitra/source_video": pa.string(),
    "vitra/fps": pa.float64(),
    "vitra/intrinsics": pa.list_(pa.float32(), 9),
    "vitra/image_size": pa.list_(pa.int64(), 2),
    **{f"vitra/beta/{hand}": pa.list_(pa.float32(), 10) for hand in HANDS},
    "vitra/main_hand": pa.string(),
    "vitra/caption_source": pa.string(),
    "vitra/instructions": pa.string(),
    "vitra/extra": pa.string(),
}

_HAND_SHAPES = {
    "wrist_orient_cam": (3,),
    "wrist_orient_world": (3,),
    "hand_pose": (NUM_FINGER_JOINTS, 3),
    "wrist_world": (3,),
    "joints_cam": (NUM_KEYPOINTS, 3),
    "joints_world": (NUM_KEYPOINTS, 3),
}


ACTION_SOURCE_KEY = "action_source"
"""``vitra/extra`` key marking an episode whose ``action`` column holds the commands a robot was
sent (``Episode.commands``) rather than the step actions derived from its tracks."""


def episode_actions(episode: Episode) -> tuple[np.ndarray, np.ndarray]:
    """The ``action`` column and its mask: the sent commands when the episode has them, else the
    one-step actions of the tracks. Commands fill the slots the tracks fill (the robot's mapped
    ones), on every frame: the command sent at the last frame was executed too."""
    action, mask = layout.episode_step_actions(episode)
    if episode.commands is None:
        return action, mask
    if len(mask) > 1:
        mask[-1] = mask[-2]
    return np.where(mask, episode.commands, 0.0).astype(np.float32), mask


def frame_columns(episode: Episode) -> dict[str, np.ndarray]:
    """Per-frame feature arrays of ``episode``, all but those assigned at commit (episode/global/task index)."""
    t = episode.num_frames
    state, state_mask = layout.episode_states(episode)
    action, action_mask = episode_actions(episode)
    columns = {
        "timestamp": (np.arange(t) / episode.fps).astype(np.float32),
        "frame_index": np.arange(t, dtype=np.int64),
        "observation.state": state,
        "observation.state_mask": state_mask,
        "action": action,
        "action_mask": action_mask,
        "camera.extrinsics": episode.extrinsics.reshape(t, 16),
        "source.frame_index": episode.video_frame_index,
    }
    for hand in HANDS:
        track = episode.hands[hand]
        columns[hand_feature(hand, "kept")] = track.kept
        for name in HAND_FIELDS:
            columns[hand_feature(hand, name)] = getattr(track, name).reshape(t, -1)
    return columns


def frame_tasks(episode: Episode) -> list[str]:
    """The task string of every frame: the prompt with that frame as anchor."""
    return [episode.instruction_at(frame) for frame in range(episode.num_frames)]


def instructions_json(instructions: Mapping[str, list[Instruction]]) -> str:
    return json.dumps(
        {
            hand: [{"text": i.text, "start": i.start, "end": i.end, "rephrases": list(i.rephrases)} for i in items]
            for hand, items in instructions.items()
        }
    )


def instructions_from_json(text: str) -> dict[str, list[Instruction]]:
    data = json.loads(text)
    return {hand: [Instruction(**item) for item in data.get(hand, [])] for hand in HANDS}


def episode_metadata(episode: Episode) -> dict[str, Any]:
    """The ``vitra/...`` columns of ``episode``'s metadata row, as JSON-friendly Python values."""
    tagged = episode.extra if episode.commands is None else {**episode.extra, ACTION_SOURCE_KEY: "commands"}
    try:
        extra = json.dumps(tagged)
    except (TypeError, ValueError) as exc:
        raise CorpusError(f"episode {episode.key!r}: extra must be JSON-serialisable ({exc})") from exc
    return {
        "vitra/key": episode.key,
        "vitra/source_video": episode.source_video,
        "vitra/fps": episode.fps,
        "vitra/intrinsics": episode.intrinsics.ravel().tolist(),
        "vitra/image_size": list(episode.image_size),
        **{f"vitra/beta/{hand}": episode.hands[hand].beta.tolist() for hand in HANDS},
        "vitra/main_hand": episode.main_hand,
        "vitra/caption_source": episode.caption_source,
        "vitra/instructions": instructions_json(episode.instructions),
        "vitra/extra": extra,
    }


def episode_from_storage(
    metadata: Mapping[str, Any], columns: Mapping[str, np.ndarray], frames: dict[str, np.ndarray] | None = None
) -> Episode:
    """Rebuild the ``Episode`` that ``frame_columns`` and ``episode_metadata`` were made from."""
    t = len(columns["frame_index"])
    hands = {}
    for hand in HANDS:
        arrays = {
            name: np.asarray(columns[hand_feature(hand, name)]).reshape(t, *shape)
            for name, shape in _HAND_SHAPES.items()
        }
        hands[hand] = HandTrack(
            beta=np.asarray(metadata[f"vitra/beta/{hand}"], np.float32),
            kept=np.asarray(columns[hand_feature(hand, "kept")], bool),
            **arrays,
        )
    extra = json.loads(metadata["vitra/extra"])
    commands = np.asarray(columns["action"], np.float32) if extra.pop(ACTION_SOURCE_KEY, None) == "commands" else None
    return Episode(
        key=str(metadata["vitra/key"]),
        source_video=str(metadata["vitra/source_video"]),
        fps=float(metadata["vitra/fps"]),
        intrinsics=np.asarray(metadata["vitra/intrinsics"], np.float32).reshape(3, 3),
        image_size=tuple(int(v) for v in metadata["vitra/image_size"]),
        extrinsics=np.asarray(columns["camera.extrinsics"]).reshape(t, 4, 4),
        video_frame_index=np.asarray(columns["source.frame_index"]),
        hands=hands,
        instructions=instructions_from_json(metadata["vitra/instructions"]),
        main_hand=str(metadata["vitra/main_hand"]),
        caption_source=str(metadata["vitra/caption_source"]),
        frames=frames or {},
        extra=extra,
        commands=commands,
    )

"""The in-memory episode: what HumanSim, the data engine and importers produce and the corpus stores.

It mirrors the authors' released VITRA-1M episode metadata (see VITRA_FACTS.md, "Episode
metadata") with three deliberate differences, each to keep one representation per quantity:

* rotations are axis-angle vectors (MANO's native parameterisation) instead of 3x3 matrices;
* the hand's translation *is* the wrist keypoint (joint 0), so there is no separate MANO
  ``transl`` whose offset from the wrist depends on the shape;
* both hands are always present; an untracked hand has ``kept`` all false.

Arrays are stored as float32 (what the corpus writes) so that a write -> read round trip is
exact; construction casts and checks every shape, so a producer learns about a wrong array at
the line that built it, not three stages later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from vitra_bench.geometry import fov_from_intrinsics

HANDS: tuple[str, str] = ("left", "right")
NUM_KEYPOINTS = 21
NUM_FINGER_JOINTS = 15
NUM_BETAS = 10

Hand = Literal["left", "right"]


class EpisodeError(ValueError):
    """An episode (or one of its parts) does not satisfy the shared contract."""


def _as(array: Any, dtype: type, shape: tuple[int | None, ...], name: str) -> np.ndarray:
    """Cast ``array`` to ``dtype`` and check its shape; ``None`` in ``shape`` matches any size."""
    out = np.asarray(array, dtype=dtype)
    if out.ndim != len(shape) or any(want is not None and got != want for got, want in zip(out.shape, shape)):
        wanted = "(" + ", ".join("T" if s is None else str(s) for s in shape) + ")"
        raise EpisodeError(f"{name}: expected shape {wanted}, got {tuple(out.shape)}")
    if np.issubdtype(out.dtype, np.floating) and not np.all(np.isfinite(out)):
        raise EpisodeError(f"{name}: contains NaN or inf")
    return out


@dataclass
class HandTrack:
    """One hand over an episode in the MANO convention (a left hand uses the mirrored right model).

    Attributes:
        beta: (10,) shape coefficients, meaning documented in ``vitra_bench.hand``.
        wrist_orient_cam: (T, 3) wrist rotation in each frame's camera frame (axis-angle).
        wrist_orient_world: (T, 3) wrist rotation in the world frame (axis-angle).
        hand_pose: (T, 15, 3) local finger-joint rotations, MANO joint order (axis-angle).
        wrist_world: (T, 3) wrist keypoint in the world frame, metres.
        joints_cam: (T, 21, 3) keypoints in each frame's camera frame, OpenPose order, metres.
        joints_world: (T, 21, 3) keypoints in the world frame, metres.
        kept: (T,) whether the hand was tracked in that frame; other frames hold no information.
    """

    beta: np.ndarray
    wrist_orient_cam: np.ndarray
    wrist_orient_world: np.ndarray
    hand_pose: np.ndarray
    wrist_world: np.ndarray
    joints_cam: np.ndarray
    joints_world: np.ndarray
    kept: np.ndarray

    def __post_init__(self) -> None:
        f = np.float32
        self.beta = _as(self.beta, f, (NUM_BETAS,), "beta")
        self.kept = _as(self.kept, bool, (None,), "kept")
        t = len(self.kept)
        self.wrist_orient_cam = _as(self.wrist_orient_cam, f, (t, 3), "wrist_orient_cam")
        self.wrist_orient_world = _as(self.wrist_orient_world, f, (t, 3), "wrist_orient_world")
        self.hand_pose = _as(self.hand_pose, f, (t, NUM_FINGER_JOINTS, 3), "hand_pose")
        self.wrist_world = _as(self.wrist_world, f, (t, 3), "wrist_world")
        self.joints_cam = _as(self.joints_cam, f, (t, NUM_KEYPOINTS, 3), "joints_cam")
        self.joints_world = _as(self.joints_world, f, (t, NUM_KEYPOINTS, 3), "joints_world")

    @property
    def num_frames(self) -> int:
        return len(self.kept)

    @classmethod
    def untracked(cls, num_frames: int) -> HandTrack:
        """A hand that never appears: zeros everywhere and ``kept`` all false."""
        z = np.zeros
        return cls(
            beta=z(NUM_BETAS),
            wrist_orient_cam=z((num_frames, 3)),
            wrist_orient_world=z((num_frames, 3)),
            hand_pose=z((num_frames, NUM_FINGER_JOINTS, 3)),
            wrist_world=z((num_frames, 3)),
            joints_cam=z((num_frames, NUM_KEYPOINTS, 3)),
            joints_world=z((num_frames, NUM_KEYPOINTS, 3)),
            kept=np.zeros(num_frames, bool),
        )


@dataclass
class Instruction:
    """One language instruction for one hand over the half-open frame span ``[start, end)``."""

    text: str
    start: int
    end: int
    rephrases: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.start, self.end = int(self.start), int(self.end)
        if not self.text.strip():
            raise EpisodeError("instruction text is empty")
        if not 0 <= self.start <= self.end:
            raise EpisodeError(f"instruction span [{self.start}, {self.end}) is not a valid half-open span")

    def covers(self, frame: int) -> bool:
        return self.start <= frame < self.end


def prompt_at(
    instructions: Mapping[str, Sequence[Instruction]],
    main_hand: str,
    frame: int,
    pick: Callable[[list[str]], str] | None = None,
) -> str:
    """The prompt string ``"Left hand: ... Right hand: ..."`` with ``frame`` as the anchor.

    The main hand always gets the instruction covering ``frame`` (or its first one); the other hand
    gets "None." unless one of its spans contains ``frame`` (a hand missing from ``instructions``
    has none). ``pick(options) -> str`` chooses among an instruction and its paraphrases (training
    draws at random); by default the original.
    """
    parts = []
    for hand in HANDS:
        items = instructions.get(hand, [])
        chosen = next((i for i in items if i.covers(frame)), None)
        if chosen is None and hand == main_hand:
            chosen = items[0]
        if chosen is None:
            text = "None."
        else:
            options = [chosen.text, *chosen.rephrases]
            text = (pick(options) if pick else options[0]).strip()
            text = text if text.endswith(".") else text + "."
        parts.append(f"{hand.capitalize()} hand: {text}")
    return " ".join(parts)


@dataclass
class Episode:
    """A V-L-A episode: one video clip with cameras, both hands and their instructions.

    Attributes:
        key: unique, stable id of the episode within a corpus (e.g. ``"<video>/<hand>/<segment>"``);
            the corpus writer uses it to resume a run without duplicating episodes.
        source_video: id or path of the video the clip was cut from.
        fps: frame rate of the episode's frames (the action control rate).
        intrinsics: (3, 3) pinhole matrix for the stored frames' resolution.
        image_size: (width, height) of the stored frames in pixels.
        extrinsics: (T, 4, 4) world -> camera transforms (world = first camera frame of the video).
        video_frame_index: (T,) indices of the episode's frames in ``source_video``.
        hands: ``{"left": HandTrack, "right": HandTrack}``.
        instructions: per hand, its instructions with spans in episode frame indices.
        main_hand: the hand this episode was segmented for; it always has an instruction.
        caption_source: who wrote the instructions (``"vlm"``, ``"offline"``, ``"truth"``, ``"import"``).
        frames: camera name -> (T, H, W, 3) uint8 RGB frames, given when writing; the reader leaves
            it empty and decodes frames on demand.
        extra: JSON-serialisable producer information (scene id, split, generator seed...).
        commands: (T, 102) the actions a robot was sent at each frame, for episodes recorded on a
            robot (LeRobot's ``action``; ``episode_from_tele`` derives them from the joint targets);
            None for human video, whose actions come from the tracks.
            Training targets must be what was *sent*: an action derived from the measured track lags
            the command, and a finger that position servos hold against an object measures where it
            stopped, not the target past it that squeezes (replaying the track-derived actions of 3
            successful expert demonstrations open-loop succeeded 0 times, the sent ones 3 times).
    """

    key: str
    source_video: str
    fps: float
    intrinsics: np.ndarray
    image_size: tuple[int, int]
    extrinsics: np.ndarray
    video_frame_index: np.ndarray
    hands: dict[str, HandTrack]
    instructions: dict[str, list[Instruction]]
    main_hand: Hand
    caption_source: str
    frames: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    commands: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not self.key:
            raise EpisodeError("episode key is empty")
        if self.fps <= 0:
            raise EpisodeError(f"fps must be positive, got {self.fps}")
        self.fps = float(self.fps)
        self.intrinsics = _as(self.intrinsics, np.float32, (3, 3), "intrinsics")
        self.extrinsics = _as(self.extrinsics, np.float32, (None, 4, 4), "extrinsics")
        t = len(self.extrinsics)
        if t == 0:
            raise EpisodeError(f"episode {self.key!r} has no frames")
        self.video_frame_index = _as(self.video_frame_index, np.int64, (t,), "video_frame_index")
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))
        if set(self.hands) != set(HANDS):
            raise EpisodeError(f"hands must be exactly {HANDS}, got {sorted(self.hands)}")
        for name, track in self.hands.items():
            if track.num_frames != t:
                raise EpisodeError(f"hand {name!r} has {track.num_frames} frames, episode has {t}")
        self.instructions = {hand: list(self.instructions.get(hand, [])) for hand in HANDS}
        for hand, items in self.instructions.items():
            for ins in items:
                if ins.end > t:
                    raise EpisodeError(f"{hand} instruction span [{ins.start}, {ins.end}) exceeds {t} frames")
        if self.main_hand not in HANDS:
            raise EpisodeError(f"main_hand must be 'left' or 'right', got {self.main_hand!r}")
        if not self.instructions[self.main_hand]:
            raise EpisodeError(f"main hand {self.main_hand!r} has no instruction")
        if self.commands is not None:
            self.commands = _as(self.commands, np.float32, (t, 102), "commands")
        w, h = self.image_size
        for camera, video in self.frames.items():
            self.frames[camera] = _as(video, np.uint8, (t, h, w, 3), f"frames[{camera!r}]")

    @property
    def num_frames(self) -> int:
        return len(self.extrinsics)

    def fov(self) -> np.ndarray:
        """Horizontal and vertical field of view in radians, ``[2 atan(cx/fx), 2 atan(cy/fy)]`` as VITRA."""
        return fov_from_intrinsics(self.intrinsics)

    def instruction_at(self, frame: int, pick: Callable[[list[str]], str] | None = None) -> str:
        """The prompt string ``"Left hand: ... Right hand: ..."`` with ``frame`` as the anchor; see ``prompt_at``."""
        return prompt_at(self.instructions, self.main_hand, frame, pick)

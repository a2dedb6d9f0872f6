"""Episodes cut from a clip's coarse narrations: the paper's "original human annotations" condition.

Ego4D-style narrations carry one loose timestamp (HumanSim jitters it by up to 1 s) and a
third-person sentence ("#C C picks up the cup"). Datasets built from them take a fixed window
around the timestamp and the sentence as the instruction, with no notion of where the motion
starts or stops or which hand does it; VITRA's data engine replaces both with velocity-minimum
segments and per-hand instructions. Writing these episodes with the same hands, frames and
camera as the truth corpus isolates exactly that difference.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from envs.humansim.spec import HANDS
from envs.humansim.truth import VIDEO_SUFFIX, ClipTruth, hand_track, write_clip_corpus
from vitra_bench.episode import Episode, Instruction

_PREFIX = re.compile(r"^#C\s+C\s+")


def instruction_from_narration(text: str) -> str:
    """"#C C picks up the cup" -> "Picks up the cup."."""
    sentence = _PREFIX.sub("", text).strip()
    sentence = sentence[:1].upper() + sentence[1:]
    return sentence if sentence.endswith(".") else sentence + "."


def main_hand(truth: ClipTruth, text: str, span: np.ndarray) -> str:
    """The hand the narration names, else the one whose wrist travels farther in the window."""
    for side in HANDS:
        if f"{side} hand" in text:
            return side
    travel = {
        side: float(np.linalg.norm(np.diff(truth.hands[side].wrist_translation[span], axis=0), axis=1).sum())
        for side in HANDS
    }
    return max(travel, key=travel.get)


def narration_episodes(
    truth: ClipTruth, frames: np.ndarray | None, before_s: float = 1.0, after_s: float = 1.0, camera: str = "ego", min_visible: int = 6
) -> list[Episode]:
    """One episode per narration: frames ``[t - before_s, t + after_s)`` around its timestamp."""
    extrinsics = truth.extrinsics @ np.linalg.inv(truth.extrinsics[0])
    episodes = []
    for number, line in enumerate(truth.narrations):
        centre = int(round(line.time * truth.fps))
        start = max(0, centre - int(round(before_s * truth.fps)))
        end = min(truth.num_frames, centre + int(round(after_s * truth.fps)))
        if end - start < 2:
            continue
        span = np.arange(start, end)
        hand = main_hand(truth, line.text, span)
        text = instruction_from_narration(line.text)
        episodes.append(
            Episode(
                key=narration_key(truth.clip_id, number),
                source_video=f"{truth.clip_id}{VIDEO_SUFFIX}",
                fps=truth.fps,
                intrinsics=truth.intrinsics,
                image_size=(truth.width, truth.height),
                extrinsics=extrinsics[span],
                video_frame_index=span,
                hands={side: hand_track(truth, side, span, min_visible) for side in HANDS},
                instructions={side: [Instruction(text, 0, len(span))] if side == hand else [] for side in HANDS},
                main_hand=hand,  # type: ignore[arg-type]
                caption_source="narration",
                frames={camera: frames[span]} if frames is not None else {},
                extra={"generator": "humansim", "labels": "narrations", **truth.meta},
            )
        )
    return episodes


def narration_key(clip_id: str, number: int) -> str:
    return f"{clip_id}/narration/{number:03d}"


def write_narration_corpus(clips: Path, out: Path, camera: str = "ego", progress: bool = True) -> Path:
    """Every finished clip's narration episodes as a corpus (resumable)."""
    return write_clip_corpus(
        clips, out, lambda truth: [narration_key(truth.clip_id, n) for n in range(len(truth.narrations))],
        lambda truth, frames: narration_episodes(truth, frames, camera=camera), camera, "narrations -> corpus", progress,
    )  # fmt: skip

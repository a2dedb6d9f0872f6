"""Instructions without a VLM: a sentence built from the hand's own motion (and object labels when known).

Used when no endpoint is configured, so the engine runs end to end anywhere; every caption says
``source="offline"`` and the episode is flagged, because these sentences only describe what the
trajectory shows (direction, lift/lower, grasp/release) and, with HumanSim's labels, the object.
Directions are in the camera of the segment's first frame (x right, y down, z forward): the
engine's world frame is a camera frame, not gravity-aligned, and an egocentric camera is held
roughly upright, so the camera's "up" stands in for gravity's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from data_engine.annotate.base import Caption, SceneObject, SegmentView
from vitra_bench.geometry import transform_points
from vitra_bench.hand import palm_point

if TYPE_CHECKING:
    from envs.humansim.truth import ClipTruth

Action = Literal["pick_up", "grasp", "put_down", "release", "reach", "move_object", "move_hand"]

# First phrasing = the instruction, the next five = its paraphrases. {o} object, {h} hand, {d} direction.
TEMPLATES: dict[Action, tuple[str, ...]] = {
    "pick_up": (
        "Pick up the {o}.", "Lift the {o}.", "Grab the {o} and lift it.",
        "Pick the {o} up with your {h} hand.", "Raise the {o}.", "Take the {o} and lift it up.",
    ),
    "grasp": (
        "Grasp the {o}.", "Grab the {o}.", "Take hold of the {o}.",
        "Reach for the {o} and grab it.", "Grip the {o} with your {h} hand.", "Close your {h} hand around the {o}.",
    ),
    "put_down": (
        "Put down the {o}.", "Set the {o} down.", "Place the {o} down.",
        "Lower the {o} and let go of it.", "Put the {o} down with your {h} hand.", "Lower the {o} and release it.",
    ),
    "release": (
        "Let go of the {o}.", "Release the {o}.", "Open your {h} hand to release the {o}.",
        "Take your {h} hand off the {o}.", "Let the {o} go.", "Stop holding the {o}.",
    ),
    "reach": (
        "Reach for the {o}.", "Move your {h} hand to the {o}.", "Reach toward the {o}.",
        "Bring your {h} hand to the {o}.", "Move your hand toward the {o}.", "Extend your {h} hand toward the {o}.",
    ),
    "move_object": (
        "Move the {o} {d}.", "Shift the {o} {d}.", "Bring the {o} {d}.",
        "Take the {o} {d}.", "Use your {h} hand to move the {o} {d}.", "Carry the {o} {d}.",
    ),
    "move_hand": (
        "Move your {h} hand {d}.", "Bring your {h} hand {d}.", "Shift your {h} hand {d}.",
        "Move the {h} hand {d}.", "Take your {h} hand {d}.", "Guide your {h} hand {d}.",
    ),
}  # fmt: skip

_DIRECTIONS = {  # (camera axis, sign) -> words
    (0, 1): "to the right", (0, -1): "to the left",
    (1, 1): "down", (1, -1): "up",
    (2, 1): "forward", (2, -1): "back toward you",
}  # fmt: skip
_FLEXING_JOINTS = slice(0, 12)  # index, middle, pinky, ring: +z is flexion for all of them
_FINGERTIPS = [8, 12, 16, 20]
_END_FRAMES = 3  # closure is averaged over this many kept frames at each end, against jitter


@dataclass(frozen=True)
class OfflineConfig:
    min_motion_m: float = 0.03  # palm displacement below this (and no grip change): nothing to say, N/A
    vertical_m: float = 0.04  # rise (fall) beyond this with a grasp (release) makes "pick up" ("put down")
    grasp_rad: float = 0.25  # mean finger flexion change (theta z, rad) that counts as grasp / release
    grasp_ratio: float = 0.15  # without theta: relative change of the fingertip-palm spread
    near_m: float = 0.12  # the object nearest the palm at the end is named when within this
    reach_m: float = 0.05  # the palm-object distance must shrink this much for "reach for"


@dataclass(frozen=True)
class Motion:
    """What the captioner read off the trajectory (kept for debugging and tests)."""

    displacement: np.ndarray  # (3,) palm end - start, first frame's camera axes, metres
    closure: float  # finger closure change: > 0 closing (rad of flexion, or relative spread without theta)
    grip: Literal["grasp", "release"] | None
    target: SceneObject | None
    approach: float  # how much closer the palm got to the target (m), 0 without one


class OfflineAnnotator:
    def __init__(self, config: OfflineConfig = OfflineConfig()) -> None:
        self.config = config

    def annotate(self, segment: SegmentView) -> Caption:
        kept = np.flatnonzero(segment.kept)
        if len(kept) < 2:
            return Caption(None, [], "offline", error="hand tracked in fewer than 2 frames")
        motion = read_motion(segment, kept, self.config)
        action = choose_action(motion, self.config)
        if action is None:
            return Caption(None, [], "offline", na=True)
        phrasings = phrase(action, segment.hand, motion)
        return Caption(phrasings[0], phrasings[1:], "offline")


def read_motion(segment: SegmentView, kept: np.ndarray, config: OfflineConfig) -> Motion:
    first, last = kept[0], kept[-1]
    palms = palm_point(segment.keypoints)
    displacement = segment.extrinsics[first][:3, :3] @ (palms[last] - palms[first])
    head, tail = kept[:_END_FRAMES], kept[-_END_FRAMES:]
    if segment.theta is not None:
        flexion = np.asarray(segment.theta)[:, _FLEXING_JOINTS, 2].mean(axis=1)
        closure = float(flexion[tail].mean() - flexion[head].mean())
        threshold = config.grasp_rad
    else:
        spread = _spread(segment.keypoints)
        closure = float(1.0 - spread[tail].mean() / spread[head].mean())
        threshold = config.grasp_ratio
    grip = "grasp" if closure > threshold else "release" if closure < -threshold else None
    target, approach = None, 0.0
    if segment.objects:
        ends = [np.linalg.norm(np.atleast_2d(o.end) - palms[last], axis=1).min() for o in segment.objects]
        nearest = int(np.argmin(ends))
        if ends[nearest] <= config.near_m:
            target = segment.objects[nearest]
            approach = float(np.linalg.norm(np.atleast_2d(target.start) - palms[first], axis=1).min() - ends[nearest])
    return Motion(displacement, closure, grip, target, approach)


def choose_action(motion: Motion, config: OfflineConfig) -> Action | None:
    """The verb; None when the hand does nothing worth an instruction (N/A)."""
    rise = -motion.displacement[1]
    if motion.grip == "grasp":
        return "pick_up" if rise > config.vertical_m else "grasp"
    if motion.grip == "release":
        return "put_down" if rise < -config.vertical_m else "release"
    if motion.target is not None and motion.approach > config.reach_m:
        return "reach"
    if np.linalg.norm(motion.displacement) < config.min_motion_m:
        return None
    return "move_object" if motion.target is not None else "move_hand"


def phrase(action: Action, hand: str, motion: Motion) -> list[str]:
    """Six phrasings: the instruction then five paraphrases."""
    axis = int(np.argmax(np.abs(motion.displacement)))
    direction = _DIRECTIONS[(axis, 1 if motion.displacement[axis] > 0 else -1)]
    noun = motion.target.label if motion.target is not None else "object"
    return [t.format(o=noun, h=hand, d=direction) for t in TEMPLATES[action]]


def humansim_objects(
    truth: ClipTruth, start: int, end: int, world_from_truth: np.ndarray | None = None
) -> list[SceneObject]:
    """HumanSim's props as labelled objects for the clip frames ``start`` and ``end`` (inclusive).

    ``world_from_truth`` maps HumanSim's world (z up) into the segment's world; the default is the
    clip's first camera, which is the engine's world convention (VITRA's).
    """
    transform = truth.extrinsics[0] if world_from_truth is None else world_from_truth
    props = truth.meta.get("props", {})
    objects = []
    for name in truth.prop_names:
        info = props.get(name, {})
        label = " ".join(part for part in (info.get("colour"), info.get("category", name)) if part).replace("_", " ")
        cloud = [transform_points(transform, truth.prop_cloud_world(name, frame)) for frame in (start, end)]
        objects.append(SceneObject(label, *cloud))
    return objects


def _spread(keypoints: np.ndarray) -> np.ndarray:
    """Mean fingertip-palm distance per frame over the palm length: falls as the hand closes."""
    palms = palm_point(keypoints)
    tips = np.linalg.norm(keypoints[:, _FINGERTIPS] - palms[:, None], axis=2).mean(axis=1)
    return tips / np.linalg.norm(keypoints[:, 9] - keypoints[:, 0], axis=1)

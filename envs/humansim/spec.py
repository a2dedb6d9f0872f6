"""The data HumanSim's parts hand to each other: props, choreography, camera track.

Frames and units, shared by every HumanSim module:
    * world: MuJoCo's, z up, metres; the table top is the plane z = ``Table.height``; the person
      stands on the -y side of the table and looks toward +y.
    * hand poses: the skeleton of ``vitra_bench.hand`` (wrist rotation hand -> world, wrist keypoint
      position, theta (15, 3) local axis-angle in MANO order, the left hand mirrored in x).
    * poses of rigid things: (7,) = position (3) + quaternion (4, w first, MuJoCo's order).
    * cameras: OpenCV convention (x right, y down, z forward); extrinsics map world -> camera.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HANDS = ("left", "right")


@dataclass
class GeomSpec:
    """One primitive of a prop, in the prop's frame (MuJoCo geom types and size conventions)."""

    type: str  # "box" | "sphere" | "capsule" | "cylinder" | "ellipsoid"
    size: tuple[float, ...]
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    quat: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    rgba: tuple[float, float, float, float] | None = None  # None: the prop's colour


@dataclass
class Grasp:
    """Where and how a hand takes a prop, in the prop's frame.

    ``point`` is where the palm centre goes, ``approach`` the unit direction the palm moves along
    when closing in (from the hand toward the prop), ``width`` the size the fingers wrap (it sets
    the finger closure), ``handle`` whether this is a tool's handle.
    """

    point: np.ndarray
    approach: np.ndarray
    width: float
    handle: bool = False


@dataclass
class Prop:
    """A manipulable object: what the renderer, the motion programs and the benchmarks need."""

    name: str  # unique within a scene, e.g. "cup_0"
    category: str  # e.g. "cup"; benchmarks split seen/unseen by category
    colour: str  # a colour name used in instructions, e.g. "red"
    rgba: tuple[float, float, float, float]
    geoms: list[GeomSpec]
    pose: np.ndarray  # (7,) initial pose in the world, resting on the table
    grasp: Grasp
    points: np.ndarray  # (N, 3) surface point cloud in the prop's frame
    height: float  # extent above its resting base, metres

    @property
    def label(self) -> str:
        return f"{self.colour} {self.category}"


@dataclass
class HandMotion:
    """One hand over a clip; ``present`` is false while the hand is out of the scene (kept away)."""

    rotation: np.ndarray  # (T, 3, 3) wrist rotation, hand -> world
    translation: np.ndarray  # (T, 3) wrist keypoint, world
    theta: np.ndarray  # (T, 15, 3)
    present: np.ndarray  # (T,) bool


@dataclass
class Segment:
    """A ground-truth atomic action of one hand over frames ``[start, end)``."""

    hand: str
    start: int
    end: int
    action: str  # motion-program verb: "reach", "grasp", "lift", "move", "place", ...
    instruction: str  # imperative sentence, e.g. "Pick up the red cup from the table."
    target: str | None = None  # prop name, when the action is about one
    rephrases: list[str] = field(default_factory=list)  # other wordings of the same instruction


@dataclass
class Narration:
    """A coarse activity-level narration with a loose timestamp, like Ego4D's (seconds)."""

    text: str
    time: float


@dataclass
class Choreography:
    """What a motion program produces for one clip."""

    hands: dict[str, HandMotion]
    prop_poses: dict[str, np.ndarray]  # prop name -> (T, 7) world pose per frame
    segments: list[Segment]
    narrations: list[Narration] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return len(next(iter(self.hands.values())).translation)


@dataclass
class CameraTrack:
    """Intrinsics and per-frame extrinsics of the clip's camera."""

    intrinsics: np.ndarray  # (3, 3)
    extrinsics: np.ndarray  # (T, 4, 4) world -> camera, OpenCV axes
    width: int
    height: int
    mode: str  # "static" | "egocentric"

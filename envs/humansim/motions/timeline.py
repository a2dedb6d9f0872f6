"""The clip being written: one growing track per hand, the props' states, segments and narrations.

Motion programs append to a ``Stage`` frame by frame; nothing is resampled afterwards, so the
segment boundaries a program records are exactly the frames where its movements start and stop.
A held prop follows the wrist rigidly: its pose is recomputed from the final wrist track, so the
hand-object transform is constant while held by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from envs.humansim.spec import HANDS, Choreography, HandMotion, Narration, Prop, Segment
from vitra_bench.geometry import make_transform
from vitra_bench.hand import JOINT_LIMITS, forward_kinematics

from . import primitives as pm
from .geometry import UP, pose_matrix, pose_vector

# The person stands at -y of the table centre; shoulders about here relative to it (metres).
SHOULDER_OFFSET = {"right": np.array([0.20, -0.55]), "left": np.array([-0.20, -0.55])}
# Half extents around the table centre within which props are put down (reachable, visible).
WORKSPACE_HALF = np.array([0.32, 0.22])


@dataclass
class Attachment:
    """A prop held by a hand: its pose in the wrist frame, fixed while held."""

    prop: str
    relative: np.ndarray  # (4, 4) prop -> wrist


class HandTrack:
    """One hand's motion, appended frame by frame; frame 0 is the clip's first frame."""

    def __init__(
        self,
        side: str,
        position: np.ndarray,
        rotation: np.ndarray,
        theta: np.ndarray,
        floor: float = -np.inf,
        beta: np.ndarray | None = None,
    ) -> None:
        self.side = side
        self.floor = floor  # no keypoint goes below this height during a move (the table top)
        self.beta = beta
        self._positions = [position[None]]
        self._rotations = [rotation[None]]
        self._thetas = [theta[None]]
        self.length = 1

    @property
    def frame(self) -> int:
        """Index of the last frame written: where the next movement starts from."""
        return self.length - 1

    @property
    def position(self) -> np.ndarray:
        return self._positions[-1][-1]

    @property
    def rotation(self) -> np.ndarray:
        return self._rotations[-1][-1]

    @property
    def theta(self) -> np.ndarray:
        return self._thetas[-1][-1]

    @property
    def matrix(self) -> np.ndarray:
        """Wrist transform (4, 4) at the last frame."""
        return make_transform(self.rotation, self.position)

    def append(self, positions: np.ndarray, rotations: np.ndarray, thetas: np.ndarray) -> None:
        self._positions.append(positions)
        self._rotations.append(rotations)
        self._thetas.append(thetas)
        self.length += len(positions)

    def hold(self, n: int, wander: tuple[np.random.Generator, float, float] | None = None) -> None:
        """Stay ``n`` frames; ``wander`` = (rng, fps, amplitude in metres) adds a resting hand's drift."""
        if n <= 0:
            return
        positions = np.repeat(self.position[None], n, axis=0)
        rotations = np.repeat(self.rotation[None], n, axis=0)
        thetas = np.repeat(self.theta[None], n, axis=0)
        if wander is not None and n >= 8:
            rng, fps, amplitude = wander
            drift = pm.wander(rng, n, fps, 3)
            drift[:, 2] = 0.5 * drift[:, 2] ** 2  # a resting hand lifts a little but never sinks into the table
            positions = positions + amplitude * drift
            rotations = Rotation.from_rotvec(np.radians(1.0) * pm.wander(rng, n, fps, 3)).as_matrix() @ rotations
            curl = np.zeros((n, 15, 3))
            curl[..., 2] = 0.05 * pm.wander(rng, n, fps, 1)
            thetas = np.clip(thetas + curl, JOINT_LIMITS[..., 0], JOINT_LIMITS[..., 1])
            # what the wander sinks below the floor (or below where the hand already was) it lifts back
            lowest = forward_kinematics(rotations, positions, thetas, self.beta, self.side)[..., 2].min(axis=-1)
            still = forward_kinematics(self.rotation, self.position, self.theta, self.beta, self.side)[:, 2].min()
            positions[:, 2] += np.maximum(min(self.floor, still) - lowest, 0.0)
        self.append(positions, rotations, thetas)

    def move(
        self,
        n: int,
        control: Sequence[np.ndarray],
        rotation: np.ndarray,
        fingers: Sequence[tuple[float, np.ndarray]] | None = None,
        progress: np.ndarray | None = None,
    ) -> None:
        """One movement of ``n`` frames along a Bezier from here through ``control`` (last = target).

        Position by arc length and orientation by slerp share the minimum-jerk ``progress`` (or
        the one given); ``fingers`` are (time in [0, 1], theta) keys blended on the movement's clock.
        """
        progress = pm.min_jerk(n) if progress is None else progress
        positions = pm.curve_positions(self.position, control, progress)
        rotations = pm.slerp(self.rotation, rotation, progress)
        tau = np.arange(1, n + 1) / n
        keys = [(0.0, self.theta), *fingers] if fingers else [(0.0, self.theta), (1.0, self.theta)]
        thetas = pm.blend(keys, tau)
        self.append(positions + self._lift(positions, rotations, thetas, progress)[:, None] * UP, rotations, thetas)

    def _lift(self, positions: np.ndarray, rotations: np.ndarray, thetas: np.ndarray, progress: np.ndarray) -> np.ndarray:
        """Extra height (n,) that keeps the hand above the floor while it turns on the way.

        A hand turning from palm-down to fingers-down (say) can dip its fingertips into the
        table mid-way although both ends are clear; a sin^2 bump over the path (zero, with zero
        speed, at both ends) raises it just enough, capped at 15 cm.
        """
        lowest = forward_kinematics(rotations, positions, thetas, self.beta, self.side)[..., 2].min(axis=-1)
        bump = np.sin(np.pi * progress) ** 2
        needed = np.where(bump > 0.05, np.maximum(self.floor - lowest, 0.0) / np.maximum(bump, 0.05), 0.0)
        return min(float(needed.max()), 0.15) * bump

    def motion(self, num_frames: int) -> HandMotion:
        """The first ``num_frames`` frames as a ``HandMotion`` (the track must be that long)."""
        return HandMotion(
            rotation=np.concatenate(self._rotations)[:num_frames],
            translation=np.concatenate(self._positions)[:num_frames],
            theta=np.concatenate(self._thetas)[:num_frames],
            present=np.ones(num_frames, dtype=bool),
        )

    def wrist_matrices(self, num_frames: int) -> np.ndarray:
        """Wrist transforms (num_frames, 4, 4)."""
        matrices = np.broadcast_to(np.eye(4), (num_frames, 4, 4)).copy()
        matrices[:, :3, :3] = np.concatenate(self._rotations)[:num_frames]
        matrices[:, :3, 3] = np.concatenate(self._positions)[:num_frames]
        return matrices


class Stage:
    """Everything a clip's motion programs share: tracks, prop states, tempo, the ground truth so far.

    ``style`` "lab" keeps one tempo and fixed pauses; "wild" varies both. ``workspace`` bounds
    (xmin, xmax, ymin, ymax) where props may be put down, pushed or wiped over; by default the
    middle of the table (``WORKSPACE_HALF`` around its centre) and wherever props start.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        props: Sequence[Prop],
        table_height: float,
        fps: float = 30.0,
        style: str = "wild",
        table_center: Sequence[float] = (0.0, 0.0),
        betas: dict[str, np.ndarray] | None = None,
        workspace: Sequence[float] | None = None,
    ) -> None:
        if style not in ("lab", "wild"):
            raise ValueError(f"style must be 'lab' or 'wild', got {style!r}")
        self.rng = rng
        self.props = {prop.name: prop for prop in props}
        self.table_height = float(table_height)
        self.fps = float(fps)
        self.style = style
        self.center = np.asarray(table_center, dtype=float)
        self.betas = dict(betas or {})
        self.tempo = 1.0 if style == "lab" else float(rng.uniform(0.8, 1.3))
        self.workspace = self._workspace() if workspace is None else np.asarray(workspace, dtype=float)
        floor = self.table_height + pm.KEYPOINT_CLEARANCE
        self.tracks = {side: HandTrack(side, *self.rest_pose(side), floor, self.beta(side)) for side in HANDS}
        self.holding: dict[str, Attachment | None] = {side: None for side in HANDS}
        self.released: dict[str, str | None] = {side: None for side in HANDS}
        self.poses = {name: np.array(prop.pose, dtype=float) for name, prop in self.props.items()}
        self.events: dict[str, list[tuple[int, str, object]]] = {
            name: [(0, "static", pose.copy())] for name, pose in self.poses.items()
        }
        self.fixed: set[str] = set()  # props that must not move again (e.g. with something inside)
        self.segments: list[Segment] = []
        self.lines: list[tuple[int, str]] = []  # narrations: (frame, text)

    # --- time ----------------------------------------------------------------------------------

    def frames(self, seconds: float) -> int:
        """Frames of a movement nominally ``seconds`` long, at this clip's tempo."""
        jitter = 1.0 if self.style == "lab" else self.rng.uniform(0.88, 1.12)
        return max(4, int(round(seconds * self.tempo * jitter * self.fps)))

    def pause_seconds(self, short: bool = False) -> float:
        """A natural still phase: 0.2-1 s between activities, 0.2-0.4 s inside one; fixed in the lab."""
        if self.style == "lab":
            return 0.25 if short else 0.4
        return self.rng.uniform(0.2, 0.4) if short else self.rng.uniform(0.2, 1.0)

    def pause(self, hand: str, short: bool = False) -> None:
        """Keep ``hand`` still for a natural pause (an empty hand drifts slightly)."""
        self.wait(hand, int(round(self.pause_seconds(short) * self.fps)))

    def wait(self, hand: str, n: int) -> None:
        """Stay still ``n`` frames (an empty hand wanders slightly, a holding hand keeps still)."""
        drift = None if self.holding[hand] else (self.rng, self.fps, self.rng.uniform(0.0015, 0.004))
        self.tracks[hand].hold(n, drift)

    def sync(self, hands: Sequence[str] = HANDS) -> int:
        """Let the hands that are behind wait until all of ``hands`` reach the same frame."""
        frame = max(self.tracks[h].frame for h in hands)
        for h in hands:
            self.wait(h, frame - self.tracks[h].frame)
        return frame

    @property
    def length(self) -> int:
        return max(track.length for track in self.tracks.values())

    # --- geometry of the person ----------------------------------------------------------------

    def rest_pose(self, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A resting hand near the body: palm down on or just above the near table edge."""
        sign = 1.0 if side == "right" else -1.0
        position = np.array(
            [
                self.center[0] + sign * self.rng.uniform(0.13, 0.22),
                self.center[1] - self.rng.uniform(0.22, 0.30),
                self.table_height + self.rng.uniform(0.03, 0.045),
            ]
        )
        fingers = self.preferred_fingers(side, position) * np.array([1.0, 1.0, 0.0]) - 0.15 * UP
        rotation = pm.hand_frame(side, -UP + 0.1 * fingers, fingers)
        theta = pm.relaxed_shape(self.rng)
        lowest = forward_kinematics(rotation, position, theta, self.beta(side), side)[:, 2].min()
        # just above the table: the resting wander (a degree, a few hundredths of curl) must not sink it
        position[2] += max(0.0, self.table_height + pm.KEYPOINT_CLEARANCE + 0.008 - lowest)
        return position, rotation, theta

    def preferred_fingers(self, side: str, point: np.ndarray) -> np.ndarray:
        """Where the fingers naturally point at ``point``: along the arm from the shoulder, a bit down."""
        shoulder = self.center + SHOULDER_OFFSET[side]
        horizontal = np.append(point[:2] - shoulder, 0.0)
        direction = horizontal / np.linalg.norm(horizontal) - 0.3 * UP
        return direction / np.linalg.norm(direction)

    def beta(self, side: str) -> np.ndarray | None:
        return self.betas.get(side)

    def _workspace(self) -> np.ndarray:
        """Where props may go by default: the reachable middle of the table and wherever props start."""
        xy = np.array([prop.pose[:2] for prop in self.props.values()]).reshape(-1, 2)
        low = np.min(np.vstack([xy, self.center - WORKSPACE_HALF]), axis=0)
        high = np.max(np.vstack([xy, self.center + WORKSPACE_HALF]), axis=0)
        return np.array([low[0], high[0], low[1], high[1]])

    # --- props ---------------------------------------------------------------------------------

    def prop_pose(self, name: str) -> np.ndarray:
        """The prop's pose (7,) as things stand at the end of the holding hand's track (or at rest)."""
        for side, attachment in self.holding.items():
            if attachment is not None and attachment.prop == name:
                return pose_vector(self.tracks[side].matrix @ attachment.relative)
        return self.poses[name]

    def held(self, hand: str) -> str | None:
        attachment = self.holding[hand]
        return attachment.prop if attachment else None

    def attach(self, hand: str, name: str) -> None:
        """From this hand's last frame on, the prop moves rigidly with the wrist."""
        track = self.tracks[hand]
        relative = np.linalg.inv(track.matrix) @ pose_matrix(self.prop_pose(name))
        for other, attachment in self.holding.items():
            if attachment is not None and attachment.prop == name:
                self.detach(other)
        self.holding[hand] = Attachment(name, relative)
        self.events[name].append((track.frame, "held", (hand, relative)))

    def detach(self, hand: str) -> str:
        """The prop stays where the hand leaves it, from this hand's last frame on."""
        attachment = self.holding[hand]
        assert attachment is not None, f"the {hand} hand holds nothing"
        pose = pose_vector(self.tracks[hand].matrix @ attachment.relative)
        self.poses[attachment.prop] = pose
        self.events[attachment.prop].append((self.tracks[hand].frame, "static", pose))
        self.holding[hand] = None
        self.released[hand] = attachment.prop
        return attachment.prop

    def movable(self) -> list[str]:
        """Props free to be taken: not held, not fixed."""
        taken = {a.prop for a in self.holding.values() if a is not None}
        return [name for name in self.props if name not in taken and name not in self.fixed]

    # --- ground truth --------------------------------------------------------------------------

    def add_segment(self, hand: str, start: int, action: str, phrases: Sequence[str], target: str | None) -> None:
        """A segment from ``start`` to this hand's last frame; the first phrase is the canonical one.

        In the wild style the instruction is drawn among the phrasings, as annotators vary.
        """
        phrases = list(phrases)
        choice = 0 if self.style == "lab" else int(self.rng.integers(len(phrases)))
        instruction = phrases.pop(choice)
        end = self.tracks[hand].frame
        self.segments.append(Segment(hand, start, end, action, instruction, target, phrases))

    def narrate(self, frame: int, text: str) -> None:
        self.lines.append((frame, text))

    def finish(self, num_frames: int | None = None, tail: float = 0.5) -> Choreography:
        """Pad (or cut) the clip to ``num_frames`` and assemble the ``Choreography``.

        Without ``num_frames`` the clip ends ``tail`` seconds after the last movement. Segments
        cut by the end of the clip are dropped: a partial action has no true instruction span.
        """
        if num_frames is None:
            num_frames = self.length + int(round(tail * self.fps))
        for side in HANDS:
            self.wait(side, num_frames - self.tracks[side].length)
        wrists = {side: self.tracks[side].wrist_matrices(num_frames) for side in HANDS}
        prop_poses = {name: self._prop_track(name, wrists, num_frames) for name in self.props}
        segments = sorted((s for s in self.segments if s.end <= num_frames), key=lambda s: (s.start, s.hand))
        return Choreography(
            hands={side: self.tracks[side].motion(num_frames) for side in HANDS},
            prop_poses=prop_poses,
            segments=segments,
            narrations=self._narrations(num_frames),
        )

    def _prop_track(self, name: str, wrists: dict[str, np.ndarray], num_frames: int) -> np.ndarray:
        poses = np.zeros((num_frames, 7))
        events = sorted(self.events[name], key=lambda event: event[0])
        for index, (frame, kind, data) in enumerate(events):
            stop = events[index + 1][0] if index + 1 < len(events) else num_frames
            span = slice(min(frame, num_frames), min(stop, num_frames))
            if kind == "static":
                poses[span] = data
            else:
                hand, relative = data
                poses[span] = pose_vector(wrists[hand][span] @ relative)
        return poses

    def _narrations(self, num_frames: int) -> list[Narration]:
        """Loose timestamps, like Ego4D's: each line jittered up to 1 s, then sorted."""
        duration = num_frames / self.fps
        lines = []
        for frame, text in self.lines:
            if frame < num_frames:
                time = float(np.clip(frame / self.fps + self.rng.uniform(-1.0, 1.0), 0.0, duration))
                lines.append(Narration(text, round(time, 2)))
        return sorted(lines, key=lambda line: line.time)


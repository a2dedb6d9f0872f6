"""The motion programs: each appends one action (or a short chain) to a ``Stage``.

A program starts from where its hand is, moves with minimum-jerk timing, and records one
ground-truth ``Segment`` per movement, from the still frame it leaves to the still frame it
reaches: these are the wrist-speed minima VITRA's data engine cuts at. Programs raise
``Infeasible`` when the props as they stand do not allow the action; callers try something else.

Programs: ``grasp`` (reach and close the hand, one movement), ``lift``, ``place`` (carry, lower,
open the hand), ``retract`` (release if holding, back to rest), ``push`` (reach behind, slide),
``pour`` (bring over a receiver, tilt about the forearm, let it flow), ``wipe`` (rub or sweep
with a held cloth, sponge or brush), ``pull_open`` (slide a held drawer toward the body),
``hand_over`` (one hand brings a prop to the middle, the other takes it), ``idle``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.spatial.transform import Rotation

from envs.humansim.spec import HANDS, Grasp, Prop
from vitra_bench.geometry import make_transform

from . import language as lang
from . import primitives as pm
from .geometry import (
    UP,
    footprint_radius,
    handle_axis,
    is_axisymmetric,
    palm_gap,
    pose_matrix,
    pose_vector,
    resting_pose,
    top_point,
)
from .timeline import Stage

FLAT_HOLD = frozenset({"cloth", "towel", "rag", "napkin"})  # pressed flat under the palm, not gripped
SOFT = FLAT_HOLD | {"sponge"}
NATURAL_APPROACH = np.radians(20.0)  # a round thing is taken from the hand's own side, palm tilted forward


class Infeasible(RuntimeError):
    """The action cannot be done with the props as they stand."""


@dataclass
class GraspPlan:
    """Where the wrist goes to take a prop, and the finger shapes on the way."""

    wrist: np.ndarray  # (3,) wrist keypoint at the grasp
    rotation: np.ndarray  # (3, 3) wrist rotation at the grasp
    closed: np.ndarray  # (15, 3) fingers around the prop
    opened: np.ndarray  # (15, 3) peak aperture during the reach
    point: np.ndarray  # (3,) grasp point, world (the palm point goes here)
    approach: np.ndarray  # (3,) unit, world
    handle: bool


@dataclass
class Destination:
    """Where a carried prop is put: its resting pose, in words, and the container if any."""

    pose: np.ndarray  # (7,)
    place: lang.Place
    container: str | None = None


# --- geometry helpers ----------------------------------------------------------------------------


def travel_seconds(distance: float) -> float:
    """Duration of a reach over ``distance`` metres: about 0.6 s for 10 cm, 1 s for 45 cm."""
    return float(np.clip(0.5 + 1.1 * distance, 0.5, 1.8))


def natural_approach(hand: str) -> np.ndarray:
    """Horizontal approach (3,) of a hand taking a round thing: from its own side, a bit forward."""
    sign = -1.0 if hand == "right" else 1.0
    return np.array([sign * np.cos(NATURAL_APPROACH), np.sin(NATURAL_APPROACH), 0.0])


def grasp_target(prop: Prop, pose: np.ndarray, hand: str) -> tuple[np.ndarray, np.ndarray]:
    """World grasp point (3,) and approach (3,) of ``prop`` at ``pose`` for ``hand``.

    The prop's ``Grasp`` as given, except that an upright round prop taken from the side is
    turned about its axis so the hand comes from its natural side (the same grasp, elsewhere on
    the rim): a right hand does not reach around a cup to take it from the left.
    """
    rotation = Rotation.from_quat(pose[3:], scalar_first=True).as_matrix()
    approach = rotation @ (prop.grasp.approach / np.linalg.norm(prop.grasp.approach))
    offset = rotation @ prop.grasp.point
    upright = rotation[2, 2] > 0.95
    if upright and abs(approach[2]) < 0.7 and is_axisymmetric(prop, float(prop.grasp.point[2])):
        wanted = natural_approach(hand)
        turn = np.arctan2(wanted[1], wanted[0]) - np.arctan2(approach[1], approach[0])
        spin = Rotation.from_rotvec(turn * UP).as_matrix()
        offset, approach = spin @ offset, spin @ approach
    return pose[:3] + offset, approach


def lowest_z(prop: Prop, pose: np.ndarray) -> float:
    """Height of the prop's lowest surface point at ``pose``."""
    matrix = pose_matrix(pose)
    return float(np.min(prop.points @ matrix[:3, :3].T, axis=0)[2] + matrix[2, 3])


def top_z(prop: Prop, pose: np.ndarray) -> float:
    matrix = pose_matrix(pose)
    return float(np.max(prop.points @ matrix[:3, :3].T, axis=0)[2] + matrix[2, 3])


def held(stage: Stage, hand: str) -> str:
    name = stage.held(hand)
    if name is None:
        raise Infeasible(f"the {hand} hand holds nothing")
    return name


def plan_grasp(
    stage: Stage, hand: str, name: str, point: np.ndarray | None = None, approach: np.ndarray | None = None
) -> GraspPlan:
    """How ``hand`` takes prop ``name`` as it stands: palm point on the grasp point, palm along the approach.

    ``point``/``approach`` (world) override the prop's own grasp, e.g. for the receiving hand
    of a hand-over, which takes the prop from the other side.
    """
    prop = stage.props[name]
    pose = stage.prop_pose(name)
    if point is None or approach is None:
        point, approach = grasp_target(prop, pose, hand)
    grasp: Grasp = prop.grasp
    beta = stage.beta(hand)
    closed = pm.flat_shape() if prop.category in FLAT_HOLD else pm.closed_shape(grasp.width, grasp.handle, palm_gap(prop), beta)
    thumb_axis = pose_matrix(pose)[:3, :3] @ handle_axis(prop) if grasp.handle else None
    preferred = stage.preferred_fingers(hand, point)
    rotation = pm.grasp_rotation(hand, approach, preferred, point, closed, stage.table_height, beta, thumb_axis)
    floor = stage.table_height + pm.KEYPOINT_CLEARANCE
    closed = pm.keep_above(closed, rotation, point - rotation @ pm.palm_offset(closed, hand, beta), floor, hand, beta)
    wrist = point - rotation @ pm.palm_offset(closed, hand, beta)  # the thumb's MCP is part of the palm point
    return GraspPlan(
        wrist=wrist,
        rotation=rotation,
        closed=closed,
        opened=pm.keep_above(pm.open_shape(grasp.width), rotation, wrist, floor, hand, beta),
        point=point,
        approach=approach / np.linalg.norm(approach),
        handle=grasp.handle,
    )


def obstacle_top(stage: Stage, a: np.ndarray, b: np.ndarray, exclude: set[str]) -> float:
    """Highest prop top near the straight line from ``a`` to ``b`` (xy), or the table."""
    top = stage.table_height
    held_now = {stage.held(h) for h in HANDS}
    for name, prop in stage.props.items():
        if name in exclude or name in held_now:
            continue
        pose = stage.prop_pose(name)
        if _segment_distance(pose[:2], a[:2], b[:2]) < footprint_radius(prop) + 0.10:
            top = max(top, top_z(prop, pose))
    return top


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    ab = b - a
    t = 0.0 if ab @ ab < 1e-12 else float(np.clip((p - a) @ ab / (ab @ ab), 0.0, 1.0))
    return float(np.linalg.norm(p - (a + t * ab)))


def _arc(start: np.ndarray, end: np.ndarray, clear_start: float, clear_end: float) -> list[np.ndarray]:
    """Cubic Bezier controls rising ``clear_start`` off the start and dropping ``clear_end`` onto the end.

    A cubic's apex reaches about 3/4 of its control height, hence the 4/3.
    """
    return [start + UP * clear_start * 4 / 3, end + UP * clear_end * 4 / 3, end]


def _carry(
    stage: Stage,
    hand: str,
    target: np.ndarray,
    fingers: list[tuple[float, np.ndarray]] | None = None,
    extra_seconds: float = 0.2,
) -> None:
    """Move the hand holding a prop to wrist transform ``target``, clearing the props on the way."""
    name = held(stage, hand)
    prop, track = stage.props[name], stage.tracks[hand]
    relative = stage.holding[hand].relative
    start, end = track.position, target[:3, 3]
    hang_start = start[2] - lowest_z(prop, stage.prop_pose(name))
    hang_end = end[2] - lowest_z(prop, pose_vector(target @ relative))
    top = obstacle_top(stage, start, end, {name}) + 0.03
    clear_start = max(0.04, top + hang_start - start[2])
    clear_end = max(0.05, top + hang_end - end[2])
    distance = np.linalg.norm(end - start) + 0.5 * (clear_start + clear_end)
    n = stage.frames(travel_seconds(distance) + extra_seconds)
    track.move(n, _arc(start, end, clear_start, clear_end), target[:3, :3], fingers)


# --- destinations --------------------------------------------------------------------------------


def region(stage: Stage, xy: np.ndarray) -> str:
    """The part of the table ``xy`` is in, in words."""
    dx, dy = xy - stage.center
    if abs(dx) > 0.1:
        return "left" if dx < 0 else "right"
    return "far" if dy > 0.1 else "near" if dy < -0.05 else "middle"


def upright(stage: Stage, name: str, turn: float) -> np.ndarray:
    """A resting rotation (3, 3) for prop ``name``: its initial one, turned about z to the prop's
    current heading, plus up to ``turn`` radians either way.

    Keeping the current heading keeps the hand's attitude: putting down a prop that was turned
    in the hand (a hand-over, a pour) must not wring the wrist round to its original heading.
    """
    initial = pose_matrix(stage.props[name].pose)[:3, :3]
    offset = pose_matrix(stage.prop_pose(name))[:3, :3] @ initial.T
    heading = np.arctan2(offset[1, 0] - offset[0, 1], offset[0, 0] + offset[1, 1])
    return Rotation.from_rotvec((heading + stage.rng.uniform(-turn, turn)) * UP).as_matrix() @ initial


def table_spot(
    stage: Stage, name: str, hand: str, near: str | None = None, avoid: list[np.ndarray] | None = None
) -> Destination:
    """A free place on the table for prop ``name``: on ``hand``'s side mostly, or next to ``near``.

    Free means clear of every other prop (and of the ``avoid`` points, where things still are
    in a simultaneous action) with a 2.5 cm gap, inside the workspace.
    """
    prop, rng = stage.props[name], stage.rng
    radius = footprint_radius(prop)
    current = stage.prop_pose(name)[:2]
    x0, x1, y0, y1 = stage.workspace
    others = [(stage.prop_pose(o)[:2], footprint_radius(p)) for o, p in stage.props.items() if o != name]
    others += [(point, 0.06) for point in avoid or []]
    sign = 1.0 if hand == "right" else -1.0
    for _ in range(80):
        if near is not None:
            angle = rng.uniform(0, 2 * np.pi)
            gap = radius + footprint_radius(stage.props[near]) + rng.uniform(0.03, 0.06)
            xy = stage.prop_pose(near)[:2] + gap * np.array([np.cos(angle), np.sin(angle)])
        else:
            x = stage.center[0] + sign * rng.uniform(0.0, 0.3) if rng.random() < 0.75 else rng.uniform(x0, x1)
            xy = np.array([x, rng.uniform(y0, y1)])
        inside = x0 + radius <= xy[0] <= x1 - radius and y0 + radius <= xy[1] <= y1 - radius
        free = all(np.linalg.norm(xy - c) >= radius + r + 0.025 for c, r in others)
        if inside and free and np.linalg.norm(xy - current) >= 0.08:
            pose = resting_pose(prop, xy, upright(stage, name, 0.0 if stage.style == "lab" else 0.4), stage.table_height)
            words = lang.Place("next to", stage.props[near]) if near else lang.Place(region(stage, xy))
            return Destination(pose, words)
    raise Infeasible(f"no free place on the table for {name}")


def into(stage: Stage, name: str, container: str, relation: str = "in") -> Destination:
    """Put prop ``name`` in (or on) ``container``: resting on its floor (or top), near its middle.

    The floor is the highest surface point near the container's axis below half its height (the
    inside of a bowl's bottom); "on" a plate or tray uses the highest point near the axis.
    """
    prop, box = stage.props[name], stage.props[container]
    inner = 0.8 * footprint_radius(box)
    radius = footprint_radius(prop)
    if radius > (0.75 if relation == "in" else 1.0) * inner:
        raise Infeasible(f"{name} does not fit {relation} {container}")
    central = box.points[np.linalg.norm(box.points[:, :2], axis=1) < 0.5 * inner]
    if relation == "in":
        central = central[central[:, 2] < 0.5 * box.points[:, 2].max()]
    if len(central) == 0:
        raise Infeasible(f"cannot find the floor of {container}")
    box_pose = pose_matrix(stage.prop_pose(container))
    support = float((box_pose @ np.array([0.0, 0.0, central[:, 2].max(), 1.0]))[2])
    jitter = stage.rng.uniform(-1, 1, 2) * 0.3 * max(inner - radius, 0.0)
    pose = resting_pose(prop, box_pose[:2, 3] + jitter, upright(stage, name, 0.4), support)
    return Destination(pose, lang.Place(relation, box), container)


# --- programs ------------------------------------------------------------------------------------


def grasp(
    stage: Stage,
    hand: str,
    name: str,
    phrases: list[str] | None = None,
    plan: GraspPlan | None = None,
    attach: bool = True,
) -> GraspPlan:
    """Reach for a prop and close the hand on it, in one movement (one "grasp" segment).

    The path rises off the start (over the props on the way), comes in along the approach
    direction through a pre-grasp point 7 cm back, and the fingers open to their widest at 60% of the movement, then close to
    the closure the object's width sets. ``attach=False`` leaves the taking-over to the caller
    (a hand-over, where both hands must be at the same frame).
    """
    if stage.held(hand) is not None:
        raise Infeasible(f"the {hand} hand is already holding something")
    plan = plan or plan_grasp(stage, hand, name)
    track = stage.tracks[hand]
    start, origin = track.frame, track.position
    distance = float(np.linalg.norm(plan.wrist - origin))
    before = plan.wrist - 0.07 * plan.approach + 0.02 * UP
    before[2] = max(before[2], stage.table_height + pm.WRIST_CLEARANCE)
    over = obstacle_top(stage, origin, plan.wrist, {name}) + 0.05 - origin[2]  # fingers hang ~5 cm below
    rise = origin + UP * max(min(0.06, 0.25 * distance), over * 4 / 3)
    fingers = [(0.6, plan.opened), (1.0, plan.closed)]
    track.move(stage.frames(travel_seconds(distance)), [rise, before, plan.wrist], plan.rotation, fingers)
    if attach:
        stage.attach(hand, name)
    prop = stage.props[name]
    stage.add_segment(hand, start, "grasp", phrases or lang.grasp(prop, hand, plan.handle), name)
    return plan


def lift(stage: Stage, hand: str, height: float | None = None, phrases: list[str] | None = None, action: str = "lift") -> None:
    """Raise the held prop straight up (a little toward the body), one "lift" segment."""
    name = held(stage, hand)
    track = stage.tracks[hand]
    height = stage.rng.uniform(0.08, 0.15) if height is None else height
    start = track.frame
    target = track.position + height * UP + np.array([0.0, -0.02, 0.0])
    track.move(stage.frames(0.45 + 1.5 * height), [target], track.rotation)
    stage.add_segment(hand, start, action, phrases or lang.lift(stage.props[name]), name)


def place(stage: Stage, hand: str, where: Destination, phrases: list[str] | None = None) -> None:
    """Carry the held prop over, lower it onto ``where`` and open the hand: one "place" segment.

    The prop keeps its pose in the hand, so the wrist target is the destination pose composed
    with the inverse hand-prop transform; the hand opens during the last 15% as it settles.
    """
    name = held(stage, hand)
    track = stage.tracks[hand]
    start = track.frame
    target = pose_matrix(where.pose) @ np.linalg.inv(stage.holding[hand].relative)
    floor = stage.table_height + pm.KEYPOINT_CLEARANCE
    release = pm.open_shape(stage.props[name].grasp.width)
    release = pm.keep_above(release, target[:3, :3], target[:3, 3], floor, hand, stage.beta(hand))
    _carry(stage, hand, target, [(0.85, track.theta), (1.0, release)])
    stage.detach(hand)
    stage.add_segment(hand, start, "place", phrases or lang.place(stage.props[name], where.place), name)
    if where.container is not None:  # nested props would have to move together: keep both still
        stage.fixed |= {name, where.container}


def retract(stage: Stage, hand: str) -> None:
    """Let go of whatever is held and bring the hand back to rest near the body ("retract").

    The hand first backs off against its palm normal (away from what it touched), opening.
    """
    track = stage.tracks[hand]
    if stage.held(hand) is not None:
        stage.detach(hand)
    released = stage.released[hand]
    position, rotation, relaxed = stage.rest_pose(hand)
    start, origin = track.frame, track.position
    back = origin - 0.06 * track.rotation[:, 1] + 0.04 * UP
    back[2] = max(back[2], origin[2])
    distance = float(np.linalg.norm(position - origin))
    fingers = [(1.0, relaxed)]
    if released:  # half open is enough to let go, and keeps fingers that point down off the table
        loose = 0.5 * (track.theta + pm.open_shape(stage.props[released].grasp.width))
        floor = stage.table_height + pm.KEYPOINT_CLEARANCE
        fingers.insert(0, (0.3, pm.keep_above(loose, track.rotation, origin, floor, hand, stage.beta(hand))))
    track.move(stage.frames(travel_seconds(distance)), [back, position + 0.03 * UP, position], rotation, fingers)
    stage.released[hand] = None
    prop = stage.props[released] if released else None
    stage.add_segment(hand, start, "retract", lang.retract(hand, prop), released)


PUSH_DIRECTIONS = {"forward": np.array([0.0, 1.0, 0.0]), "left": np.array([-1.0, 0.0, 0.0]), "right": np.array([1.0, 0.0, 0.0])}


def push_vector(direction: str, yaw: float = 0.0) -> np.ndarray:
    """Unit push direction (3,) for "forward", "left" or "right", turned by ``yaw`` about z."""
    return Rotation.from_rotvec(yaw * UP).as_matrix() @ PUSH_DIRECTIONS[direction]


def push(stage: Stage, hand: str, name: str, direction: str, distance: float, yaw: float = 0.0) -> None:
    """Reach behind a prop with the fingertips ("reach"), then slide it along the table ("push").

    The hand is palm down with the fingers along the push, pitched 12 degrees down, so the
    index and middle fingertips meet the prop's back face low down; the prop then moves
    rigidly with the hand (it slides: same height, same orientation).
    """
    prop, track = stage.props[name], stage.tracks[hand]
    pose = stage.prop_pose(name)
    d = push_vector(direction, yaw)
    if not slide_is_clear(stage, name, pose[:2] + distance * d[:2]):
        raise Infeasible(f"{name} cannot slide {distance:.2f} m {direction}")
    points = prop.points @ pose_matrix(pose)[:3, :3].T
    height = float(np.ptp(points[:, 2]))
    contact = pose[:3] - (np.max(-points @ d) + 0.008) * d
    contact[2] = stage.table_height + float(np.clip(0.4 * height, 0.012, 0.03))
    shape = pm.push_shape()
    fingers = d - np.tan(np.radians(12.0)) * UP
    palm = -UP - (-UP @ fingers) / (fingers @ fingers) * fingers
    rotation = pm.hand_frame(hand, palm, fingers)
    wrist = contact - rotation @ pm.keypoint_offset(shape, hand, stage.beta(hand), (8, 12))
    floor = stage.table_height + pm.KEYPOINT_CLEARANCE
    shape = pm.keep_above(shape, rotation, wrist, floor, hand, stage.beta(hand), ("ring", "pinky", "thumb"))
    start, origin = track.frame, track.position
    reach = float(np.linalg.norm(wrist - origin))
    controls = [origin + UP * min(0.06, 0.25 * reach), wrist - 0.06 * d + 0.03 * UP, wrist]
    track.move(stage.frames(travel_seconds(reach)), controls, rotation, [(0.5, shape), (1.0, shape)])
    stage.add_segment(hand, start, "reach", lang.reach_behind(prop), name)
    stage.pause(hand, short=True)
    stage.attach(hand, name)
    start = track.frame
    track.move(stage.frames(0.5 + 2.5 * distance), [wrist + distance * d], rotation)
    stage.add_segment(hand, start, "push", lang.push(prop, direction), name)


def slide_is_clear(stage: Stage, name: str, goal: np.ndarray, bounded: bool = True) -> bool:
    """Whether prop ``name`` can slide straight to ``goal`` (xy) without hitting another (and,
    if ``bounded``, staying inside the workspace).

    Props are kept apart by their footprint radii plus 2 cm, except that a prop already closer
    than that may be slid away from (footprints are bounding circles: tools lie close to things).
    """
    radius = footprint_radius(stage.props[name])
    x0, x1, y0, y1 = stage.workspace
    if bounded and not (x0 + radius <= goal[0] <= x1 - radius and y0 + radius <= goal[1] <= y1 - radius):
        return False
    start = stage.prop_pose(name)[:2]
    for other, prop in stage.props.items():
        centre = stage.prop_pose(other)[:2]
        gap = min(radius + footprint_radius(prop) + 0.02, float(np.linalg.norm(centre - start)))  # may leave a close one
        if other != name and _segment_distance(centre, start, goal) < gap - 1e-9:
            return False
    return True


def pour(stage: Stage, hand: str, receiver: str, angle: float | None = None) -> None:
    """Bring the held prop beside ``receiver`` ("move"), tilt it to pour ("pour"), let it flow.

    Pouring turns the hand about the forearm axis (pronation, so the top goes toward the
    body's midline) by 90-120 degrees, about a horizontal axis through the palm, while the arm
    leans 3 cm in and 1.5 cm down; the prop is first put where that brings its mouth 5+ cm
    above the receiver's middle, with its base above the rim so it clears it. The hand then
    stays tilted 1-2.5 s.
    """
    name = held(stage, hand)
    prop, track = stage.props[name], stage.tracks[hand]
    target_prop = stage.props[receiver]
    receiver_pose = stage.prop_pose(receiver)
    angle = np.radians(stage.rng.uniform(90.0, 120.0)) if angle is None else angle
    wrist = track.matrix
    prop_matrix = wrist @ stage.holding[hand].relative
    fingers = pm.fingers_of(hand, wrist[:3, :3]) * np.array([1.0, 1.0, 0.0])
    if np.linalg.norm(fingers) < 0.3:
        raise Infeasible("the forearm is not horizontal enough to pour")
    toward = (1.0 if hand == "right" else -1.0) * np.cross(UP, fingers / np.linalg.norm(fingers))
    axis = np.cross(UP, toward)  # turning about it by +angle tips the top toward ``toward``
    turn = Rotation.from_rotvec(angle * axis).as_matrix()
    palm = wrist[:3, :3] @ pm.palm_offset(track.theta, hand, stage.beta(hand)) + wrist[:3, 3]
    mouth = (prop_matrix @ np.append(top_point(prop), 1.0))[:3]
    lever = turn @ (mouth - palm)
    below_palm = palm[2] - lowest_z(prop, pose_vector(prop_matrix))
    rim = top_z(target_prop, receiver_pose)
    aim = np.append(receiver_pose[:2] - toward[:2] * min(0.02, 0.3 * footprint_radius(target_prop)), 0.0)
    aim[2] = max(rim + 0.05, rim + 0.01 + below_palm + lever[2])
    # Turning about the forearm hardly moves the wrist; the arm also leans in and down a little.
    lean = 0.03 * toward - 0.015 * UP
    pivot = aim - lever - lean
    ready = make_transform(wrist[:3, :3], pivot + wrist[:3, 3] - palm)
    start = track.frame
    _carry(stage, hand, ready)
    stage.add_segment(hand, start, "move", lang.bring_over(prop, target_prop), name)
    stage.pause(hand, short=True)
    start = track.frame
    n = stage.frames(stage.rng.uniform(0.8, 1.2))
    progress = pm.min_jerk(n)
    turns = Rotation.from_rotvec(progress[:, None] * angle * axis).as_matrix()
    positions = pivot + progress[:, None] * lean + np.einsum("nij,j->ni", turns, ready[:3, 3] - pivot)
    track.append(positions, turns @ ready[:3, :3], np.repeat(track.theta[None], n, axis=0))
    stage.add_segment(hand, start, "pour", lang.pour(prop, target_prop), name)
    stage.wait(hand, stage.frames(stage.rng.uniform(1.0, 2.5)))


def wipe(stage: Stage, hand: str, sweep: bool = False, seconds: float | None = None) -> None:
    """Rub the held cloth or sponge (or sweep a brush) over the table ("wipe").

    Circles or side-to-side strokes in a free disc (clear of other props, the tool's centre
    inside the workspace): around the tool, or where it is first slid to when it lies among
    other things. The whole bout runs at a constant speed between smooth starts and stops: one
    movement with no stops inside, so one segment. The hand moves only horizontally, so the
    tool stays on the table.
    """
    name = held(stage, hand)
    prop, track, rng = stage.props[name], stage.tracks[hand], stage.rng
    here = stage.prop_pose(name)[:2]
    centre, room = here, _room(stage, name, here)
    if room < 0.06:
        x0, x1, y0, y1 = stage.workspace
        for candidate in rng.uniform([x0, y0], [x1, y1], (60, 2)):
            space = _room(stage, name, candidate)
            if space > room and slide_is_clear(stage, name, candidate):
                centre, room = candidate, space
    if room < 0.025:
        raise Infeasible(f"no room to wipe with {name}")
    reach = min(0.9 * room, 0.12)
    u = np.linspace(0.0, 1.0, 600)
    if sweep or rng.random() < 0.5:  # strokes: back and forth across, drifting forward
        strokes = rng.integers(3, 7)
        along_axis = Rotation.from_rotvec(rng.uniform(-0.4, 0.4) * UP).as_matrix()[:2, :2] @ np.array([1.0, 0.0])
        across = np.array([-along_axis[1], along_axis[0]])
        xy = 0.8 * reach * np.sin(np.pi * strokes * u)[:, None] * along_axis + 0.6 * reach * (u[:, None] - 0.5) * across
    else:  # circles, their centre drifting
        loops, r = rng.integers(2, 5), reach * rng.uniform(0.35, 0.5)
        phase = rng.uniform(0, 2 * np.pi)
        drift = (reach - r) * rng.uniform(0.3, 1.0) * np.array([np.cos(phase + 1), np.sin(phase + 1)])
        angle = phase + 2 * np.pi * loops * u * (1 if rng.random() < 0.5 else -1)
        xy = r * np.stack([np.cos(angle), np.sin(angle)], axis=1) + (u[:, None] - 0.5) * drift
    xy = np.concatenate([here + np.linspace(0.0, 1.0, 100)[:, None] * (centre + xy[0] - here), centre + xy])
    xy = gaussian_filter1d(xy, 8.0, axis=0, mode="nearest")  # round the corner where the slide meets the pattern
    path = track.position + np.concatenate([xy - xy[0], np.zeros((len(xy), 1))], axis=1)
    length = float(np.sum(np.linalg.norm(np.diff(path, axis=0), axis=1)))
    n = stage.frames(seconds if seconds is not None else length / rng.uniform(0.12, 0.25))
    positions = pm.along(path, pm.cruise(n))
    start = track.frame
    track.append(positions, np.repeat(track.rotation[None], n, axis=0), np.repeat(track.theta[None], n, axis=0))
    stage.add_segment(hand, start, "wipe", lang.wipe(prop, sweep), name)


def _room(stage: Stage, name: str, xy: np.ndarray) -> float:
    """Radius of the free disc the centre of prop ``name`` may wander in around ``xy``.

    A cloth or sponge is soft and rectangular: its bounding circle is shrunk by 30%.
    """
    prop = stage.props[name]
    radius = footprint_radius(prop) * (0.7 if prop.category in SOFT else 1.0)
    x0, x1, y0, y1 = stage.workspace
    room = min(xy[0] - x0, x1 - xy[0], xy[1] - y0, y1 - xy[1])
    for other, other_prop in stage.props.items():
        if other != name:
            room = min(room, float(np.linalg.norm(stage.prop_pose(other)[:2] - xy)) - radius - footprint_radius(other_prop) - 0.01)
    return room


def pull_open(stage: Stage, hand: str, distance: float | None = None) -> None:
    """Slide the held drawer (or any handled prop) straight toward the body ("open").

    It comes out against the palm normal, as far as the way is free (at least 5 cm); it may
    stick out of the workspace (it is furniture) but must not push anything else.
    """
    name = held(stage, hand)
    track = stage.tracks[hand]
    distance = stage.rng.uniform(0.08, 0.16) if distance is None else distance
    away = track.rotation[:, 1] * np.array([1.0, 1.0, 0.0])
    if np.linalg.norm(away) < 0.3:
        raise Infeasible("the palm does not face the handle horizontally")
    toward_body = -away / np.linalg.norm(away)
    here = stage.prop_pose(name)[:2]
    while not slide_is_clear(stage, name, here + distance * toward_body[:2], bounded=False):
        distance *= 0.75  # pulled out as far as the way is free
        if distance < 0.05:
            raise Infeasible(f"something is in the way of {name}")
    start = track.frame
    track.move(stage.frames(0.5 + 2.5 * distance), [track.position + distance * toward_body], track.rotation)
    stage.add_segment(hand, start, "open", lang.open_(stage.props[name]), name)


def hand_over(stage: Stage, giver: str) -> None:
    """Pass the held prop to the other hand in front of the body.

    The giver carries it to the middle, turned so its palm faces the receiver ("handover");
    the receiver starts reaching halfway through and takes it from the opposite side, palm
    facing the giver's ("grasp"); at that frame the prop changes hands. The giver keeps still
    until then, so the prop never jumps.
    """
    receiver = lang.other_hand(giver)
    name = held(stage, giver)
    prop, giver_track, receiver_track = stage.props[name], stage.tracks[giver], stage.tracks[receiver]
    if stage.held(receiver) is not None:
        raise Infeasible(f"the {receiver} hand is busy")
    wrist = giver_track.matrix
    relative = stage.holding[giver].relative
    prop_matrix = wrist @ relative
    palm = wrist[:3, 1] * np.array([1.0, 1.0, 0.0])
    if np.linalg.norm(palm) < 0.3:
        raise Infeasible("the giver holds the prop from above: no side left for the other hand")
    inward = np.array([-1.0 if giver == "right" else 1.0, 0.0, 0.0])
    yaw = np.arctan2(inward[1], inward[0]) - np.arctan2(palm[1], palm[0])
    spin = Rotation.from_rotvec(yaw * UP).as_matrix()
    middle = np.array(
        [stage.center[0] - 0.03 * inward[0], stage.center[1] - 0.08, stage.table_height + stage.rng.uniform(0.18, 0.25)]
    )
    target = make_transform(spin @ prop_matrix[:3, :3], middle) @ np.linalg.inv(relative)
    start = giver_track.frame
    _carry(stage, giver, target)
    stage.add_segment(giver, start, "handover", lang.hand_over(prop, giver), name)

    palm_point = target[:3, :3] @ pm.palm_offset(giver_track.theta, giver, stage.beta(giver)) + target[:3, 3]
    offset = palm_point - middle
    point = middle + np.array([-offset[0], -offset[1], offset[2]])
    approach = -target[:3, 1] * np.array([1.0, 1.0, 0.0])
    plan = plan_grasp(stage, receiver, name, point, approach)
    duration = stage.frames(travel_seconds(float(np.linalg.norm(plan.wrist - receiver_track.position))))
    stage.wait(receiver, giver_track.frame - duration // 2 - receiver_track.frame)
    grasp(stage, receiver, name, lang.take_over(prop, giver), plan, attach=False)
    stage.sync((giver, receiver))
    stage.attach(receiver, name)


def idle(stage: Stage, seconds: float) -> None:
    """Both hands rest (drifting slightly); no segment: idle stretches are not actions."""
    frame = stage.sync()
    for hand in HANDS:
        stage.wait(hand, frame + int(round(seconds * stage.fps)) - stage.tracks[hand].frame)

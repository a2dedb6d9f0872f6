"""Scripts: which activities a clip holds, for which hands, given the props on the table.

An activity is a short chain of programs that leaves the scene tidy (hands back at rest, nothing
held), e.g. pick-and-place = grasp, place, retract. ``make_choreography`` appends feasible
activities until the clip is full; each is tried on a copy of the stage, so one that turns out
infeasible (or too long for the clip) leaves no trace. Roles come from categories: the object
library's names are matched against the sets below.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np

from envs.humansim.spec import HANDS, Choreography, Prop

from . import language as lang
from . import primitives as pm
from . import programs as pg
from .geometry import footprint_radius, pose_matrix
from .timeline import SHOULDER_OFFSET, HandTrack, Stage

POURERS = frozenset({"bottle", "jug", "pitcher", "kettle", "teapot", "carton", "can", "cup", "mug", "glass"})
RECEIVERS = frozenset({"cup", "mug", "glass", "bowl", "pot", "pan", "jar", "vase"})
CONTAINERS = frozenset({"bowl", "basket", "bin", "pot", "pan", "bucket", "crate"})  # things go *in*
SURFACES = frozenset({"plate", "tray", "board", "mat", "saucer"})  # things go *on*
WIPERS = frozenset({"sponge", "cloth", "towel", "rag", "napkin"})
SWEEPERS = frozenset({"brush", "broom", "duster"})
DRAWERS = frozenset({"drawer"})  # opened by pulling the handle
LIDS = frozenset({"lid"})  # opened by lifting off
MAX_CARRY_RADIUS = 0.15  # wider props stay where they are (too big for one hand)

Activity = Callable[[Stage], None]


# --- choosing props ------------------------------------------------------------------------------


def _carriable(stage: Stage, names: Sequence[str] | None = None) -> list[str]:
    names = stage.movable() if names is None else names
    return [n for n in names if stage.props[n].category not in DRAWERS and footprint_radius(stage.props[n]) <= MAX_CARRY_RADIUS]


def choose(stage: Stage, hand: str, names: Sequence[str]) -> str:
    """One of ``names``, preferring props near ``hand``'s shoulder (people use the closer hand)
    and props not handled yet in this clip (people move on to other things)."""
    if not names:
        raise pg.Infeasible("no suitable prop")
    shoulder = stage.center + SHOULDER_OFFSET[hand]
    distance = np.array([np.linalg.norm(stage.prop_pose(n)[:2] - shoulder) for n in names])
    handled = np.array([sum(s.target == n and s.action in ("grasp", "reach") for s in stage.segments) for n in names])
    weights = np.exp(-(distance - distance.min()) / 0.15) * 0.3**handled
    return names[int(stage.rng.choice(len(names), p=weights / weights.sum()))]


def _say(stage: Stage, verb: str, prop: Prop | None, rest: str = "", hand: str | None = None) -> str:
    """An Ego4D-style line; sometimes with the hand or the colour, as narrators vary."""
    return lang.narration(verb, prop, rest, hand if stage.rng.random() < 0.3 else None, stage.rng.random() < 0.2)


def _destination(stage: Stage, name: str, hand: str) -> pg.Destination:
    """Into a container or onto a plate when one fits (half the time), else next to a prop or free."""
    others = [n for n in stage.props if n != name and n not in (stage.held("left"), stage.held("right"))]
    holders = [n for n in others if stage.props[n].category in CONTAINERS | SURFACES and n not in stage.fixed]
    if holders and stage.rng.random() < 0.6:
        container = holders[int(stage.rng.integers(len(holders)))]
        relation = "in" if stage.props[container].category in CONTAINERS else "on"
        try:
            return pg.into(stage, name, container, relation)
        except pg.Infeasible:
            pass
    if others and stage.rng.random() < 0.3:
        return pg.table_spot(stage, name, hand, near=others[int(stage.rng.integers(len(others)))])
    return pg.table_spot(stage, name, hand)


# --- activities ------------------------------------------------------------------------------------


def pick_and_place(stage: Stage, hand: str, name: str | None = None, avoid: list[np.ndarray] | None = None) -> None:
    """Grasp a prop, (lift it,) put it somewhere else, let go and come back.

    With ``avoid`` (another hand busy at the same time) it goes to a free spot clear of those points.
    """
    name = name or choose(stage, hand, _carriable(stage))
    prop = stage.props[name]
    pg.grasp(stage, hand, name)
    stage.narrate(stage.tracks[hand].frame, _say(stage, "picks up", prop, hand=hand))
    stage.pause(hand, short=True)
    if stage.style == "wild" and stage.rng.random() < 0.35:
        pg.lift(stage, hand)
        stage.pause(hand, short=True)
    where = pg.table_spot(stage, name, hand, avoid=avoid) if avoid is not None else _destination(stage, name, hand)
    pg.place(stage, hand, where)
    stage.narrate(stage.tracks[hand].frame, _say(stage, "puts", prop, _where_words(where)))
    stage.pause(hand, short=True)
    pg.retract(stage, hand)


def _where_words(where: pg.Destination) -> str:
    if where.place.reference is not None:
        return f" {where.place.relation} the {lang.category(where.place.reference)}"
    return " on the table"


def both_pick_and_place(stage: Stage) -> None:
    """Each hand moves a prop on its own side at the same time, one starting a little later.

    Both go to free spots on the table (mostly on their own side), the second clear of where
    the first prop was.
    """
    first, second = HANDS if stage.rng.random() < 0.5 else HANDS[::-1]
    start = stage.sync()
    first_side = [n for n in _carriable(stage) if (stage.prop_pose(n)[0] < stage.center[0]) == (first == "left")]
    name = choose(stage, first, first_side)
    origin = stage.prop_pose(name)[:2].copy()
    pick_and_place(stage, first, name, avoid=[])
    stage.wait(second, start + int(stage.rng.integers(3, 25)) - stage.tracks[second].frame)
    second_side = [n for n in _carriable(stage) if n != name and (stage.prop_pose(n)[0] < stage.center[0]) == (second == "left")]
    pick_and_place(stage, second, choose(stage, second, second_side), avoid=[origin])


def push_activity(stage: Stage, hand: str) -> None:
    """Slide a prop forward or toward the middle with the fingertips, then come back.

    Props are tried nearest the hand first; the push goes as far (6-15 cm) as the way is free.
    """
    inward = "left" if hand == "right" else "right"
    names = [n for n in _carriable(stage) if stage.props[n].height < 0.25]
    while names:
        name = choose(stage, hand, names)
        names.remove(name)
        yaw = 0.0 if stage.style == "lab" else stage.rng.uniform(-0.2, 0.2)
        for direction in ("forward", inward) if stage.rng.random() < 0.6 else (inward, "forward"):
            vector = pg.push_vector(direction, yaw)
            for distance in (0.15, 0.12, 0.09, 0.06):
                if pg.slide_is_clear(stage, name, stage.prop_pose(name)[:2] + distance * vector[:2]):
                    pg.push(stage, hand, name, direction, distance, yaw)
                    stage.narrate(stage.tracks[hand].frame, _say(stage, "pushes", stage.props[name], hand=hand))
                    stage.pause(hand, short=True)
                    pg.retract(stage, hand)
                    return
    raise pg.Infeasible("nothing can be pushed")


def pour_activity(stage: Stage, hand: str, steady: bool = False) -> None:
    """Pick up a pourer, pour into a receiver, put it back; with ``steady`` the other hand holds the receiver."""
    receivers = [n for n in stage.movable() if stage.props[n].category in RECEIVERS]
    pourers = [n for n in _carriable(stage) if stage.props[n].category in POURERS and set(receivers) - {n}]
    pourer = choose(stage, hand, pourers)
    receivers = [n for n in receivers if n != pourer]
    receiver = receivers[int(stage.rng.integers(len(receivers)))]
    home = stage.prop_pose(pourer).copy()
    holder = lang.other_hand(hand)
    start = stage.sync()
    if steady:
        pg.grasp(stage, holder, receiver, lang.hold_steady(stage.props[receiver], holder))
        stage.wait(hand, start + int(stage.rng.integers(0, 15)) - stage.tracks[hand].frame)
    pg.grasp(stage, hand, pourer)
    stage.narrate(stage.tracks[hand].frame, _say(stage, "picks up", stage.props[pourer], hand=hand))
    stage.pause(hand, short=True)
    pg.lift(stage, hand)
    stage.pause(hand, short=True)
    if steady:
        stage.sync((hand, holder))
    pg.pour(stage, hand, receiver)
    stage.narrate(stage.tracks[hand].frame, _say(stage, "pours from", stage.props[pourer], f" into the {lang.category(stage.props[receiver])}"))
    back = pg.Destination(home, lang.Place(pg.region(stage, home[:2])))
    pg.place(stage, hand, back, lang.put_back(stage.props[pourer]))
    stage.pause(hand, short=True)
    if steady:
        stage.sync((hand, holder))
        pg.retract(stage, holder)
    pg.retract(stage, hand)


def wipe_activity(stage: Stage, hands: Sequence[str]) -> None:
    """Take a cloth, sponge or brush and wipe (sweep) the table with it; with two hands, one tool each."""
    tools = [n for n in _carriable(stage) if stage.props[n].category in WIPERS | SWEEPERS]
    if len(tools) < len(hands):
        raise pg.Infeasible("not enough wiping tools")
    start = stage.sync()
    for number, hand in enumerate(hands):
        name = choose(stage, hand, tools)
        tools.remove(name)
        stage.wait(hand, start + number * int(stage.rng.integers(0, 20)) - stage.tracks[hand].frame)
        pg.grasp(stage, hand, name)
        stage.pause(hand, short=True)
        sweep = stage.props[name].category in SWEEPERS
        begin = stage.tracks[hand].frame
        pg.wipe(stage, hand, sweep)
        verb = "sweeps the table with" if sweep else "wipes the table with"
        stage.narrate((begin + stage.tracks[hand].frame) // 2, _say(stage, verb, stage.props[name], hand=hand))
        stage.pause(hand, short=True)
        pg.retract(stage, hand)


def open_activity(stage: Stage, hand: str) -> None:
    """Pull a drawer open by its handle, or lift a lid off and set it aside."""
    names = [n for n in stage.movable() if stage.props[n].category in DRAWERS | LIDS]
    name = choose(stage, hand, names)
    prop = stage.props[name]
    pg.grasp(stage, hand, name)
    stage.pause(hand, short=True)
    if prop.category in DRAWERS:
        pg.pull_open(stage, hand)
    else:
        pg.lift(stage, hand, phrases=lang.take_off(prop), action="open")
        stage.pause(hand, short=True)
        pg.place(stage, hand, pg.table_spot(stage, name, hand))
    stage.narrate(stage.tracks[hand].frame, _say(stage, "opens" if prop.category in DRAWERS else "takes off", prop, hand=hand))
    stage.pause(hand, short=True)
    pg.retract(stage, hand)


def handover_activity(stage: Stage, giver: str) -> None:
    """Pick a prop up with one hand, pass it to the other, which puts it down on its side."""
    names = [
        n
        for n in _carriable(stage)
        if abs((pose_matrix(stage.prop_pose(n))[:3, :3] @ stage.props[n].grasp.approach)[2]) < 0.7
        and footprint_radius(stage.props[n]) < 0.08
    ]
    name = choose(stage, giver, names)
    receiver = lang.other_hand(giver)
    stage.sync()
    pg.grasp(stage, giver, name)
    stage.pause(giver, short=True)
    pg.lift(stage, giver)
    stage.pause(giver, short=True)
    pg.hand_over(stage, giver)
    stage.narrate(stage.tracks[giver].frame, _say(stage, "passes", stage.props[name], f" to the {receiver} hand"))
    stage.pause(giver, short=True)
    pg.retract(stage, giver)
    stage.pause(receiver, short=True)
    pg.place(stage, receiver, pg.table_spot(stage, name, receiver))
    stage.narrate(stage.tracks[receiver].frame, _say(stage, "puts down", stage.props[name], hand=receiver))
    stage.pause(receiver, short=True)
    pg.retract(stage, receiver)


def idle_activity(stage: Stage) -> None:
    """Both hands rest a moment, as people pause between tasks."""
    pg.idle(stage, stage.rng.uniform(0.8, 2.0))


def activities(hands: Sequence[str]) -> list[tuple[float, Activity]]:
    """The weighted menu of the wild style for the hands allowed to act."""
    menu: list[tuple[float, Activity]] = []
    for hand in hands:
        menu += [
            (3.0 / len(hands), lambda s, h=hand: pick_and_place(s, h)),
            (1.5 / len(hands), lambda s, h=hand: push_activity(s, h)),
            (2.0 / len(hands), lambda s, h=hand: pour_activity(s, h, steady=len(hands) == 2 and s.rng.random() < 0.5)),
            (1.0 / len(hands), lambda s, h=hand: wipe_activity(s, [h])),
            (1.0 / len(hands), lambda s, h=hand: open_activity(s, h)),
        ]
    if len(hands) == 2:
        menu += [
            (1.0, lambda s: both_pick_and_place(s)),
            (0.5, lambda s: wipe_activity(s, list(HANDS))),
            (0.5, lambda s: handover_activity(s, "right")),
            (0.5, lambda s: handover_activity(s, "left")),
        ]
    menu.append((0.4, idle_activity))
    return menu


# --- entry points --------------------------------------------------------------------------------


def make_choreography(
    rng: np.random.Generator,
    props: Sequence[Prop],
    table_height: float,
    num_frames: int | None = None,
    fps: float = 30.0,
    style: str = "wild",
    hands: Sequence[str] | None = None,
    *,
    table_center: Sequence[float] = (0.0, 0.0),
    betas: dict[str, np.ndarray] | None = None,
    workspace: Sequence[float] | None = None,
) -> Choreography:
    """Motion of both hands and every prop for one clip, with segments and narrations.

    Args:
        rng: the only source of randomness (same state, same clip).
        props: the props on the table, at their initial poses.
        table_height: z of the table top.
        num_frames: clip length; ``None``: as long as the script (2 activities in the lab style,
            2-4 in the wild one) plus half a second.
        fps: frame rate.
        style: "lab": one hand (``hands[0]`` or mostly the right), pick-and-place only, one tempo,
            fixed pauses. "wild": any feasible activity for either or both hands, varied tempo
            and pauses, wording drawn among paraphrases.
        hands: the hands that may act (the others rest); default both.
        table_center: xy of the table's centre; the person stands on its -y side.
        betas: hand shapes per side, so that palm points land exactly on grasp points.
        workspace: (xmin, xmax, ymin, ymax) where props may be put; default: the middle of the
            table (0.64 x 0.44 m around ``table_center``) and wherever props start.
    """
    allowed = tuple(hands) if hands else HANDS
    if any(h not in HANDS for h in allowed):
        raise ValueError(f"hands must be among {HANDS}, got {allowed}")
    stage = Stage(rng, props, table_height, fps, style, table_center, betas, workspace)
    if style == "lab":
        main = allowed[0] if len(allowed) == 1 else ("right" if rng.random() < 0.75 else "left")
        wanted = 2 if num_frames is None else None
        menu: list[tuple[float, Activity]] = [(1.0, lambda s: pick_and_place(s, main))]
    else:
        wanted = int(rng.integers(2, 5)) if num_frames is None else None
        menu = activities(allowed)
    done, failures, overflow = 0, 0, None
    while (wanted is None or done < wanted) and failures < 10:
        weights = np.array([w for w, _ in menu])
        activity = menu[int(stage.rng.choice(len(menu), p=weights / weights.sum()))][1]
        trial = copy.deepcopy(stage, {id(p): p for p in props})
        pg.idle(trial, trial.pause_seconds())  # activities follow each other; simultaneity lives inside bimanual ones
        try:
            activity(trial)
        except pg.Infeasible:
            failures += 1
            continue
        if num_frames is not None and trial.length + int(0.2 * fps) > num_frames:
            overflow = overflow or trial
            failures += 1
            continue
        stage, done = trial, done + 1
    if done == 0 and overflow is not None:  # nothing fits whole: keep the first attempt, cut
        stage = overflow
    return stage.finish(num_frames)


def reach_from_distance(
    rng: np.random.Generator,
    prop: Prop,
    table_height: float,
    *,
    distance: float = 0.20,
    hand: str = "right",
    others: Sequence[Prop] = (),
    lift: bool = True,
    fps: float = 30.0,
    table_center: Sequence[float] = (0.0, 0.0),
    beta: np.ndarray | None = None,
    num_frames: int | None = None,
) -> Choreography:
    """A controlled clip: the hand starts still with its palm point ``distance`` from the grasp point,
    then grasps ``prop`` (one "grasp" segment) and optionally lifts it ("lift").

    This is the setting of VITRA's grasp evaluation (the hand about 20 cm from the target). The
    start lies back along the approach, toward the body and up (and at least 5 cm above the
    table, which can shorten ``distance`` for low grasps); the other hand rests.
    """
    stage = Stage(rng, [prop, *others], table_height, fps, "lab", table_center, {hand: beta} if beta is not None else None)
    plan = pg.plan_grasp(stage, hand, prop.name)
    away = -plan.approach + np.array([0.0, -0.5, 0.3])
    away /= np.linalg.norm(away)
    palm_start = plan.point + distance * away
    palm_start[2] = max(palm_start[2], table_height + 0.05)  # never under the table
    rest_rotation = stage.tracks[hand].rotation
    rotation = pm.slerp(rest_rotation, plan.rotation, np.array([0.5]))[0]
    theta = stage.tracks[hand].theta
    wrist = palm_start - rotation @ pm.palm_offset(theta, hand, beta)
    stage.tracks[hand] = HandTrack(hand, wrist, rotation, theta, table_height + pm.KEYPOINT_CLEARANCE, beta)
    pg.idle(stage, 0.4)
    pg.grasp(stage, hand, prop.name)
    if lift:
        stage.pause(hand, short=True)
        pg.lift(stage, hand)
    return stage.finish(num_frames)

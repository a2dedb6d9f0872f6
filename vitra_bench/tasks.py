"""The TaskSpec registry: one definition of each evaluation task, shared by ``envs/`` and ``real/``.

The paper evaluates four real-robot tasks (VITRA_FACTS.md, "Real robot") on a seen split and up
to two generalisation splits. Keeping the objects, backgrounds, instructions, success predicate,
horizon and trial counts in one place is what makes a simulated score and a real-robot score
comparable: both sides draw trials from the same :class:`TaskSpec` with :meth:`TaskSpec.sample`.

The success predicate is a *name* rather than a callable, because judging success needs the
state of either a MuJoCo scene or a real robot; each side maps the name to its own check.

Object lists, backgrounds and horizons are the project's choices (the paper does not list its
objects); the trial counts are the paper's.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

SPLITS: tuple[str, ...] = ("seen", "unseen_object_background", "unseen_category")
"""The paper's evaluation splits; a fixed vocabulary so result tables line up across tasks."""

CONTROL_HZ = 30.0
"""Policy steps per second: the head camera's 30 fps, which is also the annotation frame rate the
policy was trained at, and the rate XHAND1 users drive the hand at (ROBOT_FACTS.md)."""


@dataclass(frozen=True)
class SplitSpec:
    """What the trials of one split draw from.

    Attributes:
        objects: template field (e.g. ``"object"``, ``"container"``) -> the names it may take.
        backgrounds: table textures, by name, that the scene may use.
        trials: number of evaluation trials; the paper's count for its tasks.
        distractors: clutter the scene may add; chosen objects are never their own distractor.
    """

    objects: Mapping[str, tuple[str, ...]]
    backgrounds: tuple[str, ...]
    trials: int
    distractors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Copies, so a caller mutating its dict or list later cannot change a registered task.
        object.__setattr__(self, "objects", {k: _names(v, k) for k, v in self.objects.items()})
        object.__setattr__(self, "backgrounds", _names(self.backgrounds, "backgrounds"))
        object.__setattr__(self, "distractors", _names(self.distractors, "distractors"))


@dataclass(frozen=True)
class TaskInstance:
    """One sampled trial: what to put in the scene and what to tell the policy."""

    task: str
    split: str
    objects: dict[str, str]
    distractors: tuple[str, ...]
    background: str
    instruction: str


@dataclass(frozen=True)
class TaskSpec:
    """A manipulation task, defined once for simulation and the real robot.

    Attributes:
        name: registry key and gymnasium id stem (``VitraBench/<name>-v0``), so an identifier.
        description: one sentence for humans (reports, ``--help``).
        templates: instructions with named fields, e.g. ``"Put the {object} in the {container}."``;
            every field must be an object slot of the splits.
        split_specs: split name (one of :data:`SPLITS`, ``"seen"`` required) -> :class:`SplitSpec`.
        success: name of the success predicate that ``envs/`` and ``real/`` resolve.
        horizon: control steps before a trial counts as failed.
        control_hz: control steps per second.
        num_distractors: inclusive (low, high) number of distractors per trial.
        categories: object -> category; needed for objects of an ``unseen_category`` split and the
            seen objects they replace, so that "unseen category" is checked, not just asserted.
    """

    name: str
    description: str
    templates: tuple[str, ...]
    split_specs: Mapping[str, SplitSpec]
    success: str
    horizon: int
    control_hz: float = CONTROL_HZ
    num_distractors: tuple[int, int] = (0, 0)
    categories: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "templates", _names(self.templates, "templates"))
        object.__setattr__(self, "split_specs", dict(self.split_specs))
        object.__setattr__(self, "categories", dict(self.categories))
        object.__setattr__(self, "num_distractors", tuple(self.num_distractors))
        # A wrong task definition should fail where it is written, not halfway through an
        # evaluation on the robot; hence every check below runs at construction.
        if not self.name.isidentifier():
            raise ValueError(f"task name {self.name!r} must be a Python identifier (it becomes a gym id)")
        if not self.success.isidentifier():
            raise ValueError(f"{self.name}: success predicate name {self.success!r} must be an identifier")
        if self.horizon <= 0 or self.control_hz <= 0:
            raise ValueError(f"{self.name}: horizon and control_hz must be positive")
        self._check_splits()
        self._check_templates()
        self._check_distractors()
        self._check_generalisation()

    def _check_splits(self) -> None:
        unknown = set(self.split_specs) - set(SPLITS)
        if unknown or "seen" not in self.split_specs:
            raise ValueError(
                f"{self.name}: splits must include 'seen' and come from {SPLITS}, got {list(self.split_specs)}"
            )
        slots = set(self.split_specs["seen"].objects)
        for split, spec in self.split_specs.items():
            # Same slots everywhere, so any template renders under any split.
            if set(spec.objects) != slots:
                raise ValueError(f"{self.name}/{split}: slots {sorted(spec.objects)} differ from seen's {sorted(slots)}")
            if not all(spec.objects.values()) or not spec.backgrounds:
                raise ValueError(f"{self.name}/{split}: each object slot and the backgrounds need at least one name")
            if spec.trials <= 0:
                raise ValueError(f"{self.name}/{split}: trials must be positive, got {spec.trials}")

    def _check_templates(self) -> None:
        if not self.templates:
            raise ValueError(f"{self.name}: needs at least one instruction template")
        for template in self.templates:
            unknown = _fields(template) - set(self.slots)
            if unknown:
                raise ValueError(f"{self.name}: template {template!r} uses {sorted(unknown)}; known: {self.slots}")

    def _check_distractors(self) -> None:
        low, high = self.num_distractors
        if not 0 <= low <= high:
            raise ValueError(f"{self.name}: num_distractors needs 0 <= low <= high, got {self.num_distractors}")
        for split, spec in self.split_specs.items():
            # Conservative: assumes every chosen object could be in the distractor pool.
            if high and len(set(spec.distractors)) < high + len(self.slots):
                raise ValueError(f"{self.name}/{split}: too few distractors for up to {high} per trial")

    def _check_generalisation(self) -> None:
        """An unseen split must not leak seen items: each pool is either kept (a fixture such as the
        box) or replaced entirely, and something must be replaced."""
        seen = self.split_specs["seen"]
        for split, spec in self.split_specs.items():
            if split == "seen":
                continue
            pools = [(slot, seen.objects[slot], spec.objects[slot]) for slot in self.slots]
            pools.append(("backgrounds", seen.backgrounds, spec.backgrounds))
            replaced = []
            for what, old, new in pools:
                if set(old) & set(new) and set(old) != set(new):
                    overlap = sorted(set(old) & set(new))
                    raise ValueError(f"{self.name}/{split}: {what} partly overlap seen: {overlap}")
                if set(old) != set(new):
                    replaced.append(what)
            if not replaced:
                raise ValueError(f"{self.name}/{split}: reuses every seen object and background")
            if split == "unseen_category":
                self._check_categories([s for s in replaced if s != "backgrounds"], seen, spec)

    def _check_categories(self, slots: list[str], seen: SplitSpec, unseen: SplitSpec) -> None:
        names = {n for s in slots for n in seen.objects[s] + unseen.objects[s]}
        missing = sorted(names - set(self.categories))
        if missing:
            raise ValueError(f"{self.name}: no category for {missing}")
        old = {self.categories[n] for s in slots for n in seen.objects[s]}
        new = {self.categories[n] for s in slots for n in unseen.objects[s]}
        if old & new:
            raise ValueError(f"{self.name}/unseen_category: categories also seen: {sorted(old & new)}")

    @property
    def splits(self) -> tuple[str, ...]:
        """The task's splits, in the paper's order."""
        return tuple(s for s in SPLITS if s in self.split_specs)

    @property
    def slots(self) -> tuple[str, ...]:
        """The object slots, i.e. the fields templates may use."""
        return tuple(self.split_specs["seen"].objects)

    def split_spec(self, split: str) -> SplitSpec:
        """The pools and trial count of ``split``; ValueError naming the task's splits if it has none."""
        if split not in self.split_specs:
            raise ValueError(f"task {self.name} has no split {split!r}; it has {self.splits}")
        return self.split_specs[split]

    def trials(self, split: str) -> int:
        """Number of evaluation trials on ``split`` (the paper's count for its tasks)."""
        return self.split_spec(split).trials

    def instruction(
        self,
        rng: np.random.Generator | None = None,
        *,
        split: str = "seen",
        template: int | None = None,
        **fields: str,
    ) -> str:
        """Render an instruction; fields not given are drawn from ``split``'s pools with ``rng``.

        Given fields may name objects outside the pools (a real-robot user's own object); the
        template is drawn with ``rng`` unless ``template`` (an index) is given, else the first.
        """
        unknown = set(fields) - set(self.slots)
        if unknown:
            raise ValueError(f"{self.name}: unknown instruction fields {sorted(unknown)}; known: {self.slots}")
        if template is None:
            template = 0 if rng is None else int(rng.integers(len(self.templates)))
        text = self.templates[template]
        missing = sorted(_fields(text) - set(fields))
        if missing and rng is None:
            raise ValueError(f"{self.name}: pass {missing} or an rng to draw them")
        pools = self.split_spec(split).objects
        values = {**{f: _choice(rng, pools[f]) for f in missing}, **fields}
        return text.format(**values)

    def sample(self, split: str, rng: np.random.Generator) -> TaskInstance:
        """Draw one trial of ``split``: objects, distractors, background and the instruction."""
        spec = self.split_spec(split)
        objects = {slot: _choice(rng, pool) for slot, pool in spec.objects.items()}
        pool = [d for d in dict.fromkeys(spec.distractors) if d not in objects.values()]
        low, high = self.num_distractors
        count = int(rng.integers(low, high + 1))
        picked = rng.permutation(len(pool))[:count]
        return TaskInstance(
            task=self.name,
            split=split,
            objects=objects,
            distractors=tuple(pool[i] for i in picked),
            background=_choice(rng, spec.backgrounds),
            instruction=self.instruction(rng, split=split, **objects),
        )


def _names(values: Iterable[str], what: str) -> tuple[str, ...]:
    """A tuple of names; refuses a bare string, which ``("box")`` (no comma) silently is."""
    if isinstance(values, str):
        raise TypeError(f"{what}: expected a sequence of strings, got the string {values!r}")
    return tuple(values)


def _fields(template: str) -> set[str]:
    """Names of the replacement fields in ``template`` ("" for a positional ``{}``)."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as err:
        raise ValueError(f"malformed instruction template {template!r}: {err}") from err


def _choice(rng: np.random.Generator, pool: tuple[str, ...]) -> str:
    # Index rather than rng.choice(pool): keeps a plain str, not numpy.str_.
    return pool[int(rng.integers(len(pool)))]


_REGISTRY: dict[str, TaskSpec] = {}


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add a task (e.g. a user's own) so envs and the real-robot runner can find it by name.

    Names are unique ignoring case, because ``get_task`` is case-insensitive.
    """
    key = spec.name.lower()
    if key in _REGISTRY:
        raise ValueError(f"a task named {_REGISTRY[key].name!r} is already registered")
    _REGISTRY[key] = spec
    return spec


def get_task(name: str) -> TaskSpec:
    """The registered task called ``name`` (any case)."""
    try:
        return _REGISTRY[name.lower()]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(task_names())}") from None


def task_names() -> tuple[str, ...]:
    """Registered task names, in registration order (the paper's four first)."""
    return tuple(spec.name for spec in _REGISTRY.values())


# --- The paper's four real-robot tasks --------------------------------------------------------
# Horizons are the project's: generous multiples of a teleoperated demonstration's length.

_PICKPLACE_CATEGORIES = {
    # seen
    "red apple": "fruit", "banana": "fruit", "orange": "fruit",
    "carrot": "vegetable", "corn cob": "vegetable",
    "toy car": "toy vehicle", "rubber duck": "toy animal",
    "tennis ball": "ball", "paper cup": "cup", "blue sponge": "sponge",
    # unseen_object_background: new instances of seen categories
    "green apple": "fruit", "lemon": "fruit", "eggplant": "vegetable",
    "toy truck": "toy vehicle", "toy dinosaur": "toy animal", "ping-pong ball": "ball",
    "plastic cup": "cup", "yellow sponge": "sponge",
    # unseen_category: categories never seen
    "screwdriver": "tool", "stapler": "stationery", "tape roll": "stationery",
    "toothbrush": "toiletry", "remote control": "electronics", "glasses case": "accessory",
}
_PP_SEEN = ("red apple", "banana", "orange", "carrot", "corn cob",
            "toy car", "rubber duck", "tennis ball", "paper cup", "blue sponge")
_PP_UNSEEN_OBJECT = ("green apple", "lemon", "eggplant", "toy truck",
                     "toy dinosaur", "ping-pong ball", "plastic cup", "yellow sponge")
_PP_UNSEEN_CATEGORY = ("screwdriver", "stapler", "tape roll",
                       "toothbrush", "remote control", "glasses case")
_SEEN_BACKGROUNDS = ("wood_table", "white_tablecloth", "gray_mat")
_UNSEEN_BACKGROUNDS = ("checkered_tablecloth", "blue_mat", "marble_table")

PICK_PLACE = register_task(TaskSpec(
    name="PickPlace",
    description="Pick one object from a cluttered table and put it into a box.",
    templates=(
        "Pick up the {object} and put it in the {container}.",
        "Put the {object} into the {container}.",
        "Place the {object} in the {container}.",
    ),
    split_specs={
        "seen": SplitSpec({"object": _PP_SEEN, "container": ("box",)}, _SEEN_BACKGROUNDS, 40, _PP_SEEN),
        "unseen_object_background": SplitSpec(
            {"object": _PP_UNSEEN_OBJECT, "container": ("box",)}, _UNSEEN_BACKGROUNDS, 16, _PP_UNSEEN_OBJECT),
        # Seen backgrounds, so this split isolates the effect of the category.
        "unseen_category": SplitSpec(
            {"object": _PP_UNSEEN_CATEGORY, "container": ("box",)}, _SEEN_BACKGROUNDS, 24, _PP_UNSEEN_CATEGORY),
    },
    success="object_in_container",
    horizon=600,
    num_distractors=(3, 4),
    categories=_PICKPLACE_CATEGORIES,
))

FUNCTIONAL_GRASP = register_task(TaskSpec(
    name="FunctionalGrasp",
    description="Grasp a tool by its handle, the way a person would use it.",
    templates=(
        "Grasp the {object} by its handle.",
        "Pick up the {object} by the handle.",
    ),
    split_specs={
        "seen": SplitSpec(
            {"object": ("mug", "frying pan", "kitchen knife", "hammer", "scrub brush", "spatula", "ladle")},
            _SEEN_BACKGROUNDS, 24),
        "unseen_object_background": SplitSpec(
            {"object": ("teapot", "saucepan", "wrench", "paintbrush", "whisk")}, _UNSEEN_BACKGROUNDS, 16),
    },
    success="grasped_by_handle",
    horizon=450,
))

POUR = register_task(TaskSpec(
    name="Pour",
    description="Pick up a bottle, pour from it into a cup, and put the bottle back.",
    templates=(
        "Pour from the {bottle} into the {cup}, then put the {bottle} back.",
        "Pick up the {bottle}, pour into the {cup}, and put it back.",
    ),
    split_specs={
        "seen": SplitSpec({"bottle": ("water bottle",), "cup": ("glass cup",)}, _SEEN_BACKGROUNDS, 8),
        "unseen_object_background": SplitSpec(
            {"bottle": ("juice bottle",), "cup": ("red plastic cup",)}, _UNSEEN_BACKGROUNDS, 8),
    },
    success="poured_and_returned",
    horizon=900,
))

SWEEP = register_task(TaskSpec(
    name="Sweep",
    description="Take a broom from a basket, sweep the paper balls together, and put the broom back.",
    templates=(
        "Take the {broom} from the {basket}, sweep the paper balls, and put the {broom} back.",
        "Sweep the paper balls with the {broom} and return it to the {basket}.",
    ),
    split_specs={
        "seen": SplitSpec({"broom": ("hand broom",), "basket": ("basket",)}, _SEEN_BACKGROUNDS, 8),
    },
    success="balls_swept_and_broom_returned",
    horizon=1200,
))

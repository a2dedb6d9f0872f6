"""The TaskSpec registry: the paper's trial counts, instruction rendering, validation, registration."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vitra_bench import tasks
from vitra_bench.tasks import SPLITS, SplitSpec, TaskSpec, get_task, register_task, task_names

# VITRA_FACTS.md, "Real robot": "Trials: seen P&P 40, FG 24, Pour 8, Sweep 8; unseen
# object+background P&P 16, FG 16, Pour 8; unseen category P&P 24."
PAPER_TRIALS = {
    "PickPlace": {"seen": 40, "unseen_object_background": 16, "unseen_category": 24},
    "FunctionalGrasp": {"seen": 24, "unseen_object_background": 16},
    "Pour": {"seen": 8, "unseen_object_background": 8},
    "Sweep": {"seen": 8},
}


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the registry, so registering in a test leaves the real one alone."""
    monkeypatch.setattr(tasks, "_REGISTRY", dict(tasks._REGISTRY))


def custom_spec(**changes) -> TaskSpec:
    fields = dict(
        name="StackCups",
        description="Stack one cup on another.",
        templates=("Stack the {top} on the {bottom}.",),
        split_specs={
            "seen": SplitSpec({"top": ("red cup",), "bottom": ("blue cup",)}, ("wood_table",), 10),
            "unseen_object_background": SplitSpec(
                {"top": ("green cup",), "bottom": ("blue cup",)}, ("marble_table",), 5),
        },
        success="cup_stacked",
        horizon=300,
    )
    return TaskSpec(**{**fields, **changes})


def test_the_papers_tasks_are_registered():
    assert task_names()[:4] == ("PickPlace", "FunctionalGrasp", "Pour", "Sweep")


@pytest.mark.parametrize("name", PAPER_TRIALS)
def test_trial_counts_are_the_papers(name):
    task = get_task(name)
    assert task.splits == tuple(PAPER_TRIALS[name])
    assert {split: task.trials(split) for split in task.splits} == PAPER_TRIALS[name]


def test_paper_totals():
    seen = sum(get_task(n).trials("seen") for n in PAPER_TRIALS)
    unseen = sum(get_task(n).trials(s) for n in PAPER_TRIALS for s in get_task(n).splits if s != "seen")
    assert (seen, unseen) == (80, 64)


@pytest.mark.parametrize("name", PAPER_TRIALS)
def test_unseen_objects_and_backgrounds_are_disjoint_from_seen(name):
    task = get_task(name)
    seen = task.split_spec("seen")
    for split in task.splits[1:]:
        spec = task.split_spec(split)
        changed = [slot for slot in task.slots if set(spec.objects[slot]) != set(seen.objects[slot])]
        assert changed, f"{name}/{split} changes no object"
        for slot in changed:
            assert not set(spec.objects[slot]) & set(seen.objects[slot])
        if split == "unseen_object_background":
            assert not set(spec.backgrounds) & set(seen.backgrounds)


def test_unseen_category_shares_no_category_with_seen():
    task = get_task("PickPlace")
    category = task.categories.__getitem__
    seen = {category(o) for o in task.split_spec("seen").objects["object"]}
    unseen_object = {category(o) for o in task.split_spec("unseen_object_background").objects["object"]}
    unseen_category = {category(o) for o in task.split_spec("unseen_category").objects["object"]}
    assert unseen_object <= seen
    assert not unseen_category & seen


def test_paper_task_details():
    assert {get_task(n).control_hz for n in PAPER_TRIALS} == {30.0}
    assert get_task("PickPlace").num_distractors == (3, 4)
    assert get_task("PickPlace").success == "object_in_container"
    assert get_task("Sweep").success == "balls_swept_and_broom_returned"


def test_get_task_is_case_insensitive_and_names_known_tasks():
    assert get_task("pickplace") is get_task("PickPlace")
    with pytest.raises(KeyError, match="PickPlace") as info:
        get_task("Juggle")
    assert "Juggle" in str(info.value)


def test_unknown_split_is_a_value_error():
    with pytest.raises(ValueError, match="unseen_category"):
        get_task("Sweep").trials("unseen_category")
    with pytest.raises(ValueError, match="seen"):
        get_task("Pour").trials("nonsense")


def test_instruction_from_fields():
    task = get_task("PickPlace")
    text = task.instruction(object="mango", container="bowl")
    assert text == "Pick up the mango and put it in the bowl."
    assert task.instruction(template=1, object="lemon", container="box") == "Put the lemon into the box."


def test_instruction_sampled_from_the_split():
    task = get_task("PickPlace")
    pool = task.split_spec("unseen_category").objects["object"]
    texts = {task.instruction(np.random.default_rng(seed), split="unseen_category") for seed in range(20)}
    assert len(texts) > 1
    assert all(any(name in text for name in pool) for text in texts)
    assert all("{" not in text for text in texts)


def test_instruction_errors():
    task = get_task("PickPlace")
    with pytest.raises(ValueError, match="container"):
        task.instruction(object="apple")
    with pytest.raises(ValueError, match="obj"):
        task.instruction(obj="apple", container="box")


def test_sample_is_reproducible_and_consistent():
    task = get_task("PickPlace")
    a = task.sample("seen", np.random.default_rng(3))
    assert a == task.sample("seen", np.random.default_rng(3))
    spec = task.split_spec("seen")
    for seed in range(30):
        trial = task.sample("seen", np.random.default_rng(seed))
        assert trial.objects["object"] in spec.objects["object"]
        assert trial.objects["object"] in trial.instruction
        assert 3 <= len(trial.distractors) <= 4
        assert trial.objects["object"] not in trial.distractors
        assert len(set(trial.distractors)) == len(trial.distractors)
        assert trial.background in spec.backgrounds
        assert type(trial.objects["object"]) is str


def test_register_a_custom_task(registry):
    spec = register_task(custom_spec())
    assert get_task("stackcups") is spec
    assert "StackCups" in task_names()
    assert spec.trials("unseen_object_background") == 5
    assert spec.sample("seen", np.random.default_rng(0)).instruction == "Stack the red cup on the blue cup."
    with pytest.raises(ValueError, match="already registered"):
        register_task(custom_spec(name="STACKCUPS"))


def test_registered_task_is_immutable():
    task = get_task("Pour")
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.horizon = 1  # type: ignore[misc]


def test_a_bare_string_is_not_a_pool():
    with pytest.raises(TypeError, match="container"):
        SplitSpec({"object": ("cup", "bowl"), "container": ("box")}, ("wood_table",), 1)
    with pytest.raises(TypeError, match="templates"):
        custom_spec(templates="Stack the {top} on the {bottom}.")


def test_spec_copies_its_inputs():
    pool = ["red cup"]
    specs = {"seen": SplitSpec({"top": pool, "bottom": ("blue cup",)}, ("wood_table",), 10)}
    spec = custom_spec(split_specs=specs)
    pool.append("leak")
    specs["unseen_category"] = specs["seen"]
    assert spec.split_spec("seen").objects["top"] == ("red cup",)
    assert spec.splits == ("seen",)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"templates": ("Stack the {cup} on the {bottom}.",)}, "cup"),
        ({"templates": ("Stack {} on the {bottom}.",)}, "uses"),
        ({"templates": ("Stack the {top",)}, "malformed"),
        ({"templates": ()}, "template"),
        ({"horizon": 0}, "horizon"),
        ({"name": "Stack Cups"}, "identifier"),
        ({"success": ""}, "success"),
        ({"num_distractors": (2, 1)}, "num_distractors"),
        ({"num_distractors": (1, 2)}, "distractors"),
    ],
)
def test_validation(changes, message):
    with pytest.raises(ValueError, match=message):
        custom_spec(**changes)


UOB = "unseen_object_background"


def seen_and(split: str, spec: SplitSpec) -> dict[str, SplitSpec]:
    return {"seen": SplitSpec({"top": ("red cup", "tall cup")}, ("wood_table",), 10), split: spec}


@pytest.mark.parametrize(
    ("split_specs", "message"),
    [
        ({"unseen_object_background": SplitSpec({"top": ("red cup",)}, ("marble",), 5)}, "seen"),
        ({"seen": SplitSpec({"top": ("red cup",)}, ("wood_table",), 0)}, "trials"),
        ({"seen": SplitSpec({"top": ()}, ("wood_table",), 1)}, "at least one"),
        ({"seen": SplitSpec({"top": ("red cup",)}, (), 1)}, "at least one"),
        (seen_and("val", SplitSpec({"top": ("cup",)}, ("marble",), 5)), "splits"),
        (seen_and(UOB, SplitSpec({"top": ("red cup", "green cup")}, ("marble",), 5)), "partly"),
        (seen_and(UOB, SplitSpec({"top": ("blue cup",)}, ("wood_table", "x"), 5)), "partly"),
        (seen_and(UOB, SplitSpec({"top": ("tall cup", "red cup")}, ("wood_table",), 5)), "reuses"),
        (seen_and(UOB, SplitSpec({"bottom": ("cup",)}, ("marble",), 5)), "slots"),
        (seen_and("unseen_category", SplitSpec({"top": ("plate",)}, ("wood_table",), 5)), "no category"),
    ],
)
def test_split_validation(split_specs, message):
    with pytest.raises(ValueError, match=message):
        custom_spec(templates=("Pick up the {top}.",), split_specs=split_specs)


def test_unseen_category_must_be_new():
    categories = {"red cup": "cup", "tall cup": "cup", "mug": "cup", "plate": "dish"}
    split_specs = seen_and("unseen_category", SplitSpec({"top": ("mug",)}, ("wood_table",), 5))
    with pytest.raises(ValueError, match="also seen"):
        custom_spec(templates=("Pick up the {top}.",), split_specs=split_specs, categories=categories)
    split_specs = seen_and("unseen_category", SplitSpec({"top": ("plate",)}, ("wood_table",), 5))
    assert custom_spec(templates=("Pick up the {top}.",), split_specs=split_specs, categories=categories)


def test_splits_vocabulary():
    assert SPLITS == ("seen", "unseen_object_background", "unseen_category")

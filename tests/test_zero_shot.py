"""Zero-shot benchmark: known answers on a rendered grasp clip and a synthetic corpus; sweep resume."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from envs.humansim.generate import HumanSimConfig, generate
from envs.humansim.truth import clip_episodes, finished_clips, load_truth
from policies.baselines import InitialPositionPolicy
from policies.scaling_sweep import SweepConfig, sweep
from policies.train import TrainConfig
from policies.vitra import VitraConfig
from vitra_bench import layout
from vitra_bench.synthetic import SyntheticConfig, write_synthetic_corpus
from vitra_bench.zero_shot import evaluate_corpus, evaluate_grasp, grasp_cases, summarize


class FixedPolicy:
    """Returns given chunks, one per batch row, whatever it is asked (a perfect predictor)."""

    def __init__(self, chunks: np.ndarray) -> None:
        self.chunks = torch.as_tensor(chunks, dtype=torch.float32)

    def predict_actions(self, batch: dict, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.chunks[: len(batch["state"])]


class RecordedFuturePolicy:
    """Reads the recorded future from the batch (only a test may): ADE must then be zero."""

    def predict_actions(self, batch: dict, generator: torch.Generator | None = None) -> torch.Tensor:
        return batch["actions"] * batch["action_mask"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("grasp")
    config = HumanSimConfig(out=out, preset="lab", split="unseen", script="grasp_eval", clips=1, seed=4, width=320, height=240)
    generate(config, progress=False)
    return out


def test_initial_position_scores_the_start_distance(clips):
    cases = grasp_cases(clips)
    results = evaluate_grasp(InitialPositionPolicy(), cases, samples=2)
    assert len(results) == 1
    row = results.iloc[0]
    assert 10.0 < row.start_distance_cm < 25.0  # the hand starts about 20 cm from the target
    assert row.d_hand_obj_cm == pytest.approx(row.start_distance_cm, abs=1e-3)
    assert row.ade_cm > 1.0  # the recorded hand moves


def test_the_recorded_motion_scores_zero_displacement_and_approaches(clips):
    case = grasp_cases(clips)[0]
    truth = load_truth(finished_clips(clips)[0])
    number = next(n for n, s in enumerate(truth.segments) if s.action == "grasp")
    chunk, _ = layout.action_chunk(clip_episodes(truth, None)[number], 0)
    row = evaluate_grasp(FixedPolicy(chunk[None]), [case], samples=1).iloc[0]
    assert row.ade_cm < 0.05 and row.fde_cm < 0.05  # integration reproduces the recorded keypoints
    assert row.d_hand_obj_cm < row.start_distance_cm - 5.0  # the reach closes in on the object


def test_corpus_ade_is_zero_for_the_recorded_future(tmp_path):
    corpus = write_synthetic_corpus(SyntheticConfig(out=tmp_path / "c", episodes=2, frames=24, width=48, height=36), progress=False)
    perfect = evaluate_corpus(RecordedFuturePolicy(), corpus, samples=1, anchors=6)
    assert len(perfect) >= 4 and perfect["ade_cm"].max() < 1e-3  # anchors with no valid future are skipped
    still = evaluate_corpus(InitialPositionPolicy(), corpus, samples=1, anchors=6)
    assert still["ade_cm"].mean() > 0.5
    rows = summarize(still, ["ade_cm"])
    assert rows[0]["n"] == len(still) and "[" in rows[0]["mean [95% CI]"]


def test_sweep_trains_evaluates_and_resumes(clips, tmp_path):
    corpus = write_synthetic_corpus(SyntheticConfig(out=tmp_path / "c", episodes=4, frames=24, width=48, height=36), progress=False)
    train = TrainConfig(
        policy=dataclasses.replace(VitraConfig.tiny(), noise_draws=1), max_steps=2, batch_size=2, warmup_steps=1,
        freeze_backbone_steps=1, save_every=2, progress=False,
    )  # fmt: skip
    config = SweepConfig(corpus=corpus, eval_clips=clips, out=tmp_path / "sweep", fractions="50,100", seeds=1, samples=1, train=train)
    table = sweep(config)
    assert list(table["status"]) == ["ok", "ok"]
    assert list(table["train_episodes"]) == [2.0, 4.0]
    assert np.isfinite(table["d_hand_obj_cm"]).all()
    again = sweep(config)
    assert list(again["elapsed_s"]) == list(table["elapsed_s"])  # nothing was rerun


def test_condition_configs_and_ordering():
    import pandas as pd

    from policies.conditions import ConditionsConfig, condition_training, ordering_agreement

    config = ConditionsConfig(engine_corpus=Path("engine"), lab_corpus=Path("lab"))
    assert condition_training(config, "initial") is None
    assert condition_training(config, "no_augmentation").augment is False
    assert condition_training(config, "bidirectional").policy.causal is False
    assert condition_training(config, "full").policy.causal and condition_training(config, "full").augment
    assert condition_training(config, "lab").corpus == Path("lab")
    with pytest.raises(ValueError, match="narration_corpus"):
        condition_training(config, "narrations")
    with pytest.raises(ValueError, match="unknown condition"):
        ConditionsConfig(conditions="full,magic").selected()
    agree = pd.DataFrame({"condition": ["initial", "lab", "full"], "d_hand_obj_cm": [20.0, 15.0, 9.0]})
    assert ordering_agreement(agree) == "orderings agree on all 3 pairs of the paper's conditions"
    swapped = agree.assign(d_hand_obj_cm=[20.0, 8.0, 9.0])
    assert "differ on: lab vs full" in ordering_agreement(swapped)


def test_conditions_run_and_resume(clips, tmp_path):
    from policies.conditions import ConditionsConfig, condition_rows, run_conditions

    corpus = write_synthetic_corpus(SyntheticConfig(out=tmp_path / "c", episodes=2, frames=24, width=48, height=36), progress=False)
    train = TrainConfig(
        policy=dataclasses.replace(VitraConfig.tiny(), noise_draws=1), max_steps=1, batch_size=2, warmup_steps=1,
        freeze_backbone_steps=0, save_every=1, progress=False,
    )  # fmt: skip
    config = ConditionsConfig(out=tmp_path / "cond", eval_clips=clips, engine_corpus=corpus, conditions="initial,full", samples=1, train=train)
    results = run_conditions(config)
    assert sorted(results["condition"].unique()) == ["full", "initial"]
    rows = {row["condition"]: row for row in condition_rows(results)}
    assert rows["initial"]["paper avg / median"] == "20.0 / 20.0" and rows["full"]["n"] == 1
    stamp = (tmp_path / "cond" / "full" / "seed0" / "result.json").stat().st_mtime_ns
    run_conditions(config)
    assert (tmp_path / "cond" / "full" / "seed0" / "result.json").stat().st_mtime_ns == stamp

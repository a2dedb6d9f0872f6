"""The training loop: exact resume, learning, data splits, schedule, checkpoints and the CLI."""

from __future__ import annotations

import csv
import dataclasses
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from policies import train as train_module
from policies.schedule import lr_factor
from policies.train import EpochBatchSampler, FinetuneConfig, TrainConfig, split_episodes, train
from policies.training_state import load_optimizer, load_rng, save_optimizer, save_rng
from policies.vitra.configuration import BackboneConfig, ExpertConfig, VitraConfig
from vitra_bench.synthetic import SyntheticConfig, write_synthetic_corpus

# Small enough for a few dozen steps a second on a shared 2-core CPU, yet every part of the real model.
POLICY = VitraConfig(
    image_size=28,
    max_prompt_tokens=24,
    backbone=BackboneConfig(
        vision_hidden=32,
        vision_layers=1,
        vision_intermediate=64,
        text_hidden=32,
        text_layers=1,
        text_intermediate=64,
        text_head_dim=16,
    ),
    expert=ExpertConfig(size="custom", hidden=32, depth=2, heads=2),
    noise_draws=2,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("train") / "corpus"
    return write_synthetic_corpus(
        SyntheticConfig(out=out, episodes=4, frames=24, width=48, height=36, seed=1), progress=False
    )


def config_for(corpus: Path, out: Path, **changes) -> TrainConfig:
    base = TrainConfig(
        corpus=corpus,
        output_dir=out,
        policy=POLICY,
        max_steps=6,
        batch_size=4,
        save_every=2,
        log_every=1,
        warmup_steps=2,
        freeze_backbone_steps=3,
        progress=False,
    )
    return dataclasses.replace(base, **changes)


def metrics(run: Path) -> list[dict[str, str]]:
    with (run / "metrics.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_killed_and_resumed_run_is_bit_identical(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after step 3 (checkpoint at 2, stage 2 starts at 3), resumed: same weights, moments and losses."""
    straight = train(config_for(corpus, tmp_path / "straight"))

    calls = {"n": 0}
    forward = train_module.LossModule.forward

    def dies_at_step_four(self, batch, generator=None):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("killed")
        return forward(self, batch, generator)

    monkeypatch.setattr(train_module.LossModule, "forward", dies_at_step_four)
    interrupted = config_for(corpus, tmp_path / "resumed")
    with pytest.raises(KeyboardInterrupt):
        train(interrupted)
    monkeypatch.setattr(train_module.LossModule, "forward", forward)
    assert [row["step"] for row in metrics(interrupted.output_dir)] == ["1", "2", "3"]
    resumed = train(interrupted)

    last = "checkpoints/step_0000006"
    for name in ("model.safetensors", "optimizer.safetensors", "rng_0.safetensors"):
        a, b = load_file(straight / last / name), load_file(resumed / last / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    losses = [[row["loss"] for row in metrics(run)] for run in (straight, resumed)]
    assert losses[0] == losses[1] and len(losses[0]) == 6


def test_loss_decreases_on_a_tiny_corpus(corpus: Path, tmp_path: Path) -> None:
    config = config_for(
        corpus,
        tmp_path / "run",
        max_steps=40,
        save_every=40,
        augment=False,
        lr=3e-3,
        backbone_lr=1e-3,
        warmup_steps=3,
        freeze_backbone_steps=10,
        policy=dataclasses.replace(POLICY, noise_draws=4),
    )
    losses = [float(row["loss"]) for row in metrics(train(config))]
    assert np.mean(losses[-8:]) < 0.9 * np.mean(losses[:4]), losses


def test_cli_trains_from_a_yaml_config_and_writes_the_run(corpus: Path, tmp_path: Path) -> None:
    from policies.checkpoints import load_policy

    from vitra_bench.cli import main
    from vitra_bench.config import save_config
    from vitra_bench.corpus.dataset import HandActionDataset

    yaml_dir = tmp_path / "yaml"
    save_config(config_for(corpus, tmp_path / "unused", eval_fraction=0.25, eval_every=2, eval_batches=1), yaml_dir)
    run = tmp_path / "cli_run"
    argv = ["train", "--config", str(yaml_dir / "config.yaml"), "--output_dir", str(run), "--max_steps", "3"]
    assert main.main([*argv, "--data_fraction", "0.5"]) == 0

    assert (run / "config.yaml").exists() and (run / "loss.png").stat().st_size > 0
    rows = metrics(run)
    assert [r["step"] for r in rows if r["loss"]] == ["1", "2", "3"]
    assert [r["step"] for r in rows if r["eval_loss"]] == ["2", "3"]
    assert float(rows[0]["samples_per_s"]) > 0
    policy = load_policy(run / "checkpoints" / "step_0000003")
    batch = next(
        iter(torch.utils.data.DataLoader(HandActionDataset(corpus, chunk_size=POLICY.chunk_size), batch_size=2))
    )
    assert policy.predict_actions(batch, torch.Generator().manual_seed(0)).shape == (2, POLICY.chunk_size, 102)
    # Resuming under another config is refused with a message, not a traceback.
    assert main.main([*argv, "--data_fraction", "0.5", "--lr", "0.5"]) == 2
    assert main.main([*argv, "--data_fraction", "1.5"]) == 2


def test_init_checkpoint_overrides_and_frozen_first_stage(corpus: Path, tmp_path: Path) -> None:
    """Fine-tuning starts from a checkpoint with new loss weights; stage 1 moves the expert only."""
    from policies.checkpoints import load_policy

    start = train(config_for(corpus, tmp_path / "pre", max_steps=2)) / "checkpoints" / "step_0000002"
    config = config_for(
        corpus,
        tmp_path / "fine",
        max_steps=2,
        save_every=1,
        init_checkpoint=start,
        wrist_loss_weight=1.6,
        finger_loss_weight=0.4,
        freeze_backbone_steps=1,
    )
    run = train(config)
    tuned = load_policy(run / "checkpoints" / "step_0000001")
    assert (tuned.config.wrist_loss_weight, tuned.config.finger_loss_weight) == (1.6, 0.4)
    weights = [
        load_file(path / "model.safetensors")
        for path in (start, run / "checkpoints/step_0000001", run / "checkpoints/step_0000002")
    ]
    backbone = [k for k in weights[0] if k.startswith("backbone.vlm.")]
    expert = [k for k in weights[0] if k.startswith("expert.")]
    assert backbone and expert
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in backbone)
    assert not all(torch.equal(weights[0][k], weights[1][k]) for k in expert)
    assert not all(torch.equal(weights[1][k], weights[2][k]) for k in backbone)
    with pytest.raises(FileNotFoundError, match="init_checkpoint"):
        train(dataclasses.replace(config, output_dir=tmp_path / "missing", init_checkpoint=tmp_path / "nope"))


def test_finetune_defaults_are_the_robot_recipe(corpus: Path, tmp_path: Path) -> None:
    """Robot fine-tuning: the paper's weights and draws, no human-data augmentation, no state dropout."""
    from vitra_bench.corpus.reader import Corpus

    config = FinetuneConfig(corpus=corpus, output_dir=tmp_path / "fine", policy=POLICY)
    assert config.augment is False
    policy = train_module.build_policy(config, Corpus(corpus))
    assert POLICY.state_dropout > 0 and policy.config.state_dropout == 0.0  # the human-data default is overridden
    assert (policy.config.wrist_loss_weight, policy.config.finger_loss_weight, policy.config.noise_draws) == (1.6, 0.4, 2)


def test_bad_configs_fail_clearly(corpus: Path, tmp_path: Path) -> None:
    from vitra_bench.corpus import CorpusWriter

    for bad in ({"data_fraction": 0.0}, {"data_fraction": 1.2}, {"eval_fraction": 1.0}, {"batch_size": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            config_for(corpus, tmp_path, **bad)
    with pytest.raises(FileNotFoundError, match="corpus"):
        train(config_for(tmp_path / "absent", tmp_path / "a"))
    with CorpusWriter(tmp_path / "empty", fps=30.0, cameras={"ego": (48, 36)}):
        pass
    with pytest.raises(ValueError, match="no episodes"):
        train(config_for(tmp_path / "empty", tmp_path / "b"))
    with pytest.raises(ValueError, match="batch"):
        train(config_for(corpus, tmp_path / "c", batch_size=10_000))


def test_split_nests_fractions_and_keeps_the_held_out_set() -> None:
    config = TrainConfig(eval_fraction=0.2, data_seed=3)
    splits = {f: split_episodes(50, dataclasses.replace(config, data_fraction=f)) for f in (0.1, 0.5, 1.0)}
    held_out = splits[1.0][1]
    assert len(held_out) == 10 and all(s[1] == held_out for s in splits.values())
    assert len(splits[0.1][0]) == 4 and set(splits[0.1][0]) < set(splits[0.5][0]) < set(splits[1.0][0])
    assert not set(splits[1.0][0]) & set(held_out) and len(splits[1.0][0]) == 40
    assert split_episodes(50, dataclasses.replace(config, data_seed=4))[1] != held_out


def test_sampler_shards_global_batches_and_resumes_mid_epoch() -> None:
    shards = [EpochBatchSampler(23, 3, seed=1, process_index=p, num_processes=2) for p in range(2)]
    for shard in shards:
        shard.set_position(epoch=2, start=0)
    batches = [list(s) for s in shards]
    assert len(batches[0]) == 3 == len(batches[1])  # 23 // 6 global batches, the rest dropped
    seen = [i for pair in zip(*batches) for b in pair for i in b]
    assert len(set(seen)) == 18 and seen == np.random.default_rng((1, 2)).permutation(23)[:18].tolist()
    shards[0].set_position(epoch=2, start=1)
    assert list(shards[0]) == batches[0][1:]


def test_schedule_warms_up_then_decays_to_the_floor() -> None:
    assert lr_factor(0, 4, 20, 0.1) == 0.25 and lr_factor(3, 4, 20, 0.1) == 1.0
    assert lr_factor(4, 4, 20, 0.1) == 1.0 and lr_factor(12, 4, 20, 0.1) == pytest.approx(0.55)
    assert lr_factor(20, 4, 20, 0.1) == pytest.approx(0.1) == lr_factor(99, 4, 20, 0.1)


def test_training_state_round_trips_without_pickle(tmp_path: Path) -> None:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.0}], betas=(0.9, 0.95))
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    generator = torch.Generator().manual_seed(5)
    save_optimizer(tmp_path, optimizer)
    save_rng(tmp_path, 0, {"loss": generator})
    draws = (random.random(), np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=generator).item())
    other = torch.optim.AdamW([{"params": [model.weight], "lr": 9.0}, {"params": [model.bias]}])
    load_optimizer(tmp_path, other)
    load_rng(tmp_path, 0, {"loss": generator})
    assert (random.random(), np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=generator).item()) == draws
    a, b = optimizer.state_dict(), other.state_dict()
    assert a["param_groups"] == b["param_groups"]
    assert all(torch.equal(a["state"][i][k], b["state"][i][k]) for i in a["state"] for k in a["state"][i])
    assert not list(tmp_path.glob("*.pt")) and not list(tmp_path.glob("*.pkl"))

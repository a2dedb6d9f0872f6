"""Policy checkpoints (safetensors + JSON) and loading a PaliGemma backbone from a local directory."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_policy_model import make_batch, small_config, wake

from policies.checkpoints import CheckpointError, load_policy, save_policy
from policies.vitra import ExpertConfig, VitraConfig, VitraPolicy
from policies.vitra.backbone import scratch_vlm
from policies.vitra.configuration import BackboneConfig
from policies.vitra.tokenizer import byte_tokenizer
from vitra_bench import layout
from vitra_bench.corpus.dataset import SampleStats


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _stats() -> SampleStats:
    rng = np.random.default_rng(0)

    def one(dim: int) -> layout.NormStats:
        return layout.NormStats(
            rng.normal(0, 0.1, dim), rng.uniform(0.05, 0.5, dim), -np.ones(dim), np.ones(dim), np.full(dim, 7)
        )

    return SampleStats(action=one(layout.ACTION_DIM), state=one(layout.STATE_DIM))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(0)
    policy = wake(VitraPolicy(small_config(cfg_scale=3.0), _stats())).eval()
    directory = save_policy(tmp_path_factory.mktemp("ckpt") / "step_10", policy, {"step": 10})
    return policy, directory


def test_round_trip_gives_identical_predictions(saved, monkeypatch):
    policy, directory = saved
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("a checkpoint must never be unpickled"))
    loaded = load_policy(directory)
    assert loaded.config == policy.config and not loaded.training
    for name in ("mean", "std", "count"):
        np.testing.assert_array_equal(getattr(loaded.stats.action, name), getattr(policy.stats.action, name))
    batch = make_batch()
    expected = policy.predict_actions(batch, torch.Generator().manual_seed(4))
    assert torch.equal(loaded.predict_actions(batch, torch.Generator().manual_seed(4)), expected)
    metadata = json.loads((directory / "metadata.json").read_text())
    assert metadata["step"] == 10 and metadata["format_version"] == 1


def test_missing_file_is_a_clear_error(saved, tmp_path):
    _, directory = saved
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_text((directory / "config.json").read_text())
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_policy(partial)


def _copy(directory, target):
    target.mkdir()
    for path in directory.rglob("*"):
        if path.is_file():
            destination = target / path.relative_to(directory)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(path.read_bytes())
    return target


def test_corrupt_weights_are_a_clear_error(saved, tmp_path):
    copy = _copy(saved[1], tmp_path / "corrupt")
    data = (copy / "model.safetensors").read_bytes()
    (copy / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_policy(copy)


def test_config_that_does_not_fit_the_weights_is_a_clear_error(saved, tmp_path):
    copy = _copy(saved[1], tmp_path / "mismatch")
    config = json.loads((copy / "config.json").read_text())
    config["expert"]["depth"] += 1
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="not those of config.json"):
        load_policy(copy)
    config["expert"]["depth"] = "deep"
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="VitraConfig"):
        load_policy(copy)


def test_backbone_loads_from_a_local_path(tmp_path):
    """A PaliGemma saved with save_pretrained (as the real PaliGemma-2 3B is) loads through backbone_path."""
    torch.manual_seed(1)
    tokenizer = byte_tokenizer()
    shape = BackboneConfig(text_model="gemma")
    vlm = scratch_vlm(shape, 56, tokenizer)
    vlm.save_pretrained(tmp_path / "paligemma")
    tokenizer.save_pretrained(tmp_path / "paligemma")
    config = VitraConfig(backbone_path=tmp_path / "paligemma", image_size=56, expert=ExpertConfig(size="tiny"))
    policy = VitraPolicy(config).eval()
    for name, value in vlm.state_dict().items():
        assert torch.equal(policy.backbone.vlm.state_dict()[name], value), name
    assert not any(p.requires_grad for p in policy.backbone.vlm.model.vision_tower.parameters())
    assert policy.predict_actions(make_batch(2), torch.Generator().manual_seed(0)).shape == (2, 16, 102)
    with pytest.raises(ValueError, match="image_size"):
        VitraPolicy(VitraConfig(backbone_path=tmp_path / "paligemma", image_size=224))
    with pytest.raises(FileNotFoundError):
        VitraPolicy(VitraConfig(backbone_path=tmp_path / "absent"))

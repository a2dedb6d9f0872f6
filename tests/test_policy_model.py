"""The VITRA model on a tiny from-scratch backbone: shapes, attention masks, loss, sampling, training.

Torch runs single-threaded here: on this shared 2-core machine two OpenMP threads competing with
other processes made a step ~50x slower than one thread.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from policies.base import Policy
from policies.baselines import InitialPositionPolicy
from policies.vitra import ExpertConfig, VitraConfig, VitraPolicy
from policies.vitra.dit import ActionExpert
from policies.vitra.modeling import _masked_loss
from vitra_bench import layout
from vitra_bench.corpus.dataset import SampleStats

PROMPTS = [
    "Left hand: None. Right hand: Pick up the red cup.",
    "Left hand: Open the top drawer of the cabinet slowly. Right hand: None.",
    "Left hand: Hold the bowl. Right hand: Stir the soup.",
]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_config(**overrides) -> VitraConfig:
    """The tiny preset at 56 px (16 image tokens) and 2 noise draws, to keep each test well under a second."""
    return VitraConfig(**{"image_size": 56, "expert": ExpertConfig(size="tiny"), "noise_draws": 2, **overrides})


def make_batch(size: int = 3, seed: int = 0) -> dict:
    """A metric-unit batch like HandActionDataset's: sample 1 lacks its left hand, sample 0 ends after 12 steps."""
    g = torch.Generator().manual_seed(seed)
    state_mask = torch.ones(size, layout.STATE_DIM, dtype=torch.bool)
    action_mask = torch.ones(size, layout.CHUNK_SIZE, layout.ACTION_DIM, dtype=torch.bool)
    state_mask[1, layout.LEFT_STATE] = False
    action_mask[1, :, layout.LEFT_ACTION] = False
    action_mask[0, 12:] = False
    state = torch.randn(size, layout.STATE_DIM, generator=g) * 0.3 * state_mask
    actions = torch.randn(size, layout.CHUNK_SIZE, layout.ACTION_DIM, generator=g) * 0.05 * action_mask
    return {
        "image": torch.randint(0, 256, (size, 3, 40, 60), generator=g, dtype=torch.uint8),
        "instruction": [PROMPTS[i % len(PROMPTS)] for i in range(size)],
        "fov": 1.0 + 0.3 * torch.rand(size, 2, generator=g),
        "state": state,
        "state_mask": state_mask,
        "actions": actions,
        "action_mask": action_mask,
    }


def wake(module: torch.nn.Module, std: float = 0.2, seed: int = 0) -> torch.nn.Module:
    """Give adaLN-Zero's zero-initialised layers random values: an untrained expert predicts exactly 0
    whatever its inputs, which would make every "does X change the output" test pass vacuously."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * std)
    return module


@pytest.fixture(scope="module")
def policy() -> VitraPolicy:
    torch.manual_seed(0)
    return wake(VitraPolicy(small_config())).eval()


def test_expert_presets_and_validation():
    assert (ExpertConfig(size="dit-b").hidden, ExpertConfig(size="dit-b").depth, ExpertConfig(size="dit-b").heads) == (
        768,
        12,
        12,
    )
    assert ExpertConfig(size="tiny", depth=3).depth == 3
    with pytest.raises(ValueError, match="custom"):
        ExpertConfig(size="custom", hidden=64)
    with pytest.raises(ValueError, match="heads"):
        ExpertConfig(size="custom", hidden=64, depth=1, heads=5)
    with pytest.raises(ValueError):
        VitraConfig(state_dropout=1.5)
    with pytest.raises(ValueError, match="multiple"):
        VitraConfig(image_size=100)
    assert VitraConfig.paper("/weights/paligemma2").noise_draws == 8


def test_shapes(policy):
    batch = make_batch()
    out = policy.compute_loss(batch, torch.Generator().manual_seed(0))
    assert set(out) == {"loss", "loss_wrist", "loss_fingers"}
    assert all(v.shape == () and torch.isfinite(v) for v in out.values())
    cognition = policy.backbone(batch["image"], batch["instruction"], batch["fov"])
    assert cognition.shape == (3, policy.backbone.hidden_size) and cognition.dtype == torch.float32
    actions = policy.predict_actions(batch, torch.Generator().manual_seed(0))
    assert actions.shape == (3, layout.CHUNK_SIZE, layout.ACTION_DIM) and torch.isfinite(actions).all()
    assert isinstance(policy, Policy)


def test_untrained_expert_predicts_zero_noise():
    """adaLN-Zero: before any update the expert's output layer is zero, so the loss is E[eps^2] = mean of squares."""
    torch.manual_seed(0)
    fresh = VitraPolicy(small_config()).eval()
    out = fresh.compute_loss(make_batch(), torch.Generator().manual_seed(0))
    assert 0.8 < out["loss"].item() < 1.2


@pytest.mark.parametrize("causal", [True, False])
def test_expert_attention_is_causal_only_when_asked(causal):
    torch.manual_seed(0)
    expert = wake(ActionExpert(32, 102, 102, 16, hidden=32, depth=2, heads=4, mlp_ratio=2, causal=causal))
    g = torch.Generator().manual_seed(1)
    inputs = [
        torch.randn(2, 32, generator=g),
        torch.randn(2, 102, generator=g),
        torch.ones(2, 102, dtype=torch.bool),
        torch.randn(2, 16, 102, generator=g),
        torch.ones(2, 16, 102, dtype=torch.bool),
        torch.tensor([3, 70]),
    ]
    before = expert(*inputs)
    inputs[3] = inputs[3].clone()
    inputs[3][:, 10] += 1.0  # change action token 10 only
    after = expert(*inputs)
    earlier_change = (after[:, :10] - before[:, :10]).abs().max().item()
    assert (after[:, 10:] - before[:, 10:]).abs().max().item() > 1e-3
    if causal:
        assert earlier_change < 1e-6
    else:
        assert earlier_change > 1e-3


def test_masked_loss_known_answer():
    """Left hand valid on both steps, right hand masked; errors 1 on the wrist, 2 on the fingers.

    Per component: left wrist mean 1 over 2 steps, left fingers mean 4 over 2 steps, so with robot
    weights 1.6 / 0.4 the loss is (1.6 * 1 * 2 + 0.4 * 4 * 2) / 4 = 1.6.
    """
    mask = torch.zeros(1, 2, layout.ACTION_DIM, dtype=torch.bool)
    mask[..., layout.LEFT_ACTION] = True
    error = torch.zeros(1, 2, layout.ACTION_DIM)
    error[..., layout.WRIST] = 1.0
    error[..., layout.FINGERS] = 2.0
    error[..., layout.RIGHT_ACTION] = 100.0  # masked: must not count
    out = _masked_loss(error, torch.zeros_like(error), mask, wrist_weight=1.6, finger_weight=0.4)
    assert out["loss"].item() == pytest.approx(1.6)
    assert out["loss_wrist"].item() == pytest.approx(1.0)
    assert out["loss_fingers"].item() == pytest.approx(4.0)


def test_loss_ignores_masked_entries(policy):
    batch = make_batch()
    reference = policy.compute_loss(batch, torch.Generator().manual_seed(3))["loss"]
    masked = copy.deepcopy(batch)
    masked["actions"] = torch.where(batch["action_mask"], batch["actions"], 1e3)
    assert policy.compute_loss(masked, torch.Generator().manual_seed(3))["loss"].item() == reference.item()
    unmasked = copy.deepcopy(batch)
    unmasked["actions"][0, 0, 0] += 1.0
    assert policy.compute_loss(unmasked, torch.Generator().manual_seed(3))["loss"].item() != reference.item()


def test_training_dropouts_remove_state_and_condition():
    """With both probabilities 1 the loss cannot depend on the state, the image or the instruction."""
    torch.manual_seed(0)
    model = wake(VitraPolicy(small_config(state_dropout=1.0, condition_dropout=1.0))).train()
    batch = make_batch()
    other = make_batch(seed=5)
    other["actions"], other["action_mask"] = batch["actions"], batch["action_mask"]
    losses = [model.compute_loss(b, torch.Generator().manual_seed(0))["loss"].item() for b in (batch, other)]
    assert losses[0] == pytest.approx(losses[1], abs=1e-6)
    model.eval()  # dropouts are a training-mode thing
    losses = [model.compute_loss(b, torch.Generator().manual_seed(0))["loss"].item() for b in (batch, other)]
    assert losses[0] != pytest.approx(losses[1], abs=1e-6)


def test_cognition_sees_image_prompt_and_fov_but_not_padding(policy):
    batch = make_batch()
    base = policy.backbone(batch["image"], batch["instruction"], batch["fov"])
    fov = batch["fov"] + 0.2
    image = 255 - batch["image"]
    prompts = list(reversed(batch["instruction"]))
    for changed in (
        policy.backbone(batch["image"], batch["instruction"], fov),
        policy.backbone(image, batch["instruction"], batch["fov"]),
        policy.backbone(batch["image"], prompts, batch["fov"]),
    ):
        assert (changed[0] - base[0]).abs().max() > 1e-4
    # Sample 0 (the shortest prompt) alone has no padding; in the batch it is padded to the longest.
    alone = policy.backbone(batch["image"][:1], batch["instruction"][:1], batch["fov"][:1])
    torch.testing.assert_close(alone[0], base[0], atol=1e-5, rtol=1e-5)


def test_ddim_sampling_is_deterministic_for_a_generator(policy):
    batch = make_batch()
    first = policy.predict_actions(batch, torch.Generator().manual_seed(7))
    second = policy.predict_actions(batch, torch.Generator().manual_seed(7))
    other = policy.predict_actions(batch, torch.Generator().manual_seed(8))
    assert torch.equal(first, second)
    assert not torch.allclose(first, other)


def test_cfg_scale_one_is_the_conditional_prediction(policy):
    batch = make_batch()
    guided = copy.deepcopy(policy)
    results = {}
    for scale in (1.0, 5.0):
        guided.config.cfg_scale = scale
        outputs = []
        for null_seed in (0, 1):
            with torch.no_grad():
                guided.null_condition.copy_(
                    torch.randn(guided.null_condition.shape, generator=torch.Generator().manual_seed(null_seed))
                )
            outputs.append(guided.predict_actions(batch, torch.Generator().manual_seed(0)))
        results[scale] = outputs
    torch.testing.assert_close(results[1.0][0], results[1.0][1], atol=1e-6, rtol=0)  # null unused
    assert not torch.allclose(results[5.0][0], results[5.0][1], atol=1e-4)  # guidance uses it


def test_normalisation_happens_inside(policy):
    """A policy with statistics on metric data == the same weights without statistics on normalised data."""
    rng = np.random.default_rng(0)

    def stats(dim: int) -> layout.NormStats:
        z = np.zeros(dim)
        return layout.NormStats(rng.normal(0, 0.1, dim), rng.uniform(0.05, 0.5, dim), z, z, np.ones(dim, np.int64))

    sample_stats = SampleStats(action=stats(layout.ACTION_DIM), state=stats(layout.STATE_DIM))
    with_stats = VitraPolicy(policy.config, sample_stats).eval()
    with_stats.load_state_dict(policy.state_dict())
    batch = make_batch()
    normalised = dict(batch)
    normalised["actions"] = torch.from_numpy(
        layout.normalize(batch["actions"].numpy(), sample_stats.action, batch["action_mask"].numpy())
    )
    normalised["state"] = torch.from_numpy(
        layout.normalize(batch["state"].numpy(), sample_stats.state, batch["state_mask"].numpy())
    )
    loss = with_stats.compute_loss(batch, torch.Generator().manual_seed(0))["loss"]
    torch.testing.assert_close(loss, policy.compute_loss(normalised, torch.Generator().manual_seed(0))["loss"])
    metric = with_stats.predict_actions(batch, torch.Generator().manual_seed(0))
    raw = policy.predict_actions(normalised, torch.Generator().manual_seed(0)).numpy()
    expected = raw * (sample_stats.action.std + layout.NORM_EPS) + sample_stats.action.mean
    np.testing.assert_allclose(metric.numpy(), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("freeze", [True, False])
def test_vision_tower_gradients_follow_the_freeze_flag(freeze):
    torch.manual_seed(0)
    model = wake(VitraPolicy(small_config(freeze_vision=freeze))).train()
    model.compute_loss(make_batch(), torch.Generator().manual_seed(0))["loss"].backward()
    vision = list(model.backbone.vlm.model.vision_tower.parameters())
    projector = model.backbone.vlm.model.multi_modal_projector.linear.weight
    assert projector.grad is not None and projector.grad.abs().sum() > 0
    assert any(p is vision[0] for p in model.backbone_parameters()) != freeze
    if freeze:
        assert all(p.grad is None and not p.requires_grad for p in vision)
    else:
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in vision)


def test_parameter_groups_split_the_trainable_parameters(policy):
    expert = {id(p) for p in policy.expert_parameters()}
    backbone = {id(p) for p in policy.backbone_parameters()}
    trainable = {id(p) for p in policy.parameters() if p.requires_grad}
    assert not expert & backbone and expert | backbone == trainable
    for trained_from_step_0 in (
        policy.backbone.cognition,
        policy.null_condition,
        *policy.backbone.fov_mlp.parameters(),
    ):
        assert id(trained_from_step_0) in expert
    assert id(policy.backbone.vlm.model.multi_modal_projector.linear.weight) in backbone


def test_stage_one_trains_fov_and_cognition_through_a_frozen_backbone():
    """VITRA's first stage: backbone at rate 0 (here frozen), yet the FoV MLP and the cognition token,
    which feed the language model, learn from step 0; freezing does not change the groups."""
    torch.manual_seed(0)
    model = wake(VitraPolicy(small_config())).train()
    groups = [len(model.expert_parameters()), len(model.backbone_parameters())]
    for p in model.backbone_parameters():
        p.requires_grad_(False)
    assert [len(model.expert_parameters()), len(model.backbone_parameters())] == groups
    model.compute_loss(make_batch(), torch.Generator().manual_seed(0))["loss"].backward()
    assert all(p.grad is None for p in model.backbone_parameters())
    for p in (model.backbone.cognition, *model.backbone.fov_mlp.parameters()):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_tiny_model_overfits_one_batch():
    """Two samples, right hand only, finger angles and deltas constant over the chunk (as in a steady
    grasp): the loss over fresh noise draws falls from ~1 (predicting 0) below a fifth."""
    torch.manual_seed(0)
    model = VitraPolicy(small_config(noise_draws=8)).eval()  # eval: no dropouts, one fixed task
    g = torch.Generator().manual_seed(0)
    mask = torch.zeros(2, layout.CHUNK_SIZE, layout.ACTION_DIM, dtype=torch.bool)
    mask[..., layout.RIGHT_ACTION] = True
    batch = make_batch(2)
    batch["actions"] = torch.randn(2, 1, layout.ACTION_DIM, generator=g).expand_as(mask) * mask
    batch["action_mask"] = mask
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    noise = torch.Generator().manual_seed(1)
    losses = []
    for _ in range(150):
        loss = model.compute_loss(batch, noise)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    first, last = np.mean(losses[:10]), np.mean(losses[-20:])
    assert first / last > 5, (first, last)


def test_initial_position_baseline_does_not_move():
    batch = make_batch()
    baseline = InitialPositionPolicy()
    assert isinstance(baseline, Policy)
    actions = baseline.predict_actions(batch)
    assert actions.shape == (3, layout.CHUNK_SIZE, layout.ACTION_DIM)
    for hand in layout.ACTION_SLICES:
        block = actions[..., layout.ACTION_SLICES[hand]]
        state = batch["state"][:, layout.STATE_SLICES[hand]]
        assert torch.equal(block[..., layout.WRIST], torch.zeros_like(block[..., layout.WRIST]))
        assert torch.equal(
            block[..., layout.FINGERS], state[:, None, layout.FINGERS].expand_as(block[..., layout.FINGERS])
        )
    assert not actions[1, :, layout.LEFT_ACTION].any()  # sample 1 has no left hand

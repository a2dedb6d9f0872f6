"""``VitraPolicy``: the whole VITRA model, its training loss and its sampler.

Batches arrive in metric units as ``HandActionDataset(normalize=False)`` collates them (``image``
(B, 3, H, W) uint8, ``instruction`` list[str], ``fov`` (B, 2), ``state``/``state_mask`` (B, 122),
``actions``/``action_mask`` (B, K, 102)); the policy normalises with the statistics it was built
with and unnormalises what it samples. Keeping normalisation inside means a checkpoint carries its
statistics and a caller cannot pair a model with the wrong ones (the "absurdly large outputs" of
VITRA_FACTS, "Robot teleoperation episodes").
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from policies.vitra.backbone import build_backbone
from policies.vitra.configuration import VitraConfig
from policies.vitra.diffusion import ActionDiffusion
from policies.vitra.dit import ActionExpert
from vitra_bench import layout
from vitra_bench.corpus.dataset import SampleStats

# Loss components (VITRA_FACTS, "Action, state, instruction"): wrist and fingers of each hand.
_COMPONENTS: tuple[tuple[str, slice], ...] = tuple(
    (part, slice(hand.start + within.start, hand.start + within.stop))
    for hand in (layout.LEFT_ACTION, layout.RIGHT_ACTION)
    for part, within in (("wrist", layout.WRIST), ("fingers", layout.FINGERS))
)
# Action entries of each part over both hands, for the logged unweighted losses.
_PART_DIMS: dict[str, list[int]] = {
    part: [i for name, dims in _COMPONENTS if name == part for i in range(dims.start, dims.stop)]
    for part in ("wrist", "fingers")
}


def _state_pose_indices() -> torch.Tensor:
    """Indices of the 2 x 51 pose entries of the 122-dim state (betas left out); they align with the action's."""
    return torch.cat([torch.arange(s.start, s.start + layout.HAND_ACTION_DIM) for s in layout.STATE_SLICES.values()])


def _stat_tensors(stats: layout.NormStats | None, dim: int, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, std + eps) as float32 tensors; identity statistics when none are given."""
    if stats is None:
        return torch.zeros(dim), torch.ones(dim)
    mean, std = torch.as_tensor(stats.mean, dtype=torch.float32), torch.as_tensor(stats.std, dtype=torch.float32)
    if mean.shape != (dim,) or std.shape != (dim,):
        raise ValueError(f"{name} statistics have shape {tuple(mean.shape)}, the model needs ({dim},)")
    return mean, std + layout.NORM_EPS


class VitraPolicy(nn.Module):
    """PaliGemma backbone + causal DiT expert trained by DDPM and sampled by DDIM with classifier-free guidance.

    Args:
        config: the model; see ``VitraConfig``.
        stats: action and state normalisation statistics (``corpus_sample_stats`` or ones computed
            with augmentation on); ``None`` means the data is used as it comes.
        architecture_dir: a checkpoint's ``backbone`` folder (config + tokenizer): build the backbone
            from it with untrained weights instead of from ``config``; ``load_policy`` uses it.
    """

    def __init__(
        self, config: VitraConfig, stats: SampleStats | None = None, *, architecture_dir: Path | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.backbone = build_backbone(config, architecture_dir)
        pose_indices = _state_pose_indices()
        state_indices = torch.arange(config.state_dim) if config.use_beta else pose_indices
        self.register_buffer("pose_indices", pose_indices, persistent=False)
        self.register_buffer("state_indices", state_indices, persistent=False)
        self.expert = ActionExpert(
            condition_dim=self.backbone.hidden_size,
            state_dim=len(state_indices),
            action_dim=config.action_dim,
            chunk_size=config.chunk_size,
            hidden=config.expert.hidden,
            depth=config.expert.depth,
            heads=config.expert.heads,
            mlp_ratio=config.expert.mlp_ratio,
            causal=config.causal,
        )
        # The learned "uncondition" that replaces the cognition feature for classifier-free guidance; the
        # feature leaves the language model's RMS norm at about unit scale, so the null starts there too.
        self.null_condition = nn.Parameter(torch.randn(self.backbone.hidden_size))
        self.diffusion = ActionDiffusion(config.num_train_timesteps, config.num_inference_steps)
        # Not persistent: stats.json is their one stored copy (see policies.checkpoints).
        for name, dim in (("action", config.action_dim), ("state", config.state_dim)):
            self.register_buffer(f"{name}_mean", torch.zeros(dim), persistent=False)
            self.register_buffer(f"{name}_scale", torch.ones(dim), persistent=False)
        self.set_stats(stats)

    def set_stats(self, stats: SampleStats | None) -> None:
        """Normalise with ``stats`` from now on: fine-tuning on another embodiment starts from the
        pretrained weights but must normalise the new data by its own statistics."""
        self.stats = stats
        for name, dim, feature in (
            ("action", self.config.action_dim, stats and stats.action),
            ("state", self.config.state_dim, stats and stats.state),
        ):
            mean, scale = _stat_tensors(feature, dim, name)
            getattr(self, f"{name}_mean").copy_(mean)
            getattr(self, f"{name}_scale").copy_(scale)

    @property
    def device(self) -> torch.device:
        return self.null_condition.device

    def backbone_parameters(self) -> list[nn.Parameter]:
        """PaliGemma's parameters meant to train: projector and language model, the vision tower unless frozen.

        VITRA trains these at learning rate 0 for the first 5K steps, then 1e-5 (VITRA_FACTS, "Model").
        The split is by role, not by the current ``requires_grad``, so a training loop may freeze and
        unfreeze the group without changing what it contains.
        """
        frozen = "model.vision_tower." if self.config.freeze_vision else None
        return [p for name, p in self.backbone.vlm.named_parameters() if not (frozen and name.startswith(frozen))]

    def expert_parameters(self) -> list[nn.Parameter]:
        """Everything trained from step 0: the DiT, the FoV MLP, the cognition token, the null condition."""
        vlm = {id(p) for p in self.backbone.vlm.parameters()}
        return [p for p in self.parameters() if id(p) not in vlm]

    def _inputs(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Cognition feature (B, C) and the model's normalised state and its mask (B, S), masked entries 0."""
        cognition = self.backbone(batch["image"], batch["instruction"], batch["fov"])
        mask = batch["state_mask"].to(self.device, torch.bool)
        state = (batch["state"].to(self.device, torch.float32) - self.state_mean) / self.state_scale
        state = torch.where(mask, state, 0.0)
        return cognition, state[:, self.state_indices], mask[:, self.state_indices]

    def compute_loss(self, batch: dict, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Masked epsilon-MSE over ``noise_draws`` noisings per sample.

        In training mode the cognition feature is replaced by the null condition and the state is
        zeroed with its mask, each with its config probability, per draw. Returns ``loss`` (scalar,
        with gradient) and the detached unweighted parts ``loss_wrist`` and ``loss_fingers``.
        """
        cognition, state, state_mask = self._inputs(batch)
        action_mask = batch["action_mask"].to(self.device, torch.bool)
        actions = (batch["actions"].to(self.device, torch.float32) - self.action_mean) / self.action_scale
        actions = torch.where(action_mask, actions, 0.0)
        draws = self.config.noise_draws
        cognition, state, state_mask, actions, action_mask = (
            t.repeat_interleave(draws, dim=0) for t in (cognition, state, state_mask, actions, action_mask)
        )
        if self.training:
            cognition, state, state_mask = self._dropout(cognition, state, state_mask, generator)
        noisy, noise, steps = self.diffusion.add_noise(actions, generator)
        predicted = self.expert(cognition, state, state_mask, noisy, action_mask, steps)
        return _masked_loss(
            predicted, noise, action_mask, self.config.wrist_loss_weight, self.config.finger_loss_weight
        )

    def _dropout(
        self, cognition: torch.Tensor, state: torch.Tensor, state_mask: torch.Tensor, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Classifier-free condition dropout and state dropout (VITRA_FACTS, "Model" and "Action, state, instruction")."""
        device = generator.device if generator is not None else self.device
        draws = torch.rand(2, len(cognition), generator=generator, device=device).to(self.device)
        drop_condition = (draws[0] < self.config.condition_dropout)[:, None]
        keep_state = (draws[1] >= self.config.state_dropout)[:, None]
        cognition = torch.where(drop_condition, self.null_condition.to(cognition.dtype), cognition)
        return cognition, state * keep_state, state_mask & keep_state

    @torch.inference_mode()
    def predict_actions(self, batch: dict, generator: torch.Generator | None = None) -> torch.Tensor:
        """Sample an action chunk with DDIM and classifier-free guidance: (B, chunk, 102), metric units.

        The action mask the expert is given is what the state says is observed: a hand's (and, for
        robot data, a slot's) actions are asked for when its state entry is valid, at every step;
        a sample with no valid state asks for everything. Entries outside that mask are returned
        unnormalised but carry no meaning. Set ``eval()`` first if the backbone has dropout.
        Runs under ``inference_mode`` (faster than ``no_grad``: 45 vs 58 ms per chunk for the tiny
        config on one core), so the result cannot enter autograd; sampling is never trained through.
        """
        cognition, state, state_mask = self._inputs(batch)
        batch_size = len(cognition)
        query = batch["state_mask"].to(self.device, torch.bool)[:, self.pose_indices]
        query = torch.where(query.any(dim=1, keepdim=True), query, True)
        action_mask = query[:, None].expand(batch_size, self.config.chunk_size, self.config.action_dim)
        scale = self.config.cfg_scale

        def denoise(x: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
            if scale == 1.0:  # guidance is the identity: skip the unconditional pass
                return self.expert(cognition, state, state_mask, x, action_mask, steps)
            null = self.null_condition.expand_as(cognition)
            both = self.expert(
                torch.cat([cognition, null]),
                state.repeat(2, 1),
                state_mask.repeat(2, 1),
                x.repeat(2, 1, 1),
                action_mask.repeat(2, 1, 1),
                steps.repeat(2),
            )
            conditional, unconditional = both.chunk(2)
            return unconditional + scale * (conditional - unconditional)

        shape = (batch_size, self.config.chunk_size, self.config.action_dim)
        sample = self.diffusion.sample(denoise, shape, self.device, generator)
        return sample * self.action_scale + self.action_mean


def _masked_loss(
    predicted: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, wrist_weight: float, finger_weight: float
) -> dict[str, torch.Tensor]:
    """VITRA's combination: each component's masked mean, times its weight, averaged in proportion to
    the component's count of valid steps (so wrist and fingers count equally per valid step)."""
    squared = (predicted - target).square() * mask
    weights = {"wrist": wrist_weight, "fingers": finger_weight}
    weighted = predicted.sum() * 0.0  # keeps the graph when nothing is valid
    steps_total = torch.zeros((), dtype=torch.long, device=mask.device)
    for part, dims in _COMPONENTS:
        part_mask = mask[..., dims]
        steps = part_mask.any(dim=-1).sum()
        weighted = weighted + weights[part] * steps * squared[..., dims].sum() / part_mask.sum().clamp(min=1)
        steps_total = steps_total + steps
    parts = {
        f"loss_{part}": (squared[..., dims].sum() / mask[..., dims].sum().clamp(min=1)).detach()
        for part, dims in _PART_DIMS.items()
    }
    return {"loss": weighted / steps_total.clamp(min=1), **parts}

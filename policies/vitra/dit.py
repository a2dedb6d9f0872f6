"""VITRA's action expert: a DiT with adaLN-Zero, QK-RMSNorm and causal attention over 2 + chunk tokens.

Sequence (VITRA_FACTS, "Model"): ``[cognition, state, action_1 .. action_K]`` with learned positions.
The state token encodes ``[state * mask, mask]`` and each action token ``[noisy action * mask, mask]``,
so a masked entry is told apart from a true zero. The condition of every block's adaptive LayerNorm is
the projected cognition feature plus the diffusion-timestep embedding. Each token attends to itself
and the tokens before it (``causal=True``); the bidirectional variant is the paper's ablation.

adaLN-Zero (DiT, Peebles & Xie 2023) zero-initialises every block's modulation and the output layer,
so the untrained expert is the identity on its residual stream and predicts zero noise: training
starts from a stable point whatever the depth.
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

_FREQUENCY_DIM = 256  # sinusoidal timestep features, as in DiT


def _modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale[:, None]) + shift[:, None]


def _mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with tanh-GELU between them (none after the last)."""
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(pairwise(sizes)):
        if index:
            layers.append(nn.GELU(approximate="tanh"))
        layers.append(nn.Linear(fan_in, fan_out))
    return nn.Sequential(*layers)


class TimestepEmbedder(nn.Module):
    """Diffusion step -> vector: sinusoidal features, then a 2-layer MLP (DiT's)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(_FREQUENCY_DIM, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, timesteps: torch.Tensor) -> torch.Tensor:
        half = _FREQUENCY_DIM // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=timesteps.device) / half)
        angles = timesteps.float()[:, None] * freqs[None]
        return self.mlp(torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1))


class Attention(nn.Module):
    """Multi-head self-attention with RMS-normalised queries and keys (keeps logits bounded in long training)."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        head_dim = hidden // heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.q_norm = nn.RMSNorm(head_dim, eps=1e-6)
        self.k_norm = nn.RMSNorm(head_dim, eps=1e-6)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor, causal: bool) -> torch.Tensor:
        batch, length, hidden = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(self.q_norm(q), self.k_norm(k), v, is_causal=causal)
        return self.out(y.transpose(1, 2).reshape(batch, length, hidden))


class DiTBlock(nn.Module):
    """Pre-norm transformer block whose norms are shifted, scaled and gated by the condition (adaLN-Zero)."""

    def __init__(self, hidden: int, heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden, heads)
        self.norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.mlp = _mlp([hidden, mlp_ratio * hidden, hidden])
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 6 * hidden))
        nn.init.zeros_(self.modulation[-1].weight)
        nn.init.zeros_(self.modulation[-1].bias)

    def forward(self, x: torch.Tensor, condition: torch.Tensor, causal: bool) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(condition).chunk(6, dim=-1)
        x = x + gate1[:, None] * self.attn(_modulate(self.norm1(x), shift1, scale1), causal)
        return x + gate2[:, None] * self.mlp(_modulate(self.norm2(x), shift2, scale2))


class FinalLayer(nn.Module):
    """Modulated norm then a zero-initialised projection to the action size."""

    def __init__(self, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 2 * hidden))
        self.linear = nn.Linear(hidden, out_dim)
        for layer in (self.modulation[-1], self.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        shift, scale = self.modulation(condition).chunk(2, dim=-1)
        return self.linear(_modulate(self.norm(x), shift, scale))


class ActionExpert(nn.Module):
    """Predicts the noise of a noisy action chunk from the cognition feature, the state and the step.

    Args:
        condition_dim: width of the cognition feature (the VLM's hidden size).
        state_dim: state entries the model sees (102 without betas).
        action_dim: action entries per step (102).
        chunk_size: action steps (16).
        hidden, depth, heads, mlp_ratio: transformer size.
        causal: causal (True) or bidirectional attention over the token sequence.
    """

    def __init__(
        self,
        condition_dim: int,
        state_dim: int,
        action_dim: int,
        chunk_size: int,
        hidden: int,
        depth: int,
        heads: int,
        mlp_ratio: int,
        causal: bool,
    ) -> None:
        super().__init__()
        self.causal = causal
        self.condition_proj = nn.Linear(condition_dim, hidden)
        # Encoder widths of VITRA_FACTS "Model": state 2S -> 4H -> H -> H, action 2A -> H -> H.
        self.state_encoder = _mlp([2 * state_dim, mlp_ratio * hidden, hidden, hidden])
        self.action_encoder = _mlp([2 * action_dim, hidden, hidden])
        self.timestep = TimestepEmbedder(hidden)
        self.positions = nn.Parameter(torch.randn(1, 2 + chunk_size, hidden) * 0.02)
        self.blocks = nn.ModuleList(DiTBlock(hidden, heads, mlp_ratio) for _ in range(depth))
        self.final = FinalLayer(hidden, action_dim)

    def forward(
        self,
        cognition: torch.Tensor,
        state: torch.Tensor,
        state_mask: torch.Tensor,
        noisy_actions: torch.Tensor,
        action_mask: torch.Tensor,
        timesteps: torch.Tensor,
    ) -> torch.Tensor:
        """Shapes (N, C), (N, S), (N, S), (N, K, A), (N, K, A), (N,) -> predicted noise (N, K, A)."""
        state_mask, action_mask = state_mask.to(state.dtype), action_mask.to(noisy_actions.dtype)
        condition_token = self.condition_proj(cognition)
        tokens = torch.cat(
            [
                condition_token[:, None],
                self.state_encoder(torch.cat([state * state_mask, state_mask], dim=-1))[:, None],
                self.action_encoder(torch.cat([noisy_actions * action_mask, action_mask], dim=-1)),
            ],
            dim=1,
        )
        x = tokens + self.positions
        condition = condition_token + self.timestep(timesteps)
        for block in self.blocks:
            x = block(x, condition, self.causal)
        return self.final(x[:, 2:], condition)

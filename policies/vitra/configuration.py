"""``VitraConfig``: every number of the VITRA model and its diffusion objective, in one draccus dataclass.

Numbers come from VITRA_FACTS.md, "Model" and "Action, state, instruction", unless a field says
otherwise. The dataclass defaults are the paper's recipe around a small from-scratch backbone (no
``backbone_path``), so that a config always builds on a machine without the 3B weights;
``VitraConfig.tiny()`` shrinks it to run on a 2-core CPU and ``VitraConfig.paper(path)`` is the
published setup on a local PaliGemma-2 3B. The dataclasses live at module level because draccus
cannot resolve nested dataclasses defined inside functions (see ``vitra_bench.config``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from vitra_bench import layout

ExpertSize = Literal["dit-b", "tiny", "custom"]

# (hidden, depth, heads) of each named action-expert size. DiT-B is VITRA's expert (VITRA_FACTS, "Model").
EXPERT_PRESETS: dict[str, tuple[int, int, int]] = {"dit-b": (768, 12, 12), "tiny": (128, 2, 4)}


@dataclass
class ExpertConfig:
    """Size of the DiT action expert.

    ``hidden``, ``depth`` and ``heads`` left at ``None`` take the values of the ``size`` preset;
    set explicitly, they override it (the resolved config then records what was really built).
    """

    size: ExpertSize = "dit-b"
    """Named preset: "dit-b" (768 wide, 12 layers, 12 heads, the paper's), "tiny" (CPU tests), or
    "custom" (then hidden, depth and heads are all required)."""
    hidden: int | None = None
    """Token width of the expert."""
    depth: int | None = None
    """Number of DiT blocks."""
    heads: int | None = None
    """Attention heads per block; must divide ``hidden``."""
    mlp_ratio: int = 4
    """MLP width as a multiple of ``hidden`` (DiT-B: x4, tanh-GELU)."""

    def __post_init__(self) -> None:
        preset = EXPERT_PRESETS.get(self.size)
        if preset is None and None in (self.hidden, self.depth, self.heads):
            raise ValueError("expert.size 'custom' needs expert.hidden, expert.depth and expert.heads")
        if preset is not None:
            self.hidden = preset[0] if self.hidden is None else self.hidden
            self.depth = preset[1] if self.depth is None else self.depth
            self.heads = preset[2] if self.heads is None else self.heads
        if min(self.hidden, self.depth, self.heads, self.mlp_ratio) < 1 or self.hidden % self.heads:
            raise ValueError(
                f"expert: hidden {self.hidden}, depth {self.depth}, heads {self.heads}, mlp_ratio "
                f"{self.mlp_ratio} must be positive, with heads dividing hidden"
            )


@dataclass
class BackboneConfig:
    """Shape of a PaliGemma backbone built from scratch (used only when ``backbone_path`` is unset).

    The same transformers classes as the real PaliGemma-2 (SigLIP vision tower, Gemma or Gemma-2
    language model), only narrower and shallower; the defaults are a ~0.3 M-parameter model that
    runs a batch of 8 in tens of milliseconds on a CPU. The text vocabulary is the project's own
    byte-level tokenizer (``policies.vitra.tokenizer``), so nothing is downloaded.
    """

    patch_size: int = 14
    """Vision patch size in pixels; ``image_size`` must be a multiple of it."""
    vision_hidden: int = 64
    """SigLIP width."""
    vision_layers: int = 2
    """SigLIP depth."""
    vision_heads: int = 2
    """SigLIP attention heads."""
    vision_intermediate: int = 128
    """SigLIP MLP width."""
    text_model: Literal["gemma", "gemma2"] = "gemma2"
    """Language-model family: Gemma-2 as in PaliGemma-2, or Gemma-1 as in PaliGemma."""
    text_hidden: int = 64
    """Language-model width (the cognition feature's size)."""
    text_layers: int = 2
    """Language-model depth."""
    text_heads: int = 2
    """Language-model query heads."""
    text_kv_heads: int = 1
    """Language-model key/value heads (grouped-query attention, as Gemma)."""
    text_head_dim: int = 32
    """Language-model head size."""
    text_intermediate: int = 128
    """Language-model MLP width."""


@dataclass
class VitraConfig:
    """The VITRA policy: PaliGemma backbone + FoV and cognition tokens + causal DiT expert, DDPM/DDIM."""

    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    """From-scratch backbone shape; ignored when ``backbone_path`` is set."""
    backbone_path: Path | None = None
    """A local directory holding a PaliGemma(-2) checkpoint saved by transformers (``save_pretrained``:
    config.json, safetensors weights, tokenizer files), e.g. paligemma2-3b-mix-224. Nothing is ever
    downloaded: a missing directory is an error."""
    freeze_vision: bool = True
    """Keep the SigLIP vision tower fixed; the projector and language model train (VITRA_FACTS, "Model")."""
    image_size: int = 224
    """Square side the image is squashed to before the vision tower (PaliGemma-2 mix-224: 224)."""
    max_prompt_tokens: int = 128
    """Instruction tokens kept per sample (after ``<bos>``); longer prompts are truncated."""
    expert: ExpertConfig = field(default_factory=ExpertConfig)
    """Action-expert size."""
    causal: bool = True
    """Causal attention over the expert's tokens [cognition, state, actions]; False is the paper's
    bidirectional ablation (worse: 9.3 vs 8.8 cm, VITRA_FACTS, "Evaluation")."""
    chunk_size: int = layout.CHUNK_SIZE
    """Action steps predicted per sample."""
    action_dim: int = layout.ACTION_DIM
    """Bimanual action size (left 0:51, right 51:102)."""
    state_dim: int = layout.STATE_DIM
    """Bimanual dataset state size (left 0:61, right 61:122, each ending with 10 shape betas)."""
    use_beta: bool = False
    """Feed the hand-shape betas to the model. VITRA drops them (the model's state is the 51 pose
    dims per hand, VITRA_FACTS, "Action, state, instruction")."""
    num_train_timesteps: int = 100
    """DDPM steps of the forward process (cosine "squaredcos_cap_v2" schedule, epsilon prediction)."""
    num_inference_steps: int = 10
    """DDIM steps at sampling (eta 0)."""
    noise_draws: int = 4
    """Fresh (noise, timestep) draws per sample and training step; the backbone runs once per sample.
    VITRA_FACTS reads 8 in the released pretraining code and 2 for fine-tuning (see ``paper``)."""
    cfg_scale: float = 5.0
    """Classifier-free guidance scale at sampling; 1 is the plain conditional model."""
    condition_dropout: float = 0.1
    """Probability, per draw in training, of replacing the cognition feature by the learned null one."""
    state_dropout: float = 0.1
    """Probability, per draw in training, of zeroing the whole state and its mask (human data only:
    set 0 for robot fine-tuning)."""
    wrist_loss_weight: float = 1.0
    """Loss weight of the wrist components (dt, dR); robot fine-tuning uses 1.6."""
    finger_loss_weight: float = 1.0
    """Loss weight of the finger components (theta); robot fine-tuning uses 0.4."""

    def __post_init__(self) -> None:
        if min(self.chunk_size, self.action_dim, self.state_dim, self.noise_draws, self.max_prompt_tokens) < 1:
            raise ValueError("chunk_size, action_dim, state_dim, noise_draws, max_prompt_tokens must be positive")
        if self.action_dim != layout.ACTION_DIM or self.state_dim != layout.STATE_DIM:
            raise ValueError(
                f"action_dim/state_dim must be {layout.ACTION_DIM}/{layout.STATE_DIM}: the loss components and "
                "state layout are those of vitra_bench.layout"
            )
        if not 1 <= self.num_inference_steps <= self.num_train_timesteps:
            raise ValueError("need 1 <= num_inference_steps <= num_train_timesteps")
        for name in ("condition_dropout", "state_dropout"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1]")
        if min(self.cfg_scale, self.wrist_loss_weight, self.finger_loss_weight) < 0:
            raise ValueError("cfg_scale and loss weights must be non-negative")
        if self.backbone_path is None and self.image_size % self.backbone.patch_size:
            raise ValueError(f"image_size {self.image_size} is not a multiple of patch_size {self.backbone.patch_size}")

    @classmethod
    def tiny(cls) -> VitraConfig:
        """A few-hundred-thousand-parameter model for CPU tests and smoke runs: 112 px, tiny backbone and expert."""
        return cls(image_size=112, expert=ExpertConfig(size="tiny"))

    @classmethod
    def paper(cls, backbone_path: Path | str) -> VitraConfig:
        """The published pretraining setup on a local PaliGemma-2 3B mix-224: DiT-B, 224 px, 8 noise draws."""
        return cls(backbone_path=Path(backbone_path), image_size=224, expert=ExpertConfig(size="dit-b"), noise_draws=8)

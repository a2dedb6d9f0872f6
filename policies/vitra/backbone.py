"""The VLM half of VITRA: PaliGemma reads image + instruction + FoV and yields one cognition feature.

Token order (VITRA_FACTS, "Model"): image tokens, ``<bos>``, instruction, newline, FoV token,
cognition token, all attending to each other (bidirectional, which PaliGemma gives a prefix whose
``token_type_ids`` are 0). The cognition token's final hidden state, after the language model's last
norm, is the condition of the action expert.

The transformers classes are PaliGemma's own, so the real PaliGemma-2 3B loads with
``from_pretrained`` from a local directory and a from-scratch model has the same parameter names.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    AutoTokenizer,
    Gemma2Config,
    GemmaConfig,
    PaliGemmaConfig,
    PaliGemmaForConditionalGeneration,
    PreTrainedTokenizerBase,
    SiglipVisionConfig,
)

from policies.vitra.configuration import BackboneConfig, VitraConfig
from policies.vitra.tokenizer import IMAGE, byte_tokenizer, encode_prompts

# SigLIP normalises pixels to [-1, 1] (PaliGemma's image processor: mean 0.5, std 0.5).
_PIXEL_MEAN, _PIXEL_STD = 0.5, 0.5


def scratch_vlm(
    shape: BackboneConfig, image_size: int, tokenizer: PreTrainedTokenizerBase
) -> PaliGemmaForConditionalGeneration:
    """A randomly initialised PaliGemma of the given shape whose vocabulary covers ``tokenizer``."""
    vision = SiglipVisionConfig(
        hidden_size=shape.vision_hidden,
        intermediate_size=shape.vision_intermediate,
        num_hidden_layers=shape.vision_layers,
        num_attention_heads=shape.vision_heads,
        image_size=image_size,
        patch_size=shape.patch_size,
    )
    text_class = Gemma2Config if shape.text_model == "gemma2" else GemmaConfig
    text = text_class(
        hidden_size=shape.text_hidden,
        intermediate_size=shape.text_intermediate,
        num_hidden_layers=shape.text_layers,
        num_attention_heads=shape.text_heads,
        num_key_value_heads=shape.text_kv_heads,
        head_dim=shape.text_head_dim,
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    config = PaliGemmaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE),
        vocab_size=len(tokenizer),
        projection_dim=shape.text_hidden,
        hidden_size=shape.text_hidden,
    )
    return PaliGemmaForConditionalGeneration(config)


def pretrained_vlm(path: Path) -> tuple[PaliGemmaForConditionalGeneration, PreTrainedTokenizerBase]:
    """PaliGemma weights and tokenizer from a local ``save_pretrained`` directory; never downloads.

    Weights load in float32: the expert trains in fp32 and so do the VLM's master weights (VITRA
    autocasts the VLM to bf16, which a training loop can do around the forward).
    """
    if not Path(path).is_dir():
        raise FileNotFoundError(f"backbone_path {path} is not a directory (a PaliGemma save_pretrained folder)")
    vlm = PaliGemmaForConditionalGeneration.from_pretrained(path, local_files_only=True, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return vlm, tokenizer


def architecture_vlm(path: Path) -> tuple[PaliGemmaForConditionalGeneration, PreTrainedTokenizerBase]:
    """A PaliGemma with the architecture (config.json) and tokenizer saved in ``path`` but untrained weights.

    A policy checkpoint keeps its backbone's description this way; its weights come from the
    checkpoint's own safetensors, so the original ``backbone_path`` need not exist any more.
    """
    config = PaliGemmaConfig.from_pretrained(path, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return PaliGemmaForConditionalGeneration(config), tokenizer


class VitraBackbone(nn.Module):
    """PaliGemma + FoV MLP + cognition token: ``(images, instructions, fov) -> (B, text_hidden)`` feature.

    Args:
        vlm: the PaliGemma model (its ``lm_head`` is unused; it stays so that weights keep the
            names ``save_pretrained`` gives them).
        tokenizer: its tokenizer; ``len(tokenizer)`` must not exceed the text vocabulary.
        image_size: side of the square the vision tower expects.
        max_prompt_tokens: instruction tokens kept per sample.
        freeze_vision: keep the SigLIP tower fixed (no gradients, run under ``no_grad``).
    """

    def __init__(
        self,
        vlm: PaliGemmaForConditionalGeneration,
        tokenizer: PreTrainedTokenizerBase,
        image_size: int,
        max_prompt_tokens: int,
        freeze_vision: bool,
    ) -> None:
        super().__init__()
        vision, text = vlm.config.vision_config, vlm.config.text_config
        if vision.image_size != image_size:
            raise ValueError(f"config image_size {image_size} differs from the vision tower's {vision.image_size}")
        if len(tokenizer) > text.vocab_size:
            raise ValueError(f"tokenizer has {len(tokenizer)} tokens, the text vocabulary only {text.vocab_size}")
        self.vlm = vlm
        self.tokenizer = tokenizer
        self.image_size = image_size
        self.max_prompt_tokens = max_prompt_tokens
        self.freeze_vision = freeze_vision
        self.hidden_size = text.hidden_size
        vlm.model.vision_tower.requires_grad_(not freeze_vision)
        # VITRA_FACTS "Model": FoV token = MLP(2 -> H -> H, GELU) on [fov_x, fov_y] in radians.
        self.fov_mlp = nn.Sequential(
            nn.Linear(2, self.hidden_size), nn.GELU(), nn.Linear(self.hidden_size, self.hidden_size)
        )
        # An untied copy of a vocabulary row (VITRA_FACTS "Model"): it starts where the language model's
        # inputs live, at the embedding it already gives <eos>, then learns its own role.
        with torch.no_grad():
            eos = torch.tensor([tokenizer.eos_token_id])
            self.cognition = nn.Parameter(vlm.get_input_embeddings()(eos)[0].float().clone())

    def pixel_values(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) uint8 -> (B, 3, S, S) float in [-1, 1]: squashed to the square, as PaliGemma's processor does."""
        x = images.to(self.cognition.device, torch.float32) / 255.0
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", antialias=True)
        return (x - _PIXEL_MEAN) / _PIXEL_STD

    def image_features(self, images: torch.Tensor) -> torch.Tensor:
        """Projected image tokens (B, N, text_hidden)."""
        model = self.vlm.model
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_vision):
            patches = model.vision_tower(self.pixel_values(images).to(self.vlm.dtype)).last_hidden_state
        return model.multi_modal_projector(patches)

    def forward(self, images: torch.Tensor, instructions: Sequence[str], fov: torch.Tensor) -> torch.Tensor:
        """The cognition feature (B, text_hidden), float32."""
        device = self.cognition.device
        ids, text_mask = encode_prompts(self.tokenizer, instructions, self.max_prompt_tokens)
        ids, text_mask = ids.to(device), text_mask.to(device)
        image = self.image_features(images)
        batch, num_image = image.shape[:2]
        text = self.vlm.get_input_embeddings()(ids)
        fov_token = self.fov_mlp(fov.to(device, torch.float32))[:, None]
        cognition = self.cognition.expand(batch, 1, -1)
        embeds = torch.cat([image, text, fov_token.to(text.dtype), cognition.to(text.dtype)], dim=1)
        ones = text_mask.new_ones
        mask = torch.cat([ones(batch, num_image), text_mask, ones(batch, 2)], dim=1)
        hidden = self.vlm.model(
            inputs_embeds=embeds,
            attention_mask=mask,
            position_ids=mask.cumsum(1),  # PaliGemma counts from 1; padding adds nothing
            token_type_ids=torch.zeros_like(mask),  # one prefix block: bidirectional attention
        ).last_hidden_state
        return hidden[:, -1].float()


def build_backbone(config: VitraConfig, architecture_dir: Path | None = None) -> VitraBackbone:
    """The backbone ``config`` asks for: from ``architecture_dir`` (a checkpoint's, untrained weights),
    else the pretrained one at ``config.backbone_path``, else a from-scratch ``config.backbone``."""
    if architecture_dir is not None:
        vlm, tokenizer = architecture_vlm(architecture_dir)
    elif config.backbone_path is not None:
        vlm, tokenizer = pretrained_vlm(config.backbone_path)
    else:
        tokenizer = byte_tokenizer()
        vlm = scratch_vlm(config.backbone, config.image_size, tokenizer)
    return VitraBackbone(vlm, tokenizer, config.image_size, config.max_prompt_tokens, config.freeze_vision)

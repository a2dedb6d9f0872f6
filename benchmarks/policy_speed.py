"""How fast is the VITRA policy here, and how big is the real one? DDIM-10 latency, training throughput, 3B size.

Prints, for the tiny config on one CPU thread:
* latency of one action chunk (DDIM 10 steps with classifier-free guidance, batch 1) against the
  latency of a single denoising step measured in the same run (the ratio is the cost of sampling);
  goal < 50 ms per chunk;
* training samples/s (forward + backward, batch 8, the config's noise draws);
and, built on PyTorch's meta device (no memory, no weights), the parameter count of the paper's
configuration (PaliGemma-2 3B sizes + DiT-B expert) with a memory estimate for bf16 inference and
for training (bf16 weights, fp32 AdamW moments and master weights of the trainable part).

    python benchmarks/policy_speed.py
"""

from __future__ import annotations

import dataclasses
import time

import torch

from policies.vitra.configuration import BackboneConfig, ExpertConfig, VitraConfig
from policies.vitra.modeling import VitraPolicy
from vitra_bench import layout
from vitra_bench.benchmarking import machine_info, write_results

# PaliGemma-2 3B at 224 px: SigLIP So400m/14 + Gemma-2 2B (the published model cards' sizes).
PALIGEMMA2_3B = BackboneConfig(
    patch_size=14, vision_hidden=1152, vision_layers=27, vision_heads=16, vision_intermediate=4304,
    text_model="gemma2", text_hidden=2304, text_layers=26, text_heads=8, text_kv_heads=4, text_head_dim=256,
    text_intermediate=9216,
)  # fmt: skip


def batch(size: int, image_size: int) -> dict:
    return {
        "image": torch.randint(0, 255, (size, 3, image_size, image_size), dtype=torch.uint8),
        "instruction": ["Left hand: None. Right hand: Pick up the red cup."] * size,
        "fov": torch.full((size, 2), 1.2),
        "state": torch.randn(size, layout.STATE_DIM) * 0.1,
        "state_mask": torch.ones(size, layout.STATE_DIM, dtype=torch.bool),
        "actions": torch.randn(size, layout.CHUNK_SIZE, layout.ACTION_DIM) * 0.01,
        "action_mask": torch.ones(size, layout.CHUNK_SIZE, layout.ACTION_DIM, dtype=torch.bool),
    }


def timed(function, repeats: int) -> float:
    """Median seconds of ``repeats`` calls after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = VitraConfig.tiny()
    policy = VitraPolicy(config).eval()
    one = batch(1, config.image_size)
    chunk = timed(lambda: policy.predict_actions(one, torch.Generator().manual_seed(0)), 10)
    single = VitraPolicy(dataclasses.replace(config, num_inference_steps=1)).eval()
    single.load_state_dict(policy.state_dict())
    step = timed(lambda: single.predict_actions(one, torch.Generator().manual_seed(0)), 10)

    policy.train()
    optimizer = torch.optim.AdamW([p for p in policy.parameters() if p.requires_grad], lr=1e-4)
    eight = batch(8, config.image_size)

    def train_step() -> None:
        optimizer.zero_grad()
        policy.compute_loss(eight)["loss"].backward()
        optimizer.step()

    train_s = timed(train_step, 5)
    tiny_params = sum(p.numel() for p in policy.parameters())

    with torch.device("meta"):
        paper = VitraPolicy(dataclasses.replace(config, backbone=PALIGEMMA2_3B, image_size=224, expert=ExpertConfig("dit-b")))
    total = sum(p.numel() for p in paper.parameters())
    trainable = sum(p.numel() for p in paper.parameters() if p.requires_grad)
    inference_gib = 2 * total / 2**30  # bf16 weights
    training_gib = (2 * total + 12 * trainable) / 2**30  # + fp32 master weights and two AdamW moments

    rows = [
        {"measure": "tiny: DDIM-10 chunk latency, batch 1, 1 thread", "value": f"{1000 * chunk:.1f} ms", "ratio": f"{chunk / step:.2f}x one denoising step ({1000 * step:.1f} ms); goal < 50 ms"},
        {"measure": "tiny: training samples/s (batch 8, forward + backward + AdamW)", "value": f"{8 / train_s:.1f}", "ratio": f"{train_s / chunk:.1f}x a chunk's latency"},
        {"measure": "tiny: parameters", "value": f"{tiny_params / 1e6:.2f} M", "ratio": "-"},
        {"measure": "paper config (PaliGemma-2 3B + DiT-B): parameters", "value": f"{total / 1e9:.2f} B ({trainable / 1e9:.2f} B trainable)", "ratio": f"{total / tiny_params:.0f}x tiny"},
        {"measure": "paper config: memory, bf16 inference (weights)", "value": f"{inference_gib:.1f} GiB", "ratio": "-"},
        {"measure": "paper config: memory, training (bf16 weights + fp32 master + AdamW), no activations", "value": f"{training_gib:.1f} GiB", "ratio": "-"},
    ]  # fmt: skip
    print(write_results("policy_speed", "VITRA policy: latency, throughput, size", machine_info(threads="1"), rows))


if __name__ == "__main__":
    main()

"""The diffusion objective and sampler of VITRA, on diffusers' schedulers.

Training: DDPM with 100 steps, cosine ("squaredcos_cap_v2") betas, epsilon prediction, fixed-small
variance. Sampling: DDIM with 10 steps and eta 0 (VITRA_FACTS, "Model"). Samples are never clipped:
actions are normalised to unit variance, not to [-1, 1], so diffusers' default clip would cut valid
motions.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from diffusers import DDIMScheduler, DDPMScheduler

# (noisy sample x_t, timesteps (N,)) -> predicted noise, same shape as x_t.
Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class ActionDiffusion:
    """Noising for training and DDIM sampling over tensors of any shape (batch first)."""

    def __init__(self, num_train_timesteps: int, num_inference_steps: int) -> None:
        self.num_inference_steps = num_inference_steps
        self.train_scheduler = DDPMScheduler(
            num_train_timesteps=num_train_timesteps,
            beta_schedule="squaredcos_cap_v2",
            prediction_type="epsilon",
            variance_type="fixed_small",
            clip_sample=False,
        )
        # Built once: constructing a diffusers scheduler costs far more than sampling a tiny chunk.
        # DDIM's step() keeps no state between calls, so one instance serves every sample.
        self.sample_scheduler = DDIMScheduler.from_config(self.train_scheduler.config)

    @property
    def num_train_timesteps(self) -> int:
        return self.train_scheduler.config.num_train_timesteps

    def add_noise(
        self, clean: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One forward-process draw per row: ``(noisy, noise, timesteps)`` with timesteps uniform in [0, T)."""
        noise = torch.randn(clean.shape, generator=generator, device=_device(generator, clean)).to(clean.device)
        steps = torch.randint(
            0, self.num_train_timesteps, (clean.shape[0],), generator=generator, device=_device(generator, clean)
        ).to(clean.device)
        return self.train_scheduler.add_noise(clean, noise, steps), noise, steps

    def sample(
        self,
        denoise: Denoiser,
        shape: tuple[int, ...],
        device: torch.device,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """DDIM (eta 0) from Gaussian noise: deterministic given ``generator``'s state."""
        scheduler = self.sample_scheduler
        scheduler.set_timesteps(self.num_inference_steps, device=device)
        gen_device = generator.device if generator is not None else device
        x = torch.randn(shape, generator=generator, device=gen_device).to(device)
        for step in scheduler.timesteps:
            eps = denoise(x, step.expand(shape[0]))
            x = scheduler.step(eps, step, x, eta=0.0).prev_sample
        return x


def _device(generator: torch.Generator | None, like: torch.Tensor) -> torch.device:
    """Draw on the generator's device (a CPU generator cannot fill a CUDA tensor), else the data's."""
    return generator.device if generator is not None else like.device

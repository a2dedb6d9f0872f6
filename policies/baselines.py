"""Reference policies that need no training, for the benchmarks' lower bounds."""

from __future__ import annotations

import numpy as np
import torch

from vitra_bench import layout


class InitialPositionPolicy:
    """The hand does not move: the paper's "initial position" row (20.0 / 20.0 cm, VITRA_FACTS "Evaluation").

    Wrist actions are step deltas, so "not moving" is zero; finger actions are absolute angles at the
    step's end, so "not moving" is the state's current finger angles (``vitra_bench.layout``). A hand
    whose state is masked gets zeros.
    """

    def __init__(self, chunk_size: int = layout.CHUNK_SIZE) -> None:
        self.chunk_size = chunk_size

    def predict_actions(self, batch: dict, generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, chunk, 102) float32; ``generator`` is unused (nothing is random)."""
        state = batch["state"].to(torch.float32) * batch["state_mask"].to(torch.float32)
        actions = state.new_zeros(len(state), self.chunk_size, layout.ACTION_DIM)
        width = layout.FINGERS.stop - layout.FINGERS.start
        for hand, action_slice in layout.ACTION_SLICES.items():
            source = layout.STATE_SLICES[hand].start + layout.FINGERS.start
            target = action_slice.start + layout.FINGERS.start
            actions[:, :, target : target + width] = state[:, None, source : source + width]
        return actions


class RandomPolicy:
    """Uniform random actions inside an action box: the lower bound that "learned something" must
    beat (issue #9). The box comes from the caller (a gymnasium env's ``action_space``), because a
    policy knows nothing of the robot's limits.
    """

    def __init__(self, low: np.ndarray, high: np.ndarray, chunk_size: int = layout.CHUNK_SIZE) -> None:
        self.low = torch.as_tensor(np.asarray(low, np.float32))
        self.high = torch.as_tensor(np.asarray(high, np.float32))
        if self.low.shape != (layout.ACTION_DIM,) or self.high.shape != self.low.shape:
            raise ValueError(f"action box must be ({layout.ACTION_DIM},), got {tuple(self.low.shape)}")
        self.chunk_size = chunk_size

    def predict_actions(self, batch: dict, generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, chunk, 102) float32 drawn with ``generator``, so a trial's seed fixes its actions."""
        shape = (len(batch["state"]), self.chunk_size, layout.ACTION_DIM)
        return self.low + (self.high - self.low) * torch.rand(shape, generator=generator)

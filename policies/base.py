"""The one method every policy offers the benchmarks, the robot envs and the real-robot runner."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class Policy(Protocol):
    """Maps a batch (the collated ``HandActionDataset`` format, metric units) to action chunks.

    The batch keys a policy may read: ``image`` (B, 3, H, W) uint8, ``instruction`` list[str], ``fov``
    (B, 2), ``intrinsics`` (B, 3, 3), ``state`` and ``state_mask`` (B, 122). Target keys
    (``actions``, ``action_mask``) may be present but must not be read when predicting.
    """

    def predict_actions(self, batch: dict, generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, chunk, 102) actions in metric units (``vitra_bench.layout``); ``generator`` fixes any sampling."""
        ...

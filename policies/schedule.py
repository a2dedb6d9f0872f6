"""The learning-rate schedule: linear warm-up, then cosine decay to a floor.

A pure function of the step, so the schedule has no state of its own to checkpoint: resuming at
step k sets the same rates as an uninterrupted run, and changing ``max_steps`` cannot silently
bend the curve of a resumed run when ``decay_steps`` is pinned.
"""

from __future__ import annotations

import math


def lr_factor(step: int, warmup_steps: int, decay_steps: int, min_ratio: float) -> float:
    """Multiplier of the base rate for optimizer update ``step`` (0-based).

    ``(step + 1) / warmup_steps`` during warm-up (so the first update is not wasted at rate 0),
    then a half cosine from 1 to ``min_ratio`` reached at ``decay_steps`` and held after it.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, decay_steps - warmup_steps))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

"""One way to name a policy on the command line: a checkpoint directory, a training run, or a baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from policies.base import Policy

BASELINES = ("initial", "random")


def resolve_checkpoint(name: str | Path) -> Path:
    """A checkpoint directory as given, or a training run directory's newest complete checkpoint."""
    from policies.train import checkpoint_dirs

    path = Path(name)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such policy checkpoint (or use one of: {', '.join(BASELINES)})")
    runs = checkpoint_dirs(path)
    return runs[-1] if runs else path


def load_named_policy(
    name: str | Path, device: str = "cpu", action_box: tuple[np.ndarray, np.ndarray] | None = None
) -> Policy:
    """``"initial"`` (the no-motion baseline), ``"random"`` (uniform in ``action_box``, the env's
    action space bounds), a checkpoint written by ``save_policy``, or a training run directory (its
    newest complete checkpoint)."""
    if str(name) == "initial":
        from policies.baselines import InitialPositionPolicy

        return InitialPositionPolicy()
    if str(name) == "random":
        if action_box is None:
            raise ValueError("the random policy needs the action box it draws from (low, high)")
        from policies.baselines import RandomPolicy

        return RandomPolicy(*action_box)
    from policies.checkpoints import load_policy

    return load_policy(resolve_checkpoint(name), device)

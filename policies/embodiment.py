"""The embodiment guard: is this checkpoint fit to drive this robot (or predict for this hand)?

The authors' users who fine-tuned on their own robot got absurdly large outputs from a wrong action
dimension or mask at inference combined with unnormalisation (VITRA_FACTS.md, "Robot
teleoperation episodes"). A checkpoint says what it was trained for through its ``config.json``
(``action_dim``, ``state_dim``) and its ``stats.json`` (per-dimension ``count`` of valid training
entries: the masks it saw). ``check_compatible`` compares both with an ``Embodiment`` and stops with
one message listing every mismatch:

* dimensions differ from the embodiment's;
* statistics are missing, of the wrong length, or not finite (unnormalisation would be garbage);
* a dimension the embodiment drives was never valid in training (its statistics are the
  placeholder mean 0 / std 1, and the model never learned it: e.g. a right-arm checkpoint on a
  bimanual robot, or a checkpoint trained with the other joint table);
* with ``exact`` (the default), a dimension valid in training that the embodiment lacks: the
  statistics come from another embodiment (typically a human-data checkpoint run on the robot
  before fine-tuning). Pass ``exact=False`` for such zero-shot runs on purpose.

Files are read as JSON only (never unpickled); a live policy's stats can be passed as a mapping.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from vitra_bench.corpus.schema import frame_features
from vitra_bench.embodiment import Embodiment

CONFIG_FILE = "config.json"
STATS_FILE = "stats.json"
_SHOWN = 6  # dimension names listed per problem


class EmbodimentMismatch(ValueError):
    """A checkpoint's dimensions, masks or statistics do not fit the embodiment it is run on."""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EmbodimentMismatch(f"{path}: unreadable ({error}); cannot check the checkpoint") from error


def _load(source: str | Path | Mapping[str, Any]) -> tuple[str, Mapping[str, Any] | None, Any]:
    """``(where, config, stats)`` from a checkpoint directory, ``{"config", "stats"}`` or stats alone."""
    if isinstance(source, (str, Path)):
        directory = Path(source)
        return str(directory), _read_json(directory / CONFIG_FILE), _read_json(directory / STATS_FILE)
    if "action" in source and "state" in source:
        return "statistics", None, source
    return "checkpoint", source.get("config"), source.get("stats")


def _stat(stats: Any, name: str) -> np.ndarray:
    """One statistic of a feature given as stats JSON (mapping) or a ``layout.NormStats``."""
    value = stats[name] if isinstance(stats, Mapping) else getattr(stats, name)
    return np.asarray(value, np.float64)


def _names(feature: str, dims: np.ndarray) -> str:
    names = frame_features()[feature].names or []
    shown = ", ".join(names[d] if d < len(names) else str(d) for d in dims[:_SHOWN])
    return shown + (f" and {len(dims) - _SHOWN} more" if len(dims) > _SHOWN else "")


def _check_feature(label: str, feature: str, stats: Any, dim: int, mask: np.ndarray, exact: bool) -> list[str]:
    """Problems of one feature's statistics (``label`` "action"/"state", corpus feature name ``feature``)."""
    try:
        mean, std, count = (_stat(stats, name) for name in ("mean", "std", "count"))
    except (KeyError, AttributeError, TypeError, ValueError) as error:
        return [f"{label} statistics are malformed ({error!r})"]
    if mean.shape != (dim,) or std.shape != (dim,):
        return [f"{label} statistics have {mean.shape[-1] if mean.ndim else 0} dims, the embodiment has {dim}"]
    problems = []
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std >= 0).all()):
        problems.append(f"{label} statistics hold NaN, inf or negative std")
    if count.size not in (1, dim):
        return [*problems, f"{label} statistics count {count.size} entries, expected 1 or {dim}"]
    trained = np.broadcast_to(count.reshape(-1) > 0, (dim,))
    missing = np.flatnonzero(mask & ~trained)
    if len(missing):
        problems.append(f"{label} dims this embodiment uses were never valid in training: {_names(feature, missing)}")
    extra = np.flatnonzero(trained & ~mask)
    if exact and len(extra):
        problems.append(
            f"{label} dims valid in training that this embodiment lacks (statistics of another embodiment?): "
            f"{_names(feature, extra)}"
        )
    return problems


def check_compatible(checkpoint: str | Path | Mapping[str, Any], embodiment: Embodiment, *, exact: bool = True) -> None:
    """Raise ``EmbodimentMismatch`` unless ``checkpoint`` fits ``embodiment`` (see the module docstring).

    Args:
        checkpoint: a checkpoint directory (``config.json`` + ``stats.json``), a mapping
            ``{"config": ..., "stats": ...}`` (config a dict with ``action_dim``/``state_dim`` or
            ``None``), or statistics alone ``{"action": ..., "state": ...}`` (each in the corpus's
            ``meta/stats.json`` format or a ``layout.NormStats``).
        embodiment: the body the policy is about to drive.
        exact: also reject dimensions trained on but absent from the embodiment.
    """
    where, config, stats = _load(checkpoint)
    problems = []
    if config is not None:
        for key, want in (("action_dim", embodiment.action_dim), ("state_dim", embodiment.state_dim)):
            got = config.get(key) if isinstance(config, Mapping) else getattr(config, key, None)
            if got != want:
                problems.append(f"{key} is {got}, {embodiment.name} needs {want}")
    if stats is None:
        problems.append("no normalisation statistics: outputs could not be unnormalised for this embodiment")
    else:
        for label, feature, dim, mask in (
            ("action", "action", embodiment.action_dim, embodiment.action_mask),
            ("state", "observation.state", embodiment.state_dim, embodiment.state_mask),
        ):
            part = stats.get(label) if isinstance(stats, Mapping) else getattr(stats, label, None)
            if part is None:
                problems.append(f"no {label} statistics")
            else:
                problems.extend(_check_feature(label, feature, part, dim, mask, exact))
    if problems:
        raise EmbodimentMismatch(
            f"{where} does not fit embodiment {embodiment.name!r}:\n  - " + "\n  - ".join(problems)
        )

"""Policy checkpoints as plain files: safetensors weights and JSON, never a pickle.

A checkpoint directory holds

* ``model.safetensors``: every parameter (tied ones once);
* ``config.json``: the resolved ``VitraConfig``;
* ``stats.json``: the normalisation statistics (``{"action": ..., "state": ...}`` in the corpus's
  ``meta/stats.json`` format, or ``null``);
* ``backbone/``: the PaliGemma ``config.json`` and tokenizer files, so the checkpoint loads without
  the original ``backbone_path`` (its weights are in ``model.safetensors``);
* ``metadata.json``: the format version, library versions and the caller's ``extra_metadata``.

Loading rebuilds the model from the JSON files and fills it from the safetensors file with strict
name and shape checks, so a config that does not describe the weights fails loudly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import draccus
import safetensors
import torch
import transformers
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model

from policies.vitra.configuration import VitraConfig
from policies.vitra.modeling import VitraPolicy
from vitra_bench.corpus.dataset import SampleStats
from vitra_bench.corpus.feature_stats import stats_from_json, stats_to_json

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
STATS_FILE = "stats.json"
METADATA_FILE = "metadata.json"
BACKBONE_DIR = "backbone"
FORMAT = "vitra-bench-policy"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint directory is incomplete, unreadable, or its files disagree with each other."""


def save_policy(directory: str | Path, policy: VitraPolicy, extra_metadata: Mapping[str, Any] | None = None) -> Path:
    """Write ``policy`` to ``directory`` (created if needed, files replaced); returns the directory.

    ``extra_metadata`` (JSON-serialisable: step, dataset, git commit...) goes into ``metadata.json``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
        **dict(extra_metadata or {}),
    }
    (directory / METADATA_FILE).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    (directory / CONFIG_FILE).write_text(json.dumps(draccus.encode(policy.config), indent=2), encoding="utf-8")
    (directory / STATS_FILE).write_text(json.dumps(_stats_to_json(policy.stats)), encoding="utf-8")
    policy.backbone.vlm.config.save_pretrained(directory / BACKBONE_DIR)
    policy.backbone.tokenizer.save_pretrained(directory / BACKBONE_DIR)
    save_model(policy, str(directory / MODEL_FILE))
    return directory


def load_policy(directory: str | Path, device: str | torch.device = "cpu") -> VitraPolicy:
    """The policy saved by ``save_policy`` in ``directory``, on ``device``, in eval mode.

    Raises:
        CheckpointError: a file is missing or unreadable, or the weights do not match the config.
    """
    directory = Path(directory)
    for name in (MODEL_FILE, CONFIG_FILE, STATS_FILE, BACKBONE_DIR):
        if not (directory / name).exists():
            raise CheckpointError(f"{directory}: no {name}; not a policy checkpoint written by save_policy")
    try:
        config = draccus.decode(VitraConfig, _read_json(directory / CONFIG_FILE))
    except (draccus.utils.DraccusException, ValueError) as err:
        raise CheckpointError(f"{directory / CONFIG_FILE}: not a valid VitraConfig: {err}") from err
    stats = _stats_from_json(_read_json(directory / STATS_FILE), directory / STATS_FILE)
    try:
        policy = VitraPolicy(config, stats, architecture_dir=directory / BACKBONE_DIR)
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{directory}: cannot build the model the checkpoint describes: {err}") from err
    try:
        load_model(policy, str(directory / MODEL_FILE), strict=True)
    except (SafetensorError, RuntimeError, OSError) as err:
        raise CheckpointError(
            f"{directory / MODEL_FILE}: weights unreadable or not those of config.json: {err}"
        ) from err
    return policy.to(device).eval()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: unreadable JSON: {err}") from err


def _stats_to_json(stats: SampleStats | None) -> dict[str, Any] | None:
    return None if stats is None else {"action": stats_to_json(stats.action), "state": stats_to_json(stats.state)}


def _stats_from_json(obj: Any, path: Path) -> SampleStats | None:
    if obj is None:
        return None
    try:
        return SampleStats(action=stats_from_json(obj["action"]), state=stats_from_json(obj["state"]))
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: not action/state statistics: {err}") from err

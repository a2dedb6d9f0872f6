"""Everything beyond the weights that an exact resume needs: optimizer moments and RNG streams.

Written as safetensors (tensors) plus JSON (everything else), never pickle, so a checkpoint from
someone else can be opened without running their code. The learning-rate schedule is a function of
the step (``policies.schedule``) and the data order a function of seed, epoch and step
(``policies.train``), so the step is their whole state.

The optimizer file is written once (its state is the same on every process under DDP); the RNG
files once per process, since each process draws its own noise.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

OPTIMIZER_TENSORS = "optimizer.safetensors"
OPTIMIZER_JSON = "optimizer.json"
PROGRESS_JSON = "progress.json"


def rng_files(process_index: int) -> tuple[str, str]:
    return f"rng_{process_index}.safetensors", f"rng_{process_index}.json"


def save_optimizer(directory: Path, optimizer: torch.optim.Optimizer) -> None:
    """Per-parameter state tensors to safetensors (keyed ``<param index>.<name>``); groups and scalars to JSON."""
    state_dict = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, state in state_dict["state"].items():
        for name, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[name] = value
    save_file(tensors, str(directory / OPTIMIZER_TENSORS))
    meta = {"param_groups": state_dict["param_groups"], "scalars": scalars}
    (directory / OPTIMIZER_JSON).write_text(json.dumps(meta, indent=1), encoding="utf-8")


def load_optimizer(directory: Path, optimizer: torch.optim.Optimizer) -> None:
    """Inverse of ``save_optimizer``; the optimizer must have been built over the same parameter groups."""
    meta = json.loads((directory / OPTIMIZER_JSON).read_text(encoding="utf-8"))
    state: dict[int, dict[str, Any]] = {}
    for key, value in load_file(str(directory / OPTIMIZER_TENSORS)).items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    for index, values in meta["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    groups = [
        {k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in g.items()}
        for g in meta["param_groups"]
    ]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_rng(directory: Path, process_index: int, generators: dict[str, torch.Generator]) -> None:
    """Python's, numpy's and torch's global streams (CUDA too when initialised) and the named generators."""
    tensors = {"torch": torch.get_rng_state(), **{f"generator.{k}": g.get_state() for k, g in generators.items()}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors.update({f"cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    numpy_state = np.random.get_state(legacy=False)
    meta = {
        "python": random.getstate(),
        "numpy": {
            **numpy_state,
            "state": {"key": numpy_state["state"]["key"].tolist(), "pos": numpy_state["state"]["pos"]},
        },
    }
    tensor_file, json_file = rng_files(process_index)
    save_file(tensors, str(directory / tensor_file))
    (directory / json_file).write_text(json.dumps(meta), encoding="utf-8")


def load_rng(directory: Path, process_index: int, generators: dict[str, torch.Generator]) -> None:
    """Restore what ``save_rng`` wrote; a process with no file of its own (more processes than
    before) keeps its fresh seeds, which cannot be bit-exact anyway."""
    tensor_file, json_file = rng_files(process_index)
    if not (directory / tensor_file).exists():
        return
    tensors = load_file(str(directory / tensor_file))
    meta = json.loads((directory / json_file).read_text(encoding="utf-8"))
    torch.set_rng_state(tensors["torch"])
    for name, generator in generators.items():
        generator.set_state(tensors[f"generator.{name}"])
    cuda = [tensors[f"cuda.{i}"] for i in range(sum(k.startswith("cuda.") for k in tensors))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy_state = meta["numpy"]
    numpy_state["state"]["key"] = np.asarray(numpy_state["state"]["key"], np.uint32)
    np.random.set_state(numpy_state)


def save_progress(directory: Path, step: int, **extra: Any) -> None:
    """The step reached (written last: its presence marks a complete checkpoint) and context for humans."""
    (directory / PROGRESS_JSON).write_text(json.dumps({"step": step, **extra}, indent=1), encoding="utf-8")


def load_progress(directory: Path) -> dict[str, Any]:
    return json.loads((directory / PROGRESS_JSON).read_text(encoding="utf-8"))

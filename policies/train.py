"""Train a VITRA policy on a corpus: ``train(TrainConfig) -> run directory``.

Read top to bottom like a CleanRL script: the config, the data split, the model and optimizer, then
the loop. The recipe is VITRA_FACTS.md, "Model": two stages (the backbone frozen while the action
expert, FoV MLP and cognition token start, then everything), AdamW with separate expert and
backbone rates, gradient clipping at 1.0, warm-up + cosine schedule, optional bf16 autocast.
``accelerate`` runs the same loop on one CPU or many GPUs (``accelerate launch -m
vitra_bench.cli.main train ...``).

A run directory holds ``config.yaml`` (the resolved config), ``metrics.csv`` and ``loss.png``, and
``checkpoints/step_NNNNNNN/`` (``save_policy``'s weights, config and statistics, plus the optimizer
and RNG state of ``policies.training_state``). Starting ``train`` again on the same directory
resumes from the newest complete checkpoint, bit-exactly on CPU: the data order is a function of
(seed, epoch), the augmentation of (seed, epoch, sample), the schedule of the step, and every RNG
stream is restored. A checkpoint is written under a temporary name and renamed when complete, so a
run killed while saving resumes from the previous one.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Sampler

from policies.augment import Augment, AugmentConfig
from policies.schedule import lr_factor
from policies.training_state import (
    load_optimizer,
    load_progress,
    load_rng,
    save_optimizer,
    save_progress,
    save_rng,
)
from policies.vitra.configuration import VitraConfig
from vitra_bench.config import CONFIG_FILENAME, load_config, save_config
from vitra_bench.corpus.loader import corpus_loader

CHECKPOINTS = "checkpoints"
METRICS = "metrics.csv"
PLOT = "loss.png"
METRIC_FIELDS = (
    "step",
    "epoch",
    "loss",
    "loss_wrist",
    "loss_fingers",
    "lr",
    "backbone_lr",
    "grad_norm",
    "samples_per_s",
    "eval_loss",
)
# Fields that may change when a run resumes: they do not change what is computed.
RUNTIME_FIELDS = ("max_steps", "num_workers", "log_every", "save_every", "progress")


@dataclass
class TrainConfig:
    """What ``vitra-bench train`` does. Defaults suit the tiny model on a CPU; the paper's values are noted."""

    corpus: Path = Path("runs/synthetic/corpus")
    """Corpus directory (``vitra-bench corpus synth`` makes a small one)."""
    output_dir: Path = Path("runs/train")
    """Run directory; an existing run in it is resumed from its newest checkpoint."""
    camera: str | None = None
    """Camera to train on; default the corpus's first."""
    policy: VitraConfig = field(default_factory=VitraConfig.tiny)
    """The model (ignored, except the overrides below, when ``init_checkpoint`` is set)."""
    init_checkpoint: Path | None = None
    """Start from this checkpoint's weights, config and statistics (fine-tuning a pretrained model); a
    training run directory means its newest checkpoint."""
    stats_from_corpus: bool = False
    """With ``init_checkpoint``: normalise by this corpus's statistics instead of the checkpoint's
    (a new embodiment, e.g. robot fine-tuning after human pretraining)."""
    wrist_loss_weight: float | None = None
    """Override of the model's wrist loss weight (robot fine-tuning: 1.6)."""
    finger_loss_weight: float | None = None
    """Override of the model's finger loss weight (robot fine-tuning: 0.4)."""
    noise_draws: int | None = None
    """Override of the model's noise draws per sample (paper: 8 pretraining, 2 fine-tuning)."""
    state_dropout: float | None = None
    """Override of the model's state dropout (0 for robot data)."""
    augment: bool = True
    """Augment training samples; False is the paper's "no augmentation" ablation."""
    augmentation: AugmentConfig = field(default_factory=AugmentConfig)
    """Augmentation parameters."""
    data_fraction: float = 1.0
    """Share of the training episodes used, in (0, 1] (scaling sweeps). For one ``data_seed`` a smaller
    fraction is a subset of a larger one."""
    data_seed: int = 0
    """Seed of the episode shuffle that picks the fraction and the held-out split."""
    eval_fraction: float = 0.0
    """Share of the corpus's episodes held out for an evaluation loss; the same episodes whatever
    ``data_fraction`` is. 0 disables evaluation."""
    eval_every: int = 500
    """Steps between evaluations (and one at the end) when ``eval_fraction`` > 0."""
    eval_batches: int = 8
    """Batches of the held-out split per evaluation (the same ones, with the same noise, every time)."""
    max_steps: int = 2000
    """Optimizer steps (paper: 80K pretraining, 20K fine-tuning)."""
    batch_size: int = 8
    """Samples per step and process (paper: 64 x 8 GPUs)."""
    num_workers: int = 0
    """DataLoader worker processes."""
    seed: int = 0
    """Seed of model initialisation, data order, augmentation and diffusion noise."""
    lr: float = 1e-4
    """Peak learning rate of the expert, FoV MLP, cognition token and null condition (paper: 1e-4)."""
    backbone_lr: float = 1e-5
    """Peak learning rate of the backbone after the frozen stage (paper: 1e-5)."""
    freeze_backbone_steps: int = 250
    """Stage 1: steps with the backbone frozen (paper: 5K of 80K; fine-tuning: 0)."""
    weight_decay: float = 0.1
    """AdamW weight decay (paper: 0.1)."""
    betas: tuple[float, float] = (0.9, 0.999)
    """AdamW betas (paper: (0.9, 0.999) pretraining, (0.9, 0.95) fine-tuning)."""
    grad_clip: float = 1.0
    """Gradient-norm clip (paper: 1.0); 0 disables it."""
    warmup_steps: int = 100
    """Linear warm-up steps (unpublished)."""
    decay_steps: int | None = None
    """Step at which the cosine decay reaches ``min_lr_ratio``; default ``max_steps``. Pin it to extend
    a run with a larger ``max_steps`` without changing its past schedule."""
    min_lr_ratio: float = 0.1
    """Final learning rate as a share of the peak (unpublished)."""
    mixed_precision: Literal["no", "bf16"] = "no"
    """bf16 autocast (the paper's, on the VLM; the model keeps its expert in fp32)."""
    save_every: int = 500
    """Steps between checkpoints; the last step is always saved."""
    log_every: int = 10
    """Steps per row of metrics.csv (losses averaged over them)."""
    progress: bool = True
    """Show a tqdm progress bar."""

    def __post_init__(self) -> None:
        if not 0.0 < self.data_fraction <= 1.0:
            raise ValueError(f"data_fraction must lie in (0, 1], got {self.data_fraction}")
        if not 0.0 <= self.eval_fraction < 1.0:
            raise ValueError(f"eval_fraction must lie in [0, 1), got {self.eval_fraction}")
        for name in ("max_steps", "batch_size", "save_every", "log_every", "eval_every", "eval_batches"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("num_workers", "warmup_steps", "freeze_backbone_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)}")
        if min(self.lr, self.backbone_lr, self.weight_decay, self.grad_clip, self.min_lr_ratio) < 0:
            raise ValueError("learning rates, weight_decay, grad_clip and min_lr_ratio must be non-negative")


# --- data ---------------------------------------------------------------------------------------


def _start(config: TrainConfig) -> str:
    return f"from {config.init_checkpoint}" if config.init_checkpoint is not None else "from scratch"


def split_episodes(num_episodes: int, config: TrainConfig) -> tuple[list[int], list[int]]:
    """(training, held-out) episode indices: one shuffle by ``data_seed``; the held-out episodes come
    first, the fraction is a prefix of the rest, so fractions nest and never touch the held-out set."""
    if num_episodes == 0:
        raise ValueError(f"{config.corpus}: the corpus has no episodes")
    order = np.random.default_rng(config.data_seed).permutation(num_episodes)
    held_out = math.ceil(config.eval_fraction * num_episodes) if config.eval_fraction > 0 else 0
    if held_out >= num_episodes:
        raise ValueError(f"eval_fraction {config.eval_fraction} leaves no training episode of {num_episodes}")
    pool = order[held_out:]
    kept = max(1, round(config.data_fraction * len(pool)))
    return sorted(pool[:kept].tolist()), sorted(order[:held_out].tolist())


class EpochBatchSampler(Sampler[list[int]]):
    """This process's batches of one epoch, starting at a given batch: the whole data state of a run.

    Epoch ``e`` is the permutation drawn from ``(seed, e)``; global batch ``g`` is its slice
    ``[g B P, (g + 1) B P)`` and process ``p`` takes the ``p``-th ``B`` of it (incomplete batches
    dropped, so every step has the same shapes and the step fixes the position).
    """

    def __init__(self, size: int, batch_size: int, seed: int, process_index: int = 0, num_processes: int = 1) -> None:
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.process_index, self.num_processes = process_index, num_processes
        self.batches_per_epoch = size // (batch_size * num_processes)
        self.epoch, self.start = 0, 0

    def set_position(self, epoch: int, start: int) -> None:
        self.epoch, self.start = epoch, start

    def __len__(self) -> int:
        return self.batches_per_epoch - self.start

    def __iter__(self) -> Iterator[list[int]]:
        order = np.random.default_rng((self.seed, self.epoch)).permutation(self.size)
        stride = self.batch_size * self.num_processes
        for batch in range(self.start, self.batches_per_epoch):
            first = batch * stride + self.process_index * self.batch_size
            yield order[first : first + self.batch_size].tolist()


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


# --- model --------------------------------------------------------------------------------------


class LossModule(nn.Module):
    """``forward`` = the policy's ``compute_loss``, so DDP and autocast wrap the call that trains."""

    def __init__(self, policy: nn.Module) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, batch: dict[str, Any], generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        return self.policy.compute_loss(batch, generator)


def build_policy(config: TrainConfig, corpus: Any) -> nn.Module:
    """A fresh model with the corpus's statistics, or the ``init_checkpoint`` one; then the overrides."""
    from policies.checkpoints import load_policy
    from policies.loading import resolve_checkpoint
    from policies.vitra.modeling import VitraPolicy
    from vitra_bench.corpus.dataset import corpus_sample_stats

    if config.init_checkpoint is not None:
        if not Path(config.init_checkpoint).is_dir():
            raise FileNotFoundError(f"init_checkpoint {config.init_checkpoint} is not a checkpoint or run directory")
        policy = load_policy(resolve_checkpoint(config.init_checkpoint))
        if config.stats_from_corpus:
            policy.set_stats(corpus_sample_stats(corpus))
    else:
        policy = VitraPolicy(dataclasses.replace(config.policy), corpus_sample_stats(corpus))
    for name in ("wrist_loss_weight", "finger_loss_weight", "noise_draws", "state_dropout"):
        if getattr(config, name) is not None:
            setattr(policy.config, name, getattr(config, name))
    policy.config.__post_init__()  # re-validate the overridden values
    return policy


def param_groups(policy: nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
    """AdamW groups: the expert's (trained from step 0) and the backbone's (after the frozen stage)."""
    expert, backbone = list(policy.expert_parameters()), list(policy.backbone_parameters())
    trainable = {id(p) for p in policy.parameters() if p.requires_grad}
    grouped = [id(p) for p in expert + backbone]
    if len(set(grouped)) != len(grouped) or set(grouped) != trainable:
        raise RuntimeError("expert_parameters() and backbone_parameters() must split the trainable parameters")
    return [
        {"name": "expert", "params": expert, "base_lr": config.lr},
        {"name": "backbone", "params": backbone, "base_lr": config.backbone_lr},
    ]


def set_learning_rates(optimizer: torch.optim.Optimizer, step: int, config: TrainConfig) -> dict[str, float]:
    """Rates of update ``step``; the backbone's is 0 in stage 1 (and its parameters are frozen)."""
    factor = lr_factor(step, config.warmup_steps, config.decay_steps or config.max_steps, config.min_lr_ratio)
    rates = {}
    for group in optimizer.param_groups:
        frozen = group["name"] == "backbone" and step < config.freeze_backbone_steps
        group["lr"] = 0.0 if frozen else group["base_lr"] * factor
        rates[group["name"]] = group["lr"]
    return rates


def set_backbone_frozen(parameters: list[nn.Parameter], frozen: bool) -> None:
    """Stage 1 skips the backbone's backward pass entirely, rather than computing gradients at rate 0."""
    for parameter in parameters:
        parameter.requires_grad_(not frozen)


# --- run directory ------------------------------------------------------------------------------


def checkpoint_dirs(run_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first (a complete one has a progress file and no temporary suffix)."""
    root = run_dir / CHECKPOINTS
    found = [p for p in root.glob("step_*") if p.is_dir() and p.name[5:].isdigit() and (p / "progress.json").exists()]
    return sorted(found, key=lambda p: int(p.name[5:]))


def check_resumable(config: TrainConfig, checkpoint: Path) -> None:
    """Refuse to resume from ``checkpoint`` under a config that would compute something else."""
    saved = load_config(type(config), checkpoint / CONFIG_FILENAME)
    runtime = {name: getattr(config, name) for name in RUNTIME_FIELDS}
    if dataclasses.replace(saved, **runtime) != config:
        ours, theirs = dataclasses.asdict(config), dataclasses.asdict(saved)
        changed = sorted(k for k in ours if k not in RUNTIME_FIELDS and ours[k] != theirs[k])
        raise ValueError(
            f"{checkpoint.parent.parent} holds a run with a different config ({', '.join(changed)} differ); only "
            f"{', '.join(RUNTIME_FIELDS)} may change on resume: use another output_dir"
        )
    if config.decay_steps is None and config.max_steps != saved.max_steps:
        raise ValueError(
            f"max_steps changed ({saved.max_steps} -> {config.max_steps}) while the schedule decays over max_steps: "
            "set decay_steps to keep the schedule of the steps already taken"
        )


def read_metrics(run_dir: Path) -> list[dict[str, str]]:
    path = run_dir / METRICS
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def truncate_metrics(run_dir: Path, step: int) -> None:
    """Drop rows logged after the checkpoint a run resumes from (a killed run logged past it)."""
    rows = [row for row in read_metrics(run_dir) if int(row["step"]) <= step]
    with (run_dir / METRICS).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, METRIC_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def append_metrics(run_dir: Path, row: dict[str, Any]) -> None:
    path = run_dir / METRICS
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, METRIC_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({k: row.get(k, "") for k in METRIC_FIELDS})


def plot_metrics(run_dir: Path) -> None:
    """loss.png: training loss (and held-out loss) against step, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(run_dir)
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label in (
        ("loss", "train"),
        ("loss_wrist", "train wrist"),
        ("loss_fingers", "train fingers"),
        ("eval_loss", "held-out"),
    ):
        points = [(int(r["step"]), float(r[key])) for r in rows if r.get(key)]
        if points:
            ax.plot(*zip(*points), label=label, lw=1.5 if key in ("loss", "eval_loss") else 0.8)
    ax.set(xlabel="step", ylabel="epsilon MSE (normalised)", yscale="log", title=run_dir.name)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(run_dir / PLOT, dpi=120)
    plt.close(fig)


# --- the loop -----------------------------------------------------------------------------------


def train(config: TrainConfig) -> Path:
    """Train (or resume) the run of ``config``; returns its run directory."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs
    from tqdm import tqdm

    from vitra_bench.corpus.dataset import HandActionDataset
    from vitra_bench.corpus.reader import Corpus

    if not Path(config.corpus).is_dir():
        raise FileNotFoundError(f"corpus {config.corpus} does not exist")
    # Stage 1 leaves the backbone without gradients, which DDP must be told about.
    ddp = DistributedDataParallelKwargs(find_unused_parameters=config.freeze_backbone_steps > 0)
    accelerator = Accelerator(mixed_precision=config.mixed_precision, kwargs_handlers=[ddp])
    run_dir = Path(config.output_dir)
    resume = checkpoint_dirs(run_dir)[-1] if checkpoint_dirs(run_dir) else None
    if resume is not None:
        check_resumable(config, resume)

    # Seeding: the model starts identical on every process; noise differs per process.
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed * 7919 + accelerator.process_index)
    corpus = Corpus(config.corpus)
    train_episodes, eval_episodes = split_episodes(corpus.num_episodes, config)
    policy = build_policy(config, corpus)
    chunk = policy.config.chunk_size
    transform = Augment(config.augmentation) if config.augment else None
    dataset = HandActionDataset(
        corpus, episodes=train_episodes, camera=config.camera, chunk_size=chunk, transform=transform, seed=config.seed
    )
    sampler = EpochBatchSampler(
        len(dataset), config.batch_size, config.seed, accelerator.process_index, accelerator.num_processes
    )
    if sampler.batches_per_epoch == 0:
        raise ValueError(
            f"{len(dataset)} training samples in {len(train_episodes)} episode(s) do not fill one batch of "
            f"{config.batch_size} x {accelerator.num_processes} process(es): lower batch_size or use more data"
        )
    # Its own generator: a loader otherwise draws its workers' base seed from the global stream each
    # epoch, and a resumed run starts one epoch iterator more than an uninterrupted one.
    loader = corpus_loader(dataset, batch_sampler=sampler, num_workers=config.num_workers, generator=torch.Generator())

    groups = param_groups(policy, config)
    backbone = groups[1]["params"]
    optimizer = torch.optim.AdamW(groups, betas=config.betas, weight_decay=config.weight_decay)
    step = 0
    if resume is not None:
        from safetensors.torch import load_model

        from policies.checkpoints import MODEL_FILE

        load_model(policy, str(resume / MODEL_FILE), strict=True)
        load_optimizer(resume, optimizer)
        step = load_progress(resume)["step"]
    model, optimizer = accelerator.prepare(LossModule(policy), optimizer)
    if resume is not None:
        load_rng(resume, accelerator.process_index, {"loss": generator})  # last: building the model drew from them
        if accelerator.is_main_process:
            truncate_metrics(run_dir, step)
    elif accelerator.is_main_process:
        if (run_dir / METRICS).exists():
            (run_dir / METRICS).unlink()
        save_config(config, run_dir)
    if accelerator.is_main_process:
        accelerator.print(
            f"training {sum(p.numel() for p in policy.parameters()) / 1e6:.2f} M parameters on {len(dataset)} samples "
            f"({len(train_episodes)} episodes, {len(eval_episodes)} held out), "
            f"{'resuming at step ' + str(step) if resume else _start(config)} -> {run_dir}"
        )

    evaluator = Evaluator(corpus, eval_episodes, config, chunk) if eval_episodes else None
    samples_per_step = config.batch_size * accelerator.num_processes
    bar = tqdm(
        total=config.max_steps, initial=step, disable=not (config.progress and accelerator.is_main_process), unit="step"
    )
    window: list[dict[str, float]] = []
    window_start = time.perf_counter()
    model.train()
    while step < config.max_steps:
        epoch, first = divmod(step, sampler.batches_per_epoch)
        sampler.set_position(epoch, first)
        dataset.set_epoch(epoch)
        for batch in loader:
            rates = set_learning_rates(optimizer, step, config)
            set_backbone_frozen(backbone, step < config.freeze_backbone_steps)
            losses = model(to_device(batch, accelerator.device), generator)
            accelerator.backward(losses["loss"])
            grad_norm = accelerator.clip_grad_norm_(policy.parameters(), config.grad_clip or math.inf)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            window.append({k: v.detach() for k, v in losses.items()} | {"grad_norm": grad_norm.detach()})

            if step % config.log_every == 0 or step == config.max_steps:
                means = {
                    k: accelerator.reduce(torch.stack([w[k] for w in window]).mean().float(), "mean").item()
                    for k in window[0]
                }
                throughput = len(window) * samples_per_step / (time.perf_counter() - window_start)
                row = {
                    "step": step,
                    "epoch": epoch,
                    **means,
                    "lr": rates["expert"],
                    "backbone_lr": rates["backbone"],
                    "samples_per_s": throughput,
                }
                if accelerator.is_main_process:
                    append_metrics(run_dir, row)
                bar.set_postfix(loss=f"{means['loss']:.4f}", samples_per_s=f"{throughput:.1f}")
                window, window_start = [], time.perf_counter()
            bar.update(1)

            paused = time.perf_counter()  # evaluation and saving are not training throughput
            if evaluator is not None and (step % config.eval_every == 0 or step == config.max_steps):
                eval_loss = evaluator.loss(policy, accelerator)
                if accelerator.is_main_process:
                    append_metrics(run_dir, {"step": step, "epoch": epoch, "eval_loss": eval_loss})
            if step % config.save_every == 0 or step == config.max_steps:
                save_checkpoint(run_dir, step, epoch, accelerator, policy, optimizer, generator, config)
            window_start += time.perf_counter() - paused
            if step >= config.max_steps:
                break
    bar.close()
    return run_dir


class Evaluator:
    """Held-out loss: the same first batches of the held-out episodes, unaugmented, with the same noise
    each time, in eval mode, on the main process; no training RNG stream is touched."""

    def __init__(self, corpus: Any, episodes: list[int], config: TrainConfig, chunk_size: int) -> None:
        from vitra_bench.corpus.dataset import HandActionDataset

        dataset = HandActionDataset(
            corpus, episodes=episodes, camera=config.camera, chunk_size=chunk_size, seed=config.seed
        )
        self.loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=False, num_workers=0)
        self.batches = config.eval_batches
        self.seed = config.seed

    @torch.no_grad()
    def loss(self, policy: nn.Module, accelerator: Any) -> float | str:
        if not accelerator.is_main_process:
            return ""
        generator = torch.Generator().manual_seed(self.seed)
        policy.eval()
        losses = []
        for index, batch in enumerate(self.loader):
            if index == self.batches:
                break
            with accelerator.autocast():
                losses.append(policy.compute_loss(to_device(batch, accelerator.device), generator)["loss"].item())
        policy.train()
        return float(np.mean(losses))


def save_checkpoint(
    run_dir: Path,
    step: int,
    epoch: int,
    accelerator: Any,
    policy: nn.Module,
    optimizer: Any,
    generator: torch.Generator,
    config: TrainConfig,
) -> Path:
    """Write ``checkpoints/step_NNNNNNN`` atomically: into a temporary folder, renamed when complete."""
    from policies.checkpoints import save_policy

    final = run_dir / CHECKPOINTS / f"step_{step:07d}"
    partial = final.with_name(final.name + ".partial")
    if accelerator.is_main_process:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
    accelerator.wait_for_everyone()
    save_rng(partial, accelerator.process_index, {"loss": generator})
    if accelerator.is_main_process:
        save_policy(partial, policy, {"step": step, "epoch": epoch})
        save_optimizer(partial, getattr(optimizer, "optimizer", optimizer))
        save_config(config, partial)
        save_progress(partial, step, epoch=epoch, processes=accelerator.num_processes)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(final, ignore_errors=True)
        os.replace(partial, final)
        plot_metrics(run_dir)
    accelerator.wait_for_everyone()
    return final


@dataclass
class FinetuneConfig(TrainConfig):
    """``vitra-bench finetune``: training with the paper's robot fine-tuning settings (VITRA_FACTS.md,
    "Model"): wrist/joint loss weights 1.6/0.4, 2 noise draws, no frozen stage, AdamW betas (0.9, 0.95),
    the robot data's own normalisation statistics. Without ``init_checkpoint`` it is the
    no-pretraining baseline: the same model trained from scratch on the robot data.

    Two human-data measures are off by default, because they teach a fixed-camera, right-arm robot
    things it never meets: the augmentation (a mirrored sample is a *left* arm, and the virtual
    camera turns and crops a view that never moves; on one PickPlace demonstration it left the loss
    at 0.19 after 330 steps where the unaugmented run reached 0.07) and state dropout (the robot's
    state is always measured; ``VitraConfig.state_dropout`` says to set it 0 for robot data).
    ``--augment true`` and ``--state_dropout 0.1`` bring them back."""

    wrist_loss_weight: float | None = 1.6
    finger_loss_weight: float | None = 0.4
    noise_draws: int | None = 2
    state_dropout: float | None = 0.0
    augment: bool = False
    freeze_backbone_steps: int = 0
    betas: tuple[float, float] = (0.9, 0.95)
    stats_from_corpus: bool = True
    output_dir: Path = Path("runs/finetune")

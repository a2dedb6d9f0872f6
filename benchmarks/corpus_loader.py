"""Does the corpus loader keep up with training? Loader samples/s next to a tiny policy's training samples/s.

Reads from ``HandActionDataset`` through a ``DataLoader`` (batch 8, ``num_workers`` 0 and 2 by
default), then times forward + backward + AdamW steps of a ~3M-parameter policy (conv stem on the
image, hashed bag of words on the prompt, MLP on state and fov, MLP head for the 16 x 102 chunk,
masked MSE) on batches already in memory, so the two numbers are independent. The ratio
loader / training above 1 means the loader is not the bottleneck for a model this small; a larger
model only makes training slower, so this is the hard case for the loader.

    python benchmarks/corpus_loader.py                      # synthetic corpus in a temp dir
    python benchmarks/corpus_loader.py --corpus runs/synthetic/corpus --batches 100
"""

from __future__ import annotations

import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from vitra_bench import layout
from vitra_bench.benchmarking import RESULTS_DIR, machine_info, markdown_table, write_results
from vitra_bench.config import parse_config
from vitra_bench.corpus.dataset import HandActionDataset
from vitra_bench.corpus.loader import corpus_loader
from vitra_bench.synthetic import SyntheticConfig, write_synthetic_corpus


@dataclass
class Args:
    corpus: Path | None = None
    """Existing corpus to read; default: a synthetic one written to a temp dir."""
    episodes: int = 24
    """Synthetic corpus: episodes."""
    frames: int = 48
    """Synthetic corpus: frames per episode."""
    width: int = 256
    """Synthetic corpus: image width (VITRA trains on 224-pixel-high crops)."""
    height: int = 192
    """Synthetic corpus: image height."""
    batch_size: int = 8
    workers: tuple[int, ...] = (0, 2)
    """DataLoader num_workers settings to measure."""
    warmup_batches: int = 5
    """Batches read before timing (worker start-up, first shard and container opens)."""
    batches: int = 100
    """Timed loader batches; also the pool of batches the training steps cycle through."""
    train_steps: int = 30
    """Timed training steps, after ``warmup_batches`` untimed ones."""
    device: str = "cpu"
    """Where the policy trains (``cuda`` on a GPU machine)."""
    seed: int = 0
    out: Path = RESULTS_DIR


class TinyPolicy(nn.Module):
    """The smallest model shaped like the VLA: image + prompt + state in, an action chunk out."""

    def __init__(self, chunk_size: int = layout.CHUNK_SIZE, vocab: int = 4096, width: int = 768) -> None:
        super().__init__()
        self.vocab, self.chunk_size = vocab, chunk_size
        channels = [3, 32, 64, 128, 256]
        convs = []
        for c_in, c_out in zip(channels, channels[1:]):
            convs += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.GELU()]
        self.vision = nn.Sequential(*convs, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.words = nn.EmbeddingBag(vocab, 128, mode="mean")
        self.proprio = nn.Linear(2 * layout.STATE_DIM + 2, 256)
        self.head = nn.Sequential(
            nn.Linear(256 + 128 + 256, width),
            nn.GELU(),
            nn.Linear(width, width),
            nn.GELU(),
            nn.Linear(width, chunk_size * layout.ACTION_DIM),
        )

    def tokens(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Hashed words (crc32, stable across processes) as EmbeddingBag's flat ids and offsets."""
        ids = [[zlib.crc32(w.encode()) % self.vocab for w in p.lower().split()] for p in prompts]
        offsets = torch.tensor([0] + [len(x) for x in ids[:-1]]).cumsum(0)
        return torch.tensor([i for x in ids for i in x]), offsets

    def forward(self, batch: dict) -> torch.Tensor:
        device = batch["state"].device
        image = batch["image"].float() / 255.0
        ids, offsets = self.tokens(batch["instruction"])
        state = torch.cat([batch["state"], batch["state_mask"].float(), batch["fov"]], dim=1)
        features = torch.cat(
            [self.vision(image), self.words(ids.to(device), offsets.to(device)), self.proprio(state)], dim=1
        )
        return self.head(features).view(-1, self.chunk_size, layout.ACTION_DIM)


def masked_mse(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.float()
    return ((prediction - target) ** 2 * mask).sum() / mask.sum().clamp(min=1.0)


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def time_loader(dataset: HandActionDataset, args: Args, workers: int) -> tuple[float, list[dict]]:
    """Seconds for ``args.batches`` batches after the warm-up, and those batches.

    Workers prefetch while the warm-up batches are consumed, which flatters them by at most
    ``2 * workers`` batches out of ``args.batches``.
    """
    loader = corpus_loader(
        dataset,
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=workers,
        generator=torch.Generator().manual_seed(args.seed),
        drop_last=True,
    )
    needed = args.warmup_batches + args.batches
    if len(loader) < needed:
        raise SystemExit(f"the corpus gives {len(loader)} batches, the benchmark needs {needed}; add episodes")
    batches: Iterator[dict] = iter(loader)
    for _ in range(args.warmup_batches):
        next(batches)
    start = time.perf_counter()
    kept = [next(batches) for _ in range(args.batches)]
    seconds = time.perf_counter() - start
    del batches  # shuts the workers down before the next setting is measured
    return seconds, kept


def time_training(batches: list[dict], args: Args) -> tuple[float, int]:
    """Seconds for ``args.train_steps`` steps after the warm-up, and the model's parameter count."""
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    model = TinyPolicy().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step(batch: dict) -> None:
        batch = to_device(batch, device)
        loss = masked_mse(model(batch), batch["actions"], batch["action_mask"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for k in range(args.warmup_batches):
        step(batches[k % len(batches)])
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for k in range(args.train_steps):
        step(batches[k % len(batches)])
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, sum(p.numel() for p in model.parameters())


def row(name: str, seconds: float, batches: int, batch_size: int, train_rate: float | None = None) -> dict:
    """One table row; ``train_rate`` (samples/s) is given for loader rows, to compare against."""
    rate = batches * batch_size / seconds
    return {
        "measure": name,
        "batches": batches,
        "ms_per_batch": f"{1000 * seconds / batches:.1f}",
        "samples_per_s": f"{rate:.0f}",
        "loader/train": "" if train_rate is None else f"{rate / train_rate:.2f}",
    }


def main(args: Args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = args.corpus
        if root is None:
            synthetic = SyntheticConfig(
                out=Path(tmp) / "corpus",
                episodes=args.episodes,
                frames=args.frames,
                width=args.width,
                height=args.height,
                seed=args.seed,
            )
            start = time.perf_counter()
            root = write_synthetic_corpus(synthetic, progress=False)
            print(f"synthetic corpus: {args.episodes} x {args.frames} frames, {time.perf_counter() - start:.1f} s")
        dataset = HandActionDataset(root, seed=args.seed, normalize=True)
        width, height = dataset.corpus.cameras[dataset.camera]
        print(f"{len(dataset)} samples, {width}x{height} images, batch {args.batch_size}")

        loader_seconds = {}
        for workers in args.workers:
            loader_seconds[workers], batches = time_loader(dataset, args, workers)
        # Train on the last setting's batches: real samples, already in memory, so no loading is timed.
        train_seconds, params = time_training(batches, args)

    train_rate = args.train_steps * args.batch_size / train_seconds
    rows = [
        row(f"loader, num_workers={workers}", seconds, args.batches, args.batch_size, train_rate)
        for workers, seconds in loader_seconds.items()
    ]
    train_name = f"train step, {params / 1e6:.1f}M params, {args.device}"
    rows.append(row(train_name, train_seconds, args.train_steps, args.batch_size))
    info = machine_info(
        torch=torch.__version__,
        torch_threads=str(torch.get_num_threads()),
        image=f"{width}x{height}",
        batch_size=str(args.batch_size),
        device=args.device,
    )
    print(markdown_table(rows))
    notes = "`loader/train` > 1: the loader delivers samples faster than the tiny policy trains on them."
    write_results("corpus_loader", "Corpus loader vs training throughput", info, rows, notes, args.out)
    print(f"wrote {args.out / 'corpus_loader.csv'} and .md")


if __name__ == "__main__":
    main(parse_config(Args))

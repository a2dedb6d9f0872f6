"""``HandActionDataset``: a corpus as VITRA training samples (image, prompt, state, action chunk).

One sample per *anchor* frame t0 at which the episode's main hand is tracked: the main hand is
what the episode was cut and captioned for, so an anchor without it has no state for the hand
the prompt is about. Whether the steps after t0 are valid is left to the action mask (an anchor on
the last frame, or before a tracking gap, still has a valid state and image).

A sample costs one frame decoded by seeking, one slice of a cached data shard and a few small
rotation conversions; no ``Episode`` is rebuilt. The chunk is computed from the world-frame wrist
track through ``layout.anchored_chunk`` rather than read from the stored ``action`` column, because
the stored one-step actions are each in their own frame's camera while a chunk lives in the
camera of t0.

Randomness (the paraphrase, and whatever ``transform`` draws) comes from a generator seeded by
``(seed, epoch, index)``, so a sample is reproducible whatever worker builds it.

The state is the stored ``observation.state`` row of t0, which the writer computed with
``layout.episode_states``: already in the camera of t0, so nothing to recompute.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from vitra_bench import layout
from vitra_bench.corpus.episode_table import ACTION_SOURCE_KEY, instructions_from_json
from vitra_bench.corpus.errors import CorpusError
from vitra_bench.corpus.idle import moving_frames
from vitra_bench.corpus.reader import Corpus
from vitra_bench.corpus.schema import HUMAN_ROBOT_TYPE, hand_feature
from vitra_bench.embodiment import for_robot_type
from vitra_bench.episode import HANDS, NUM_FINGER_JOINTS, Instruction, prompt_at
from vitra_bench.geometry import fov_from_intrinsics

# A raw sample (numpy, metric units, image (H, W, 3)) and the sample's generator -> a raw sample.
Transform = Callable[[dict[str, Any], np.random.Generator], dict[str, Any]]

_HAND_COLUMNS = ("kept", "wrist_world", "wrist_orient_world", "hand_pose")
FRAME_COLUMNS = (
    "camera.extrinsics",
    "observation.state",
    "observation.state_mask",
    "action",
    "action_mask",
    *(hand_feature(hand, name) for hand in HANDS for name in _HAND_COLUMNS),
)
_IDLE_COLUMNS = ("action", "action_mask", "observation.state", "observation.state_mask")
_EPISODE_INFO_CACHE = 1024
_PROMPT_STREAM, _TRANSFORM_STREAM = 0, 1


@dataclass(frozen=True)
class SampleStats:
    """Normalisation statistics of the two normalised sample fields."""

    action: layout.NormStats
    state: layout.NormStats


def corpus_sample_stats(corpus: Corpus) -> SampleStats:
    """The corpus's ``meta/stats.json`` statistics, as the dataset's default normalisation.

    They describe one-step actions in each frame's own camera, which differ from anchored chunks
    only by the camera's motion within a chunk; statistics with augmentation on (as VITRA uses)
    have to be computed over the dataset itself and passed in instead. Dimensions the corpus's
    embodiment lacks (a robot's unmapped finger slots) get the statistics of a never-valid
    dimension, as the dataset masks them: mean 0, std 1, count 0.
    """
    embodiment = for_robot_type(str(corpus.info.get("robot_type", HUMAN_ROBOT_TYPE)))
    return SampleStats(
        action=_only(corpus.stats["action"], embodiment.action_mask),
        state=_only(corpus.stats["observation.state"], embodiment.state_mask),
    )


def _only(stats: layout.NormStats, valid: np.ndarray) -> layout.NormStats:
    """``stats`` with the dimensions outside ``valid`` reset to those of a dimension with no data."""
    if valid.all():
        return stats
    keep = lambda value, empty: np.where(valid, value, empty)
    return layout.NormStats(
        mean=keep(stats.mean, 0.0), std=keep(stats.std, 1.0), min=keep(stats.min, 0.0), max=keep(stats.max, 0.0),
        count=keep(np.broadcast_to(stats.count, valid.shape), 0),
    )


@dataclass(frozen=True)
class _EpisodeInfo:
    """What every sample of an episode shares, parsed once per process instead of once per sample."""

    main_hand: str
    instructions: dict[str, list[Instruction]]
    intrinsics: np.ndarray
    commanded: bool
    """The ``action`` column holds the commands a robot was sent (``Episode.commands``)."""


def _hand_arrays(columns: Mapping[str, np.ndarray], hand: str) -> layout.HandArrays:
    """One hand's world-frame track from an episode's frame-table columns (``hand_pose`` is stored flat, (T, 45))."""
    column = {name: columns[hand_feature(hand, name)] for name in _HAND_COLUMNS}
    column["hand_pose"] = column["hand_pose"].reshape(-1, NUM_FINGER_JOINTS, 3)
    return layout.HandArrays(**column)


def _action_chunk(columns: Mapping[str, np.ndarray], t0: int, chunk_size: int) -> tuple[np.ndarray, np.ndarray]:
    """``layout.action_chunk`` from an episode's frame-table columns (extrinsics stored flat, (T, 16))."""
    extrinsics = columns["camera.extrinsics"].reshape(-1, 4, 4)
    return layout.anchored_chunk(extrinsics, {hand: _hand_arrays(columns, hand) for hand in HANDS}, t0, chunk_size)


def _command_chunk(
    columns: Mapping[str, np.ndarray], t0: int, chunk_size: int, moving: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The sent commands of the next ``chunk_size`` frames from t0, of the ``moving`` ones when
    given (sorted frame indices, ``vitra_bench.corpus.idle``); steps past the episode end are masked
    zeros. No re-anchoring: a robot's commands are already in the frame they were sent in."""
    values = np.zeros((chunk_size, layout.ACTION_DIM), np.float32)
    mask = np.zeros((chunk_size, layout.ACTION_DIM), bool)
    if moving is None:
        rows = np.arange(t0, min(t0 + chunk_size, len(columns["action"])))
    else:
        start = np.searchsorted(moving, t0)
        rows = moving[start : start + chunk_size]
    values[: len(rows)], mask[: len(rows)] = columns["action"][rows], columns["action_mask"][rows]
    return values, mask


def _to_torch(sample: dict[str, Any]) -> dict[str, Any]:
    """Tensors for the default collate: image channels first, fov added, ints and the prompt left as they are."""
    out = dict(sample)
    out["image"] = torch.from_numpy(np.ascontiguousarray(sample["image"].transpose(2, 0, 1)))
    out["fov"] = torch.from_numpy(fov_from_intrinsics(sample["intrinsics"]).astype(np.float32))
    for name in ("intrinsics", "state", "actions"):
        out[name] = torch.from_numpy(np.asarray(sample[name], np.float32))
    for name in ("state_mask", "action_mask"):
        out[name] = torch.from_numpy(np.asarray(sample[name], bool))
    return out


class HandActionDataset(Dataset):
    """Training samples of a corpus, one per anchor frame (see the module docstring).

    A sample is a dict: ``image`` (3, H, W) uint8; ``instruction`` str; ``fov`` (2,) and
    ``intrinsics`` (3, 3) float32; ``state`` (122,) float32 and ``state_mask`` (122,) bool at t0 in
    the camera of t0; ``actions`` (chunk_size, 102) float32 and ``action_mask`` bool, the chunk
    anchored at t0; ``episode_index`` and ``frame_index`` ints. The default collate batches it
    (the prompts become a list of str).

    Args:
        corpus: a corpus directory or an open ``Corpus`` (a copy of the dataset that arrives pickled,
            as in a spawned worker, reopens it from its directory).
        episodes: episode indices or keys to draw from (a split, or a data fraction); default all.
        camera: which camera's frames; default the corpus's first.
        chunk_size: steps per action chunk.
        normalize: ``False`` for metric values; ``True`` to normalise actions and state with the
            corpus's ``meta/stats.json`` (all episodes, whatever ``episodes`` selects); or the
            ``SampleStats`` to use. Masked entries stay 0.
        transform: augmentation, applied to the raw sample (numpy, image (H, W, 3), metric units)
            before normalisation; it must keep masked entries at 0 and update ``intrinsics`` if it
            re-projects the image.
        seed: base seed of the per-sample generators.
        skip_idle: in episodes of sent commands, neither anchor on nor chunk through the frames
            where the robot waits (``vitra_bench.corpus.idle``).
    """

    def __init__(
        self,
        corpus: Corpus | str | Path,
        *,
        episodes: Sequence[int | str] | None = None,
        camera: str | None = None,
        chunk_size: int = layout.CHUNK_SIZE,
        normalize: bool | SampleStats = False,
        transform: Transform | None = None,
        seed: int = 0,
        skip_idle: bool = True,
    ) -> None:
        opened = corpus if isinstance(corpus, Corpus) else Corpus(corpus)
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        if not opened.cameras:
            raise CorpusError(f"{opened.root}: corpus has no cameras")
        camera = next(iter(opened.cameras)) if camera is None else camera
        if camera not in opened.cameras:
            raise KeyError(f"no camera {camera!r}; the corpus has {list(opened.cameras)}")
        self.root = opened.root
        self.camera = camera
        self.chunk_size = chunk_size
        self.transform = transform
        self.seed = seed
        self.skip_idle = skip_idle
        self.epoch = 0
        self.stats = corpus_sample_stats(opened) if normalize is True else (normalize or None)
        # A robot corpus stores its joints in the human slots they map to; the slots the robot lacks
        # are masked here so that training never fits them (VITRA_FACTS.md, "Real robot").
        self.embodiment = for_robot_type(str(opened.info.get("robot_type", HUMAN_ROBOT_TYPE)))
        selected = range(opened.num_episodes) if episodes is None else episodes
        self.episode_indices = [opened.episode_index(e) for e in selected]
        self._corpus: Corpus | None = opened
        self._info: OrderedDict[int, _EpisodeInfo] = OrderedDict()
        self._moving: dict[int, np.ndarray] = {}  # sorted moving frames of commanded episodes (skip_idle)
        self._episode_of, self._frame_of = self._anchors(opened)

    def _anchors(self, corpus: Corpus) -> tuple[np.ndarray, np.ndarray]:
        """Episode and frame of every sample: the frames of the selected episodes with the main hand
        kept (and, in episodes of sent commands with ``skip_idle``, where the robot moves)."""
        if "vitra/main_hand" not in corpus.episodes:
            raise CorpusError(f"{corpus.root}: episodes metadata has no main hand; not a vitra-bench corpus")
        main_hands = corpus.episodes["vitra/main_hand"].to_numpy()
        episode_of, frame_of = [], []
        for episode in self.episode_indices:
            kept = hand_feature(str(main_hands[episode]), "kept")
            if self.skip_idle and self._episode_info(episode).commanded:
                columns = corpus.frame_table(episode, [kept, *_IDLE_COLUMNS])
                moving = moving_frames(columns)
                self._moving[episode] = np.flatnonzero(moving)
                frames = np.flatnonzero(columns[kept] & moving)
            else:
                frames = np.flatnonzero(corpus.frame_table(episode, [kept])[kept])
            episode_of.append(np.full(len(frames), episode, np.int64))
            frame_of.append(frames.astype(np.int64))
        empty = np.zeros(0, np.int64)
        return np.concatenate([empty, *episode_of]), np.concatenate([empty, *frame_of])

    @property
    def corpus(self) -> Corpus:
        """The reader, opened on first use in a process that received this dataset pickled.

        A forked worker keeps the parent's reader, whose video containers are per process.
        """
        if self._corpus is None:
            self._corpus = Corpus(self.root)
        return self._corpus

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_corpus"] = None
        state["_info"] = OrderedDict()
        return state

    def set_epoch(self, epoch: int) -> None:
        """Draw different paraphrases and augmentations per epoch.

        Workers get a copy of the dataset when an iterator starts, so call it before iterating
        (with ``persistent_workers=True`` it would not reach them).
        """
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self._frame_of)

    def _episode_info(self, episode: int) -> _EpisodeInfo:
        info = self._info.pop(episode, None)
        if info is None:
            row = self.corpus.episodes.iloc[episode]
            info = _EpisodeInfo(
                main_hand=str(row["vitra/main_hand"]),
                instructions=instructions_from_json(row["vitra/instructions"]),
                intrinsics=np.asarray(row["vitra/intrinsics"], np.float32).reshape(3, 3),
                commanded=json.loads(row["vitra/extra"]).get(ACTION_SOURCE_KEY) == "commands",
            )
        self._info[episode] = info
        if len(self._info) > _EPISODE_INFO_CACHE:
            self._info.popitem(last=False)
        return info

    def raw_sample(self, index: int) -> dict[str, Any]:
        """Sample ``index`` before augmentation, normalisation and conversion to tensors."""
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} out of range (dataset has {len(self)})")
        episode, t0 = int(self._episode_of[index]), int(self._frame_of[index])
        info = self._episode_info(episode)
        columns = self.corpus.frame_table(episode, FRAME_COLUMNS)
        if info.commanded:
            actions, action_mask = _command_chunk(columns, t0, self.chunk_size, self._moving.get(episode))
        else:
            actions, action_mask = _action_chunk(columns, t0, self.chunk_size)
        action_mask = action_mask & self.embodiment.action_mask
        state_mask = columns["observation.state_mask"][t0] & self.embodiment.state_mask
        rng = self._rng(index, _PROMPT_STREAM)
        return {
            "image": self.corpus.frame(episode, t0, self.camera),
            "instruction": prompt_at(info.instructions, info.main_hand, t0, lambda o: o[rng.integers(len(o))]),
            "intrinsics": info.intrinsics.copy(),
            "state": np.where(state_mask, columns["observation.state"][t0], 0.0).astype(np.float32),
            "state_mask": state_mask,
            "actions": np.where(action_mask, actions, 0.0).astype(np.float32),
            "action_mask": action_mask,
            "episode_index": episode,
            "frame_index": t0,
        }

    def _rng(self, index: int, stream: int) -> np.random.Generator:
        """Separate streams, so that a change in what the prompt draws never shifts the augmentation's draws."""
        return np.random.default_rng((self.seed, self.epoch, index, stream))

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.raw_sample(index)
        if self.transform is not None:
            sample = self.transform(sample, self._rng(index, _TRANSFORM_STREAM))
        if self.stats is not None:
            sample["actions"] = layout.normalize(sample["actions"], self.stats.action, sample["action_mask"])
            sample["state"] = layout.normalize(sample["state"], self.stats.state, sample["state_mask"])
        return _to_torch(sample)

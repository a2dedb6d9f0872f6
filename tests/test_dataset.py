"""HandActionDataset: samples equal the layout's definitions on a real (synthetic) corpus, cheaply and in workers."""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Callable
from copy import deepcopy
from pathlib import Path

import numpy as np
import pytest
import torch

from vitra_bench import layout
from vitra_bench.corpus import Corpus, VideoSettings
from vitra_bench.corpus.dataset import HandActionDataset, SampleStats
from vitra_bench.corpus.loader import corpus_loader
from vitra_bench.episode import HANDS, Episode, prompt_at
from vitra_bench.synthetic import SyntheticConfig, write_synthetic_corpus

# Seed 0 gives both main hands, a moving and a static camera and a bimanual episode; dropout
# leaves tracking gaps inside the episodes, so every kind of mask occurs.
CONFIG = SyntheticConfig(episodes=4, frames=32, width=64, height=48, seed=0, dropout=0.1)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SyntheticConfig(**{**CONFIG.__dict__, "out": tmp_path_factory.mktemp("dataset") / "corpus"})
    return write_synthetic_corpus(config, progress=False)


@pytest.fixture(scope="module")
def corpus(root: Path) -> Corpus:
    with Corpus(root) as c:
        yield c


@pytest.fixture(scope="module")
def dataset(root: Path) -> HandActionDataset:
    return HandActionDataset(root, seed=3)


def picker(*choices: int) -> Callable[[list[str]], str]:
    """A ``pick`` taking option ``choices[k]`` (or the last one) at its k-th call: one call per hand with text."""
    calls = iter(choices)
    return lambda options: options[min(next(calls), len(options) - 1)]


def main_kept(episode: Episode) -> np.ndarray:
    return episode.hands[episode.main_hand].kept


def allowed_prompts(episode: Episode, frame: int) -> set[str]:
    return {episode.instruction_at(frame, picker(i, j)) for i, j in itertools.product(range(4), repeat=2)}


def test_one_sample_per_frame_with_the_main_hand_kept(dataset: HandActionDataset, corpus: Corpus) -> None:
    anchors = [(e, t) for e in range(corpus.num_episodes) for t in np.flatnonzero(main_kept(corpus.episode(e)))]
    assert len(dataset) == len(anchors) < corpus.num_frames
    assert [(dataset[i]["episode_index"], dataset[i]["frame_index"]) for i in range(len(dataset))] == anchors


def test_samples_equal_the_layout_definitions(dataset: HandActionDataset, corpus: Corpus) -> None:
    episodes = [corpus.episode(e) for e in range(corpus.num_episodes)]
    masked_steps = 0
    for i in range(len(dataset)):
        sample = dataset[i]
        episode, t0 = episodes[sample["episode_index"]], sample["frame_index"]
        actions, action_mask = layout.action_chunk(episode, t0)
        state, state_mask = layout.state_at(episode, t0)
        assert sample["actions"].shape == (16, 102) and sample["actions"].dtype == torch.float32
        np.testing.assert_allclose(sample["actions"].numpy(), actions, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(sample["action_mask"].numpy(), action_mask)
        np.testing.assert_allclose(sample["state"].numpy(), state, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(sample["state_mask"].numpy(), state_mask)
        np.testing.assert_allclose(sample["intrinsics"].numpy(), episode.intrinsics)
        np.testing.assert_allclose(sample["fov"].numpy(), episode.fov(), rtol=1e-6)
        main = layout.ACTION_SLICES[episode.main_hand]
        masked_steps += int((~sample["action_mask"][:, main].all(dim=1)).sum())
    assert masked_steps > 0  # episode ends and tracking gaps were exercised


def test_image_is_the_seeked_frame(dataset: HandActionDataset, root: Path) -> None:
    with Corpus(root) as reference:
        for i in range(0, len(dataset), 7):
            sample = dataset[i]
            assert dataset.corpus.last_decoded <= VideoSettings().gop + 1
            expected = reference.frame(sample["episode_index"], sample["frame_index"])
            assert sample["image"].dtype == torch.uint8 and sample["image"].shape == (3, 48, 64)
            np.testing.assert_array_equal(sample["image"].permute(1, 2, 0).numpy(), expected)


def test_instruction_is_a_reproducible_paraphrase(dataset: HandActionDataset, corpus: Corpus, root: Path) -> None:
    same_seed = HandActionDataset(root, seed=3)
    drawn = set()
    for i in range(len(dataset)):
        sample = dataset[i]
        episode = corpus.episode(sample["episode_index"])
        prompt = sample["instruction"]
        assert prompt in allowed_prompts(episode, sample["frame_index"])
        main_texts = [(ins.text, *ins.rephrases) for ins in episode.instructions[episode.main_hand]]
        assert any(text.strip().rstrip(".") in prompt for texts in main_texts for text in texts)
        assert prompt == same_seed[i]["instruction"]
        drawn.add(prompt)
    assert len(drawn) > 2 * corpus.num_episodes  # paraphrases are drawn, not always the original
    dataset.set_epoch(1)
    try:
        assert any(dataset[i]["instruction"] != same_seed[i]["instruction"] for i in range(len(dataset)))
    finally:
        dataset.set_epoch(0)


def test_prompt_at_follows_episode_instruction_at(corpus: Corpus) -> None:
    for e in range(corpus.num_episodes):
        episode = corpus.episode(e)
        for frame, (i, j) in itertools.product(range(episode.num_frames), [(0, 0), (1, 2), (2, 1)]):
            assert prompt_at(episode.instructions, episode.main_hand, frame, picker(i, j)) == episode.instruction_at(
                frame, picker(i, j)
            )


def test_dataloader_with_workers(dataset: HandActionDataset) -> None:
    expected = [dataset[i] for i in range(len(dataset))]
    start = 0
    for batch in corpus_loader(dataset, batch_size=4, num_workers=2):
        n = len(batch["instruction"])
        assert batch["image"].shape == (n, 3, 48, 64) and batch["image"].dtype == torch.uint8
        assert batch["actions"].shape == (n, 16, 102) and batch["action_mask"].shape == (n, 16, 102)
        assert batch["state"].shape == (n, 122) and batch["state_mask"].dtype == torch.bool
        assert batch["fov"].shape == (n, 2) and batch["intrinsics"].shape == (n, 3, 3)
        want = expected[start : start + n]
        assert batch["instruction"] == [w["instruction"] for w in want]  # workers draw what the parent draws
        assert batch["frame_index"].tolist() == [w["frame_index"] for w in want]
        assert torch.equal(batch["actions"], torch.stack([w["actions"] for w in want]))
        start += n
    assert start == len(dataset)


def test_pickled_dataset_reopens_the_corpus(dataset: HandActionDataset) -> None:
    dataset[0]  # opens containers and caches a shard
    assert pickle.dumps(dataset)  # what a DataLoader worker receives must serialise...
    copy = deepcopy(dataset)  # ...and come back through __getstate__ (deepcopy takes the same path)
    assert copy._corpus is None
    for i in (0, len(dataset) // 2, len(dataset) - 1):
        a, b = dataset[i], copy[i]
        assert a["instruction"] == b["instruction"]
        for key in ("image", "actions", "action_mask", "state"):
            assert torch.equal(a[key], b[key])


def test_normalisation_round_trip(root: Path, dataset: HandActionDataset) -> None:
    normalized = HandActionDataset(root, seed=3, normalize=True)
    stats = normalized.stats
    assert isinstance(stats, SampleStats)
    for i in range(0, len(dataset), 5):
        raw, norm = dataset[i], normalized[i]
        for key, mask_key, s in (("actions", "action_mask", stats.action), ("state", "state_mask", stats.state)):
            mask = raw[mask_key].numpy()
            assert np.all(norm[key].numpy()[~mask] == 0)
            back = layout.unnormalize(norm[key].numpy(), s, mask)
            np.testing.assert_allclose(back, raw[key].numpy(), rtol=1e-5, atol=1e-5)
    assert not torch.equal(normalized[0]["actions"], dataset[0]["actions"])


def test_episode_subset_and_keys(root: Path, corpus: Corpus, dataset: HandActionDataset) -> None:
    subset = HandActionDataset(root, episodes=[3, corpus.episode_keys[1]])
    assert subset.episode_indices == [3, 1]
    expected = sum(int(main_kept(corpus.episode(e)).sum()) for e in (1, 3))
    assert len(subset) == expected < len(dataset)
    assert {subset[i]["episode_index"] for i in range(len(subset))} == {1, 3}
    assert len(HandActionDataset(root, episodes=[])) == 0


def test_transform_sees_raw_values_and_a_reproducible_generator(root: Path, dataset: HandActionDataset) -> None:
    draws = []

    def flip_image(sample: dict, rng: np.random.Generator) -> dict:
        draws.append(rng.random())
        assert sample["image"].shape == (48, 64, 3)  # channels last, before conversion
        sample["image"] = sample["image"][:, ::-1]
        return sample

    flipped = HandActionDataset(root, seed=3, transform=flip_image)
    a, b = flipped[2], dataset[2]
    assert torch.equal(a["image"], b["image"].flip(-1)) and torch.equal(a["actions"], b["actions"])
    flipped[2]
    assert draws[0] == draws[1]


def test_bad_arguments(root: Path) -> None:
    with pytest.raises(KeyError, match="camera"):
        HandActionDataset(root, camera="wrist")
    with pytest.raises(ValueError, match="chunk_size"):
        HandActionDataset(root, chunk_size=0)
    with pytest.raises(IndexError):
        HandActionDataset(root, episodes=[CONFIG.episodes])
    with pytest.raises(IndexError):
        HandActionDataset(root)[10_000]


@pytest.mark.parametrize("chunk_size", [1, 40])
def test_other_chunk_sizes(root: Path, corpus: Corpus, chunk_size: int) -> None:
    short = HandActionDataset(root, chunk_size=chunk_size)
    for i in (0, len(short) - 1):
        sample = short[i]
        actions, mask = layout.action_chunk(corpus.episode(sample["episode_index"]), sample["frame_index"], chunk_size)
        assert sample["actions"].shape == (chunk_size, layout.ACTION_DIM)
        np.testing.assert_allclose(sample["actions"].numpy(), actions, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(sample["action_mask"].numpy(), mask)


def test_both_hands_and_cameras_are_exercised(corpus: Corpus) -> None:
    """Guards the fixture: the equality tests above mean little if the corpus lost its variety."""
    episodes = [corpus.episode(e) for e in range(corpus.num_episodes)]
    assert {e.main_hand for e in episodes} == set(HANDS)
    assert any(all(e.instructions[h] for h in HANDS) for e in episodes)
    assert {e.extra["camera"] for e in episodes} == {"moving", "static"}


def test_commanded_episode_round_trips_and_trains_on_its_commands(tmp_path: Path) -> None:
    """A robot episode's sent commands are stored as its ``action`` column, read back as
    ``Episode.commands``, and are what the dataset's chunks hold (not the track-derived actions)."""
    from vitra_bench.corpus import CorpusWriter
    from vitra_bench.synthetic import CAMERA, generate_episode

    config = SyntheticConfig(**{**CONFIG.__dict__, "episodes": 1, "dropout": 0.0})
    episode = generate_episode(config, 0)
    track_actions, mask = layout.episode_step_actions(episode)
    commands = np.random.default_rng(0).normal(size=(episode.num_frames, layout.ACTION_DIM)).astype(np.float32)
    episode.commands = np.where(np.maximum(mask, mask[0]), commands, 0.0).astype(np.float32)
    with CorpusWriter(tmp_path / "c", fps=config.fps, cameras={CAMERA: (config.width, config.height)}) as writer:
        writer.add(episode)
    with Corpus(tmp_path / "c") as corpus:
        back = corpus.episode(0)
        assert "action_source" not in back.extra
        np.testing.assert_array_equal(back.commands, episode.commands)
    dataset = HandActionDataset(tmp_path / "c")
    chunk = layout.CHUNK_SIZE
    for t0 in (0, episode.num_frames - 3):
        sample = dataset.raw_sample(int(np.flatnonzero(dataset._frame_of == t0)[0]))
        n = min(chunk, episode.num_frames - t0)
        np.testing.assert_array_equal(sample["actions"][:n], episode.commands[t0 : t0 + n])
        assert not sample["action_mask"][n:].any()
        assert not np.allclose(sample["actions"][: n - 1], track_actions[t0 : t0 + n - 1])


def test_commanded_episode_skips_the_frames_where_the_robot_waits(tmp_path: Path) -> None:
    """Frames 6-11 repeat the command of frame 5 while the hand rests: no sample anchors there, and
    a chunk from before the wait goes straight on to frame 12 (``vitra_bench.corpus.idle``)."""
    from vitra_bench.corpus import CorpusWriter
    from vitra_bench.synthetic import CAMERA, generate_episode

    config = SyntheticConfig(**{**CONFIG.__dict__, "episodes": 1, "dropout": 0.0})
    episode = generate_episode(config, 0)
    wait = slice(6, 12)
    episode.extrinsics[wait] = episode.extrinsics[5]
    for track in episode.hands.values():
        for name in ("wrist_world", "wrist_orient_world", "wrist_orient_cam", "hand_pose", "joints_cam", "joints_world"):
            getattr(track, name)[wait] = getattr(track, name)[5]
        track.kept[:] = True
    _, mask = layout.episode_step_actions(episode)
    commands = np.random.default_rng(0).normal(size=(episode.num_frames, layout.ACTION_DIM)).astype(np.float32)
    commands[wait] = commands[5]
    for block in layout.ACTION_SLICES.values():
        commands[wait, block.start + layout.WRIST.start : block.start + layout.WRIST.stop] = 0.0
    episode.commands = np.where(np.maximum(mask, mask[0]), commands, 0.0).astype(np.float32)
    with CorpusWriter(tmp_path / "c", fps=config.fps, cameras={CAMERA: (config.width, config.height)}) as writer:
        writer.add(episode)
    dataset = HandActionDataset(tmp_path / "c")
    frames = dataset._frame_of.tolist()
    assert frames == [t for t in range(episode.num_frames) if not 6 <= t <= 10]  # 11 moves on to 12
    sample = dataset.raw_sample(frames.index(4))
    expected = episode.commands[[4, 5, 11, 12, 13]]
    np.testing.assert_array_equal(sample["actions"][:5], expected)
    assert len(HandActionDataset(tmp_path / "c", skip_idle=False)) == episode.num_frames

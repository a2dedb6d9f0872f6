"""Narration episodes: the coarse-annotation condition of the zero-shot benchmark."""

from __future__ import annotations

import numpy as np

from envs.humansim.generate import HumanSimConfig, generate
from envs.humansim.narrations import instruction_from_narration, narration_episodes, write_narration_corpus
from envs.humansim.truth import finished_clips, load_truth
from vitra_bench.corpus import Corpus, validate_corpus


def test_instruction_from_narration():
    assert instruction_from_narration("#C C picks up the cup") == "Picks up the cup."
    assert instruction_from_narration("#C C puts the bowl down with the left hand.") == "Puts the bowl down with the left hand."


def test_episodes_are_windows_around_the_narrations(tmp_path):
    clips = tmp_path / "clips"
    generate(HumanSimConfig(out=clips, preset="lab", clips=1, seed=8, width=160, height=120, seconds=4.0), progress=False)
    truth = load_truth(finished_clips(clips)[0])
    episodes = narration_episodes(truth, None)
    assert len(episodes) == len(truth.narrations) > 0
    for episode, line in zip(episodes, truth.narrations, strict=True):
        centre = round(line.time * truth.fps)
        assert episode.video_frame_index[0] == max(0, centre - 30)
        assert episode.video_frame_index[-1] + 1 == min(truth.num_frames, centre + 30)
        assert episode.instructions[episode.main_hand][0].text == instruction_from_narration(line.text)
        other = "left" if episode.main_hand == "right" else "right"
        assert episode.instructions[other] == []
        np.testing.assert_allclose(episode.extrinsics[0] @ np.linalg.inv(episode.extrinsics[0]), np.eye(4), atol=1e-6)
    corpus = write_narration_corpus(clips, tmp_path / "corpus", progress=False)
    assert validate_corpus(corpus) == []
    assert Corpus(corpus).num_episodes == len(episodes)

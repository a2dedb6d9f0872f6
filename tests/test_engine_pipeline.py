"""The data engine end to end on HumanSim clips (oracle hands): known answers, resume, SIGKILL, bad videos."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from data_engine.annotate.base import Caption
from data_engine.filter import FilterConfig, drop_reason
from data_engine.pipeline import EngineConfig, OracleOptions, chain_chunk_tracks
from data_engine.runners import STATE_DIR, read_status, run_engine
from data_engine.score import score_corpus, summary_row, token_f1
from envs.humansim.generate import HumanSimConfig, generate
from envs.humansim.truth import load_truth, write_truth_corpus
from vitra_bench.corpus import Corpus
from vitra_bench.corpus.validate import validate_corpus

EXACT = OracleOptions(noise_px=0.0, noise_m=0.0, dropout=0.0)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """Three short static-camera clips and a file with their true intrinsics."""
    out = tmp_path_factory.mktemp("clips")
    generate(HumanSimConfig(out=out, preset="lab", clips=3, seed=3, width=320, height=240, seconds=2.0), progress=False)
    table = {}
    for meta in sorted(out.glob("clip_*.json")):
        k = load_truth(meta).intrinsics
        table[meta.stem] = {"fx": k[0, 0], "fy": k[1, 1], "cx": k[0, 2], "cy": k[1, 2]}
    (out / "intrinsics.json").write_text(json.dumps(table))
    return out


def _config(videos: Path, out: Path, **overrides) -> EngineConfig:
    options = dict(videos=videos, out=out, hands="oracle", oracle=EXACT, progress=False, intrinsics=videos / "intrinsics.json")
    return EngineConfig(**{**options, **overrides})


@pytest.fixture(scope="module")
def reference(clips, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference") / "corpus"
    summary = run_engine(_config(clips, out))
    assert summary.status["ok"] == 3 and summary.episodes_written > 0
    return out


def test_exact_inputs_reproduce_the_truth(clips, reference):
    """Exact hands and intrinsics on a static camera: what is left is the engine's own processing."""
    scores = score_corpus(reference, clips)
    assert len(scores) == 3
    for score in scores:
        assert score.focal_error_pct < 1e-3
        # a static camera; where the classifier calls it moving (large hands mask most of the
        # background), the visual odometry's rotation noise is what is left
        assert score.ate_cm < 1e-6 and score.rotation_error_deg < 0.5
        assert score.mpjpe_cm < 1.0, score  # smoothing and IK only
    assert float(summary_row(scores)["boundary_F1"]) > 0.5


def test_truth_corpus_scores_perfectly(clips, tmp_path):
    corpus = write_truth_corpus(clips, tmp_path / "truth", progress=False)
    for score in score_corpus(corpus, clips):
        assert score.focal_error_pct < 1e-3 and score.mpjpe_cm < 1e-3 and score.ate_cm < 1e-3
        assert score.boundaries.f1 == 1.0 and score.token_f1 == 1.0


def test_rerun_does_nothing(clips, reference, tmp_path):
    out = tmp_path / "corpus"
    shutil.copytree(reference, out)
    summary = run_engine(_config(clips, out))
    assert summary.processed == 0 and summary.skipped == 3
    assert Corpus(out).episode_keys == Corpus(reference).episode_keys


def test_sigkill_then_resume_loses_and_duplicates_nothing(clips, reference, tmp_path):
    out = tmp_path / "corpus"
    script = (
        "from pathlib import Path; from data_engine.pipeline import EngineConfig, OracleOptions;"
        "from data_engine.runners import run_engine;"
        f"run_engine(EngineConfig(videos=Path({str(clips)!r}), out=Path({str(out)!r}), hands='oracle', progress=False,"
        f"intrinsics=Path({str(clips / 'intrinsics.json')!r}), oracle=OracleOptions(0.0, 0.0, 0.0)))"
    )
    process = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "MUJOCO_GL": "egl"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if len(list((out / STATE_DIR).glob("*.json"))) >= 1:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert len(list((out / STATE_DIR).glob("*.json"))) < 3, "the run finished before it could be killed"
    summary = run_engine(_config(clips, out))
    assert summary.skipped >= 1
    keys = Corpus(out).episode_keys
    assert len(keys) == len(set(keys))
    assert sorted(keys) == sorted(Corpus(reference).episode_keys)
    assert validate_corpus(out) == []


def test_bad_videos_are_recorded_and_the_run_goes_on(clips, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(clips / "intrinsics.json", videos)
    good = sorted(clips.glob("clip_*.mp4"))[0]
    for suffix in (".mp4", ".json", ".truth.npz"):
        shutil.copy(good.with_suffix("").with_suffix(suffix) if suffix != ".truth.npz" else good.with_name(good.stem + suffix), videos)
    (videos / "garbage.mp4").write_bytes(os.urandom(5000))
    data = good.read_bytes()
    (videos / "truncated.mp4").write_bytes(data[: len(data) // 2])
    out = tmp_path / "corpus"
    summary = run_engine(_config(videos, out))
    assert summary.status == {"ok": 1, "error": 2}
    assert read_status(out, "garbage")["status"] == "error"
    assert read_status(out, "truncated")["reason"]
    assert read_status(out, good.stem)["status"] == "ok"
    assert Corpus(out).num_episodes > 0


def test_a_video_without_hands_is_reported(clips, tmp_path):
    summary = run_engine(_config(clips, tmp_path / "corpus", oracle=OracleOptions(dropout=1.0)))
    assert summary.status == {"no hands": 3}
    assert summary.episodes_written == 0


def test_chained_chunk_tracks_match_one_track():
    rotations = Rotation.from_euler("y", np.linspace(0, 30, 50)[:, None], degrees=True).as_matrix()
    whole = np.tile(np.eye(4), (50, 1, 1))
    whole[:, :3, :3] = rotations
    ranges = [(0, 20), (15, 35), (30, 50)]
    parts = [whole[a:b] @ np.linalg.inv(whole[a]) for a, b in ranges]  # each anchored at its chunk's start
    np.testing.assert_allclose(chain_chunk_tracks(ranges, parts), whole, atol=1e-12)


def test_filter_reasons():
    ok = Caption("Pick up the cup.", [], "offline")
    assert drop_reason(np.ones(10, bool), ok) is None
    assert drop_reason(np.r_[np.ones(3, bool), np.zeros(7, bool)], ok) == "untracked"
    assert drop_reason(np.ones(10, bool), Caption(None, [], "vlm", na=True)) == "n/a"
    assert drop_reason(np.ones(10, bool), Caption(None, [], "vlm", error="timeout")) == "caption error"
    assert drop_reason(np.ones(10, bool), ok, FilterConfig(min_tracked_fraction=1.0)) is None


def test_token_f1():
    assert token_f1("Pick up the red cup.", "pick up the red cup") == 1.0
    assert token_f1("Grasp the bowl.", "Put down the spoon.") == 0.0
    assert 0.0 < token_f1("Pick up the cup.", "Pick up the red cup.") < 1.0

"""A writer killed with SIGKILL at any moment loses and duplicates nothing once a new writer resumes.

A child process adds episodes in a loop (skipping keys already done, as a producer would) and is
killed repeatedly: at exact points of the commit protocol (it SIGKILLs itself just before or after
a chosen durable rename: staging an episode, the data shard, a video shard, tasks, the episodes
metadata commit marker, info/stats, the staging cleanup) and at random moments by the parent.
Shards hold 3 episodes so consolidation happens often. The final corpus must hold every episode
exactly once, in order, with exact data, validate cleanly and contain no debris.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from episode_factory import assert_same_episode, make_episode

from vitra_bench.corpus import Corpus, validate_corpus

NUM_EPISODES = 40
TESTS_DIR = Path(__file__).parent

CHILD = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from episode_factory import make_episode
from vitra_bench.corpus import CorpusWriter

root, die_on, die_nth, die_when = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if die_on:
    real_replace, hits = os.replace, [0]

    def replace(src, dst):
        hit = die_on in str(dst)
        hits[0] += hit
        if hit and hits[0] == die_nth and die_when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)
        if hit and hits[0] == die_nth and die_when == "after":
            os.kill(os.getpid(), signal.SIGKILL)

    os.replace = replace

with CorpusWriter(root, fps=30, cameras={{"ego": (64, 48)}}, max_episodes_per_shard=3) as writer:
    for seed in range({count}):
        key = f"ep-{{seed}}"
        if writer.contains(key):
            continue
        writer.add(make_episode(key, seed, num_frames=20 + seed % 5))
        print("added", key, flush=True)
print("done", flush=True)
"""

# (path fragment of the rename target, which occurrence, kill before or after the rename)
CRASH_POINTS = [
    ("staging/ep-", 2, "before"),  # an episode half staged: lost, re-added next run
    ("data/chunk", 1, "after"),  # data shard written, nothing committed: orphan
    ("videos/", 1, "after"),  # data and video shards written: orphans
    ("tasks.parquet", 1, "after"),  # new tasks recorded, shard not committed
    ("meta/episodes", 1, "after"),  # committed; info/stats stale, staging not cleaned
    ("staging/.ep-", 2, "after"),  # cleanup of committed staged episodes half done
    ("stats.json", 2, "before"),  # committed, summaries not rewritten
    ("meta/episodes", 1, "before"),  # everything but the commit marker
]


def expected_episode(seed: int):
    return make_episode(f"ep-{seed}", seed, num_frames=20 + seed % 5)


def run_child(script: Path, root: Path, die: tuple[str, int, str] | None, kill_after: int | None, rng: random.Random):
    """Run the writer once; returns (return code, lines printed)."""
    on, nth, when = die or ("", 0, "")
    child = subprocess.Popen(
        [sys.executable, str(script), str(root), on, str(nth), when],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = []
    if kill_after is not None:
        while len([line for line in lines if line.startswith("added")]) < kill_after:
            line = child.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
        time.sleep(rng.uniform(0.0, 0.12))  # lands anywhere: encoding, staging, consolidating
        child.send_signal(signal.SIGKILL)
    out, err = child.communicate(timeout=60)
    lines += out.split()
    assert child.returncode in (0, -signal.SIGKILL), err
    return child.returncode, lines


def test_sigkill_at_any_point_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    script = tmp_path / "writer_child.py"
    script.write_text(CHILD.format(tests=str(TESTS_DIR), count=NUM_EPISODES))
    root = tmp_path / "corpus"
    rng = random.Random(0)
    # Exact crash points interleaved with kills at random moments after the n-th added episode.
    plan = [(point, None) for point in CRASH_POINTS]
    for position, kill_after in ((1, 1), (4, 2), (7, 1), (len(plan), 1)):
        plan.insert(position, (None, kill_after))
    for die, kill_after in plan:
        code, _ = run_child(script, root, die, kill_after, rng)
        if die is not None:
            assert code == -signal.SIGKILL, f"crash point {die} was not reached"
    code, lines = run_child(script, root, None, None, rng)
    assert code == 0 and lines[-1] == "done"

    assert validate_corpus(root) == []
    with Corpus(root) as corpus:
        assert corpus.episode_keys == [f"ep-{seed}" for seed in range(NUM_EPISODES)]
        assert corpus.info["total_episodes"] == NUM_EPISODES
        for seed in range(NUM_EPISODES):
            want = expected_episode(seed)
            assert_same_episode(corpus.episode(seed), want)
            frame = seed % want.num_frames
            assert np.abs(corpus.frame(seed, frame).astype(int) - want.frames["ego"][frame]).mean() < 6.0
    assert not (root / "staging").exists()
    assert not [p for p in root.rglob("*") if ".tmp-" in p.name]

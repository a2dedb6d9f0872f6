"""Resumability and backend equivalence of the sweep runner (vitra_bench.sweep).

The fake ``run_point`` functions are module-level so that spawned pool workers and Ray tasks
can import them; each counts its calls in a file of the point's directory, since a worker's
memory is not the test's.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vitra_bench.sweep import FAILURE_FILE, RESULT_FILE, RESULTS_CSV, SweepPoint, plan_sweep, run_sweep

FRACTIONS = [1, 10, 50, 100]


def fake_train(point: SweepPoint) -> dict[str, float]:
    """A deterministic 'error' that falls with data, plus a call counter."""
    with open(point.out_dir / "calls", "a") as handle:
        handle.write("call\n")
    noise = np.random.default_rng(point.seed).normal() * 0.01
    return {"error": 0.3 * point.fraction**-0.5 + noise, "steps": 10}


def killed_once(point: SweepPoint) -> dict[str, float]:
    """Dies the first time for one point, as if the sweep had been killed while running it."""
    marker = point.out_dir / "died-once"
    if point.id == "frac10_seed1" and not marker.exists():
        marker.touch()
        raise RuntimeError("simulated kill")
    return fake_train(point)


def bad_for(point: SweepPoint, broken: str) -> dict[str, float]:
    if point.id == broken:
        raise ValueError("corrupt shard")
    return fake_train(point)


def calls(points: list[SweepPoint]) -> dict[str, int]:
    return {
        p.id: len((p.out_dir / "calls").read_text().splitlines()) if (p.out_dir / "calls").exists() else 0
        for p in points
    }


def metric_columns(table: pd.DataFrame) -> pd.DataFrame:
    return table[["id", "fraction", "seed", "status", "error", "steps"]].reset_index(drop=True)


def test_plan_gives_stable_unique_ids_and_own_dirs(tmp_path: Path) -> None:
    points = plan_sweep([50, 1, 12.5], seeds=2, out=tmp_path)
    assert [p.id for p in points] == [
        "frac1_seed0", "frac1_seed1", "frac12.5_seed0", "frac12.5_seed1", "frac50_seed0", "frac50_seed1",
    ]  # fmt: skip
    assert len({p.out_dir for p in points}) == 6 and all(p.out_dir.parent == tmp_path / "points" for p in points)
    assert plan_sweep([50, 1, 12.5], seeds=2, out=tmp_path) == points
    for fractions, seeds in [([0], 1), ([101], 1), ([], 1), ([10], 0), ([10, 10.0], 1)]:
        with pytest.raises(ValueError):
            plan_sweep(fractions, seeds, tmp_path)


def test_second_run_executes_nothing(tmp_path: Path) -> None:
    points = plan_sweep(FRACTIONS, seeds=2, out=tmp_path)
    first = run_sweep(points, fake_train, tmp_path)
    assert (first["status"] == "ok").all() and set(calls(points).values()) == {1}
    second = run_sweep(points, fake_train, tmp_path)
    assert set(calls(points).values()) == {1}
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / RESULTS_CSV).fillna(""), second, check_dtype=False)


def test_rerun_after_a_kill_executes_only_the_unfinished_point(tmp_path: Path) -> None:
    points = plan_sweep(FRACTIONS, seeds=2, out=tmp_path)
    first = run_sweep(points, killed_once, tmp_path)
    assert first.set_index("id").loc["frac10_seed1", "status"] == "failed"
    assert (first["status"] == "ok").sum() == len(points) - 1
    # A writer killed mid-write leaves only debris, which must not count as a result.
    (points[0].out_dir / f".{RESULT_FILE}.tmp-999").write_text("{")
    second = run_sweep(points, killed_once, tmp_path)
    assert (second["status"] == "ok").all()
    assert calls(points) == {p.id: 1 for p in points}  # the killed point ran once more, nothing else
    assert not (points[3].out_dir / FAILURE_FILE).exists()  # its stale failure is gone


def test_failure_is_recorded_while_the_rest_go_on(tmp_path: Path) -> None:
    points = plan_sweep(FRACTIONS, seeds=1, out=tmp_path)
    run = functools.partial(bad_for, broken="frac50_seed0")
    table = run_sweep(points, run, tmp_path).set_index("id")
    assert table.loc["frac50_seed0", "status"] == "failed"
    assert table.loc["frac50_seed0", "error"] == "ValueError: corrupt shard"
    assert np.isnan(table.loc["frac50_seed0", "steps"])
    assert (table.drop("frac50_seed0")["status"] == "ok").all()
    failure = json.loads((tmp_path / "points" / "frac50_seed0" / FAILURE_FILE).read_text())
    assert "corrupt shard" in failure["details"] and "Traceback" in failure["details"]


def test_local_pool_matches_serial(tmp_path: Path) -> None:
    points = plan_sweep(FRACTIONS, seeds=2, out=tmp_path / "serial")
    serial = run_sweep(points, killed_once, tmp_path / "serial")
    pooled_points = plan_sweep(FRACTIONS, seeds=2, out=tmp_path / "pool")
    pooled = run_sweep(pooled_points, killed_once, tmp_path / "pool", workers=2)
    pd.testing.assert_frame_equal(metric_columns(serial), metric_columns(pooled))
    assert (pooled["status"] == "failed").sum() == 1  # failures are recorded from pool workers too


def test_pool_refuses_an_unpicklable_run_point(tmp_path: Path) -> None:
    points = plan_sweep([10], seeds=2, out=tmp_path)
    with pytest.raises(TypeError, match="picklable"):
        run_sweep(points, lambda point: {"error": 0.0}, tmp_path, workers=2)


@pytest.mark.slow  # starting a local Ray cluster takes 10-20 s on two shared cores
def test_ray_matches_serial(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    points = plan_sweep(FRACTIONS[:2], seeds=2, out=tmp_path / "serial")
    serial = run_sweep(points, killed_once, tmp_path / "serial")
    ray_points = plan_sweep(FRACTIONS[:2], seeds=2, out=tmp_path / "ray")
    on_ray = run_sweep(ray_points, killed_once, tmp_path / "ray", backend="ray", workers=2)
    pd.testing.assert_frame_equal(metric_columns(serial), metric_columns(on_ray))
    assert (on_ray["status"] == "failed").sum() == 1

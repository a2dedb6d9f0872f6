"""A resumable runner for data-scaling sweeps: train and evaluate at several data fractions and seeds.

A sweep is many long, independent runs, and some will be killed (preempted node, OOM, a laptop
lid), so the runner is built around one rule: a point is done exactly when its ``result.json``
exists. That file is written atomically by the worker that ran the point, as soon as it finishes,
so a sweep killed at any moment loses only the points in flight and a rerun executes only those.
A point that raises leaves a ``failure.json`` with the reason instead, the other points go on,
and the next run retries it.

The same worker function runs a point whatever the backend (in-process, a local spawn pool, or
Ray on a local or remote cluster), so a sweep debugged serially behaves the same scaled out.
"""

from __future__ import annotations

import functools
import json
import logging
import multiprocessing
import os
import pickle
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from vitra_bench.corpus.files import atomic_write, atomic_write_json

log = logging.getLogger(__name__)

RESULT_FILE = "result.json"
FAILURE_FILE = "failure.json"
RESULTS_CSV = "results.csv"
POINTS_DIR = "points"

Backend = Literal["local", "ray"]


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep.

    Attributes:
        fraction: percent of the training data used, in (0, 100].
        seed: the run's seed (data subset and training).
        out_dir: where the run keeps its outputs (checkpoints, logs) and the runner its result.
    """

    fraction: float
    seed: int
    out_dir: Path

    @property
    def id(self) -> str:
        return point_id(self.fraction, self.seed)


def point_id(fraction: float, seed: int) -> str:
    """``frac10_seed0``: stable across runs and machines, so a rerun finds the points already done."""
    return f"frac{fraction:g}_seed{seed}"


RunPoint = Callable[[SweepPoint], Mapping[str, float]]


def plan_sweep(fractions: Sequence[float], seeds: int, out: Path) -> list[SweepPoint]:
    """Every (fraction, seed) pair for seeds ``0 .. seeds-1``, each in ``out/points/<id>``."""
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    bad = [f for f in fractions if not 0 < f <= 100]
    if bad or not fractions:
        raise ValueError(f"fractions are percentages in (0, 100], got {list(fractions)}")
    points = [
        SweepPoint(float(f), seed, Path(out) / POINTS_DIR / point_id(float(f), seed))
        for f in sorted(fractions)
        for seed in range(seeds)
    ]
    _check_unique(points)
    return points


def run_sweep(
    points: Sequence[SweepPoint],
    run_point: RunPoint,
    out: Path,
    backend: Backend = "local",
    workers: int = 1,
    ray_address: str | None = None,
) -> pd.DataFrame:
    """Run the points without a result, then write and return the table of all points.

    Args:
        points: from ``plan_sweep`` (or built by hand, with unique ids).
        run_point: trains and evaluates one point, returning named metrics. For a pool it must be
            picklable: a module-level function, or a ``functools.partial`` of one to pass settings.
        out: the table goes to ``out/results.csv``.
        backend: ``"local"`` runs in this process when ``workers`` is 1, else in a spawn process
            pool (fork would copy this process's threads and CUDA state); ``"ray"`` submits one
            task per point.
        workers: parallel runs; for Ray, the CPUs of the local cluster it starts (a cluster given
            by ``ray_address`` schedules by its own resources).
        ray_address: an existing Ray cluster; ``None`` starts a local one (and stops it after).

    Returns:
        ``collect_results(points)``: a row per point, status ``ok``, ``failed`` or ``pending``.
    """
    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray', got {backend!r}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    _check_unique(points)
    todo = [p for p in points if not (p.out_dir / RESULT_FILE).exists()]
    log.info("sweep: %d points, %d done, %d to run (%s)", len(points), len(points) - len(todo), len(todo), backend)
    if todo and backend == "ray":
        _run_ray(todo, run_point, workers, ray_address)
    elif todo and workers > 1:
        _run_pool(todo, run_point, workers)
    else:
        for point in todo:
            _report(point, run_one(run_point, point))
    table = collect_results(points)
    atomic_write(Path(out) / RESULTS_CSV, lambda tmp: table.to_csv(tmp, index=False))
    return table


def run_one(run_point: RunPoint, point: SweepPoint) -> bool:
    """Run one point and record its outcome in its directory; the worker side of every backend.

    The result is written here, not by the driver, so that it survives a driver killed while
    other points are still running. Returns whether the point succeeded.
    """
    point.out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        result = run_point(point)
        metrics = {str(name): float(value) for name, value in result.items()}
    except Exception as err:
        record_failure(point, f"{type(err).__name__}: {err}", traceback.format_exc())
        return False
    elapsed = time.perf_counter() - start
    record = {"id": point.id, "fraction": point.fraction, "seed": point.seed, "elapsed_s": elapsed, "metrics": metrics}
    atomic_write_json(point.out_dir / RESULT_FILE, record)
    (point.out_dir / FAILURE_FILE).unlink(missing_ok=True)  # a stale failure from an earlier try
    return True


def record_failure(point: SweepPoint, reason: str, details: str = "") -> None:
    """Write ``failure.json``: the reason in one line, and a traceback or other details."""
    record = {"id": point.id, "fraction": point.fraction, "seed": point.seed, "error": reason, "details": details}
    atomic_write_json(point.out_dir / FAILURE_FILE, record)


def collect_results(points: Sequence[SweepPoint]) -> pd.DataFrame:
    """One row per point: id, fraction, seed, status, error, elapsed_s, then one column per metric."""
    rows: list[dict[str, Any]] = []
    for point in points:
        row: dict[str, Any] = {"id": point.id, "fraction": point.fraction, "seed": point.seed}
        result, failure = point.out_dir / RESULT_FILE, point.out_dir / FAILURE_FILE
        if result.exists():
            record = json.loads(result.read_text())
            row |= {"status": "ok", "error": "", "elapsed_s": record["elapsed_s"], **record["metrics"]}
        elif failure.exists():
            row |= {"status": "failed", "error": json.loads(failure.read_text())["error"]}
        else:
            row |= {"status": "pending", "error": ""}
        rows.append(row)
    columns = ["id", "fraction", "seed", "status", "error", "elapsed_s"]
    return pd.DataFrame(rows, columns=list(dict.fromkeys(columns + [k for row in rows for k in row])))


def _check_unique(points: Sequence[SweepPoint]) -> None:
    ids = [p.id for p in points]
    if len(set(ids)) != len(ids):
        raise ValueError(f"sweep point ids must be unique, got duplicates in {ids}")


def _report(point: SweepPoint, ok: bool) -> None:
    if ok:
        log.info("sweep: %s done", point.id)
    else:
        log.warning("sweep: %s failed (see %s)", point.id, point.out_dir / FAILURE_FILE)


def _run_pool(todo: Sequence[SweepPoint], run_point: RunPoint, workers: int) -> None:
    try:
        pickle.dumps(run_point)
    except Exception as err:
        raise TypeError(f"run_point must be picklable for a process pool (a module-level function): {err}") from err
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context) as pool:
        futures = {pool.submit(run_one, run_point, point): point for point in todo}
        for future in as_completed(futures):
            _settle(futures[future], future.result)


def _run_ray(todo: Sequence[SweepPoint], run_point: RunPoint, workers: int, address: str | None) -> None:
    try:
        import ray  # optional: only sweeps run on Ray need it
    except ImportError as error:
        raise ImportError("backend='ray' needs: pip install 'vitra-bench[ray]'") from error
    started = not ray.is_initialized()
    if started and address is None:
        # A local cluster's workers do not inherit this process's sys.path; pass it on, so that
        # run_point imports in a task exactly as in a spawned pool worker.
        path = os.pathsep.join(p for p in sys.path if p)
        ray.init(num_cpus=workers, include_dashboard=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
    elif started:
        ray.init(address=address)
    try:
        task = ray.remote(num_cpus=1)(run_one)
        refs = {task.remote(run_point, point): point for point in todo}
        pending = list(refs)
        while pending:
            (ref,), pending = ray.wait(pending, num_returns=1)
            _settle(refs[ref], functools.partial(ray.get, ref))
    finally:
        if started:
            ray.shutdown()


def _settle(point: SweepPoint, get: Callable[[], bool]) -> None:
    """Report a point's outcome; a worker that died before recording one gets a failure here."""
    try:
        ok = get()
    except Exception as err:  # the worker process died, or its task could not be sent or returned
        record_failure(point, f"worker lost: {type(err).__name__}: {err}", traceback.format_exc())
        ok = False
    _report(point, ok)

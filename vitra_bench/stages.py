"""A resumable chain of stages under one run directory (the demo, later the reference run).

Each stage writes into ``<run_dir>/<stage name>/`` and is marked finished by a ``.done`` file
written last and atomically, so a rerun skips finished stages and redoes an interrupted one.
A stage that can itself resume (the corpus writer) picks up where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from vitra_bench.corpus.files import atomic_write_json

DONE_MARKER = ".done"


@dataclass(frozen=True)
class Stage:
    """``always``: run even when done earlier (cheap stages that gather others' outputs, like a report)."""

    name: str
    description: str
    run: Callable[[Path], None]
    always: bool = False


def stage_dir(run_dir: Path, name: str) -> Path:
    return Path(run_dir) / name


def run_stages(run_dir: Path, stages: Sequence[Stage], log: Callable[[str], None] = print) -> dict[str, float]:
    """Run ``stages`` in order, skipping those already done; returns seconds spent per stage run now."""
    seconds: dict[str, float] = {}
    for number, stage in enumerate(stages, start=1):
        out = stage_dir(run_dir, stage.name)
        marker = out / DONE_MARKER
        prefix = f"[{number}/{len(stages)}] {stage.name}"
        if marker.exists() and not stage.always:
            log(f"{prefix}: done earlier, reusing {out}")
            continue
        log(f"{prefix}: {stage.description}")
        out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        stage.run(out)
        seconds[stage.name] = time.perf_counter() - start
        finished = datetime.now(timezone.utc).isoformat(timespec="seconds")
        atomic_write_json(marker, {"seconds": round(seconds[stage.name], 3), "finished": finished})
        log(f"{prefix}: finished in {seconds[stage.name]:.1f} s")
    return seconds

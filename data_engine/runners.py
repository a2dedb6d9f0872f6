"""Running the pipeline over a folder of videos: local (in-process or a process pool) or Ray.

The parent process is the corpus's only writer (the writer holds a lock); workers run
``pipeline.process_video`` and send back episodes, so the same function is the unit of work
for every backend. Resumability has two layers:

* the corpus writer commits episode by episode under stable keys, so a video interrupted half
  way never leaves a partial or duplicated episode;
* after a video's episodes are durably staged, a status file ``<corpus>/engine/videos/<id>.json``
  records the outcome (``ok``, ``no hands`` or ``error`` with its reason). A rerun skips videos
  with a status file (``retry_errors`` re-runs failed ones) and, for a video killed between
  its first commit and its status file, skips the episodes already in the corpus.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from data_engine.decode import VideoError, probe
from data_engine.intrinsics import load_intrinsics
from data_engine.pipeline import EngineConfig, VideoResult, find_videos, process_video, video_id
from vitra_bench.corpus import CorpusWriter
from vitra_bench.corpus.files import atomic_write_json
from vitra_bench.corpus.reader import load_info
from vitra_bench.corpus.schema import cameras_from_info

STATE_DIR = Path("engine") / "videos"


@dataclass
class EngineSummary:
    """Outcome of one ``run_engine`` call."""

    corpus: Path
    processed: int = 0
    skipped: int = 0
    episodes_written: int = 0
    status: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    errors: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        lines = [
            f"{self.corpus}: {self.processed} video(s) processed now, {self.skipped} already done",
            f"episodes written now: {self.episodes_written}",
            "status: " + (", ".join(f"{k} {v}" for k, v in sorted(self.status.items())) or "-"),
            "segments dropped: " + (", ".join(f"{k} {v}" for k, v in sorted(self.dropped.items())) or "-"),
        ]
        lines += [f"  {vid}: {reason}" for vid, reason in sorted(self.errors.items())]
        return lines


def status_path(corpus: Path, vid: str) -> Path:
    return Path(corpus) / STATE_DIR / (vid.replace("/", "__") + ".json")


def read_status(corpus: Path, vid: str) -> dict[str, Any] | None:
    path = status_path(corpus, vid)
    return json.loads(path.read_text()) if path.exists() else None


def run_engine(config: EngineConfig) -> EngineSummary:
    """Process every video under ``config.videos`` not yet done into the corpus ``config.out``."""
    root = Path(config.videos)
    videos = find_videos(root)
    if not videos:
        raise FileNotFoundError(f"{root}: no videos ({', '.join(s[1:] for s in ('.mp4', '.mov', '.webm'))}...)")
    if config.intrinsics is not None:
        load_intrinsics(config.intrinsics)  # a broken file stops the run before any work
    summary = EngineSummary(Path(config.out))
    pending = []
    for path in videos:
        status = read_status(config.out, video_id(path, root))
        if status is None or (config.retry_errors and status["status"] == "error"):
            pending.append(path)
        else:
            summary.skipped += 1
    size = _stored_size(config, videos)
    with CorpusWriter(config.out, fps=config.fps, cameras={config.camera: size}) as writer:
        results = _results(pending, root, config, size)
        for result in tqdm(results, total=len(pending), desc="engine", unit="video", disable=not config.progress):
            for episode in result.episodes:
                if not writer.contains(episode.key):
                    writer.add(episode)
                    summary.episodes_written += 1
            _record(config.out, result)
            summary.processed += 1
            summary.status[result.status] += 1
            summary.dropped.update(result.report.get("dropped", {}))
            if result.status != "ok":
                summary.errors[result.video_id] = f"{result.status}: {result.reason}"
    return summary


def _record(corpus: Path, result: VideoResult) -> None:
    """The video's status file, written after its episodes are staged (staging is durable)."""
    path = status_path(corpus, result.video_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        path,
        {
            "video": result.video_id,
            "status": result.status,
            "reason": result.reason,
            "episodes": [e.key for e in result.episodes],
            "report": result.report,
            "seconds": result.seconds,
        },
    )


def _stored_size(config: EngineConfig, videos: Sequence[Path]) -> tuple[int, int]:
    """Frame size of the corpus camera: configured, else the existing corpus's, else the first readable video's."""
    if config.width is not None and config.height is not None:
        return config.width, config.height
    info_path = Path(config.out) / "meta" / "info.json"
    if info_path.exists():
        cameras = cameras_from_info(load_info(Path(config.out)))
        if config.camera in cameras:
            return cameras[config.camera]
    for path in videos:
        try:
            info = probe(path)
        except VideoError:
            continue
        return info.width - info.width % 2, info.height - info.height % 2  # the AV1 encoder needs even sizes
    raise FileNotFoundError(f"{config.videos}: none of the videos can be read")


def _results(pending: list[Path], root: Path, config: EngineConfig, size: tuple[int, int]) -> Iterator[VideoResult]:
    """Results in completion order, from the configured backend."""
    if not pending:
        return iter(())
    if config.backend == "ray":
        return _ray_results(pending, root, config, size)
    if config.workers == 1:
        backend = config.hand_backend()
        return (process_video(path, root, config, size, backend) for path in pending)
    return _pool_results(pending, root, config, size)


def _pool_results(pending: list[Path], root: Path, config: EngineConfig, size: tuple[int, int]) -> Iterator[VideoResult]:
    # spawn, not fork: MediaPipe and OpenCV threads do not survive a fork
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(config.workers, mp_context=context) as pool:
        futures = [pool.submit(process_video, path, root, config, size) for path in pending]
        for future in as_completed(futures):
            yield future.result()


def _ray_results(pending: list[Path], root: Path, config: EngineConfig, size: tuple[int, int]) -> Iterator[VideoResult]:
    try:
        import ray
    except ImportError as error:
        raise ImportError("--backend ray needs: pip install 'vitra-bench[ray]'") from error
    started = not ray.is_initialized()
    if started:
        if config.ray_address:
            ray.init(address=config.ray_address)
        else:
            ray.init(num_cpus=config.workers, include_dashboard=False)
    try:
        task = ray.remote(process_video)
        waiting = list(pending)
        in_flight: list[Any] = []
        while waiting or in_flight:
            while waiting and len(in_flight) < 2 * config.workers:  # bounded: results hold frames
                in_flight.append(task.remote(waiting.pop(0), root, config, size))
            done, in_flight = ray.wait(in_flight, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started:
            ray.shutdown()

"""Stage 1, decode and probe: any mp4/mov/webm -> RGB frames on a fixed-rate (30 fps) timeline.

Backends: PyAV first (exact timestamps, seeking); OpenCV when PyAV cannot open a file (its FFmpeg
build differs from PyAV's bundled one, so it sometimes reads what PyAV rejects).

Timeline. Target frame ``k`` sits at ``t_k = k / fps`` seconds after the stream's start; it shows
the source frame whose timestamp is *nearest* to ``t_k`` (a tie goes to the earlier frame). So a
60 fps source gives every second frame, a 30 fps one every frame and a 24 fps one repeats about
one frame in four. The resampled video has ``ceil(end * fps)`` frames, where ``end`` is the last
source frame's timestamp plus one source frame interval (the time that frame is shown).
``source_frame_index`` is each chosen frame's timestamp times the stream's average rate, rounded:
the frame's index in the file for constant-frame-rate video (what VITRA's ``video_decode_frame``
records), an approximation for variable-rate video.

Long videos are processed in overlapping chunks of that timeline (``chunks``; the paper uses 20 s)
and per-frame results are merged with ``merge_chunks``.

Errors. Every failure to read a video raises ``VideoError`` whose ``kind`` is one of
``"cannot open"``, ``"no video stream"``, ``"unsupported codec"``, ``"truncated"``, ``"corrupt"``
and whose ``reason`` is a one-line explanation starting with the kind (e.g. ``"truncated: decoded
12 of 48 frames"``): the pipeline records it per video and moves on to the next one.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import cv2
import numpy as np

ErrorKind = Literal["cannot open", "no video stream", "unsupported codec", "truncated", "corrupt"]
MergeMode = Literal["nearest", "crossfade"]

_MP4_BRANDS = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")


class VideoError(Exception):
    """A video that cannot be (fully) decoded; ``kind`` classifies it, ``reason`` explains it."""

    def __init__(self, path: Path | str, kind: ErrorKind, detail: str = "") -> None:
        self.path = Path(path)
        self.kind: ErrorKind = kind
        self.reason = f"{kind}: {detail}" if detail else kind
        super().__init__(f"{self.path}: {self.reason}")


@dataclass(frozen=True)
class VideoInfo:
    """What ``probe`` reads from a container's headers.

    Attributes:
        path: the file.
        fps: average frame rate of the video stream.
        width, height: frame size in pixels.
        num_frames: frames in the stream (from the header, or duration x fps when it has none).
        duration: seconds from the first frame's timestamp to the end of the last frame.
        codec: decoder name (``"h264"``, ``"vp9"``...).
    """

    path: Path
    fps: float
    width: int
    height: int
    num_frames: int
    duration: float
    codec: str

    def resampled_length(self, fps: float = 30.0) -> int:
        """Number of frames ``read_frames(path, fps)`` returns for the whole video."""
        return _target_count(self.duration, fps)


def probe(path: Path | str) -> VideoInfo:
    """Read fps, size, frame count, duration and codec from the headers; no frame is decoded."""
    path = Path(path)
    try:
        container = _open_pyav(path)
    except VideoError as error:
        if error.kind != "cannot open":
            raise
        return _probe_opencv(path, error)
    with container:
        stream = _video_stream(container, path)
        fps = _stream_fps(stream)
        duration = _stream_duration(container, stream, fps)
        frames = stream.frames or round(duration * fps)
        return VideoInfo(path, fps, stream.width, stream.height, int(frames), duration, stream.codec_context.name)


def read_frames(
    path: Path | str, fps: float = 30.0, start: int | None = None, stop: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Decode target frames ``start:stop`` of the ``fps`` timeline (module docstring).

    Args:
        path: the video.
        fps: the target rate.
        start, stop: half-open range of *target* frame indices (as ``chunks`` returns them);
            ``None`` is the start / end of the video. PyAV seeks to the keyframe before ``start``.

    Returns:
        ``(frames (T, H, W, 3) uint8 RGB, source_frame_index (T,) int64)``.

    Raises:
        VideoError: unreadable file, or one that ends before its header says (only checked when
            reading to the end, ``stop is None``).
    """
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    path = Path(path)
    first = start or 0
    if first < 0 or (stop is not None and stop < first):
        raise ValueError(f"bad frame range start={start} stop={stop}")
    try:
        container = _open_pyav(path)
    except VideoError as error:
        if error.kind != "cannot open":
            raise
        return _read_opencv(path, error, fps, first, stop)
    with container:
        stream = _video_stream(container, path)
        source_fps = _stream_fps(stream)
        if first > 0:
            offset = int((first / fps - 1.0 / source_fps) / stream.time_base) + (stream.start_time or 0)
            container.seek(max(offset, 0), stream=stream, backward=True)
        decoded = _decode_pyav(container, stream, path)
        frames, times = _resample(decoded, fps, first, stop, 1.0 / source_fps)
        if stop is None and stream.frames:
            _check_complete(path, decoded, stream.frames, source_fps)
    return frames, np.round(np.asarray(times) * source_fps).astype(np.int64)


def chunks(info: VideoInfo, chunk_seconds: float = 20.0, overlap_seconds: float = 2.0, fps: float = 30.0) -> list[tuple[int, int]]:
    """Overlapping half-open ranges ``(start, stop)`` of target frames covering the whole video.

    Consecutive chunks overlap by ``overlap_seconds``; the last chunk is shifted back to end at
    the video's end with full length (so its overlap with the previous one can be larger), which
    keeps every chunk the same size. A video shorter than one chunk is one chunk.
    """
    if not 0 <= overlap_seconds < chunk_seconds:
        raise ValueError(f"need 0 <= overlap_seconds < chunk_seconds, got {overlap_seconds}, {chunk_seconds}")
    total = info.resampled_length(fps)
    length = max(1, round(chunk_seconds * fps))
    step = max(1, length - round(overlap_seconds * fps))
    out = []
    begin = 0
    while begin + length < total:
        out.append((begin, begin + length))
        begin += step
    out.append((max(0, total - length), total))
    return out


def merge_chunks(ranges: Sequence[tuple[int, int]], values: Sequence[np.ndarray], mode: MergeMode = "nearest") -> np.ndarray:
    """Merge per-frame arrays computed on overlapping chunks into one array over the whole timeline.

    A chunk's results are least reliable near its edges (trackers and smoothers lack context
    there), so each frame is taken from the chunk in which it lies deepest, i.e. farthest from
    that chunk's nearer edge: in an overlap the cut falls at its middle. ``"nearest"`` takes that
    chunk's value outright (right for anything: labels, rotations, poses); ``"crossfade"`` instead
    averages the covering chunks with weights ``1 + depth``, a linear ramp across the overlap
    (floating-point values that can be averaged, such as positions in a shared frame).

    Args:
        ranges: ``(start, stop)`` of each chunk, as ``chunks`` returns them.
        values: per chunk, an array whose first axis has ``stop - start`` entries.
        mode: ``"nearest"`` or ``"crossfade"``.

    Returns:
        Array with ``max(stop)`` entries; every frame must be covered by some chunk.
    """
    if len(ranges) != len(values) or not ranges:
        raise ValueError(f"need one value array per chunk, got {len(ranges)} ranges and {len(values)} arrays")
    for (begin, end), value in zip(ranges, values, strict=True):
        if len(value) != end - begin:
            raise ValueError(f"chunk ({begin}, {end}) has {len(value)} values, expected {end - begin}")
    total = max(end for _, end in ranges)
    index = np.arange(total)
    depth = np.stack([np.where((index >= b) & (index < e), np.minimum(index - b, e - 1 - index), -1) for b, e in ranges])
    if (depth.max(axis=0) < 0).any():
        raise ValueError(f"chunks leave frames {np.flatnonzero(depth.max(axis=0) < 0)[:5]}... uncovered")
    first = np.asarray(values[0])
    if mode == "nearest":
        best = np.argmax(depth, axis=0)  # ties: the earlier chunk
        out = np.empty((total,) + first.shape[1:], dtype=first.dtype)
        for c, (begin, _) in enumerate(ranges):
            frames = np.flatnonzero(best == c)
            out[frames] = np.asarray(values[c])[frames - begin]
        return out
    if mode == "crossfade":
        weights = np.where(depth >= 0, depth + 1.0, 0.0)
        out = np.zeros((total,) + first.shape[1:])
        for c, (begin, end) in enumerate(ranges):
            w = weights[c, begin:end].reshape((-1,) + (1,) * (first.ndim - 1))
            out[begin:end] += w * np.asarray(values[c], dtype=np.float64)
        return out / weights.sum(axis=0).reshape((-1,) + (1,) * (first.ndim - 1))
    raise ValueError(f"unknown merge mode {mode!r}; use 'nearest' or 'crossfade'")


# --- internals -------------------------------------------------------------------------------


def _target_count(duration: float, fps: float) -> int:
    return max(0, math.ceil(duration * fps - 1e-6))


def _open_pyav(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise VideoError(path, "cannot open", "no such file")
    _check_mp4_boxes(path)
    try:
        return av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError) as error:
        raise VideoError(path, "cannot open", str(error)) from error


def _check_mp4_boxes(path: Path) -> None:
    """Detect an ISO-BMFF (mp4/mov) file cut short from its top-level box sizes.

    A plain (non-faststart) mp4 keeps its index (``moov``) at the end, so a file cut anywhere
    before that cannot be opened at all; FFmpeg then only says "moov atom not found". The box
    that declares more bytes than the file holds names the real cause. Once a complete ``moov``
    has been seen (faststart files) the file opens and the decoder reports how far it got.
    """
    size = path.stat().st_size
    with path.open("rb") as file:
        head = file.read(8)
        if len(head) < 8 or head[4:8] not in _MP4_BRANDS:
            return
        position = 0
        while position + 8 <= size:
            file.seek(position)
            header = file.read(16)
            box_size, box_type = int.from_bytes(header[:4], "big"), header[4:8]
            if box_size == 1 and len(header) == 16:
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:  # the box runs to the end of the file
                return
            if box_size < 8:
                return  # not a box structure we understand; let the decoder judge
            if box_type == b"moov" and position + box_size <= size:
                return
            if position + box_size > size:
                name = box_type.decode("latin-1")
                raise VideoError(
                    path, "truncated", f"file ends inside its '{name}' box ({size} of {position + box_size} bytes)"
                )
            position += box_size


def _video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    if not container.streams.video:
        raise VideoError(path, "no video stream")
    stream = container.streams.video[0]
    context = stream.codec_context
    if context is None or not context.name or context.name == "none":
        raise VideoError(path, "unsupported codec", f"codec id of stream 0 is unknown to FFmpeg {av.ffmpeg_version_info}")
    try:
        av.Codec(context.name, "r")
    except (av.codec.codec.UnknownCodecError, ValueError) as error:
        raise VideoError(path, "unsupported codec", f"no decoder for {context.name!r}") from error
    stream.thread_type = "AUTO"
    return stream


def _stream_fps(stream: av.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        raise VideoError(stream.container.name, "corrupt", "the video stream has no frame rate")
    return float(rate)


def _stream_duration(container: av.container.InputContainer, stream: av.VideoStream, fps: float) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if stream.frames:
        return stream.frames / fps
    if container.duration:
        return container.duration / av.time_base
    return 0.0


def _decode_pyav(container: av.container.InputContainer, stream: av.VideoStream, path: Path) -> _Decoded:
    """Frames with their times (seconds after the stream's start), decoding lazily."""
    origin = stream.start_time or 0
    result = _Decoded()

    def frames() -> Iterator[tuple[float, np.ndarray]]:
        try:
            for index, frame in enumerate(container.decode(stream)):
                time = float((frame.pts - origin) * stream.time_base) if frame.pts is not None else index / _stream_fps(stream)
                result.last_time = time
                yield time, frame.to_ndarray(format="rgb24")
        except av.FFmpegError as error:
            result.error = str(error)  # a damaged tail: what was decoded stands, the caller judges
        if result.last_time is None and result.error is not None:
            raise VideoError(path, "corrupt", result.error)

    result.frames = frames()
    return result


@dataclass
class _Decoded:
    """A lazy stream of ``(time, rgb)`` plus what the caller needs to judge completeness."""

    frames: Iterator[tuple[float, np.ndarray]] = iter(())
    last_time: float | None = None
    error: str | None = None


def _resample(
    decoded: _Decoded, fps: float, first: int, stop: int | None, frame_interval: float
) -> tuple[np.ndarray, list[float]]:
    """Nearest-timestamp resampling of a monotonic frame stream onto ``k / fps``, ``first <= k < stop``.

    Streams: each source frame is held only until the next one arrives, so memory is that of
    the output.
    """
    out: list[np.ndarray] = []
    times: list[float] = []
    k = first
    previous: tuple[float, np.ndarray] | None = None
    for current in decoded.frames:
        while previous is not None and (stop is None or k < stop) and k / fps - previous[0] <= current[0] - k / fps:
            times.append(previous[0])
            out.append(previous[1])
            k += 1
        if stop is not None and k >= stop:
            break
        previous = current
    else:
        if previous is not None:
            end = _target_count(previous[0] + frame_interval, fps)
            while k < (end if stop is None else min(end, stop)):
                times.append(previous[0])
                out.append(previous[1])
                k += 1
    if not out:
        return np.zeros((0, 0, 0, 3), np.uint8), times
    return np.stack(out), times


def _check_complete(path: Path, decoded: _Decoded, expected: int, source_fps: float) -> None:
    got = 0 if decoded.last_time is None else round(decoded.last_time * source_fps) + 1
    if got < expected:
        tail = f" ({decoded.error})" if decoded.error else ""
        raise VideoError(path, "truncated", f"decoded {got} of {expected} frames{tail}")


def _probe_opencv(path: Path, pyav_error: VideoError) -> VideoInfo:
    capture = _open_opencv(path, pyav_error)
    try:
        fps = capture.get(cv2.CAP_PROP_FPS)
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("latin-1").strip("\x00 ")
        width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        return VideoInfo(path, fps, width, height, frames, frames / fps, fourcc.lower())
    finally:
        capture.release()


def _read_opencv(path: Path, pyav_error: VideoError, fps: float, first: int, stop: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The OpenCV fallback: sequential decoding from the start, times = index / fps."""
    capture = _open_opencv(path, pyav_error)
    source_fps = capture.get(cv2.CAP_PROP_FPS)
    expected = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    decoded = _Decoded()

    def frames() -> Iterator[tuple[float, np.ndarray]]:
        index = 0
        try:
            while True:
                ok, bgr = capture.read()
                if not ok:
                    return
                decoded.last_time = index / source_fps
                yield decoded.last_time, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                index += 1
        finally:
            capture.release()

    decoded.frames = frames()
    out, times = _resample(decoded, fps, first, stop, 1.0 / source_fps)
    if stop is None and expected > 0:
        _check_complete(path, decoded, expected, source_fps)
    return out, np.round(np.asarray(times) * source_fps).astype(np.int64)


def _open_opencv(path: Path, pyav_error: VideoError) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened() or not capture.get(cv2.CAP_PROP_FPS) > 0:
        capture.release()
        raise pyav_error
    return capture

"""Camera streams with PyAV: encode an episode, remux episodes into a shard, decode one frame by seeking.

Episodes are encoded once, each into its own file starting with a keyframe; a shard is then built by
copying their packets with shifted timestamps (no re-encoding), which is fast and loses nothing. A
short GOP (LeRobot's ``g=2``) bounds what a random access must decode: one seek to the keyframe at
or before the wanted frame, then at most a GOP of frames.
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vitra_bench.corpus.errors import CorpusError

# SVT-AV1 prints a banner per encoder to stderr; keep its errors only unless the user asked for more.
os.environ.setdefault("SVT_LOG", "1")

FALLBACK_CODEC = "libx264"
_MIN_SIZE = {"libsvtav1": 4}
_SUBSAMPLED_420 = ("yuv420p", "yuvj420p", "nv12")


@dataclass(frozen=True)
class VideoSettings:
    """How camera streams are encoded; the defaults are LeRobot's (AV1, yuv420p, GOP 2, CRF 30).

    Attributes:
        codec: FFmpeg encoder name (``"libsvtav1"``, ``"libx264"``...).
        pix_fmt: pixel format of the stream.
        gop: keyframe interval; a random access decodes at most this many frames.
        crf: constant rate factor (lower is better quality; 0 is lossless for x264).
        options: extra encoder options, passed through (e.g. ``{"preset": "12"}`` for faster SVT-AV1).
    """

    codec: str = "libsvtav1"
    pix_fmt: str = "yuv420p"
    gop: int = 2
    crf: int = 30
    options: dict[str, str] = field(default_factory=dict)

    def resolved(self) -> VideoSettings:
        """These settings, or the fallback codec (with a warning) when this FFmpeg build lacks the encoder."""
        if _has_encoder(self.codec):
            return self
        if not _has_encoder(FALLBACK_CODEC):
            raise CorpusError(
                f"video encoder {self.codec!r} is not available in this PyAV build, nor the fallback "
                f"{FALLBACK_CODEC!r}; pick one of {sorted(av.codecs_available)}"
            )
        warnings.warn(
            f"video encoder {self.codec!r} is not available in this PyAV build; falling back to {FALLBACK_CODEC!r}",
            stacklevel=2,
        )
        return replace(self, codec=FALLBACK_CODEC)

    @property
    def codec_name(self) -> str:
        """The codec's canonical name, as LeRobot records it in ``video.codec`` (``"av1"``, ``"h264"``)."""
        return av.Codec(self.codec, "w").canonical_name

    def encoder_options(self) -> dict[str, str]:
        options = {"g": str(self.gop), "crf": str(self.crf)}
        if self.codec in ("libx264", "h264"):
            # No B-frames: decode order equals display order, so a seek never needs frames after the target.
            options["bf"] = "0"
        options.update(self.options)
        return options


def _has_encoder(name: str) -> bool:
    try:
        av.Codec(name, "w")
    except (av.codec.codec.UnknownCodecError, ValueError):
        return False
    return True


def rational_fps(fps: float) -> Fraction:
    """A rational frame rate for the container (29.97 -> 30000/1001)."""
    return Fraction(fps).limit_denominator(1001 * 1000)


def check_frame_size(width: int, height: int, settings: VideoSettings) -> None:
    """Reject sizes the encoder cannot take, with the reason, before any file is written."""
    minimum = _MIN_SIZE.get(settings.codec, 2)
    if width < minimum or height < minimum:
        raise CorpusError(f"{settings.codec} needs frames of at least {minimum}x{minimum} pixels, got {width}x{height}")
    if settings.pix_fmt in _SUBSAMPLED_420 and (width % 2 or height % 2):
        raise CorpusError(
            f"{settings.pix_fmt} subsamples chroma by 2, so width and height must be even; got {width}x{height} "
            "(crop or pad the frames by one pixel)"
        )


def encode_video(frames: np.ndarray, path: Path, fps: float, settings: VideoSettings) -> None:
    """Encode (T, H, W, 3) uint8 RGB frames to ``path``; frame k gets timestamp k / fps."""
    _, height, width, _ = frames.shape
    check_frame_size(width, height, settings)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream(settings.codec, rate=rational_fps(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, settings.pix_fmt
        stream.options = settings.encoder_options()
        for k, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = k
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def remux_videos(inputs: Sequence[Path], lengths: Sequence[int], output: Path, fps: float) -> None:
    """Concatenate episode videos into ``output`` by copying packets, shifting each episode's timestamps.

    Episode i starts at ``sum(lengths[:i]) / fps`` seconds, which is what the episodes metadata
    records as its ``from_timestamp``. Every input must start with a keyframe (a fresh encode does).
    """
    if not inputs:
        raise ValueError("nothing to remux")
    rate = rational_fps(fps)
    sources = [av.open(str(p)) for p in inputs]
    try:
        first = sources[0].streams.video[0]
        with av.open(str(output), "w", format="mp4") as container:
            out = container.add_stream_from_template(first, opaque=True)
            start = 0
            for path, source, length in zip(inputs, sources, lengths, strict=True):
                stream = source.streams.video[0]
                if (stream.codec_context.name, stream.width, stream.height) != (
                    first.codec_context.name,
                    first.width,
                    first.height,
                ):
                    raise CorpusError(f"{path}: stream differs from {inputs[0]} (codec or size); cannot remux them")
                shift = round(Fraction(start) / rate / stream.time_base)
                for packet in source.demux(stream):
                    if packet.dts is None:  # demuxer's end-of-stream flush packet
                        continue
                    packet.pts += shift
                    packet.dts += shift
                    packet.stream = out
                    container.mux(packet)
                start += length
    finally:
        for source in sources:
            source.close()


@dataclass(frozen=True)
class VideoProbe:
    """What a file holds, found by demuxing packets only (no decoding)."""

    num_frames: int
    width: int
    height: int
    codec: str


def probe_video(path: Path) -> VideoProbe:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for packet in container.demux(stream) if packet.dts is not None)
        return VideoProbe(count, stream.width, stream.height, stream.codec_context.codec.canonical_name)


class VideoFrameReader:
    """Decodes frames by seeking, keeping recently used containers open.

    Containers are per process: a DataLoader worker forked after a container was opened must not
    share its file position, so the cache is dropped when the process id changes.

    Attributes:
        last_decoded: frames the last ``read`` decoded (at most a GOP for a well-formed file).
    """

    def __init__(self, max_open: int = 16) -> None:
        self.max_open = max_open
        self._open: OrderedDict[Path, av.container.InputContainer] = OrderedDict()
        self._pid = os.getpid()
        self.last_decoded = 0

    def _container(self, path: Path) -> av.container.InputContainer:
        if os.getpid() != self._pid:
            self._open.clear()  # the parent's containers: leave them to the parent
            self._pid = os.getpid()
        container = self._open.pop(path, None)
        if container is None:
            if not path.exists():
                raise CorpusError(f"{path}: video file is missing")
            container = av.open(str(path))
        self._open[path] = container
        while len(self._open) > self.max_open:
            self._open.popitem(last=False)[1].close()
        return container

    def read(self, path: Path, frame: int, fps: float, count: int = 1) -> np.ndarray:
        """Frames ``frame .. frame+count-1`` of the file (frame k at k / fps) as (count, H, W, 3) uint8."""
        container = self._container(path)
        stream = container.streams.video[0]
        period = Fraction(1) / rational_fps(fps) / stream.time_base  # one frame, in stream ticks
        wanted = [round((frame + k) * period) for k in range(count)]
        container.seek(wanted[0], stream=stream, backward=True, any_frame=False)
        out = np.empty((count, stream.height, stream.width, 3), np.uint8)
        got, decoded = 0, 0
        for decoded_frame in container.decode(stream):
            decoded += 1
            if decoded_frame.pts < wanted[got] - period / 2:
                continue
            if decoded_frame.pts > wanted[got] + period / 2:
                break
            out[got] = decoded_frame.to_ndarray(format="rgb24")
            got += 1
            if got == count:
                break
        self.last_decoded = decoded
        if got < count:
            raise CorpusError(
                f"{path}: no frame {frame + got} at {float((frame + got) / rational_fps(fps)):.4f} s "
                f"(video has about {stream.frames} frames)"
            )
        return out

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1].close()


def decode_video(path: Path) -> np.ndarray:
    """Every frame of a (short) video as (T, H, W, 3) uint8 RGB, in one sequential pass."""
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])

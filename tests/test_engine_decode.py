"""Stage 1 (decode and probe): probe values, 30 fps resampling, chunking and merging, bad files."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from data_engine.decode import VideoError, VideoInfo, chunks, merge_chunks, probe, read_frames
from vitra_bench.corpus.video import VideoSettings, encode_video

X264 = VideoSettings(codec="libx264", gop=30, crf=20)
NUM = 48  # source frames of every test video


def _frames(n: int = NUM, height: int = 48, width: int = 64) -> np.ndarray:
    """Flat frames whose grey level 5 k tells frame k apart after lossy coding."""
    return np.broadcast_to((5 * np.arange(n, dtype=np.uint8))[:, None, None, None], (n, height, width, 3)).copy()


def _source_index(frames: np.ndarray) -> np.ndarray:
    return np.round(frames.reshape(len(frames), -1).mean(axis=1) / 5).astype(int)


def _encode_webm(frames: np.ndarray, path: Path, fps: int, codec: str) -> None:
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for k, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = k
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("videos")
    out = {}
    for fps in (24, 30, 60):
        out[fps] = root / f"v{fps}.mp4"
        encode_video(_frames(), out[fps], fps, X264)
    return out


@pytest.mark.parametrize("fps", [24, 30, 60])
def test_probe(videos: dict[int, Path], fps: int) -> None:
    info = probe(videos[fps])
    assert info == VideoInfo(videos[fps], float(fps), 64, 48, NUM, pytest.approx(NUM / fps), "h264")


@pytest.mark.parametrize(
    ("fps", "expected"),
    [
        (30, np.arange(NUM)),
        (60, np.arange(0, NUM, 2)),  # every second frame
        (24, np.round(np.arange(60) * 24 / 30 + 1e-9).astype(int)),  # nearest: some frames repeat
    ],
)
def test_resampling_is_nearest_timestamp(videos: dict[int, Path], fps: int, expected: np.ndarray) -> None:
    frames, index = read_frames(videos[fps], fps=30.0)
    assert frames.shape == (len(expected), 48, 64, 3) and frames.dtype == np.uint8
    assert len(frames) == probe(videos[fps]).resampled_length(30.0)
    np.testing.assert_array_equal(index, expected)
    np.testing.assert_array_equal(_source_index(frames), expected)  # the pixels are those frames'


def test_24fps_repeats_one_frame_in_four(videos: dict[int, Path]) -> None:
    _, index = read_frames(videos[24])
    assert len(index) == 60 and set(index) == set(range(NUM)) and np.count_nonzero(np.diff(index) == 0) == 12


@pytest.mark.parametrize("fps", [24, 60])
def test_range_read_matches_full_read(videos: dict[int, Path], fps: int) -> None:
    full, full_index = read_frames(videos[fps])
    part, part_index = read_frames(videos[fps], start=13, stop=27)
    np.testing.assert_array_equal(part_index, full_index[13:27])
    np.testing.assert_array_equal(part, full[13:27])
    tail, tail_index = read_frames(videos[fps], start=20)
    np.testing.assert_array_equal(tail_index, full_index[20:])


@pytest.mark.parametrize("codec", ["libvpx", "libvpx-vp9"])
def test_webm(tmp_path: Path, codec: str) -> None:
    try:
        av.Codec(codec, "w")
    except (av.codec.codec.UnknownCodecError, ValueError):
        pytest.skip(f"this PyAV build has no {codec} encoder")
    path = tmp_path / "clip.webm"
    _encode_webm(_frames(), path, 60, codec)
    info = probe(path)
    assert (info.fps, info.width, info.height, info.codec) == (60.0, 64, 48, {"libvpx": "vp8", "libvpx-vp9": "vp9"}[codec])
    assert info.duration == pytest.approx(NUM / 60, abs=0.02)
    frames, index = read_frames(path)
    np.testing.assert_array_equal(index, np.arange(0, NUM, 2))
    np.testing.assert_array_equal(_source_index(frames), index)


def test_opencv_fallback(videos: dict[int, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise av.InvalidDataError(1094995529, "Invalid data found when processing input")

    monkeypatch.setattr(av, "open", refuse)
    assert probe(videos[60]).num_frames == NUM
    frames, index = read_frames(videos[60])
    np.testing.assert_array_equal(index, np.arange(0, NUM, 2))
    np.testing.assert_array_equal(_source_index(frames), index)


def test_chunks_cover_with_overlap() -> None:
    info = VideoInfo(Path("x.mp4"), 30.0, 64, 48, 1500, 50.0, "h264")
    ranges = chunks(info, chunk_seconds=20.0, overlap_seconds=2.0)
    assert ranges == [(0, 600), (540, 1140), (900, 1500)]
    assert chunks(VideoInfo(Path("x.mp4"), 60.0, 64, 48, 600, 10.0, "h264")) == [(0, 300)]
    with pytest.raises(ValueError, match="overlap"):
        chunks(info, chunk_seconds=2.0, overlap_seconds=2.0)


def test_merge_takes_each_frame_from_the_chunk_it_lies_deepest_in() -> None:
    ranges = [(0, 600), (540, 1140), (900, 1500)]
    values = [np.full((e - b, 2), c, dtype=np.int32) for c, (b, e) in enumerate(ranges)]
    merged = merge_chunks(ranges, values)
    assert merged.shape == (1500, 2) and merged.dtype == np.int32
    boundaries = np.flatnonzero(np.diff(merged[:, 0])) + 1
    np.testing.assert_array_equal(boundaries, [570, 1020])  # overlap middles
    truth = np.arange(1500, dtype=float)[:, None] * [1.0, -1.0]
    pieces = [truth[b:e] for b, e in ranges]
    np.testing.assert_array_equal(merge_chunks(ranges, pieces), truth)
    np.testing.assert_allclose(merge_chunks(ranges, pieces, mode="crossfade"), truth)
    shifted = [p + c for c, p in enumerate(pieces)]  # chunk c is off by c: the crossfade ramps between them
    fade = merge_chunks(ranges, shifted, mode="crossfade")[:, 0] - truth[:, 0]
    assert fade[539] == 0 and fade[600] == 1 and 0 < fade[570] < 1 and np.all(np.diff(fade[:1140]) >= 0)
    with pytest.raises(ValueError, match="uncovered"):
        merge_chunks([(0, 10), (12, 20)], [np.zeros(10), np.zeros(8)])


def test_random_bytes_cannot_be_opened(tmp_path: Path) -> None:
    path = tmp_path / "junk.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    for read in (probe, read_frames):
        with pytest.raises(VideoError) as caught:
            read(path)
        assert caught.value.kind == "cannot open" and caught.value.reason.startswith("cannot open")
    with pytest.raises(VideoError, match="no such file"):
        probe(tmp_path / "missing.mp4")


def test_mp4_cut_in_half_is_truncated(videos: dict[int, Path], tmp_path: Path) -> None:
    data = videos[30].read_bytes()
    path = tmp_path / "half.mp4"
    path.write_bytes(data[: len(data) // 2])  # the index (moov) is at the end: gone
    with pytest.raises(VideoError) as caught:
        read_frames(path)
    assert caught.value.kind == "truncated" and "'mdat' box" in caught.value.reason


def test_faststart_mp4_cut_in_half_reports_decoded_frames(tmp_path: Path) -> None:
    path = tmp_path / "fast.mp4"
    rng = np.random.default_rng(1)
    noisy = rng.integers(0, 256, (NUM, 48, 64, 3), dtype=np.uint8)  # incompressible: bytes ~ frames
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for k, rgb in enumerate(noisy):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = k
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert probe(path).num_frames == NUM  # the header still promises every frame
    with pytest.raises(VideoError) as caught:
        read_frames(path)
    assert caught.value.kind == "truncated"
    assert caught.value.reason.startswith("truncated: decoded ") and f" of {NUM} frames" in caught.value.reason


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "sound.mp4"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 8000
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    with pytest.raises(VideoError) as caught:
        probe(path)
    assert caught.value.reason == "no video stream"

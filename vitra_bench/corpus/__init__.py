"""Corpus storage: episodes in LeRobot v3.0 layout (parquet + mp4 shards), crash-safe and resumable.

Write with ``CorpusWriter`` (one writer per corpus, resumable by episode key), read with ``Corpus``
(random access to per-frame arrays and single decoded frames), check with ``validate_corpus``.
"""

from vitra_bench.corpus.errors import CorpusError, CorpusLockedError
from vitra_bench.corpus.reader import Corpus
from vitra_bench.corpus.schema import HUMAN_ROBOT_TYPE, video_key
from vitra_bench.corpus.validate import Problem, validate_corpus
from vitra_bench.corpus.video import VideoSettings
from vitra_bench.corpus.writer import CorpusWriter

__all__ = [
    "HUMAN_ROBOT_TYPE",
    "Corpus",
    "CorpusError",
    "CorpusLockedError",
    "CorpusWriter",
    "Problem",
    "VideoSettings",
    "validate_corpus",
    "video_key",
]

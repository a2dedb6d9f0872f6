"""``engine score``: a corpus made by the engine from HumanSim clips, against the clips' truth.

Per video (HumanSim clip) it measures what each stage got right:

* focal error, % of the true focal length (stage 3);
* camera: ATE, the RMS distance between estimated and true camera centres, cm, and the mean
  rotation error, degrees (stage 4); both tracks start at the identity, so no alignment is
  applied: the world frame *is* the first camera, as in VITRA;
* hands: MPJPE over the 21 world keypoints and the wrist error, cm, on frames where the engine
  kept the hand and the truth saw it (stages 5-6);
* segments: boundary precision/recall/F1 within +-5 frames per hand (stage 7), from the spans
  of the episodes written (so the filter's drops count as misses, as they should);
* instructions (stage 8): each episode is matched to the true segment of its hand with the
  largest temporal IoU (>= 0.5); ``token_f1`` is the word-overlap F1 between the two
  instructions (content words only), ``object_named`` whether the engine's instruction names
  the true target's category.

The truth corpus written by ``humansim to-corpus`` scores 0 / 0 / 1.0 by construction, which the
tests check; anything else is error the engine added.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from data_engine.score_segments import BoundaryScore, score_hands, temporal_iou
from envs.humansim.truth import ClipTruth, load_truth
from vitra_bench.corpus.reader import Corpus
from vitra_bench.episode import HANDS, Episode
from vitra_bench.geometry import invert_transform, transform_points

_STOPWORDS = frozenset("a an the with your you to from of on in into onto it its and then hand left right up".split())
MIN_IOU = 0.5
TOLERANCE = 5


@dataclass
class VideoScore:
    """Scores of one clip; NaN where there was nothing to score (e.g. no matched episodes)."""

    video: str
    episodes: int
    focal_error_pct: float
    ate_cm: float
    rotation_error_deg: float
    mpjpe_cm: float
    wrist_error_cm: float
    boundaries: BoundaryScore
    token_f1: float
    object_named: float
    matched: int

    def row(self) -> dict[str, Any]:
        return {
            "video": self.video,
            "episodes": self.episodes,
            "focal_err_%": _fmt(self.focal_error_pct),
            "ATE_cm": _fmt(self.ate_cm),
            "rot_err_deg": _fmt(self.rotation_error_deg),
            "MPJPE_cm": _fmt(self.mpjpe_cm),
            "wrist_cm": _fmt(self.wrist_error_cm),
            "boundary_P": _fmt(self.boundaries.precision),
            "boundary_R": _fmt(self.boundaries.recall),
            "boundary_F1": _fmt(self.boundaries.f1),
            "instr_token_F1": _fmt(self.token_f1),
            "object_named": _fmt(self.object_named),
            "matched": self.matched,
        }


def _fmt(value: float) -> str:
    return "nan" if not math.isfinite(value) else f"{value:.3g}"


def score_corpus(corpus_dir: Path, truth_dir: Path) -> list[VideoScore]:
    """One ``VideoScore`` per clip of ``truth_dir`` that has episodes in the corpus, sorted by clip."""
    corpus = Corpus(corpus_dir)
    by_video: dict[str, list[Episode]] = defaultdict(list)
    for index in range(corpus.num_episodes):
        episode = corpus.episode(index)
        by_video[Path(episode.source_video).with_suffix("").as_posix()].append(episode)
    if not by_video:
        raise ValueError(f"{corpus_dir}: corpus has no episodes to score")
    scores = []
    for video, episodes in sorted(by_video.items()):
        truth_path = Path(truth_dir) / f"{video}.json"
        if not truth_path.exists():
            raise FileNotFoundError(f"{truth_path}: no HumanSim truth for the corpus's video {video!r}")
        scores.append(score_video(video, episodes, load_truth(truth_path)))
    return scores


def score_video(video: str, episodes: list[Episode], truth: ClipTruth) -> VideoScore:
    first = truth.extrinsics[0]
    truth_extrinsics = truth.extrinsics @ invert_transform(first)  # world = first camera, as the engine's
    focal = _focal_error(episodes, truth)
    ate, rotation = _camera_errors(episodes, truth_extrinsics)
    mpjpe, wrist = _hand_errors(episodes, truth, first)
    predicted = {hand: [_span(e) for e in episodes if e.main_hand == hand] for hand in HANDS}
    true_spans = {hand: [(s.start, s.end) for s in truth.segments if s.hand == hand] for hand in HANDS}
    boundaries = score_hands(predicted, true_spans, TOLERANCE)
    token_f1, named, matched = _instruction_agreement(episodes, truth)
    return VideoScore(video, len(episodes), focal, ate, rotation, mpjpe, wrist, boundaries, token_f1, named, matched)


def _span(episode: Episode) -> tuple[int, int]:
    return int(episode.video_frame_index[0]), int(episode.video_frame_index[-1]) + 1


def _focal_error(episodes: list[Episode], truth: ClipTruth) -> float:
    episode = episodes[0]
    focal = float(episode.intrinsics[0, 0]) * truth.width / episode.image_size[0]  # back to the clip's size
    return 100.0 * abs(focal - float(truth.intrinsics[0, 0])) / float(truth.intrinsics[0, 0])


def _frames_and_extrinsics(episodes: list[Episode]) -> tuple[np.ndarray, np.ndarray]:
    """Every video frame the episodes cover, once, with its estimated extrinsics."""
    table: dict[int, np.ndarray] = {}
    for episode in episodes:
        for frame, extrinsic in zip(episode.video_frame_index, episode.extrinsics, strict=True):
            table.setdefault(int(frame), extrinsic)
    frames = np.array(sorted(table))
    return frames, np.stack([table[f] for f in frames]).astype(np.float64)


def _camera_errors(episodes: list[Episode], truth_extrinsics: np.ndarray) -> tuple[float, float]:
    frames, estimated = _frames_and_extrinsics(episodes)
    true = truth_extrinsics[frames]
    centres = invert_transform(estimated)[:, :3, 3]
    true_centres = invert_transform(true)[:, :3, 3]
    ate = 100.0 * float(np.sqrt(np.mean(np.sum((centres - true_centres) ** 2, axis=1))))
    relative = Rotation.from_matrix(estimated[:, :3, :3] @ np.swapaxes(true[:, :3, :3], 1, 2))
    return ate, float(np.degrees(relative.magnitude()).mean())


def _hand_errors(episodes: list[Episode], truth: ClipTruth, world_to_first: np.ndarray) -> tuple[float, float]:
    """Mean keypoint and wrist errors (cm) over (episode, hand, frame) triples both sides trust."""
    keypoint_errors, wrist_errors = [], []
    for episode in episodes:
        frames = episode.video_frame_index
        for hand in HANDS:
            track, true_hand = episode.hands[hand], truth.hands[hand]
            seen = true_hand.present[frames].astype(bool) & (true_hand.visible[frames].sum(axis=1) >= 6)
            use = track.kept & seen
            if not use.any():
                continue
            true_joints = transform_points(world_to_first, true_hand.joints_world[frames[use]])
            error = np.linalg.norm(track.joints_world[use] - true_joints, axis=-1)
            keypoint_errors.append(error.ravel())
            wrist_errors.append(error[:, 0])
    if not keypoint_errors:
        return math.nan, math.nan
    return 100.0 * float(np.concatenate(keypoint_errors).mean()), 100.0 * float(np.concatenate(wrist_errors).mean())


def content_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", text.lower()) if w not in _STOPWORDS]


def token_f1(predicted: str, truth: str) -> float:
    """Word-overlap F1 (SQuAD style) between two sentences' content words."""
    p, t = content_words(predicted), content_words(truth)
    if not p or not t:
        return float(p == t)
    common = sum(min(p.count(w), t.count(w)) for w in set(p))
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(t)
    return 2 * precision * recall / (precision + recall)


def _instruction_agreement(episodes: list[Episode], truth: ClipTruth) -> tuple[float, float, int]:
    f1s, named = [], []
    categories = {name: str(info.get("category", name)).replace("_", " ") for name, info in truth.meta.get("props", {}).items()}
    for episode in episodes:
        span = _span(episode)
        candidates = [s for s in truth.segments if s.hand == episode.main_hand]
        if not candidates:
            continue
        best = max(candidates, key=lambda s: temporal_iou(span, (s.start, s.end)))
        if temporal_iou(span, (best.start, best.end)) < MIN_IOU:
            continue
        text = next((i.text for i in episode.instructions[episode.main_hand] if i.covers(0)), "")
        f1s.append(token_f1(text, best.instruction))
        if best.target is not None:
            category = categories.get(best.target, best.target)
            named.append(float(category.lower() in text.lower()))
    mean = lambda values: float(np.mean(values)) if values else math.nan  # noqa: E731
    return mean(f1s), mean(named), len(f1s)


def summary_row(scores: list[VideoScore]) -> dict[str, Any]:
    """Means over clips (boundaries pooled over clips: F1 of the summed counts)."""
    pooled = sum((s.boundaries for s in scores), BoundaryScore(0, 0, 0))
    mean = lambda name: float(np.nanmean([getattr(s, name) for s in scores]))  # noqa: E731
    return {
        "video": f"all ({len(scores)} clips)",
        "episodes": sum(s.episodes for s in scores),
        "focal_err_%": _fmt(mean("focal_error_pct")),
        "ATE_cm": _fmt(mean("ate_cm")),
        "rot_err_deg": _fmt(mean("rotation_error_deg")),
        "MPJPE_cm": _fmt(mean("mpjpe_cm")),
        "wrist_cm": _fmt(mean("wrist_error_cm")),
        "boundary_P": _fmt(pooled.precision),
        "boundary_R": _fmt(pooled.recall),
        "boundary_F1": _fmt(pooled.f1),
        "instr_token_F1": _fmt(mean("token_f1")),
        "object_named": _fmt(mean("object_named")),
        "matched": sum(s.matched for s in scores),
    }

"""Zero-shot hand-motion prediction: VITRA's grasp benchmark on HumanSim, and ADE/FDE on any corpus.

Grasp benchmark (the paper's Table 1 setting). Each case is one ``grasp_eval`` HumanSim clip
(``humansim generate --script grasp_eval --split unseen``): a hand rests about 20 cm from a prop of
a held-out category in an unseen room, and the prompt asks it to grasp that prop. The policy sees
the first frame of the grasp segment (image, prompt, state, FoV) and predicts K action chunks;
each is integrated into fingertip trajectories in the anchor camera, and

* ``d_hand_obj`` is the smallest fingertip-to-object distance along the chunk (metrics module),
  averaged over the K samples (``d_hand_obj_best``: the best sample);
* ``ADE``/``FDE`` compare the same K futures with the recorded one (wrist + fingertips, best of K).

Corpus ADE/FDE needs only recorded future hands, so it runs on any corpus a user brings (their
own videos through the engine, or VITRA-1M imported): anchors are sampled from the
``HandActionDataset``, and prediction and truth chunks are integrated from the same state.

Every reported number carries a bootstrap 95 % interval and the number of cases behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vitra_bench import layout
from vitra_bench.episode import prompt_at
from vitra_bench.geometry import fov_from_intrinsics, transform_points
from vitra_bench.metrics import WRIST_AND_FINGERTIPS, chunk_keypoints, displacement_errors, fingertips, hand_object_distance
from vitra_bench.stats import bootstrap_interval


@dataclass
class GraspCase:
    """One grasp-evaluation case, everything in the anchor frame's camera.

    Attributes:
        clip: the clip id; ``hand``: the hand asked to grasp.
        image: (H, W, 3) uint8 anchor frame; ``intrinsics`` (3, 3).
        instruction: the prompt ``"Left hand: ... Right hand: ..."``.
        state, state_mask: (122,) anchor state as the corpus stores it.
        object_points: (N, 3) the target's surface points.
        future: (T, 21, 3) recorded keypoints of the hand from the anchor on (frame 0 = anchor).
        target: the target's label (``"black hammer"``).
    """

    clip: str
    hand: str
    image: np.ndarray
    intrinsics: np.ndarray
    instruction: str
    state: np.ndarray
    state_mask: np.ndarray
    object_points: np.ndarray
    future: np.ndarray
    target: str


def grasp_cases(clips: Path, horizon: int = layout.CHUNK_SIZE) -> list[GraspCase]:
    """The grasp cases of every finished ``grasp_eval`` clip in ``clips``."""
    from envs.humansim.truth import VIDEO_SUFFIX, clip_episodes, finished_clips, load_truth
    from vitra_bench.corpus.video import decode_video

    cases = []
    for meta in finished_clips(clips):
        truth = load_truth(meta)
        if truth.meta.get("script") != "grasp_eval":
            continue
        number, segment = next((n, s) for n, s in enumerate(truth.segments) if s.action == "grasp")
        frames = decode_video(meta.with_name(truth.clip_id + VIDEO_SUFFIX))
        episode = clip_episodes(truth, frames)[number]
        state, state_mask = layout.state_at(episode, 0)
        anchor = truth.extrinsics[segment.start]
        end = min(segment.start + horizon + 1, truth.num_frames)
        info = truth.meta["props"][segment.target]
        cases.append(
            GraspCase(
                clip=truth.clip_id,
                hand=segment.hand,
                image=episode.frames["ego"][0],
                intrinsics=np.asarray(truth.intrinsics, np.float32),
                instruction=prompt_at(episode.instructions, episode.main_hand, 0),
                state=state,
                state_mask=state_mask,
                object_points=transform_points(anchor, truth.prop_cloud_world(segment.target, segment.start)),
                future=transform_points(anchor, truth.hands[segment.hand].joints_world[segment.start : end]),
                target=f"{info['colour']} {info['category']}",
            )
        )
    if not cases:
        raise FileNotFoundError(f"{clips}: no grasp_eval clips (make them with: humansim generate --script grasp_eval)")
    return cases


def _batch(cases: list[GraspCase]) -> dict[str, Any]:
    import torch

    return {
        "image": torch.from_numpy(np.stack([c.image for c in cases])).permute(0, 3, 1, 2).contiguous(),
        "instruction": [c.instruction for c in cases],
        "intrinsics": torch.from_numpy(np.stack([c.intrinsics for c in cases])),
        "fov": torch.from_numpy(np.stack([fov_from_intrinsics(c.intrinsics) for c in cases]).astype(np.float32)),
        "state": torch.from_numpy(np.stack([c.state for c in cases])),
        "state_mask": torch.from_numpy(np.stack([c.state_mask for c in cases])),
    }


def predict_samples(policy: Any, batch: dict[str, Any], samples: int, seed: int) -> np.ndarray:
    """(B, K, chunk, 102) metric actions: K calls with generators seeded ``(seed, k)``."""
    import torch

    out = []
    for k in range(samples):
        generator = torch.Generator().manual_seed(seed * 1_000_003 + k)
        with torch.no_grad():
            out.append(policy.predict_actions(batch, generator=generator).float().numpy())
    return np.stack(out, axis=1)


def evaluate_grasp(policy: Any, cases: list[GraspCase], samples: int = 5, seed: int = 0, batch_size: int = 8) -> pd.DataFrame:
    """One row per case: start distance, d_hand_obj (mean and best of K), ADE and FDE (best of K), in cm."""
    rows = []
    for begin in range(0, len(cases), batch_size):
        group = cases[begin : begin + batch_size]
        predictions = predict_samples(policy, _batch(group), samples, seed + begin)
        for case, predicted in zip(group, predictions, strict=True):
            keypoints, valid = chunk_keypoints(case.state, predicted, case.hand, state_mask=case.state_mask)  # (K, T+1, 21, 3)
            future_tips = fingertips(keypoints[:, 1:])
            distances = np.atleast_1d(hand_object_distance(future_tips, case.object_points, valid[:, 1:]))
            start = float(hand_object_distance(fingertips(case.future[:1]), case.object_points))
            steps = min(keypoints.shape[1], len(case.future)) - 1
            errors = displacement_errors(
                keypoints[:, 1 : steps + 1][:, :, list(WRIST_AND_FINGERTIPS)],
                case.future[1 : steps + 1][:, list(WRIST_AND_FINGERTIPS)],
            )
            rows.append({
                "clip": case.clip, "hand": case.hand, "target": case.target,
                "start_distance_cm": 100 * start,
                "d_hand_obj_cm": 100 * float(np.nanmean(distances)),
                "d_hand_obj_best_cm": 100 * float(np.nanmin(distances)),
                "ade_cm": 100 * errors.ade, "fde_cm": 100 * errors.fde,
            })  # fmt: skip
    return pd.DataFrame(rows)


def evaluate_corpus(
    policy: Any, corpus: Path, samples: int = 5, anchors: int = 64, seed: int = 0, batch_size: int = 8
) -> pd.DataFrame:
    """Best-of-K ADE/FDE (cm) of the main hand on ``anchors`` random samples of any corpus."""
    from torch.utils.data import default_collate

    from vitra_bench.corpus.dataset import HandActionDataset

    dataset = HandActionDataset(corpus)
    rng = np.random.default_rng(seed)
    picks = np.sort(rng.choice(len(dataset), size=min(anchors, len(dataset)), replace=False))
    rows = []
    for begin in range(0, len(picks), batch_size):
        items = [dataset[int(i)] for i in picks[begin : begin + batch_size]]
        batch = default_collate(items)
        predictions = predict_samples(policy, batch, samples, seed + begin)
        for item, predicted in zip(items, predictions, strict=True):
            row = _corpus_row(item, predicted)
            if row is not None:
                rows.append(row)
    return pd.DataFrame(rows)


def _corpus_row(item: dict[str, Any], predicted: np.ndarray) -> dict[str, Any] | None:
    """ADE/FDE of one anchor's main hand (the hand whose state is valid; the right one if both)."""
    state, state_mask = item["state"].numpy(), item["state_mask"].numpy()
    actions, action_mask = item["actions"].numpy(), item["action_mask"].numpy()
    hand = "right" if state_mask[layout.STATE_SLICES["right"]].all() else "left"
    truth, truth_valid = chunk_keypoints(state, actions, hand, action_mask=action_mask, state_mask=state_mask)
    if not truth_valid[1:].any():
        return None
    guess, _ = chunk_keypoints(state, predicted, hand, state_mask=state_mask)
    joints = list(WRIST_AND_FINGERTIPS)
    errors = displacement_errors(guess[:, 1:][:, :, joints], truth[1:][:, joints], truth_valid[1:])
    return {"episode": int(item["episode_index"]), "frame": int(item["frame_index"]), "hand": hand,
            "ade_cm": 100 * errors.ade, "fde_cm": 100 * errors.fde}  # fmt: skip


def summarize(results: pd.DataFrame, columns: list[str], seed: int = 0) -> list[dict[str, Any]]:
    """Mean and median of each column with bootstrap 95 % intervals and n."""
    rows = []
    for column in columns:
        values = results[column].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if not len(values):
            rows.append({"metric": column, "mean [95% CI]": "nan", "median [95% CI]": "nan", "n": 0})
            continue
        mean = bootstrap_interval(values, np.mean, seed=seed)
        median = bootstrap_interval(values, np.median, seed=seed)
        rows.append({"metric": column, "mean [95% CI]": mean.format(digits=2), "median [95% CI]": median.format(digits=2), "n": len(values)})
    return rows


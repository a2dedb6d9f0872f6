"""Small random but self-consistent episodes for corpus tests (deterministic per seed).

Consistency the validator checks: ``joints_cam = extrinsics @ joints_world`` and the camera-space
wrist orientation is the extrinsic rotation applied to the world one. Frames are smooth moving
patterns, which a video codec reproduces closely (random noise would not survive CRF 30).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from vitra_bench.episode import NUM_BETAS, NUM_FINGER_JOINTS, NUM_KEYPOINTS, Episode, HandTrack, Instruction

WIDTH, HEIGHT = 64, 48
FPS = 30.0


def smooth_frames(num_frames: int, width: int, height: int, seed: int) -> np.ndarray:
    """(T, H, W, 3) uint8 frames of drifting gradients and a moving blob."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    out = np.empty((num_frames, height, width, 3), np.uint8)
    for t in range(num_frames):
        cx, cy = width * (0.3 + 0.4 * np.sin(0.2 * t + seed)), height * 0.5
        blob = 120 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * (width / 8) ** 2))
        out[t, ..., 0] = np.clip(40 + 2 * x + 3 * t + blob, 0, 255)
        out[t, ..., 1] = np.clip(60 + 3 * y + 20 * np.sin(seed) + blob / 2, 0, 255)
        out[t, ..., 2] = np.clip(128 + 60 * np.sin((x + y) / 12 + 0.1 * t + seed), 0, 255)
    return out


def _extrinsics(rng: np.random.Generator, num_frames: int) -> np.ndarray:
    """A smoothly moving world -> camera transform per frame."""
    base = rng.normal(size=3) * 0.3
    drift = rng.normal(size=3) * 0.01
    ext = np.tile(np.eye(4), (num_frames, 1, 1))
    for t in range(num_frames):
        ext[t, :3, :3] = Rotation.from_rotvec(base + drift * t).as_matrix()
        ext[t, :3, 3] = rng.normal(size=3) * 0.01 + np.array([0.0, 0.0, 0.5])
    return ext


def _hand(rng: np.random.Generator, ext: np.ndarray, kept: np.ndarray) -> HandTrack:
    t = len(ext)
    joints_world = (rng.normal(size=(1, NUM_KEYPOINTS, 3)) * 0.05 + rng.normal(size=(t, 1, 3)) * 0.02).astype(
        np.float32
    )
    orient_world = rng.normal(size=(t, 3)) * 0.5
    rot_cam = ext[:, :3, :3] @ Rotation.from_rotvec(orient_world).as_matrix()
    joints_cam = np.einsum("tij,tkj->tki", ext[:, :3, :3], joints_world.astype(np.float64)) + ext[:, None, :3, 3]
    track = HandTrack(
        beta=rng.normal(size=NUM_BETAS),
        wrist_orient_cam=Rotation.from_matrix(rot_cam).as_rotvec(),
        wrist_orient_world=orient_world,
        hand_pose=rng.normal(size=(t, NUM_FINGER_JOINTS, 3)) * 0.3,
        wrist_world=joints_world[:, 0],
        joints_cam=joints_cam,
        joints_world=joints_world,
        kept=kept,
    )
    # An untracked frame holds no information: zero it as producers do.
    for name in ("wrist_orient_cam", "wrist_orient_world", "hand_pose", "wrist_world", "joints_cam", "joints_world"):
        getattr(track, name)[~kept] = 0
    return track


def make_episode(
    key: str,
    seed: int,
    num_frames: int = 24,
    cameras: tuple[str, ...] = ("ego",),
    width: int = WIDTH,
    height: int = HEIGHT,
    fps: float = FPS,
) -> Episode:
    """An episode with both hands (the left one partly untracked), instructions with rephrases, extra."""
    rng = np.random.default_rng(seed)
    ext = _extrinsics(rng, num_frames)
    left_kept = np.ones(num_frames, bool)
    left_kept[rng.integers(0, num_frames, size=max(1, num_frames // 5))] = False
    half = num_frames // 2
    main = "right" if seed % 3 else "left"
    other = "left" if main == "right" else "right"
    instructions = {
        main: [
            Instruction(f"pick up the cup {seed}", 0, half, [f"grab cup {seed}", "take the cup"]),
            Instruction(f"put it down {seed}", half, num_frames),
        ],
        other: [Instruction("hold the plate", 2, max(3, half - 1), ["steady the plate"])] if seed % 2 else [],
    }
    k = np.array([[300.0, 0, width / 2], [0, 310.0, height / 2], [0, 0, 1]])
    return Episode(
        key=f"{key}",
        source_video=f"video_{seed % 4}.mp4",
        fps=fps,
        intrinsics=k,
        image_size=(width, height),
        extrinsics=ext,
        video_frame_index=np.arange(num_frames) * 2 + seed,
        hands={"left": _hand(rng, ext, left_kept), "right": _hand(rng, ext, np.ones(num_frames, bool))},
        instructions=instructions,
        main_hand=main,
        caption_source="truth",
        frames={cam: smooth_frames(num_frames, width, height, seed + 7 * i) for i, cam in enumerate(cameras)},
        extra={"scene": f"scene_{seed}", "split": "train", "nested": {"ids": [seed, seed + 1], "ok": True}},
    )


def assert_same_episode(got: Episode, want: Episode) -> None:
    """Exact equality of everything but the frames (which go through a lossy codec)."""
    for name in ("key", "source_video", "fps", "image_size", "main_hand", "caption_source", "extra", "instructions"):
        assert getattr(got, name) == getattr(want, name), name
    for name in ("intrinsics", "extrinsics", "video_frame_index"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    for hand in ("left", "right"):
        for name in (
            "beta",
            "wrist_orient_cam",
            "wrist_orient_world",
            "hand_pose",
            "wrist_world",
            "joints_cam",
            "joints_world",
            "kept",
        ):
            a, b = getattr(got.hands[hand], name), getattr(want.hands[hand], name)
            assert a.dtype == b.dtype and np.array_equal(a, b), f"{hand}.{name}"


def corpus_episodes(count: int, first_seed: int = 0, cameras: tuple[str, ...] = ("ego",)) -> list[Episode]:
    """``count`` episodes of varying lengths (20..34 frames) with keys ``ep-<seed>``."""
    return [
        make_episode(f"ep-{seed}", seed, num_frames=20 + (seed * 7) % 15, cameras=cameras)
        for seed in range(first_seed, first_seed + count)
    ]

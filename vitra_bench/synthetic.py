"""Kinematic synthetic episodes: reaching-and-grasping hands drawn as skeletons, with exact truth.

Why it exists beside HumanSim: it needs neither MuJoCo nor a renderer, makes an episode in
milliseconds and is fully determined by ``(seed, index)``, so tests, the loader benchmark and the
smallest demo get real episodes (consistent camera, world and hand geometry, smooth minimum-jerk
motion, finger closure, instructions with spans) without waiting for a physics scene. The frames
are flat drawings (a table, a target disc, skeleton hands): good enough to train a vision
backbone to look at hands and targets, not meant to fool a hand detector (HumanSim is).

World frame = the first camera frame (OpenCV axes: x right, y down, z forward), as in VITRA. The
scene is laid out in a gravity-aligned frame at the eyes (x right, y down, z forward, level) and
carried into the world by the head's downward pitch, since egocentric cameras look down at hands.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.spatial.transform import Rotation, Slerp
from tqdm import tqdm

from vitra_bench import hand as hk
from vitra_bench.episode import HANDS, Episode, HandTrack, Instruction
from vitra_bench.geometry import intrinsics_from_fov, invert_transform, make_transform, project_points, transform_points

CAMERA = "ego"
TABLE_HEIGHT = 0.45  # metres below the eyes, in the gravity-aligned scene frame (y down)
OBJECTS = ("cup", "ball", "box", "bottle", "bowl")
COLOURS = {  # name -> RGB
    "red": (210, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 210),
    "yellow": (230, 200, 40),
    "purple": (140, 60, 170),
}
SKIN_TONES = ((224, 172, 140), (198, 134, 96), (141, 85, 54), (240, 200, 170))
# Palm down, fingers forward (+z), thumb toward the image's left for a right hand.
PALM_DOWN_RIGHT = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


@dataclass
class SyntheticConfig:
    """What ``vitra-bench corpus synth`` generates."""

    out: Path = Path("runs/synthetic/corpus")
    """Corpus directory (created, or resumed when it exists)."""
    episodes: int = 12
    """Number of episodes."""
    frames: int = 48
    """Frames per episode."""
    width: int = 256
    """Image width in pixels."""
    height: int = 192
    """Image height in pixels."""
    fps: float = 30.0
    """Frame rate, the action control rate."""
    seed: int = 0
    """Episode i is generated from (seed, i) alone, so a resumed run reproduces the same corpus."""
    moving_camera_fraction: float = 0.5
    """Share of episodes filmed by a moving (head-mounted) camera instead of a static one."""
    bimanual_fraction: float = 0.3
    """Share of episodes in which the other hand reaches for a second object at the same time."""
    dropout: float = 0.02
    """Probability that a visible hand is marked untracked in a frame (exercises the masks)."""


def minimum_jerk(num_frames: int, start: int, stop: int) -> np.ndarray:
    """Progress in [0, 1] per frame: still before ``start``, minimum-jerk to ``stop``, still after."""
    tau = np.clip((np.arange(num_frames) - start) / max(stop - start, 1), 0.0, 1.0)
    return tau**3 * (10 - 15 * tau + 6 * tau**2)


def head_pitch(angle: float) -> np.ndarray:
    """Rotation taking scene-frame vectors into the first camera's frame for a head pitched down."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def camera_extrinsics(rng: np.random.Generator, num_frames: int, moving: bool) -> np.ndarray:
    """World -> camera transforms (T, 4, 4); the first is the identity (world = first camera)."""
    if not moving:
        return np.broadcast_to(np.eye(4), (num_frames, 4, 4)).copy()
    t = np.arange(num_frames)[:, None] / num_frames
    freq = rng.uniform(0.3, 1.2, (1, 6))
    phase = rng.uniform(0, 2 * np.pi, (1, 6))
    amplitude = np.concatenate([rng.uniform(0.01, 0.04, 3), np.radians(rng.uniform(1.0, 5.0, 3))])
    wave = amplitude * (np.sin(2 * np.pi * freq * t + phase) - np.sin(phase))  # zero at t = 0
    camera_to_world = make_transform(Rotation.from_rotvec(wave[:, 3:]).as_matrix(), wave[:, :3])
    return invert_transform(camera_to_world)


def wrist_rotations(rng: np.random.Generator, side: str, num_frames: int, progress: np.ndarray) -> np.ndarray:
    """Palm-down wrist rotations (T, 3, 3) in the scene frame, turning smoothly between two attitudes."""
    base = Rotation.from_matrix(PALM_DOWN_RIGHT)
    if side == "left":
        mirrored, _, _ = hk.mirror_pose(PALM_DOWN_RIGHT, np.zeros(3), np.zeros((15, 3)))
        base = Rotation.from_matrix(mirrored)
    ends = Rotation.from_euler("xyz", rng.uniform(-1, 1, (2, 3)) * np.radians([25, 20, 15])) * base
    return Slerp([0.0, 1.0], ends)(progress).as_matrix()


def finger_poses(rng: np.random.Generator, progress: np.ndarray) -> np.ndarray:
    """Finger rotations (T, 15, 3) from a relaxed open hand to a grasp whose closure varies."""
    low, high = hk.JOINT_LIMITS[..., 0], hk.JOINT_LIMITS[..., 1]
    relaxed = np.clip(rng.normal(0.0, 0.05, (15, 3)), low, high)
    relaxed[:12, 2] += rng.uniform(0.05, 0.3, 12)  # slight natural flexion of the fingers
    closure = rng.uniform(0.4, 0.9)
    grasp = np.clip(relaxed + closure * np.clip(high, 0, None) * np.array([0.0, 0.0, 1.0]), low, high)
    grasp[12:] = np.clip(relaxed[12:] + closure * np.array([0.0, 0.6, 0.5]), low[12:], high[12:])
    return relaxed + progress[:, None, None] * (grasp - relaxed)


def hand_track(
    side: str, rotations: np.ndarray, wrists: np.ndarray, theta: np.ndarray, beta: np.ndarray,
    extrinsics: np.ndarray, kept: np.ndarray,
) -> HandTrack:
    """A consistent track: camera quantities are the world ones seen through each frame's camera."""
    joints_world = hk.forward_kinematics(rotations, wrists, theta, beta, side=side)
    camera_rotations = extrinsics[:, :3, :3] @ rotations
    return HandTrack(
        beta=beta,
        wrist_orient_cam=Rotation.from_matrix(camera_rotations).as_rotvec(),
        wrist_orient_world=Rotation.from_matrix(rotations).as_rotvec(),
        hand_pose=theta,
        wrist_world=wrists,
        joints_cam=transform_points(extrinsics, joints_world),
        joints_world=joints_world,
        kept=kept,
    )


def visible(joints_cam: np.ndarray, intrinsics: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Per frame: is the wrist in front of the camera and inside the image?"""
    pixels = project_points(joints_cam[:, 0], intrinsics)
    with np.errstate(invalid="ignore"):
        inside = (pixels[:, 0] >= 0) & (pixels[:, 0] < size[0]) & (pixels[:, 1] >= 0) & (pixels[:, 1] < size[1])
    return inside & (joints_cam[:, 0, 2] > 0.05)


def generate_episode(config: SyntheticConfig, index: int) -> Episode:
    """Episode ``index`` of the synthetic corpus of ``config`` (deterministic in seed and index)."""
    rng = np.random.default_rng([config.seed, index])
    size = (config.width, config.height)
    num_frames = config.frames
    intrinsics = intrinsics_from_fov(np.radians(rng.uniform(60, 90)), *size)
    moving = rng.random() < config.moving_camera_fraction
    extrinsics = camera_extrinsics(rng, num_frames, moving)
    main_hand = HANDS[int(rng.integers(2))]
    bimanual = rng.random() < config.bimanual_fraction
    colours = rng.choice(list(COLOURS), size=2, replace=False)
    objects = rng.choice(OBJECTS, size=2, replace=False)
    skin = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))]

    to_world = head_pitch(np.radians(rng.uniform(30, 50)))
    tracks, instructions, targets = {}, {}, {}
    for number, side in enumerate((main_hand, "left" if main_hand == "right" else "right")):
        direction = -1.0 if side == "left" else 1.0
        beta = rng.normal(0.0, 1.0, hk.NUM_BETAS)
        start = np.array([direction * rng.uniform(0.08, 0.16), rng.uniform(0.3, 0.36), rng.uniform(0.22, 0.3)])
        target = np.array([direction * rng.uniform(0.02, 0.14), TABLE_HEIGHT, rng.uniform(0.38, 0.52)])
        moves = number == 0 or bimanual
        begin = int(rng.integers(2, num_frames // 4))
        stop = int(rng.integers(num_frames * 3 // 5, num_frames - 2))
        progress = minimum_jerk(num_frames, begin, stop) if moves else np.zeros(num_frames)
        hover = target - np.array([0.0, 0.06, 0.07])  # the wrist stays above and before the object
        wrists = (start + progress[:, None] * (hover - start)) @ to_world.T
        rotations = to_world @ wrist_rotations(rng, side, num_frames, progress)
        theta = finger_poses(rng, minimum_jerk(num_frames, (begin + stop) // 2, stop) if moves else np.zeros(num_frames))
        provisional = hand_track(side, rotations, wrists, theta, beta, extrinsics, np.ones(num_frames, bool))
        kept = visible(provisional.joints_cam, intrinsics, size) & (rng.random(num_frames) >= config.dropout)
        tracks[side] = hand_track(side, rotations, wrists, theta, beta, extrinsics, kept)
        if moves:
            colour, thing = colours[number], objects[number]
            instructions[side] = [
                Instruction(
                    f"Reach for the {colour} {thing} and grasp it.",
                    0,
                    num_frames,
                    [f"Grab the {colour} {thing}.", f"Pick up the {colour} {thing} with the {side} hand."],
                )
            ]
            targets[side] = (to_world @ target, COLOURS[colour])

    frames = render_frames(size, intrinsics, extrinsics, to_world, tracks, list(targets.values()), skin, rng)
    return Episode(
        key=f"synthetic-{config.seed}-{index:06d}",
        source_video=f"synthetic/seed{config.seed}/{index:06d}",
        fps=config.fps,
        intrinsics=intrinsics,
        image_size=size,
        extrinsics=extrinsics,
        video_frame_index=np.arange(num_frames),
        hands=tracks,
        instructions=instructions,
        main_hand=main_hand,
        caption_source="truth",
        frames={CAMERA: frames},
        extra={"generator": "synthetic", "seed": config.seed, "index": index, "camera": "moving" if moving else "static"},
    )


def render_frames(
    size: tuple[int, int],
    intrinsics: np.ndarray,
    extrinsics: np.ndarray,
    to_world: np.ndarray,
    tracks: dict[str, HandTrack],
    targets: list[tuple[np.ndarray, tuple[int, int, int]]],
    skin: tuple[int, int, int],
    rng: np.random.Generator,
) -> np.ndarray:
    """RGB frames (T, H, W, 3): wall, table, target discs and skeleton hands, far to near.

    ``to_world`` carries the gravity-aligned scene (where the table is level) into the world.
    """
    width, height = size
    wall = np.array(rng.integers(150, 230, 3))
    table = np.array(rng.integers(70, 160, 3))
    corners = np.array([[-1, TABLE_HEIGHT, 0.1], [1, TABLE_HEIGHT, 0.1], [1, TABLE_HEIGHT, 0.9], [-1, TABLE_HEIGHT, 0.9]]) @ to_world.T
    frames = np.empty((len(extrinsics), height, width, 3), np.uint8)
    for t, world_to_camera in enumerate(extrinsics):
        image = np.empty((height, width, 3), np.uint8)
        image[:] = wall
        _fill_polygon(image, transform_points(world_to_camera, corners), intrinsics, table)
        for centre, colour in targets:
            _draw_disc(image, transform_points(world_to_camera, centre[None])[0], 0.035, intrinsics, colour)
        hands = sorted(tracks.items(), key=lambda item: -item[1].joints_cam[t, 0, 2])
        for _, track in hands:
            if track.kept[t] or track.joints_cam[t, 0, 2] > 0.05:
                _draw_skeleton(image, track.joints_cam[t], intrinsics, skin)
        frames[t] = image
    return frames


def _fill_polygon(image: np.ndarray, points_cam: np.ndarray, intrinsics: np.ndarray, colour: np.ndarray) -> None:
    pixels = project_points(points_cam, intrinsics)
    if np.all(np.isfinite(pixels)):
        cv2.fillPoly(image, [np.round(pixels).astype(np.int32)], tuple(int(c) for c in colour))


def _draw_disc(image: np.ndarray, centre_cam: np.ndarray, radius: float, intrinsics: np.ndarray, colour: tuple) -> None:
    if centre_cam[2] <= 0.05:
        return
    pixel = project_points(centre_cam, intrinsics)
    radius_px = max(1, int(round(intrinsics[0, 0] * radius / centre_cam[2])))
    cv2.circle(image, (int(round(pixel[0])), int(round(pixel[1]))), radius_px, colour, -1, cv2.LINE_AA)


def _draw_skeleton(image: np.ndarray, joints_cam: np.ndarray, intrinsics: np.ndarray, skin: tuple) -> None:
    """Bones as thick lines whose width follows depth, knuckles as dots; palm filled."""
    if np.any(joints_cam[:, 2] <= 0.05):
        return
    pixels = np.round(project_points(joints_cam, intrinsics)).astype(np.int32)
    palm = [0, 1, 5, 9, 13, 17]
    cv2.fillConvexPoly(image, cv2.convexHull(pixels[palm]), tuple(int(c * 0.9) for c in skin), cv2.LINE_AA)
    for child, parent in enumerate(hk.KEYPOINT_PARENTS):
        if parent < 0:
            continue
        width = max(1, int(round(intrinsics[0, 0] * 0.016 / joints_cam[child, 2])))
        cv2.line(image, tuple(pixels[parent]), tuple(pixels[child]), skin, width, cv2.LINE_AA)
    for point in pixels:
        cv2.circle(image, tuple(point), 1, tuple(int(c * 0.7) for c in skin), -1, cv2.LINE_AA)


def write_synthetic_corpus(config: SyntheticConfig, progress: bool = True) -> Path:
    """Generate the corpus of ``config`` into ``config.out``; rerunning resumes where it stopped."""
    from vitra_bench.corpus import CorpusWriter

    with CorpusWriter(config.out, fps=config.fps, cameras={CAMERA: (config.width, config.height)}) as writer:
        for index in tqdm(range(config.episodes), desc="synthetic episodes", disable=not progress):
            if not writer.contains(f"synthetic-{config.seed}-{index:06d}"):
                writer.add(generate_episode(config, index))
    return Path(config.out)

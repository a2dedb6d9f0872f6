"""Generate HumanSim clips: scene + hands + motion program + camera -> mp4 and ground-truth sidecar.

Clip ``i`` of a run is drawn from ``(seed, split, i)`` alone, so a run is resumable clip by clip
(a clip is finished when its JSON sidecar exists; nothing else is trusted) and parallel workers
produce exactly what a single process would.

Presets:
    ``lab``: the EgoDex-like lab data of the paper's ablation: one plain room, a tripod camera,
    two or three props, single-hand pick-and-place at one tempo, clean images.
    ``wild``: the Ego4D-like data: rooms drawn from an environment id, mostly head-mounted
    cameras, three to five props, every motion program with both hands, motion blur, noise and
    compression.
Splits hold out whole environments and prop categories, so a benchmark can test on rooms and
objects never trained on: ``seen`` draws environments 0-39 and the seen categories, ``unseen``
environments 1000-1011 and the unseen categories (mixed with seen ones as distractors).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from tqdm import tqdm

from envs.humansim.spec import HANDS, CameraTrack, Choreography, Prop
from envs.humansim.truth import META_SUFFIX, TRUTH_SUFFIX, VIDEO_SUFFIX, ClipTruth, HandTruth, save_truth
from vitra_bench import hand as hk
from vitra_bench.corpus.files import atomic_write

os.environ.setdefault("MUJOCO_GL", "egl")  # offscreen software rendering; no display needed

SEEN_ENVIRONMENTS = range(0, 40)
UNSEEN_ENVIRONMENTS = range(1000, 1012)
UNSEEN_CATEGORIES = ("mug", "can", "hammer", "book")
LAB_CATEGORIES = ("cup", "bottle", "box", "bowl", "ball")
VISIBILITY_RADIUS_PX = 1  # a keypoint is visible when its hand shows within this many pixels of it


@dataclass
class HumanSimConfig:
    """What ``vitra-bench humansim generate`` makes."""

    out: Path = Path("runs/humansim")
    """Folder of the clips (mp4 + ``.truth.npz`` + ``.json`` each); an existing one is resumed."""
    preset: Literal["lab", "wild"] = "wild"
    """``lab``: static camera, plain room, single-hand pick-and-place; ``wild``: everything varied."""
    split: Literal["seen", "unseen"] = "seen"
    """Environments and prop categories: the training pool or the held-out one."""
    clips: int = 8
    """Number of clips."""
    seed: int = 0
    """Clip i depends only on (seed, split, i)."""
    width: int = 640
    """Image width in pixels."""
    height: int = 480
    """Image height in pixels."""
    fps: float = 30.0
    """Frame rate."""
    seconds: float | None = None
    """Clip length; None: as long as the clip's motion script."""
    workers: int = 1
    """Parallel processes (each renders whole clips)."""
    degrade: bool = True
    """Motion blur, sensor noise and compression in the wild preset (never in lab)."""
    crf: int = 20
    """H.264 quality of the mp4 (lower is better; the data engine sees these compressed frames)."""
    script: Literal["activity", "grasp_eval"] = "activity"
    """``activity``: free-form bimanual activities; ``grasp_eval``: VITRA's grasp evaluation, one
    hand starting still about 20 cm from the first prop (in the unseen split, of a held-out
    category), then grasping and lifting it (``motions.reach_from_distance``)."""


def _categories(split: str, preset: str) -> tuple[str, ...]:
    from envs.humansim.objects import CATEGORIES

    if preset == "lab":
        return LAB_CATEGORIES
    seen = tuple(c for c in CATEGORIES if c not in UNSEEN_CATEGORIES)
    return seen if split == "seen" else UNSEEN_CATEGORIES


def clip_rng(config: HumanSimConfig, index: int) -> np.random.Generator:
    return np.random.default_rng([config.seed, zlib.crc32(config.split.encode()), index])


def make_props(rng: np.random.Generator, config: HumanSimConfig, table) -> list[Prop]:
    """Props on the table: targets from the split's categories, plus seen distractors when unseen."""
    from envs.humansim.objects import CATEGORIES, make_prop, place_props

    pool = _categories(config.split, config.preset)
    count = int(rng.integers(2, 4)) if config.preset == "lab" else int(rng.integers(3, 6))
    categories = list(rng.choice(pool, size=count, replace=len(pool) < count))
    if config.split == "unseen" and config.preset == "wild":
        seen = [c for c in CATEGORIES if c not in UNSEEN_CATEGORIES]
        categories[1:] = [str(c) for c in rng.choice(seen, size=count - 1, replace=False)]
    props = [make_prop(str(c), rng, name=f"{c}_{i}") for i, c in enumerate(categories)]
    placed = place_props(rng, props, table)
    return [p for p in props if p.name in placed]


def make_camera(rng: np.random.Generator, config: HumanSimConfig, num_frames: int, table) -> CameraTrack:
    from envs.humansim.camera import egocentric_camera, static_camera

    if config.preset == "lab":  # a tripod framing the work area tightly, as lab recordings do
        return static_camera(rng, table.work_area, num_frames, config.width, config.height, framing_m=(0.5, 0.8))
    if rng.random() < 0.2:
        return static_camera(rng, table.work_area, num_frames, config.width, config.height)
    return egocentric_camera(rng, num_frames, config.fps, table.work_area, config.width, config.height)


@dataclass
class ClipSetup:
    """A clip ready to render: the compiled scene with its hands, and what moves in it."""

    model: object  # mujoco.MjModel
    handles: dict  # side -> hand_model.HandHandle
    choreography: Choreography
    camera: CameraTrack
    props: list[Prop]
    beta: np.ndarray
    appearance: object  # hand_model.HandAppearance
    environment: dict
    rng: np.random.Generator  # the clip's generator, past every draw made so far


def setup_clip(config: HumanSimConfig, index: int) -> ClipSetup:
    """Draw clip ``index``: room, props, person, motion script and camera, and compile the scene."""
    from envs.humansim import hand_model, scene
    from envs.humansim.motions import make_choreography, reach_from_distance

    rng = clip_rng(config, index)
    environments = SEEN_ENVIRONMENTS if config.split == "seen" else UNSEEN_ENVIRONMENTS
    scene_config = scene.SceneConfig(
        variation=config.preset,
        environment_id=int(rng.choice(environments)),
        max_render_size=(config.width, config.height),
    )
    table = scene.make_table(scene_config)
    props = make_props(rng, config, table)
    beta = rng.normal(0.0, 1.0, hk.NUM_BETAS)  # one person: both hands share a shape
    num_frames = None if config.seconds is None else max(2, round(config.seconds * config.fps))
    if config.script == "grasp_eval":
        choreography = reach_from_distance(
            rng, props[0], table.height, hand=str(rng.choice(HANDS)), others=props[1:], fps=config.fps,
            table_center=table.center, beta=beta, num_frames=num_frames,
        )  # fmt: skip
    else:
        choreography = make_choreography(
            rng, props, table.height, num_frames, config.fps, config.preset,
            table_center=table.center, betas={side: beta for side in HANDS}, workspace=table.reach_region,
        )  # fmt: skip
    camera = make_camera(rng, config, choreography.num_frames, table)
    built = scene.build_scene(rng, scene_config, props)
    appearance = hand_model.sample_appearance(rng)
    handles = {side: hand_model.add_hand(built.spec, side, beta, appearance) for side in HANDS}
    return ClipSetup(built.compile(), handles, choreography, camera, props, beta, appearance, built.environment, rng)


def pose_frame(setup: ClipSetup, data, t: int) -> None:
    """Put hands, props and the camera where they are at frame ``t``."""
    import mujoco

    from envs.humansim import hand_model, scene
    from envs.humansim.camera import set_render_camera

    model = setup.model
    for side, handle in setup.handles.items():
        motion = setup.choreography.hands[side]
        if motion.present[t]:
            hand_model.set_hand_pose(model, data, handle, motion.rotation[t], motion.translation[t], motion.theta[t])
        else:
            hand_model.hide_hand(model, data, handle)
    for name, poses in setup.choreography.prop_poses.items():
        scene.set_prop_pose(model, data, name, poses[t])
    mujoco.mj_kinematics(model, data)
    camera = setup.camera
    set_render_camera(model, data, camera.extrinsics[t], camera.intrinsics, camera.width, camera.height)


def render_clip(config: HumanSimConfig, index: int) -> tuple[ClipTruth, np.ndarray]:
    """Render clip ``index``: its ground truth and its (T, H, W, 3) uint8 RGB frames."""
    import mujoco

    from envs.humansim import hand_model
    from envs.humansim.camera import Degradations, degrade
    from envs.humansim.scene import RENDER_CAMERA

    setup = setup_clip(config, index)
    choreography, camera, props, rng = setup.choreography, setup.camera, setup.props, setup.rng
    num_frames = choreography.num_frames
    data = mujoco.MjData(setup.model)
    frames = np.empty((num_frames, config.height, config.width, 3), np.uint8)
    owner = np.full((num_frames, config.height, config.width), -1, np.int8)  # -1 or the index of a hand
    hand_of_geom = np.full(setup.model.ngeom, -1, np.int8)
    for number, side in enumerate(HANDS):
        hand_of_geom[hand_model.hand_geom_ids(setup.model, setup.handles[side])] = number
    with mujoco.Renderer(setup.model, config.height, config.width) as renderer:
        for t in range(num_frames):
            pose_frame(setup, data, t)
            renderer.update_scene(data, camera=RENDER_CAMERA)
            frames[t] = renderer.render()
            renderer.enable_segmentation_rendering()
            segmentation = renderer.render()
            renderer.disable_segmentation_rendering()
            is_geom = segmentation[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM)
            owner[t][is_geom] = hand_of_geom[segmentation[..., 0][is_geom]]

    degradations = Degradations()
    if config.preset == "wild" and config.degrade:
        degradations = Degradations(
            blur=float(rng.uniform(0.0, 0.6)) if camera.mode == "egocentric" else 0.0,
            noise_sigma=float(rng.uniform(0.0, 4.0)),
            jpeg_quality=int(rng.integers(60, 95)),
        )
        frames = degrade(frames, rng, degradations)

    truth = ClipTruth(
        clip_id=f"clip_{index:06d}",
        fps=config.fps,
        width=config.width,
        height=config.height,
        intrinsics=camera.intrinsics,
        extrinsics=camera.extrinsics,
        hands={side: _hand_truth(choreography, side, setup.beta, camera, owner == n) for n, side in enumerate(HANDS)},
        prop_names=[p.name for p in props],
        prop_poses=np.stack([choreography.prop_poses[p.name] for p in props], axis=1),
        prop_points=[p.points for p in props],
        segments=choreography.segments,
        narrations=choreography.narrations,
        meta={
            "preset": config.preset,
            "split": config.split,
            "script": config.script,
            "seed": config.seed,
            "index": index,
            "camera": camera.mode,
            "environment": setup.environment,
            "props": {p.name: {"category": p.category, "colour": p.colour} for p in props},
            "skin_rgba": list(setup.appearance.skin_rgba),
            "degradations": asdict(degradations),
        },
    )
    return truth, frames


def _hand_truth(choreography: Choreography, side: str, beta: np.ndarray, camera: CameraTrack, mask: np.ndarray) -> HandTruth:
    """Keypoints from the skeleton (the renderer's bodies match it to 1e-6 m); a keypoint is visible
    when the segmentation shows its own hand within ``VISIBILITY_RADIUS_PX`` of it, i.e. it is in
    the image and no prop or other hand covers it (the keypoints lie inside the flesh, so the skin
    over them is what shows)."""
    from scipy.ndimage import maximum_filter

    from vitra_bench.geometry import project_points, transform_points

    motion = choreography.hands[side]
    joints_world = hk.forward_kinematics(motion.rotation, motion.translation, motion.theta, beta, side)
    joints_cam = transform_points(camera.extrinsics, joints_world)
    pixels = project_points(joints_cam, camera.intrinsics)
    height, width = mask.shape[1:]
    with np.errstate(invalid="ignore"):
        inside = (pixels[..., 0] >= 0) & (pixels[..., 0] < width) & (pixels[..., 1] >= 0) & (pixels[..., 1] < height)
    columns = np.clip(np.nan_to_num(pixels[..., 0]), 0, width - 1).astype(int)
    rows = np.clip(np.nan_to_num(pixels[..., 1]), 0, height - 1).astype(int)
    near_hand = maximum_filter(mask, size=(1, 2 * VISIBILITY_RADIUS_PX + 1, 2 * VISIBILITY_RADIUS_PX + 1))
    shown = near_hand[np.arange(len(mask))[:, None], rows, columns]
    return HandTruth(
        beta=beta,
        wrist_rotation=motion.rotation,
        wrist_translation=motion.translation,
        theta=motion.theta,
        joints_world=joints_world,
        joints_cam=joints_cam,
        present=motion.present,
        visible=inside & shown & motion.present[:, None],
    )


def write_clip(config: HumanSimConfig, index: int) -> str:
    """Render and write clip ``index`` (video first, then the truth, its JSON last); returns its id."""
    from vitra_bench.corpus.video import VideoSettings, encode_video

    truth, frames = render_clip(config, index)
    settings = VideoSettings(codec="libx264", pix_fmt="yuv420p", gop=30, crf=config.crf)
    atomic_write(config.out / f"{truth.clip_id}{VIDEO_SUFFIX}", lambda tmp: encode_video(frames, tmp, config.fps, settings))
    save_truth(truth, config.out)
    return truth.clip_id


def clip_done(config: HumanSimConfig, index: int) -> bool:
    stem = config.out / f"clip_{index:06d}"
    return all(Path(f"{stem}{suffix}").exists() for suffix in (META_SUFFIX, TRUTH_SUFFIX, VIDEO_SUFFIX))


def generate(config: HumanSimConfig, progress: bool = True) -> list[str]:
    """Write every missing clip of ``config``; returns the ids written now."""
    from vitra_bench.config import save_config

    config.out.mkdir(parents=True, exist_ok=True)
    _check_resume(config)
    save_config(config, config.out)
    todo = [i for i in range(config.clips) if not clip_done(config, i)]
    bar = tqdm(total=config.clips, initial=config.clips - len(todo), desc=f"humansim {config.preset}", disable=not progress)
    written: list[str] = []
    with bar:
        if config.workers <= 1:
            for index in todo:
                written.append(write_clip(config, index))
                bar.update()
        else:
            # spawn, not fork: each worker opens its own EGL context from a clean process.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(config.workers, mp_context=context) as pool:
                for future in as_completed([pool.submit(write_clip, config, i) for i in todo]):
                    written.append(future.result())
                    bar.update()
    return written


def _check_resume(config: HumanSimConfig) -> None:
    """Refuse to mix clips of different settings in one folder (a resumed run must match)."""
    from vitra_bench.config import CONFIG_FILENAME, load_config

    previous_path = config.out / CONFIG_FILENAME
    if not previous_path.exists():
        return
    previous = load_config(HumanSimConfig, previous_path)
    keys = ("preset", "split", "seed", "width", "height", "fps", "seconds", "degrade", "crf")
    changed = {k: (getattr(previous, k), getattr(config, k)) for k in keys if getattr(previous, k) != getattr(config, k)}
    if changed:
        details = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changed.items())
        raise ValueError(f"{config.out} holds clips made with other settings ({details}); use another --out")


def summary(directory: Path) -> dict:
    """Counts over the finished clips of a folder, for the CLI's closing line."""
    from envs.humansim.truth import finished_clips

    metas = [json.loads(p.read_text()) for p in finished_clips(directory)]
    segments = sum(len(m["segments"]) for m in metas)
    return {"clips": len(metas), "segments": segments}

"""Do HumanSim's rendered hands look like hands to a real detector? MediaPipe on single-hand frames.

Renders ``frames`` 640x480 images of one HumanSim hand (``envs/humansim/hand_model.py``), each
with a random side, shape (betas), pose (open, relaxed, pinch, grasp), view (palm, back, side,
oblique, egocentric from above-behind), skin tone, sleeve, soft lighting and backdrop (plain
colours or wood, tiles, speckle textures), the flat hand 150-250 px long at its distance (a fist
then looks smaller), fully in view and unoccluded. MediaPipe's legacy hand landmarker
(``static_image_mode=True``, ``max_num_hands=2``, ``min_detection_confidence=0.3``) runs on each;
a frame counts as detected when a returned hand's landmark box centre lies inside the true
keypoints' box. For detected hands, the 2D landmark error is the mean distance to the projected
true keypoints (same 21-point order), in pixels and in % of the hand size (the larger side of
the true keypoints' box). MediaPipe labels handedness for mirrored (selfie) images, so its
"Left" on these unmirrored renders means a right hand; the table reports agreement under that
reading. Frames are split by how much hand the segmentation shows (``CLEAR_AREA``): edge-on
hands are slivers that no detector should be expected to find.

Each frame compiles its own model (a clip does the same, one appearance per hand); the render
time is that of ``update_scene`` + ``render`` on a warm context, shadows and reflections off.

    pip install mediapipe==0.10.14       # the optional extra; see shared/PACKAGE_NOTES.md
    MUJOCO_GL=egl python benchmarks/humansim_hand_detection.py --frames 360 --save_frames runs/hand_frames
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import cv2
import mujoco
import numpy as np
from scipy.optimize import minimize
from scipy.spatial.transform import Rotation

from envs.humansim.hand_model import (
    SKIN_TONES,
    HandAppearance,
    HandHandle,
    add_hand,
    hand_geom_ids,
    keypoint_sites,
    sample_appearance,
    segmentation_mask,
    set_hand_pose,
)
from vitra_bench.benchmarking import RESULTS_DIR, machine_info, markdown_table, write_results
from vitra_bench.config import parse_config
from vitra_bench.hand import FINGER_JOINT_NAMES, JOINT_LIMITS, forward_kinematics, rest_keypoints

POSES = ("open", "relaxed", "pinch", "grasp")
VIEWS = ("palm", "back", "side", "oblique", "egocentric")
BACKDROPS = ("grey", "beige", "white", "blue", "wood", "tiles", "noise")
# A hand is "clearly visible" when its segmented area is at least this fraction of its flat length
# squared: an open hand facing the camera covers ~0.3-0.45, an edge-on one ~0.1-0.2.
CLEAR_AREA = 0.2
_J = {name: i for i, name in enumerate(FINGER_JOINT_NAMES)}
_FINGERS = ("index", "middle", "ring", "pinky")


@dataclass
class Args:
    frames: int = 360
    """Frames; 360 gives each rate a standard error of ~2 points (~5 per view or pose)."""
    seed: int = 0
    width: int = 640
    height: int = 480
    min_size: float = 150.0
    """Smallest hand size in pixels: the flat hand's length (wrist to middle fingertip) at its distance."""
    max_size: float = 250.0
    out: Path = RESULTS_DIR
    save_frames: Path | None = None
    """Write every frame, with truth (green) and MediaPipe (red) landmarks drawn, here."""


# --- poses -----------------------------------------------------------------------------------


def finger_pose(rng: np.random.Generator, kind: str) -> np.ndarray:
    """Theta (15, 3) of one of the ``POSES``, jittered; within ``JOINT_LIMITS``."""
    theta = np.zeros((15, 3))
    spread = {"index": -0.12, "middle": 0.0, "ring": 0.08, "pinky": 0.2}
    curl = {  # MCP, PIP, DIP flexion; "grasp" wraps an object of cup size, not a fist
        "open": (0.05, 0.05, 0.03),
        "relaxed": (0.35, 0.55, 0.3),
        "pinch": (0.45, 0.6, 0.35),
        "grasp": (0.75, 0.9, 0.5),
    }[kind]
    for k, finger in enumerate(_FINGERS):
        more = 0.1 * k if kind in ("relaxed", "pinch") else 0.0  # the ulnar fingers curl more at rest
        for level in range(3):
            theta[_J[f"{finger}{level + 1}"], 2] = curl[level] + more + rng.normal(0, 0.08)
        theta[_J[f"{finger}1"], 1] = spread[finger] * (1.5 if kind == "open" else 0.6) + rng.normal(0, 0.04)
    thumb = {"open": (0.0, 0.0, 0.0, 0.1), "relaxed": (0.15, 0.35, 0.2, 0.25), "grasp": (0.35, 0.7, 0.35, 0.4)}
    if kind == "pinch":
        theta[_J["index1"], 2], theta[_J["index2"], 2], theta[_J["index3"], 2] = 0.7, 0.75, 0.45
        theta = pinch_thumb(theta)
    else:
        flex, oppose, mcp, ip = np.asarray(thumb[kind]) + rng.normal(0, 0.06, 4)
        theta[_J["thumb1"], 1:] = flex, oppose
        theta[_J["thumb2"], 1], theta[_J["thumb3"], 1] = mcp, ip
    return np.clip(theta, JOINT_LIMITS[..., 0], JOINT_LIMITS[..., 1])


def pinch_thumb(theta: np.ndarray) -> np.ndarray:
    """Thumb angles (within limits) that bring the thumb tip onto the index tip."""
    names = [("thumb1", 1), ("thumb1", 2), ("thumb2", 1), ("thumb3", 1)]
    rows = [(_J[name], axis) for name, axis in names]
    bounds = [tuple(JOINT_LIMITS[j, a]) for j, a in rows]

    def gap(x: np.ndarray) -> float:
        pose = theta.copy()
        for (j, a), value in zip(rows, x):
            pose[j, a] = value
        points = forward_kinematics(np.eye(3), np.zeros(3), pose)
        return float(np.sum((points[4] - points[8]) ** 2)) + 1e-5 * float(np.sum(x**2))

    best = minimize(gap, np.array([0.3, 0.6, 0.2, 0.2]), bounds=bounds, method="L-BFGS-B").x
    pose = theta.copy()
    for (j, a), value in zip(rows, best):
        pose[j, a] = value
    return pose


# --- views, camera, lights -------------------------------------------------------------------


def view_direction(rng: np.random.Generator, view: str) -> tuple[np.ndarray, np.ndarray]:
    """Unit direction from the hand toward the camera and the image's up, in the right hand's frame.

    Palm +y, back -y, side +-z (thumb or little-finger side), oblique halfway between a face and a
    side, egocentric from behind the wrist and above the back of the hand (the person's own eyes),
    fingers pointing away (up in the image). Every direction is jittered by up to ~20 degrees.
    """
    side = rng.choice([-1.0, 1.0])
    direction = {
        "palm": np.array([0.0, 1.0, 0.0]),
        "back": np.array([0.0, -1.0, 0.0]),
        "side": np.array([0.0, 0.0, side]),
        "oblique": np.array([0.0, rng.choice([-1.0, 1.0]), side]),
        "egocentric": np.array([-0.6, -0.8, 0.0]),
    }[view]
    direction = direction / np.linalg.norm(direction) + rng.normal(0, 0.2, 3)
    roll = rng.normal(0, 0.3 if view == "egocentric" else 0.7)
    up = np.array([np.cos(roll), 0.0, 0.0]) + np.sin(roll) * np.cross(direction, [1.0, 0.0, 0.0])
    return direction / np.linalg.norm(direction), up


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Rotation (3, 3) of a MuJoCo camera (x right, y up, looking along -z) at ``eye`` facing ``target``."""
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    return np.stack([right, np.cross(right, forward), -forward], axis=1)


def project(points: np.ndarray, eye: np.ndarray, rotation: np.ndarray, fovy: float, args: Args) -> np.ndarray:
    """Pixel coordinates (N, 2) of world points seen by a MuJoCo camera (principal point centred)."""
    local = (points - eye) @ rotation
    focal = 0.5 * args.height / np.tan(np.radians(fovy) / 2)
    u = args.width / 2 - focal * local[:, 0] / local[:, 2]
    v = args.height / 2 + focal * local[:, 1] / local[:, 2]
    return np.stack([u, v], axis=1)


# --- scene -----------------------------------------------------------------------------------


def build_scene(
    rng: np.random.Generator, args: Args, side: str, look: HandAppearance, backdrop: str
) -> tuple[mujoco.MjModel, HandHandle]:
    """One hand, a camera ``camera``, two directional lights and a backdrop box (a mocap body).

    A model per frame, because a hand's skin colours live in its texture: this is what a
    HumanSim clip does too (one model per clip, its hands' appearance fixed).
    """
    spec = mujoco.MjSpec()
    spec.visual.global_.offwidth, spec.visual.global_.offheight = args.width, args.height
    spec.visual.map.znear = 0.001  # x the model's extent (~11 m with the backdrop): ~1 cm, or near hands get cut open
    for name in ("key", "fill"):
        spec.worldbody.add_light(name=name, type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL, castshadow=False)
    spec.worldbody.add_camera(name="camera")
    handle = add_hand(spec, side, rng.normal(0, 1, 10), look)
    plain = {
        "grey": (0.55, 0.55, 0.56),
        "beige": (0.8, 0.74, 0.62),
        "white": (0.92, 0.92, 0.92),
        "blue": (0.35, 0.45, 0.62),
    }
    rgba = (*plain.get(backdrop, (1.0, 1.0, 1.0)), 1.0)
    material = spec.add_material(name="backdrop", rgba=rgba, specular=0.05, shininess=0.1)
    if backdrop not in plain:
        image = {"wood": wood_texture, "tiles": tiles_texture, "noise": noise_texture}[backdrop](rng)
        height, width = image.shape[:2]
        texture = spec.add_texture(name=backdrop, type=mujoco.mjtTexture.mjTEXTURE_2D, width=width, height=height)
        texture.nchannel = 3
        texture.data = image.tobytes()
        material.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = backdrop
        material.texuniform = True
        material.texrepeat = (1 / 0.6, 1 / 0.6) if backdrop != "noise" else (1 / 0.3, 1 / 0.3)  # metres per tile
    body = spec.worldbody.add_body(name="backdrop", mocap=True)
    body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=(4.0, 4.0, 0.005), material="backdrop", contype=0, conaffinity=0)
    return spec.compile(), handle


def wood_texture(rng: np.random.Generator, size: int = 512) -> np.ndarray:
    """Procedural wood: four planks per tile, soft wavy grain along each, in close browns.

    The grain is low in contrast and ~2.5 cm apart, as on a varnished table seen from half a metre:
    fine, strong stripes alias into moire at this resolution and look like nothing real.
    """
    y, x = np.mgrid[0:size, 0:size] / size
    plank = np.floor(4 * x)
    grain = np.sin(2 * np.pi * (24 * x + 0.4 * np.sin(2 * np.pi * (1.5 * y + 0.37 * plank))))
    mix = 0.5 + 0.2 * grain + 0.12 * (plank % 2 - 0.5) + rng.normal(0, 0.04, (size, size))
    light, dark = np.array([176, 128, 84]), np.array([128, 86, 52])
    image = dark + np.clip(mix, 0, 1)[..., None] * (light - dark)
    image[(x * 4 % 1) < 0.006] *= 0.6  # seams between planks
    return np.clip(image, 0, 255).astype(np.uint8)


def noise_texture(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """Speckled grey-beige, like a granite or carpet-like surface."""
    return (rng.integers(90, 200, (size, size, 1)) * np.array([[[1.0, 0.95, 0.85]]])).astype(np.uint8)


def tiles_texture(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """Light tiles with grey grout."""
    image = np.full((size, size, 3), 225, np.uint8)
    image[::64] = image[:, ::64] = 150
    image[1::64] = image[:, 1::64] = 150
    return image


# --- one frame -------------------------------------------------------------------------------


@dataclass
class Frame:
    side: str
    pose: str
    view: str
    tone: str
    backdrop: str
    image: np.ndarray | None  # RGB; dropped once detected
    truth: np.ndarray  # (21, 2) pixels
    render_seconds: float
    visible_area: float  # hand pixels (segmentation) / (flat hand length in pixels)^2


def render_frame(rng: np.random.Generator, args: Args, index: int) -> Frame:
    """Frame ``index``: side, pose and view cycle through every combination; the rest is random."""
    side = ("left", "right")[index % 2]
    pose, view = POSES[(index // 2) % len(POSES)], VIEWS[(index // (2 * len(POSES))) % len(VIEWS)]
    tone = list(SKIN_TONES)[rng.integers(len(SKIN_TONES))]
    look = sample_appearance(rng)
    look.skin_rgba = (*np.clip(np.asarray(SKIN_TONES[tone]) * rng.uniform(0.96, 1.04, 3), 0, 1), 1.0)
    backdrop = BACKDROPS[rng.integers(len(BACKDROPS))]
    model, handle = build_scene(rng, args, side, look, backdrop)
    data = mujoco.MjData(model)

    theta = finger_pose(rng, pose)
    set_hand_pose(model, data, handle, np.eye(3), np.zeros(3), theta)
    mujoco.mj_forward(model, data)
    keypoints = keypoint_sites(model, data, handle)

    direction, up = view_direction(rng, view)
    if side == "left":  # the left hand is the right one mirrored in x
        direction, up = direction * [-1, 1, 1], up * [-1, 1, 1]
    fovy = rng.uniform(50.0, 80.0)
    focal = 0.5 * args.height / np.tan(np.radians(fovy) / 2)
    # "Hand size" is the flat hand's length (wrist to middle fingertip): a fist then looks smaller.
    length = np.linalg.norm(rest_keypoints(handle.beta)[12])
    distance = focal * length / rng.uniform(args.min_size, args.max_size)
    centre = 0.5 * (keypoints.min(axis=0) + keypoints.max(axis=0))
    rotation = look_at(centre + direction, centre, up)
    # Off-centre the hand a little: egocentric hands are rarely in the middle of the image.
    shift = rotation[:, :2] @ rng.uniform(-0.12, 0.12, 2) * distance
    eye = centre + distance * direction + shift
    rotation = look_at(eye, centre + shift, up)
    camera = 0
    model.cam_pos[camera], model.cam_quat[camera] = eye, Rotation.from_matrix(rotation).as_quat(scalar_first=True)
    model.cam_fovy[camera] = fovy

    normal = -direction + rng.normal(0, 0.15, 3)
    data.mocap_pos[0] = centre - direction * rng.uniform(0.25, 0.6)
    data.mocap_quat[0] = Rotation.align_vectors([normal], [[0.0, 0.0, 1.0]])[0].as_quat(scalar_first=True)
    for light, strength in zip(range(model.nlight), (rng.uniform(0.35, 0.6), rng.uniform(0.1, 0.25))):
        travel = -direction + rotation @ rng.normal(0, 0.6, 3)  # key and fill shine from the camera's side
        model.light_dir[light] = travel / np.linalg.norm(travel)
        model.light_diffuse[light] = strength
    model.vis.headlight.ambient[:] = rng.uniform(0.25, 0.4)
    model.vis.headlight.diffuse[:] = rng.uniform(0.15, 0.25)

    mujoco.mj_forward(model, data)
    with mujoco.Renderer(model, args.height, args.width) as renderer:
        renderer.update_scene(data, camera=camera)
        renderer.render()  # the first render of a context also uploads meshes and textures: not timed
        start = time.perf_counter()
        renderer.update_scene(data, camera=camera)
        image = renderer.render()
        seconds = time.perf_counter() - start
        renderer.enable_segmentation_rendering()
        renderer.update_scene(data, camera=camera)
        ids = renderer.render()
    visible_area = segmentation_mask(ids, hand_geom_ids(model, handle)).sum() / (focal * length / distance) ** 2
    truth = project(keypoint_sites(model, data, handle), eye, rotation, fovy, args)
    return Frame(side, pose, view, tone, backdrop, image, truth, seconds, visible_area)


# --- detection and report --------------------------------------------------------------------


def detect(hands, frame: Frame) -> dict:
    """MediaPipe on one frame: the best-matching detected hand's error, or a miss."""
    result = hands.process(frame.image)
    height, width = frame.image.shape[:2]
    low, high = frame.truth.min(axis=0), frame.truth.max(axis=0)
    size = float((high - low).max())
    best = None
    for landmarks, handedness in zip(result.multi_hand_landmarks or [], result.multi_handedness or []):
        points = np.array([(p.x * width, p.y * height) for p in landmarks.landmark])
        middle = 0.5 * (points.min(axis=0) + points.max(axis=0))
        if np.all(middle >= low) and np.all(middle <= high):
            error = float(np.linalg.norm(points - frame.truth, axis=1).mean())
            if best is None or error < best["error_px"]:
                label = handedness.classification[0].label.lower()
                mirrored_side = "right" if label == "left" else "left"  # MediaPipe assumes a selfie image
                best = {"error_px": error, "points": points, "handedness_ok": mirrored_side == frame.side}
    return {"detected": best is not None, "size": size, **(best or {})}


def summarise(frames: list[Frame], results: list[dict]) -> list[dict]:
    """Rows of detection rate and landmark error: overall, by visibility, then per view, pose, tone, backdrop, side."""
    clear = [f.visible_area >= CLEAR_AREA for f in frames]
    groups = [
        ("all", "all", list(range(len(frames)))),
        ("visibility", "clear", [i for i, c in enumerate(clear) if c]),
        ("visibility", "slim", [i for i, c in enumerate(clear) if not c]),
    ]
    attributes = {"view": VIEWS, "pose": POSES, "tone": SKIN_TONES, "backdrop": BACKDROPS, "side": ("left", "right")}
    for attribute, values in attributes.items():
        for value in values:
            members = [i for i, f in enumerate(frames) if getattr(f, attribute) == value]
            if members:
                groups.append((attribute, value, members))
    rows = []
    for attribute, value, members in groups:
        if not members:  # e.g. no edge-on views in a tiny run
            continue
        hits = [results[i] for i in members if results[i]["detected"]]
        errors = np.array([h["error_px"] for h in hits])
        relative = np.array([h["error_px"] / h["size"] for h in hits])
        rows.append(
            {
                "group": attribute,
                "value": value,
                "frames": len(members),
                "detected_%": f"{100 * len(hits) / len(members):.0f}",
                "error_px": f"{errors.mean():.1f}" if hits else "",
                "error_%_size": f"{100 * relative.mean():.1f}" if hits else "",
                "handedness_%": f"{100 * np.mean([h['handedness_ok'] for h in hits]):.0f}" if hits else "",
            }
        )
    return rows


def main(args: Args) -> None:
    try:
        import mediapipe as mp  # the optional extra
    except ImportError:
        print("skipped: mediapipe is not installed (pip install -e '.[mediapipe]', i.e. mediapipe==0.10.14)")
        return

    rng = np.random.default_rng(args.seed)
    frames, results, detect_seconds = [], [], 0.0
    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2, min_detection_confidence=0.3) as hands:
        for index in range(args.frames):
            frame = render_frame(rng, args, index)
            start = time.perf_counter()
            results.append(detect(hands, frame))
            detect_seconds += (time.perf_counter() - start) / args.frames
            if args.save_frames is not None:
                save_frame(frame, results[-1], args.save_frames / f"{index:04d}_{frame.view}_{frame.pose}.png")
            frames.append(replace(frame, image=None))  # keep the labels, not 1 MB of pixels per frame

    rows = summarise(frames, results)
    info = machine_info(
        mujoco=mujoco.__version__,
        gl=os.environ.get("MUJOCO_GL", ""),
        frames=str(args.frames),
        image=f"{args.width}x{args.height}",
        render_ms_per_frame=f"{1000 * np.mean([f.render_seconds for f in frames]):.1f}",
        mediapipe_ms_per_frame=f"{1000 * detect_seconds:.1f}",
        seed=str(args.seed),
    )
    print(markdown_table(rows))
    print({k: info[k] for k in ("render_ms_per_frame", "mediapipe_ms_per_frame")})
    notes = "\n".join(
        [
            "Single unoccluded hands, 150-250 px long (flat hand, wrist to middle fingertip), 640x480.",
            f"`clear`: hand pixels >= {CLEAR_AREA} x (hand length in px)^2; `slim`: the rest (mostly edge-on views).",
            "`detected_%`: a MediaPipe hand whose",
            "landmark box centre lies in the true keypoints' box. Errors are over detected hands: mean 2D",
            "landmark distance to the projected truth, in px and in % of the hand size (larger side of the",
            "true keypoints' box). `handedness_%`: MediaPipe's label read as for a mirrored image.",
        ]
    )
    title = "HumanSim hands under MediaPipe's hand landmarker"
    write_results("humansim_hand_detection", title, info, rows, notes, args.out)
    print(f"wrote {args.out / 'humansim_hand_detection.csv'} and .md")


def save_frame(frame: Frame, result: dict, path: Path) -> None:
    """The frame as a PNG with the truth (green) and the detection (red) drawn on it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR)
    for u, v in frame.truth:
        cv2.circle(image, (int(u), int(v)), 2, (0, 255, 0), -1)
    for u, v in result.get("points", []):
        cv2.circle(image, (int(u), int(v)), 2, (0, 0, 255), -1)
    label = f"{frame.side} {frame.pose} {frame.view} {frame.tone} {'HIT' if result['detected'] else 'miss'}"
    cv2.putText(image, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
    cv2.imwrite(str(path), image)


if __name__ == "__main__":
    main(parse_config(Args))

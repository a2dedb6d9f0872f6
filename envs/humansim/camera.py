"""HumanSim cameras: intrinsics, tripod and head-mounted tracks, rendering them, image degradations.

Tracks are ``CameraTrack``s in the suite's OpenCV convention (x right, y down, z forward;
extrinsics map world -> camera), so ground truth projects with ``vitra_bench.geometry`` as
everywhere else. ``set_render_camera`` turns such a camera into MuJoCo's: its cameras look along
-z with y up, so the rotation flips y and z, and the pinhole goes in through MuJoCo's camera
intrinsics (sensor size and focal length in pixel units), which, unlike ``fovy``, also carry a
principal point off the image centre. MuJoCo's principal offset has the opposite sign to
OpenCV's (measured, and checked by the projection test).

Head motion is a sum of slow sinusoids (a person's head never stops moving, but smoothly) plus
occasional saccade-like turns with minimum-jerk profiles, the glances at something else that
make egocentric video hard.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import mujoco
import numpy as np

from envs.humansim.scene import RENDER_CAMERA
from envs.humansim.spec import CameraTrack
from vitra_bench.geometry import intrinsics_from_fov, invert_transform, look_at, make_transform

WORLD_UP = np.array([0.0, 0.0, 1.0])


def sample_intrinsics(
    rng: np.random.Generator,
    width: int,
    height: int,
    fov_range_deg: tuple[float, float] = (50.0, 100.0),
    principal_jitter: float = 0.0,
) -> np.ndarray:
    """Square-pixel pinhole with horizontal FoV drawn from ``fov_range_deg``.

    ``principal_jitter`` moves the principal point by up to that fraction of the image size.
    """
    fov_x = np.deg2rad(rng.uniform(*fov_range_deg))
    k = intrinsics_from_fov(fov_x, width, height)
    if principal_jitter > 0:
        k[0, 2] += rng.uniform(-principal_jitter, principal_jitter) * width
        k[1, 2] += rng.uniform(-principal_jitter, principal_jitter) * height
    return k


def static_camera(
    rng: np.random.Generator,
    look_at_point: np.ndarray,
    num_frames: int,
    width: int = 640,
    height: int = 480,
    fov_range_deg: tuple[float, float] = (50.0, 100.0),
    framing_m: tuple[float, float] = (0.7, 1.2),
    elevation_deg: tuple[float, float] = (35.0, 65.0),
    azimuth_deg: tuple[float, float] = (-60.0, 60.0),
    principal_jitter: float = 0.0,
) -> CameraTrack:
    """A tripod on the person's side looking obliquely down at ``look_at_point``.

    The distance follows from the FoV so that the view spans ``framing_m`` metres across at the
    target: a wide-angle camera stands closer, and the hands stay a usable size in the image.
    Azimuth 0 is straight from the person's side (-y), positive toward +x.
    """
    k = sample_intrinsics(rng, width, height, fov_range_deg, principal_jitter)
    half_fov = np.arctan(0.5 * width / k[0, 0])
    distance = 0.5 * rng.uniform(*framing_m) / np.tan(half_fov)
    az, el = np.deg2rad(rng.uniform(*azimuth_deg)), np.deg2rad(rng.uniform(*elevation_deg))
    direction = np.array([np.sin(az) * np.cos(el), -np.cos(az) * np.cos(el), np.sin(el)])
    target = np.asarray(look_at_point, float)
    extrinsic = look_at(target + distance * direction, target, WORLD_UP)
    return CameraTrack(k, np.repeat(extrinsic[None], num_frames, axis=0), width, height, "static")


@dataclass
class HeadMotion:
    """How a head-mounted camera moves; amplitudes are standard deviations of the slow motion."""

    translation_std: float = 0.015  # metres, per axis
    rotation_std_deg: float = 2.5  # yaw, pitch and roll
    frequency_hz: tuple[float, float] = (0.05, 0.6)
    saccade_rate_hz: float = 0.08  # mean glances per second; 0 turns them off
    saccade_yaw_deg: tuple[float, float] = (8.0, 25.0)  # magnitude, either side
    saccade_pitch_deg: tuple[float, float] = (-8.0, 8.0)
    saccade_duration_s: tuple[float, float] = (0.25, 0.5)  # each way
    saccade_hold_s: tuple[float, float] = (0.4, 1.5)


def _smooth_signal(
    rng: np.random.Generator, t: np.ndarray, std: float, freq: tuple[float, float], n: int = 3
) -> np.ndarray:
    """A sum of ``n`` random sinusoids scaled to standard deviation ``std``."""
    f = rng.uniform(*freq, size=n)
    phase = rng.uniform(0, 2 * np.pi, size=n)
    weight = rng.uniform(0.5, 1.0, size=n)
    amp = weight * std * np.sqrt(2.0 / np.sum(weight**2))
    return np.sum(amp[:, None] * np.sin(2 * np.pi * f[:, None] * t[None] + phase[:, None]), axis=0)


def _min_jerk(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x**3 * (10 - 15 * x + 6 * x**2)


def _saccades(rng: np.random.Generator, t: np.ndarray, motion: HeadMotion) -> tuple[np.ndarray, np.ndarray]:
    """Yaw and pitch (radians) of glances away: turn, hold, turn back, then a random pause."""
    yaw, pitch = np.zeros_like(t), np.zeros_like(t)
    if motion.saccade_rate_hz <= 0:
        return yaw, pitch
    start = rng.exponential(1.0 / motion.saccade_rate_hz)
    while start < t[-1]:
        turn = rng.uniform(*motion.saccade_duration_s)
        hold = rng.uniform(*motion.saccade_hold_s)
        profile = _min_jerk((t - start) / turn) - _min_jerk((t - start - turn - hold) / turn)
        yaw += np.deg2rad(rng.choice([-1.0, 1.0]) * rng.uniform(*motion.saccade_yaw_deg)) * profile
        pitch += np.deg2rad(rng.uniform(*motion.saccade_pitch_deg)) * profile
        start += 2 * turn + hold + rng.exponential(1.0 / motion.saccade_rate_hz)
    return yaw, pitch


def _rot(axis: int, angle: np.ndarray) -> np.ndarray:
    """Rotations (T, 3, 3) about a coordinate axis."""
    c, s = np.cos(angle), np.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out = np.zeros(angle.shape + (3, 3))
    out[..., axis, axis] = 1.0
    out[..., i, i], out[..., j, j], out[..., i, j], out[..., j, i] = c, c, -s, s
    return out


def egocentric_camera(
    rng: np.random.Generator,
    num_frames: int,
    fps: float,
    work_area: np.ndarray,
    width: int = 640,
    height: int = 480,
    fov_range_deg: tuple[float, float] = (50.0, 100.0),
    motion: HeadMotion | None = None,
    principal_jitter: float = 0.0,
) -> CameraTrack:
    """A head-mounted camera behind the table's near edge looking down at ``work_area``.

    The head sits 30-45 cm behind and 45-60 cm above the work area (about (0, -0.35..-0.5,
    table + 0.45..0.6) for the default table); ``motion=None`` uses ``HeadMotion()``.
    Head yaw turns about the world vertical, pitch and roll about the camera's own axes.
    """
    motion = HeadMotion() if motion is None else motion
    k = sample_intrinsics(rng, width, height, fov_range_deg, principal_jitter)
    target = np.asarray(work_area, float)
    head = target + np.array([rng.uniform(-0.04, 0.04), -rng.uniform(0.30, 0.45), rng.uniform(0.45, 0.60)])
    gaze = target + np.array([rng.uniform(-0.05, 0.05), rng.uniform(-0.03, 0.08), 0.0])
    base = invert_transform(look_at(head, gaze, WORLD_UP))[:3, :3]  # camera -> world

    t = np.arange(num_frames) / fps
    shift = np.stack(
        [_smooth_signal(rng, t, motion.translation_std, motion.frequency_hz) for _ in range(3)], 1
    )
    rot_std = np.deg2rad(motion.rotation_std_deg)
    yaw, pitch, roll = (_smooth_signal(rng, t, rot_std, motion.frequency_hz) for _ in range(3))
    glance_yaw, glance_pitch = _saccades(rng, t, motion)
    rotation = _rot(2, yaw + glance_yaw) @ base @ _rot(0, pitch + glance_pitch) @ _rot(2, roll)
    camera_to_world = make_transform(rotation, head + shift)
    return CameraTrack(k, invert_transform(camera_to_world), width, height, "egocentric")


def set_render_camera(
    model: mujoco.MjModel,
    data: mujoco.MjData,
    extrinsic: np.ndarray,
    intrinsics: np.ndarray,
    width: int,
    height: int,
    camera: str = RENDER_CAMERA,
) -> None:
    """Make a world-attached model camera render exactly as the OpenCV camera (extrinsic, K).

    Afterwards a world point p lands on pixel ``K @ (E @ p)`` in a ``width`` x ``height`` render
    of ``camera`` (pixel (i, j) covering [j, j+1) x [i, i+1)). Writes the pose and intrinsics into
    the model, so later ``mj_forward`` calls keep them, and the pose into ``data``'s camera frame,
    so it holds at once, whatever has or has not been computed yet.
    """
    k = np.asarray(intrinsics, float)
    if abs(k[0, 1]) > 1e-9:
        raise ValueError("MuJoCo cameras have no skew")
    cam = model.camera(camera).id
    if model.cam_bodyid[cam] != 0 or model.cam_mode[cam] != mujoco.mjtCamLight.mjCAMLIGHT_FIXED:
        raise ValueError(f"camera {camera!r} must be fixed to the world body")
    rotation = np.asarray(extrinsic, float)[:3, :3]
    position = -rotation.T @ np.asarray(extrinsic, float)[:3, 3]
    axes = rotation.T @ np.diag([1.0, -1.0, -1.0])  # MuJoCo camera axes in the world: y up, z back
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, axes.ravel())
    model.cam_pos[cam], model.cam_quat[cam] = position, quat
    data.cam_xpos[cam], data.cam_xmat[cam] = position, axes.ravel()
    model.cam_sensorsize[cam] = (width, height)
    model.cam_resolution[cam] = (width, height)
    model.cam_intrinsic[cam] = (k[0, 0], k[1, 1], width / 2 - k[0, 2], height / 2 - k[1, 2])


# --- degradations -----------------------------------------------------------------------------


def estimate_flow(frames: np.ndarray) -> np.ndarray:
    """Backward optical flow (T, H, W, 2): frame t at x shows what frame t-1 showed at x + flow.

    DIS (OpenCV's fast preset) is a few milliseconds per VGA frame and sees both camera and
    hand motion; the first frame reuses the negated flow toward the second.
    """
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    flows = np.zeros(frames.shape[:3] + (2,), np.float32)
    if len(frames) < 2:
        return flows
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    for t in range(1, len(frames)):
        flows[t] = dis.calc(gray[t], gray[t - 1], None)
    flows[0] = -dis.calc(gray[0], gray[1], None)
    return flows


def motion_blur(
    frames: np.ndarray, strength: float, flows: np.ndarray | None = None, max_samples: int = 16
) -> np.ndarray:
    """Blur each frame along its own motion, as a shutter open ``strength`` of the frame time.

    Every pixel averages the frame sampled along its motion vector over an exposure centred on
    the frame's instant (so ground truth stays centred on the blur). ``flows`` are backward flows
    as ``estimate_flow`` returns; pass exact ones when known.
    """
    frames = np.asarray(frames)
    if strength <= 0 or len(frames) < 2:
        return frames.copy()
    flows = estimate_flow(frames) if flows is None else flows
    h, w = frames.shape[1:3]
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    out = np.empty_like(frames)
    for t, (frame, flow) in enumerate(zip(frames, flows, strict=True)):
        extent = strength * float(np.abs(flow).max())
        n = int(np.clip(np.ceil(extent), 1, max_samples - 1)) + 1
        acc = np.zeros(frame.shape, np.float32)
        for alpha in np.linspace(-strength / 2, strength / 2, n, dtype=np.float32):
            map_x, map_y = grid_x - alpha * flow[..., 0], grid_y - alpha * flow[..., 1]
            acc += cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        out[t] = np.clip(np.rint(acc / n), 0, 255).astype(frames.dtype)
    return out


def sensor_noise(frame: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Gaussian noise of about ``sigma`` (8-bit units), stronger in bright pixels like shot noise.

    The standard deviation is sigma * sqrt(0.3 + 0.7 I / 255): read noise keeps the darks noisy,
    photon noise grows with the signal.
    """
    image = frame.astype(np.float32)
    std = sigma * np.sqrt(0.3 + 0.7 * image / 255.0)
    return np.clip(np.rint(image + std * rng.standard_normal(frame.shape, dtype=np.float32)), 0, 255).astype(
        np.uint8
    )


def jpeg_compress(frame: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip an RGB frame through JPEG at ``quality`` (1-100), blocking and chroma loss included."""
    ok, buffer = cv2.imencode(
        ".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    )
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buffer, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


@dataclass
class Degradations:
    """Which degradations a clip gets; every one is off by default."""

    blur: float = 0.0  # shutter fraction of the frame time for motion blur
    noise_sigma: float = 0.0  # sensor noise, 8-bit units
    jpeg_quality: int | None = None  # None: no compression


def degrade(frames: np.ndarray, rng: np.random.Generator, config: Degradations) -> np.ndarray:
    """Apply blur, then noise, then compression, the order a camera pipeline applies them."""
    out = motion_blur(frames, config.blur) if config.blur > 0 else np.asarray(frames).copy()
    if config.noise_sigma > 0:
        out = np.stack([sensor_noise(f, rng, config.noise_sigma) for f in out])
    if config.jpeg_quality is not None:
        out = np.stack([jpeg_compress(f, config.jpeg_quality) for f in out])
    return out

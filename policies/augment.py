"""Training-time augmentation of VITRA samples (VITRA_FACTS.md, "Action, state, instruction").

Three geometric/photometric changes, each keeping image, intrinsics, actions and state consistent:

* **Horizontal flip** (p 0.5): the scene is mirrored through the camera's y-z plane
  (``M = diag(-1, 1, 1)``). A hand of one side with pose ``(R, t, theta)`` becomes a hand of the
  other side with ``(M R M, M t, theta)`` (``vitra_bench.hand.mirror_pose``); the left hand is the
  mirrored right model, so ``theta`` keeps its meaning and only swaps slots. For Euler "xyz"
  conjugation by ``M`` is exactly ``(a, b, c) -> (a, -b, -c)``, so the flip is bit-exact and its
  own inverse. The words "left"/"right" swap in the instruction, and so do the two sentences,
  keeping the ``"Left hand: ... Right hand: ..."`` order the model was trained on.
* **Virtual camera** (always): an in-plane rotation ``R_aug = Rz(phi)`` about the optical axis
  and a crop of the rotated view with a random FoV and aspect ratio, resized back to the source
  image size (the processor squashes to the model's input anyway; the FoV token, computed from
  the new intrinsics, tells the model what it sees). Both are one homography
  ``K' R_aug K^-1``, so the image is resampled once. Camera-frame quantities rotate with the
  camera: ``t' = R_aug t``, ``R' = R_aug R`` for the state and ``dR' = R_aug dR R_aug^T`` for the
  chunk's deltas, which live in the anchor camera frame. Views are drawn by rejection: the crop
  must lie inside the source image (no black borders) and keep at least ``min_path_in_view`` of
  the chunk's palm points of both hands in view; after ``view_tries`` misses the sample is left
  as it is.
* **Colour jitter** (p 0.8): brightness, contrast, saturation and hue; the hue shift is small
  when the instruction names a colour, so that "the red cup" stays red.

Pixel convention: pixel ``i`` has its centre at coordinate ``i`` (OpenCV's, and the synthetic
renderer's), so the image spans ``[-0.5, W - 0.5]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from vitra_bench import hand as hk
from vitra_bench import layout
from vitra_bench.episode import HANDS

Sample = dict[str, Any]

_MIRROR_HAND_ACTION = np.ones(layout.HAND_ACTION_DIM, np.float32)
_MIRROR_HAND_ACTION[[0, 4, 5]] = -1.0  # dt_x; Euler (a, b, c) -> (a, -b, -c); fingers unchanged
_MIRROR_HAND_STATE = np.ones(layout.HAND_STATE_DIM, np.float32)
_MIRROR_HAND_STATE[: layout.HAND_ACTION_DIM] = _MIRROR_HAND_ACTION
_SIDE_WORD = re.compile(r"\b(left|right)\b", re.IGNORECASE)  # not inside "upright", "leftover"
_PROMPT = re.compile(r"^Left hand: (?P<left>.*) Right hand: (?P<right>.*)$", re.DOTALL)
COLOUR_WORDS = frozenset({
    "red", "green", "blue", "yellow", "purple", "orange", "pink", "brown", "black", "white", "gray", "grey",
    "violet", "cyan", "magenta", "golden", "gold", "silver", "beige", "turquoise",
})  # fmt: skip


@dataclass
class AugmentConfig:
    """Augmentation parameters; defaults are the released recipe's where it has one."""

    flip_prob: float = 0.5
    """Probability of a horizontal flip (swaps hands and the words left/right)."""
    max_rotation_deg: float = 30.0
    """In-plane rotation drawn uniformly within +- this."""
    aspect_range: tuple[float, float] = (1.0, 2.0)
    """Crop width / height (in angle units, before resizing), drawn log-uniformly."""
    fov_range_deg: tuple[float, float] = (45.0, 150.0)
    """Horizontal FoV of the crop, drawn uniformly; the source image and the palm path narrow it."""
    path_margin: float = 0.05
    """Margin around the palm path's bounding box, in normalised image-plane units (0.05 ~ 3 deg)."""
    min_path_in_view: float = 0.95
    """Share of the chunk's palm points that must stay inside the crop."""
    view_tries: int = 10
    """Rejection-sampling attempts per sample (rotation shrinks with each) before no re-projection."""
    jitter_prob: float = 0.8
    """Probability of colour jitter."""
    brightness: float = 0.3
    """Brightness factor drawn in [1 - b, 1 + b]."""
    contrast: float = 0.3
    """Contrast factor drawn in [1 - c, 1 + c]."""
    saturation: float = 0.4
    """Saturation factor drawn in [1 - s, 1 + s]."""
    hue: float = 0.3
    """Hue shift drawn within +- this fraction of the hue circle."""
    hue_colour_named: float = 0.04
    """Hue shift bound when the instruction names a colour."""


class Augment:
    """The ``HandActionDataset`` transform: ``Augment(config)(raw_sample, rng) -> raw_sample``."""

    def __init__(self, config: AugmentConfig | None = None) -> None:
        self.config = config or AugmentConfig()

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        config = self.config
        if rng.random() < config.flip_prob:
            sample = flip(sample)
        view = sample_view(sample, rng, config)
        if view is not None:
            sample = reproject(sample, *view)
        if rng.random() < config.jitter_prob:
            sample = {
                **sample,
                "image": colour_jitter(sample["image"], rng, config, names_colour(sample["instruction"])),
            }
        return sample


# --- flip ---------------------------------------------------------------------------------------


def flip(sample: Sample) -> Sample:
    """Mirror the scene left-right: image, principal point, both hands' actions and states, the prompt."""
    out = dict(sample)
    width = sample["image"].shape[1]
    out["image"] = np.ascontiguousarray(sample["image"][:, ::-1])
    intrinsics = np.array(sample["intrinsics"], copy=True)
    intrinsics[0, 2] = (width - 1) - intrinsics[0, 2]
    out["intrinsics"] = intrinsics
    out["actions"] = _swap_hands(sample["actions"] * np.tile(_MIRROR_HAND_ACTION, 2))
    out["action_mask"] = _swap_hands(sample["action_mask"])
    out["state"] = _swap_hands(sample["state"] * np.tile(_MIRROR_HAND_STATE, 2))
    out["state_mask"] = _swap_hands(sample["state_mask"])
    out["instruction"] = flip_instruction(sample["instruction"])
    return out


def _swap_hands(values: np.ndarray) -> np.ndarray:
    """Exchange the left and right halves of the last axis (the layout puts left first)."""
    half = values.shape[-1] // 2
    return np.concatenate([values[..., half:], values[..., :half]], axis=-1)


def swap_side_words(text: str) -> str:
    """ "left" <-> "right" as whole words, keeping their case (``Left`` -> ``Right``, ``LEFT`` -> ``RIGHT``)."""

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        other = "right" if word.lower() == "left" else "left"
        if word.isupper():
            return other.upper()
        return other.capitalize() if word[0].isupper() else other

    return _SIDE_WORD.sub(swap, text)


def flip_instruction(prompt: str) -> str:
    """The prompt of the mirrored scene: each hand's sentence moves to the other hand, words swapped."""
    match = _PROMPT.match(prompt)
    if match is None:
        return swap_side_words(prompt)
    return f"Left hand: {swap_side_words(match['right'])} Right hand: {swap_side_words(match['left'])}"


# --- virtual camera -----------------------------------------------------------------------------


def rotate_camera_frame(sample: Sample, rotation: np.ndarray) -> Sample:
    """Express both hands' state and chunk in a camera turned by ``rotation`` (camera-frame points ``x' = R x``).

    Masked entries stay exactly zero; fingers and shape are invariant.
    """
    out = dict(sample)
    rotation = np.asarray(rotation, np.float64)
    actions = np.asarray(sample["actions"], np.float64).copy()
    state = np.asarray(sample["state"], np.float64).copy()
    for hand in HANDS:
        a = actions[:, layout.ACTION_SLICES[hand]]
        a[:, layout.TRANSLATION] = a[:, layout.TRANSLATION] @ rotation.T
        delta = Rotation.from_euler(layout.EULER, a[:, layout.ROTATION]).as_matrix()
        a[:, layout.ROTATION] = Rotation.from_matrix(rotation @ delta @ rotation.T).as_euler(layout.EULER)
        s = state[layout.STATE_SLICES[hand]]
        s[layout.TRANSLATION] = rotation @ s[layout.TRANSLATION]
        wrist = Rotation.from_euler(layout.EULER, s[layout.ROTATION]).as_matrix()
        s[layout.ROTATION] = Rotation.from_matrix(rotation @ wrist).as_euler(layout.EULER)
    out["actions"] = np.where(sample["action_mask"], actions, 0.0).astype(np.asarray(sample["actions"]).dtype)
    out["state"] = np.where(sample["state_mask"], state, 0.0).astype(np.asarray(sample["state"]).dtype)
    return out


def reproject(sample: Sample, rotation: np.ndarray, intrinsics: np.ndarray) -> Sample:
    """Render the sample through a virtual camera turned by ``rotation`` with ``intrinsics`` (same image size)."""
    height, width = sample["image"].shape[:2]
    source = np.asarray(sample["intrinsics"], np.float64)
    homography = np.asarray(intrinsics, np.float64) @ rotation @ np.linalg.inv(source)
    out = rotate_camera_frame(sample, rotation)
    out["image"] = cv2.warpPerspective(
        sample["image"], homography, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    out["intrinsics"] = np.asarray(intrinsics, np.asarray(sample["intrinsics"]).dtype)
    return out


def palm_path(sample: Sample) -> np.ndarray:
    """Palm points (N, 3) in the camera frame of both hands over the chunk: the anchor and every frame
    reached through valid wrist steps (forward kinematics of state + integrated actions)."""
    points = [np.zeros((0, 3))]
    for hand in HANDS:
        state = np.asarray(sample["state"], np.float64)[layout.STATE_SLICES[hand]]
        if not np.asarray(sample["state_mask"])[layout.STATE_SLICES[hand]][layout.WRIST].all():
            continue
        rotation0 = Rotation.from_euler(layout.EULER, state[layout.ROTATION]).as_matrix()
        actions = np.asarray(sample["actions"], np.float64)[:, layout.ACTION_SLICES[hand]]
        mask = np.asarray(sample["action_mask"], bool)[:, layout.ACTION_SLICES[hand]]
        trajectory = layout.integrate_actions(rotation0, state[layout.TRANSLATION], actions, mask)
        theta0 = Rotation.from_euler(layout.EULER, state[layout.FINGERS].reshape(-1, 3)).as_rotvec()
        theta = np.concatenate([theta0[None], trajectory.hand_pose])
        keypoints = hk.forward_kinematics(
            trajectory.rotation, trajectory.translation, theta, state[layout.BETA], side=hand
        )
        points.append(hk.palm_point(keypoints)[trajectory.valid])
    return np.concatenate(points)


def _normalised(points: np.ndarray) -> np.ndarray:
    """Image-plane coordinates ``(x/z, y/z)`` (N, 2); points behind the camera are NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(points[:, 2:3] > 1e-6, points[:, :2] / points[:, 2:3], np.nan)


def _rot2(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _fit_width(centre: np.ndarray, angle: float, aspect: float, low: np.ndarray, high: np.ndarray) -> float:
    """Largest width of a crop centred at ``centre`` (rotated-view plane) whose corners stay inside the
    source rectangle ``[low, high]`` (source plane). Linear in the width, so closed form; < 0 if none."""
    back = _rot2(-angle)
    middle = back @ centre
    best = np.inf
    for corner in ((0.5, 0.5 / aspect), (0.5, -0.5 / aspect), (-0.5, 0.5 / aspect), (-0.5, -0.5 / aspect)):
        direction = back @ np.array(corner)
        for axis in range(2):
            if direction[axis] > 1e-12:
                best = min(best, (high[axis] - middle[axis]) / direction[axis])
            elif direction[axis] < -1e-12:
                best = min(best, (low[axis] - middle[axis]) / direction[axis])
    inside = np.all(middle >= low) and np.all(middle <= high)
    return float(best) if inside else -1.0


def sample_view(
    sample: Sample, rng: np.random.Generator, config: AugmentConfig
) -> tuple[np.ndarray, np.ndarray] | None:
    """Draw a virtual camera ``(R_aug (3, 3), intrinsics (3, 3))`` for ``sample``, or ``None`` after
    ``config.view_tries`` misses (see the module docstring)."""
    height, width = sample["image"].shape[:2]
    k = np.asarray(sample["intrinsics"], np.float64)
    focal, principal = np.array([k[0, 0], k[1, 1]]), np.array([k[0, 2], k[1, 2]])
    low = (np.array([-0.5, -0.5]) - principal) / focal  # source image in the normalised plane
    high = (np.array([width - 0.5, height - 0.5]) - principal) / focal
    path = _normalised(palm_path(sample))
    fov_low, fov_high = np.radians(config.fov_range_deg)
    log_aspect = np.log(config.aspect_range)
    for attempt in range(config.view_tries):
        shrink = 1.0 - attempt / config.view_tries
        angle = rng.uniform(-1.0, 1.0) * np.radians(config.max_rotation_deg) * shrink
        aspect = float(np.exp(rng.uniform(*log_aspect)))
        points = path @ _rot2(angle).T  # NaN rows (behind the camera) count as out of view
        centre = _rot2(angle) @ (low + high) / 2
        need = 0.0
        finite = points[np.all(np.isfinite(points), axis=1)]
        if len(finite):
            box_low = finite.min(axis=0) - config.path_margin
            box_high = finite.max(axis=0) + config.path_margin
            box_centre = (box_low + box_high) / 2
            centre = box_centre + rng.uniform() * (centre - box_centre)
            need = max(box_high[0] - box_low[0], aspect * (box_high[1] - box_low[1]))
        widest = min(_fit_width(centre, angle, aspect, low, high), 2 * np.tan(fov_high / 2))
        if widest <= 0:
            continue
        narrowest = min(max(2 * np.tan(fov_low / 2), need), widest)
        fov = rng.uniform(2 * np.arctan(narrowest / 2), 2 * np.arctan(widest / 2))
        size = np.array([2 * np.tan(fov / 2), 2 * np.tan(fov / 2) / aspect])
        corner = centre - size / 2
        if len(path):
            inside = np.all((points >= corner) & (points <= corner + size), axis=1)
            if inside.mean() < config.min_path_in_view:
                continue
        new_focal = np.array([width, height]) / size
        new_principal = -0.5 - corner * new_focal
        intrinsics = np.array(
            [[new_focal[0], 0.0, new_principal[0]], [0.0, new_focal[1], new_principal[1]], [0.0, 0.0, 1.0]]
        )
        return Rotation.from_euler("z", angle).as_matrix(), intrinsics
    return None


# --- colour -------------------------------------------------------------------------------------


def names_colour(instruction: str) -> bool:
    """Whether the instruction names a colour, so that a large hue shift would contradict it."""
    return any(word in COLOUR_WORDS for word in re.findall(r"[a-z]+", instruction.lower()))


def colour_jitter(image: np.ndarray, rng: np.random.Generator, config: AugmentConfig, colour_named: bool) -> np.ndarray:
    """Brightness, contrast, saturation, then hue, on an (H, W, 3) uint8 RGB image."""
    x = image.astype(np.float32) / 255.0
    x = x * rng.uniform(1 - config.brightness, 1 + config.brightness)
    gray = x @ np.array([0.299, 0.587, 0.114], np.float32)
    x = gray.mean() + rng.uniform(1 - config.contrast, 1 + config.contrast) * (x - gray.mean())
    gray = (x @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    x = np.clip(gray + rng.uniform(1 - config.saturation, 1 + config.saturation) * (x - gray), 0.0, 1.0)
    bound = config.hue_colour_named if colour_named else config.hue
    hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV)  # float32 hue in degrees [0, 360)
    hsv[..., 0] = np.mod(hsv[..., 0] + 360.0 * rng.uniform(-bound, bound), 360.0)
    x = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)

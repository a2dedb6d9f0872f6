"""Stage 3, intrinsics: from a metadata file when the user has one, else estimated with the hand as calibration object.

Metadata (``--intrinsics FILE``, JSON or YAML)
    Either one object ``{fx, fy, cx, cy[, width, height]}`` for every video, or a mapping from
    video name (file name or stem) to such objects, where the key ``"*"`` is the default::

        {"*": {"fx": 600, "fy": 600, "cx": 320, "cy": 240, "width": 640, "height": 480},
         "kitchen_03.mp4": {"fx": 1400, "fy": 1400, "cx": 960, "cy": 540}}

    ``width``/``height`` are the resolution the values were calibrated at; a video of another
    resolution gets ``fx, cx`` scaled by ``W / width`` and ``fy, cy`` by ``H / height``. Without
    them we do what VITRA's release does: assume the principal point was the image centre, i.e.
    the calibrated size was ``(2 cx, 2 cy)``, and scale by ``(W / 2cx, H / 2cy)``. That is the
    identity for a centred principal point at the native size, but it distorts an off-centre
    calibration slightly, and when the aspect ratio changed (e.g. a 4:3 calibration used on a
    16:9 crop) it makes ``fx != fy``: give ``width``/``height`` whenever they are known.

Estimated from hands (``estimate_focal``)
    What is identifiable. A monocular image fixes a scene only up to a global scale, so the
    hand's absolute size (unknown to about +-10 % between people) trades off exactly against its
    depth and says nothing about the focal length; neither does a hand far from the camera,
    whose image is a scaled orthographic view: any f fits with the depth adjusted. What pins f is
    *perspective distortion* of a shape known up to scale: the palm keypoints 0, 1, 5, 9, 13, 17
    are rigid and coplanar in the skeleton, and a tilted plane of known shape seen by a pinhole
    determines f (one constraint beyond the pose: Zhang's plane-based calibration). The finger
    keypoints carry their own unknown articulation and are not used.

    Method. For a candidate f (principal point at the image centre, square pixels) every frame's
    palm pose is fitted by PnP (OpenCV's IPPE, both planar solutions, refined by
    Levenberg-Marquardt); the cost is the total squared reprojection error over frames, and f
    minimises it (a log-spaced grid over ``fov_range_deg``, then a bounded 1-D search).

    Bias and selection. A palm seen nearly face-on shows a perspective "keystone" far below the
    keypoint noise, and the planar pose's two-fold (Necker) ambiguity lets the fit take whichever
    sign of that keystone matches the noise: the profile cost then favours too strong a
    perspective, i.e. too short a focal length (about -15 % at 2 px noise in our tests). So after
    a first pass the estimate keeps only frames whose predicted keystone (RMS pixels by which the
    fitted perspective view differs from a flat, same-size view) exceeds ``perspective_snr``
    times the noise, estimated from the residuals, and searches again within +-0.4 in log f.

    Confidence and fallback. ``relative_std`` is the standard deviation of ``log f`` from the
    curvature of the cost at its minimum (Gauss-Newton: ``var = 2 sigma^2 / E''``), which only
    reflects noise, not model error (keypoints on the skin rather than the joint centres, a palm
    shape that differs from the skeleton's). When fewer than ``min_frames`` frames qualify or
    ``relative_std > max_relative_std`` the estimate falls back to ``prior_fov_deg`` (source
    ``"prior"``, with the reason), a configurable prior: 75 degrees is the middle of the 50-100
    degree range HumanSim draws from.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import yaml
from numpy.typing import ArrayLike
from scipy.optimize import minimize_scalar

from vitra_bench import hand

PALM: tuple[int, ...] = (0, 1, 5, 9, 13, 17)  # rigid and coplanar (y = 0) in the skeleton
_FIELDS = ("fx", "fy", "cx", "cy")
_CHI2_6_MEDIAN = 5.348  # a frame's squared residual is sigma^2 chi^2 with 12 - 6 degrees of freedom


class IntrinsicsError(ValueError):
    """A metadata file that cannot be read; the message names the file, the video and the field."""


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels; ``width``/``height`` the resolution they apply to, when known."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int | None = None
    height: int | None = None

    @classmethod
    def from_fov(cls, fov_x_deg: float, width: int, height: int) -> Intrinsics:
        """Square pixels, centred principal point: ``fx = 0.5 W / tan(fov_x / 2)``."""
        focal = 0.5 * width / math.tan(math.radians(fov_x_deg) / 2)
        return cls(focal, focal, width / 2, height / 2, width, height)

    def matrix(self) -> np.ndarray:
        """The 3x3 matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def fov_x_deg(self) -> float:
        """Horizontal field of view, degrees (of the stated width, or ``2 cx`` without one)."""
        width = self.width if self.width is not None else 2 * self.cx
        return math.degrees(2 * math.atan(0.5 * width / self.fx))

    def for_size(self, width: int, height: int) -> Intrinsics:
        """These intrinsics for a video of ``width x height`` pixels (module docstring)."""
        from_w = self.width if self.width is not None else 2 * self.cx
        from_h = self.height if self.height is not None else 2 * self.cy
        sx, sy = width / from_w, height / from_h
        return Intrinsics(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy, width, height)


def load_intrinsics(path: Path | str) -> dict[str, Intrinsics]:
    """Read a JSON or YAML intrinsics file into ``{video name or "*": Intrinsics}``.

    Raises:
        IntrinsicsError: unreadable file, wrong structure, or a missing / non-numeric /
            non-positive field; the message names the file, the entry and the field.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise IntrinsicsError(f"{path}: cannot read intrinsics file: {error}") from error
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise IntrinsicsError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {error}") from error
    if not isinstance(data, Mapping) or not data:
        raise IntrinsicsError(f"{path}: expected an object with fx, fy, cx, cy, or one such object per video name")
    if any(key in data for key in _FIELDS):
        return {"*": _parse_entry(data, path, "*")}
    return {str(name): _parse_entry(entry, path, str(name)) for name, entry in data.items()}


def intrinsics_for(table: Mapping[str, Intrinsics], video: Path | str, width: int, height: int) -> Intrinsics | None:
    """The entry for ``video`` (by file name, then stem, then ``"*"``) rescaled to its size; ``None`` if absent."""
    video = Path(video)
    for key in (video.name, video.stem, "*"):
        if key in table:
            return table[key].for_size(width, height)
    return None


@dataclass(frozen=True)
class FocalConfig:
    """Settings of ``estimate_focal`` (module docstring).

    Attributes:
        fov_range_deg: horizontal FoV searched, degrees.
        grid_size: log-spaced focal lengths of the coarse search.
        perspective_snr: a frame is used when its predicted keystone exceeds this many noise sigmas.
        min_frames: fewer qualifying frames -> the prior.
        max_relative_std: a larger standard deviation of ``log f`` -> the prior.
        prior_fov_deg: the fallback horizontal FoV.
        max_frames: at most this many frames (evenly spaced) enter the search; each costs a PnP
            per candidate focal length, and past a few dozen views the estimate is limited by
            the hands' shape, not by the number of frames.
        max_shape_residual: ``estimate_focal_from_shapes`` trusts its fit only when the RMS
            reprojection residual is below this fraction of the hands' image size (a shape that is
            not in camera axes fits far worse than keypoint noise: 2 px noise on 60-px hands gives 5 %).
        min_shape_relief: ... and when the shapes have depth relief: the median over frames of
            their depth spread over their lateral spread (a flat, orthographic-style detector has 0).
    """

    fov_range_deg: tuple[float, float] = (30.0, 130.0)
    grid_size: int = 13
    perspective_snr: float = 3.0
    min_frames: int = 10
    max_relative_std: float = 0.1
    prior_fov_deg: float = 75.0
    max_frames: int = 100
    max_shape_residual: float = 0.15
    min_shape_relief: float = 0.05


@dataclass(frozen=True)
class FocalEstimate:
    """Result of ``estimate_focal``.

    Attributes:
        intrinsics: square pixels, principal point at the image centre.
        source: ``"hands"`` (palm perspective), ``"hands-3d"`` (metric 3D hand shapes) or
            ``"prior"`` (the fallback; ``reason`` says why).
        relative_std: standard deviation of ``log f`` from the cost's curvature (noise only);
            ``inf`` when there was nothing to estimate from.
        frames_used: frames with enough perspective that entered the final search.
        noise_px: keypoint noise sigma estimated from the palm fit residuals, pixels.
        reason: why the prior was used (empty for ``"hands"``).
    """

    intrinsics: Intrinsics
    source: Literal["hands", "hands-3d", "prior"]
    relative_std: float
    frames_used: int
    noise_px: float
    reason: str = ""


def estimate_focal(keypoints: ArrayLike, width: int, height: int, config: FocalConfig = FocalConfig()) -> FocalEstimate:
    """Focal length from 2D hand keypoints (T, 21, 2) over many frames of one video (module docstring).

    Frames with any non-finite palm keypoint are skipped (a detector's misses). Left and right
    hands may be mixed freely: the mirror image of the planar palm is the palm turned over.
    """
    points = np.asarray(keypoints, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (hand.NUM_KEYPOINTS, 2):
        raise ValueError(f"keypoints: expected shape (T, 21, 2), got {points.shape}")
    palm = points[:, list(PALM)]
    palm = palm[np.isfinite(palm).all(axis=(1, 2))]
    if len(palm) > config.max_frames:
        palm = palm[np.linspace(0, len(palm) - 1, config.max_frames).round().astype(int)]
    palm = np.ascontiguousarray(palm)
    centre = np.array([width / 2, height / 2])
    prior = Intrinsics.from_fov(config.prior_fov_deg, width, height)
    if len(palm) < config.min_frames:
        return FocalEstimate(prior, "prior", math.inf, len(palm), math.nan, f"{len(palm)} frames with a palm")

    low, high = (0.5 * width / math.tan(math.radians(fov) / 2) for fov in config.fov_range_deg[::-1])
    log_f = _search(palm, centre, math.log(low), math.log(high), config.grid_size)
    residual, keystone = _fit_palms(palm, centre, math.exp(log_f))
    noise = math.sqrt(np.median(residual) / _CHI2_6_MEDIAN)
    keep = keystone > config.perspective_snr * max(noise, 0.1)
    if keep.sum() < config.min_frames:
        return FocalEstimate(
            prior, "prior", math.inf, int(keep.sum()), noise, f"only {keep.sum()} frames show enough perspective"
        )
    log_f = _search(palm[keep], centre, max(log_f - 0.4, math.log(low)), min(log_f + 0.4, math.log(high)), 9)
    relative_std = _log_std(palm[keep], centre, log_f, noise)
    focal = math.exp(log_f)
    estimate = Intrinsics(focal, focal, width / 2, height / 2, width, height)
    if not relative_std <= config.max_relative_std:
        reason = f"focal {focal:.0f} px too uncertain (relative std {relative_std:.2f})"
        return FocalEstimate(prior, "prior", relative_std, int(keep.sum()), noise, reason)
    return FocalEstimate(estimate, "hands", relative_std, int(keep.sum()), noise)


def estimate_focal_from_shapes(
    relative: ArrayLike, keypoints: ArrayLike, width: int, height: int, config: FocalConfig = FocalConfig()
) -> FocalEstimate:
    """Focal length from metric wrist-relative 3D hands in *camera axes* (N, 21, 3) and their 2D
    keypoints (N, 21, 2): the f whose best per-frame translations reproject the shapes onto the
    keypoints with the least error.

    Where the palm method must also find each palm's rotation and assumes an average palm, a 3D
    estimator that reports the hand's shape in camera axes (MANO regressors such as HaWoR or WiLoR,
    and the oracle) leaves only f and a translation per frame: the hand's depth relief (several cm
    at arm's length) is the perspective that pins f. On HumanSim with the oracle (2 px, 5 mm noise)
    this is within 5 % where the palm method is off by up to 40 %. MediaPipe's relative landmarks
    are not in camera axes and drive it to the search bound: use ``estimate_focal`` for them.
    """
    from data_engine.lift import solve_translation

    shapes = np.asarray(relative, dtype=np.float64)
    points = np.asarray(keypoints, dtype=np.float64)
    if shapes.shape[1:] != (hand.NUM_KEYPOINTS, 3) or points.shape != shapes.shape[:2] + (2,):
        raise ValueError(f"expected shapes (N, 21, 3) and keypoints (N, 21, 2), got {shapes.shape} and {points.shape}")
    usable = np.isfinite(shapes).all(axis=(1, 2)) & np.isfinite(points).all(axis=(1, 2))
    shapes, points = shapes[usable], points[usable]
    prior = Intrinsics.from_fov(config.prior_fov_deg, width, height)
    if len(shapes) < config.min_frames:
        return FocalEstimate(prior, "prior", math.inf, len(shapes), math.nan, f"{len(shapes)} frames with a 3D hand")
    pick = np.linspace(0, len(shapes) - 1, min(len(shapes), config.max_frames)).round().astype(int)
    shapes, points = shapes[pick], points[pick]
    centre = np.array([width / 2, height / 2])
    relief = float(np.median(shapes[..., 2].std(axis=1) / shapes[..., :2].std(axis=1).mean(axis=1)))
    if relief < config.min_shape_relief:
        return FocalEstimate(prior, "prior", math.inf, len(shapes), math.nan, f"the 3D shapes have no depth relief ({relief:.3f})")

    def cost(log_f: float) -> float:
        focal = math.exp(log_f)
        k = np.array([[focal, 0.0, centre[0]], [0.0, focal, centre[1]], [0.0, 0.0, 1.0]])
        camera = shapes + solve_translation(shapes, points, k)[:, None]
        projected = focal * camera[..., :2] / np.maximum(camera[..., 2:3], 1e-6) + centre
        return float(np.sum((projected - points) ** 2))

    low, high = (math.log(0.5 * width / math.tan(math.radians(fov) / 2)) for fov in config.fov_range_deg[::-1])
    grid = np.linspace(low, high, 4 * config.grid_size)
    best = int(np.argmin([cost(g) for g in grid]))
    if best in (0, len(grid) - 1):
        reason = "the 3D shapes fit best at the edge of the searched field of view (not in camera axes?)"
        return FocalEstimate(prior, "prior", math.inf, len(shapes), math.nan, reason)
    result = minimize_scalar(cost, bounds=(grid[best - 1], grid[best + 1]), method="bounded", options={"xatol": 1e-3})
    focal = math.exp(float(result.x))
    noise = math.sqrt(float(result.fun) / (2 * shapes.shape[0] * shapes.shape[1]))
    size = float(np.median(np.linalg.norm(points.max(axis=1) - points.min(axis=1), axis=1)))
    if noise > config.max_shape_residual * size:
        reason = f"the 3D shapes do not fit the keypoints (residual {noise:.1f} px on {size:.0f}-px hands): not in camera axes?"
        return FocalEstimate(prior, "prior", math.inf, len(shapes), noise, reason)
    return FocalEstimate(Intrinsics(focal, focal, width / 2, height / 2, width, height), "hands-3d", math.nan, len(shapes), noise)


# --- internals -------------------------------------------------------------------------------


def _parse_entry(entry: Any, path: Path, name: str) -> Intrinsics:
    where = f"{path}: entry {name!r}"
    if not isinstance(entry, Mapping):
        raise IntrinsicsError(f"{where}: expected an object with fx, fy, cx, cy, got {type(entry).__name__}")
    values = {}
    for field in _FIELDS:
        if field not in entry:
            raise IntrinsicsError(f"{where}: missing field {field!r}")
        values[field] = _number(entry[field], where, field)
    size = [entry.get(field) for field in ("width", "height")]
    if (size[0] is None) != (size[1] is None):
        raise IntrinsicsError(f"{where}: give both 'width' and 'height' or neither")
    if size[0] is not None:
        for field, value in zip(("width", "height"), size, strict=True):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise IntrinsicsError(f"{where}: field {field!r} must be a positive integer, got {value!r}")
    return Intrinsics(**values, width=size[0], height=size[1])


def _number(value: Any, where: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise IntrinsicsError(f"{where}: field {field!r} must be a positive number, got {value!r}")
    return float(value)


def _fit_palms(palm: np.ndarray, centre: np.ndarray, focal: float) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: squared reprojection error (px^2) of the best rigid palm pose, and its keystone (px).

    The keystone is the RMS distance between the fitted perspective projection and the same
    points seen flat (all at the palm's mean depth): the part of the image that depends on f.
    """
    model = hand.rest_keypoints()[list(PALM)]
    k = np.array([[focal, 0.0, centre[0]], [0.0, focal, centre[1]], [0.0, 0.0, 1.0]])
    errors = np.empty(len(palm))
    keystones = np.empty(len(palm))
    for i, image in enumerate(palm):
        _, rotations, translations, _ = cv2.solvePnPGeneric(model, image, k, None, flags=cv2.SOLVEPNP_IPPE)
        errors[i] = math.inf
        for rvec, tvec in zip(rotations, translations, strict=True):
            rvec, tvec = cv2.solvePnPRefineLM(model, image, k, None, rvec.copy(), tvec.copy())
            camera = model @ cv2.Rodrigues(rvec)[0].T + tvec.ravel()
            if (camera[:, 2] <= 0).any():
                continue
            projected = focal * camera[:, :2] / camera[:, 2:] + centre
            error = float(np.sum((projected - image) ** 2))
            if error < errors[i]:
                flat = focal * camera[:, :2] / camera[:, 2].mean() + centre
                errors[i] = error
                keystones[i] = math.sqrt(np.mean(np.sum((projected - flat) ** 2, axis=1)))
    bad = ~np.isfinite(errors)
    errors[bad], keystones[bad] = np.max(errors[~bad], initial=0.0), 0.0
    return errors, keystones


def _search(palm: np.ndarray, centre: np.ndarray, log_low: float, log_high: float, grid_size: int) -> float:
    """``log f`` minimising the total palm reprojection error: a grid to find the basin, then Brent."""
    grid = np.linspace(log_low, log_high, grid_size)
    costs = [float(_fit_palms(palm, centre, math.exp(g))[0].sum()) for g in grid]
    best = int(np.argmin(costs))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, grid_size - 1)]
    result = minimize_scalar(
        lambda g: float(_fit_palms(palm, centre, math.exp(g))[0].sum()), bounds=(lo, hi), method="bounded",
        options={"xatol": 2e-3},
    )
    return float(result.x)


def _log_std(palm: np.ndarray, centre: np.ndarray, log_f: float, noise: float, step: float = 0.02) -> float:
    """Standard deviation of ``log f`` from the cost's second difference: ``sqrt(2 sigma^2 / E'')``."""
    costs = [float(_fit_palms(palm, centre, math.exp(log_f + d))[0].sum()) for d in (-step, 0.0, step)]
    curvature = (costs[0] - 2 * costs[1] + costs[2]) / step**2
    return math.sqrt(2 * max(noise, 0.1) ** 2 / curvature) if curvature > 0 else math.inf

"""Stage 2 (static or moving camera): synthetic textured scenes with known camera motion."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from data_engine.camera_motion import camera_motion, masks_from_keypoints

H, W, T = 240, 320, 20


def _texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Multi-scale blurred noise: corners everywhere, as on a cluttered table."""
    image = np.zeros((height, width))
    for sigma in (1.0, 3.0, 8.0):
        image += cv2.GaussianBlur(rng.random((height, width)), (0, 0), sigma) * sigma
    image = (image - image.min()) / np.ptp(image) * 255
    return np.repeat(image.astype(np.uint8)[..., None], 3, axis=2)


def _camera(canvas: np.ndarray, shift: tuple[float, float], degrees: float, zoom: float) -> np.ndarray:
    """The (H, W) view of ``canvas`` after t steps of a known pan (pixels), roll and zoom per frame."""
    frames = []
    centre = (canvas.shape[1] / 2, canvas.shape[0] / 2)
    for t in range(T):
        warp = cv2.getRotationMatrix2D(centre, degrees * t, zoom**t)
        warp[:, 2] += np.array(shift) * t
        view = cv2.warpAffine(canvas, warp, (canvas.shape[1], canvas.shape[0]), flags=cv2.INTER_LINEAR)
        y0, x0 = (canvas.shape[0] - H) // 2, (canvas.shape[1] - W) // 2
        frames.append(view[y0 : y0 + H, x0 : x0 + W])
    return np.stack(frames)


def _paste_blob(frames: np.ndarray, rng: np.random.Generator, radius: int, speed: float) -> np.ndarray:
    """A textured disc (a "hand") moving across the frames; returns its masks and edits frames."""
    skin = _texture(rng, 2 * radius + 1, 2 * radius + 1)
    masks = np.zeros(frames.shape[:3], dtype=bool)
    yy, xx = np.mgrid[: frames.shape[1], : frames.shape[2]]
    for t in range(len(frames)):
        cx, cy = int(60 + speed * t), int(120 + 20 * np.sin(t / 3))
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2
        masks[t] = disc
        ys, xs = np.nonzero(disc)
        frames[t, ys, xs] = skin[ys - cy + radius, xs - cx + radius]
    return masks


@pytest.fixture(scope="module")
def canvas() -> np.ndarray:
    return _texture(np.random.default_rng(0), 400, 520)


def test_still_camera_with_a_masked_moving_hand_is_static(canvas: np.ndarray) -> None:
    frames = _camera(canvas, (0.0, 0.0), 0.0, 1.0)
    masks = _paste_blob(frames, np.random.default_rng(1), radius=45, speed=8.0)
    result = camera_motion(frames, masks)
    assert result.static and result.measured == 1.0
    assert result.score < 1e-3 and np.nanmax(result.per_frame_motion) < 1e-3
    assert result.per_frame_motion.shape == result.drift.shape == (T,)


def test_known_pan_is_measured_and_moving(canvas: np.ndarray) -> None:
    frames = _camera(canvas, (2.0, 1.0), 0.0, 1.0)
    masks = _paste_blob(frames, np.random.default_rng(1), radius=45, speed=8.0)
    result = camera_motion(frames, masks)
    diagonal = np.hypot(W, H)
    np.testing.assert_allclose(result.per_frame_motion[1:], np.hypot(2, 1) / diagonal, rtol=0.05)
    assert result.drift[-1] == pytest.approx((T - 1) * np.hypot(2, 1) / diagonal, rel=0.05)
    assert not result.static and result.score > 0.05


@pytest.mark.parametrize(("degrees", "zoom"), [(0.3, 1.0), (0.0, 1.004), (0.1, 0.998)])
def test_roll_and_zoom_are_moving(canvas: np.ndarray, degrees: float, zoom: float) -> None:
    frames = _camera(canvas, (0.0, 0.0), degrees, zoom)
    result = camera_motion(frames, masks_from_keypoints(np.full((T, 21, 2), np.nan), H, W))
    assert not result.static and result.score > 0.01


def test_slow_pan_below_per_frame_noise_still_accumulates(canvas: np.ndarray) -> None:
    """0.25 px per frame is tiny frame to frame, but the view drifts by 5 px over 20 frames."""
    result = camera_motion(_camera(canvas, (0.25, 0.0), 0.0, 1.0))
    assert not result.static and result.drift[-1] == pytest.approx(19 * 0.25 / np.hypot(W, H), rel=0.15)


def test_unmasked_large_object_leaves_a_still_camera_static(canvas: np.ndarray) -> None:
    """A moving object covering ~25 % of the image, not masked: RANSAC keeps the background's consensus."""
    frames = _camera(canvas, (0.0, 0.0), 0.0, 1.0)
    masks = _paste_blob(frames, np.random.default_rng(2), radius=80, speed=6.0)
    assert masks.mean() > 0.2
    result = camera_motion(frames)
    assert result.static and result.score < 2e-3


def test_textureless_video_is_reported_moving_and_unmeasured() -> None:
    result = camera_motion(np.full((5, H, W, 3), 128, np.uint8))
    assert not result.static and result.measured == 0.0 and np.isnan(result.per_frame_motion[1:]).all()


def test_masks_from_keypoints_cover_each_hand_with_margin() -> None:
    keypoints = np.full((2, 2, 21, 2), np.nan)
    keypoints[0, 0] = np.linspace([100, 50], [140, 90], 21)  # a 40 px box
    keypoints[1, 1, :5] = [[10, 10], [20, 20], [10, 20], [20, 10], [15, 15]]
    masks = masks_from_keypoints(keypoints, H, W, margin=0.25)
    assert masks[0, 40, 90] and masks[0, 100, 150] and not masks[0, 39, 89] and not masks[0, 101, 151]
    assert masks[1, 7:24, 7:24].all() and masks[1].sum() == 17 * 17
    with pytest.raises(ValueError, match="keypoints"):
        masks_from_keypoints(np.zeros((2, 21, 3)), H, W)

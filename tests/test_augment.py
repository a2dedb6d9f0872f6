"""Augmentation keeps image, intrinsics, actions, state, masks and instruction consistent."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from policies.augment import (
    Augment,
    AugmentConfig,
    colour_jitter,
    flip,
    flip_instruction,
    palm_path,
    reproject,
    rotate_camera_frame,
    sample_view,
)
from vitra_bench import hand as hk
from vitra_bench import layout
from vitra_bench.corpus.dataset import HandActionDataset
from vitra_bench.episode import HANDS
from vitra_bench.geometry import intrinsics_from_fov, project_points
from vitra_bench.synthetic import SyntheticConfig, write_synthetic_corpus

NO_JITTER = AugmentConfig(jitter_prob=0.0)
WIDTH, HEIGHT = 256, 192


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> HandActionDataset:
    out = tmp_path_factory.mktemp("augment") / "corpus"
    config = SyntheticConfig(out=out, episodes=4, frames=32, width=64, height=48, seed=0, dropout=0.1)
    return HandActionDataset(write_synthetic_corpus(config, progress=False))


@pytest.fixture(scope="module")
def samples(dataset: HandActionDataset) -> list[dict]:
    return [dataset.raw_sample(i) for i in range(0, len(dataset), 4)]


def hand_pose(sample: dict, hand: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Wrist rotation, translation, theta (axis-angle) and beta of ``hand`` at the anchor."""
    s = np.asarray(sample["state"], np.float64)[layout.STATE_SLICES[hand]]
    theta = Rotation.from_euler(layout.EULER, s[layout.FINGERS].reshape(-1, 3)).as_rotvec()
    return (
        Rotation.from_euler(layout.EULER, s[layout.ROTATION]).as_matrix(),
        s[layout.TRANSLATION],
        theta,
        s[layout.BETA],
    )


def trajectory(sample: dict, hand: str) -> layout.Trajectory:
    rotation, translation, _, _ = hand_pose(sample, hand)
    block = layout.ACTION_SLICES[hand]
    return layout.integrate_actions(rotation, translation, sample["actions"][:, block], sample["action_mask"][:, block])


def tracked(sample: dict, hand: str) -> bool:
    return bool(sample["state_mask"][layout.STATE_SLICES[hand]].all())


def wrist_pixels(sample: dict, hand: str) -> np.ndarray:
    """Pixels (2, 2) of the wrist at the anchor and at the last frame the chunk reaches."""
    path = trajectory(sample, hand)
    last = np.flatnonzero(path.valid)[-1]
    return project_points(path.translation[[0, last]], sample["intrinsics"])


def marked(sample: dict, hand: str) -> dict | None:
    """The sample on a black 256x192 image with a red blob on the anchor wrist and a green one on
    the chunk's last wrist, or ``None`` when either lies near the border."""
    out = dict(sample, intrinsics=intrinsics_from_fov(np.radians(75), WIDTH, HEIGHT).astype(np.float32))
    pixels = wrist_pixels(out, hand)
    if not (np.all(np.isfinite(pixels)) and np.all((pixels > 24) & (pixels < [WIDTH - 24, HEIGHT - 24]))):
        return None
    ys, xs = np.mgrid[:HEIGHT, :WIDTH]
    image = np.zeros((HEIGHT, WIDTH, 3), np.float64)
    for channel, (x, y) in enumerate(pixels):
        image[..., channel] += 255 * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 3.0**2))
    out["image"] = np.clip(image, 0, 255).astype(np.uint8)
    return out


def blob_centres(image: np.ndarray) -> np.ndarray:
    """Intensity-weighted centres (2, 2) of the red and green blobs."""
    ys, xs = np.mgrid[: image.shape[0], : image.shape[1]]
    centres = []
    for channel in range(2):
        weight = np.clip(image[..., channel].astype(np.float64) - 20, 0, None)
        centres.append([np.sum(weight * xs) / weight.sum(), np.sum(weight * ys) / weight.sum()])
    return np.array(centres)


def marked_samples(samples: list[dict]) -> list[tuple[dict, str]]:
    found = [(m, hand) for s in samples for hand in HANDS if tracked(s, hand) and (m := marked(s, hand)) is not None]
    assert len(found) >= 5, "the synthetic corpus should give enough wrists well inside the image"
    return found


def test_marked_blobs_sit_on_the_projected_wrists(samples: list[dict]) -> None:
    for sample, hand in marked_samples(samples):
        np.testing.assert_allclose(blob_centres(sample["image"]), wrist_pixels(sample, hand), atol=0.2)


def test_flip_keeps_wrists_on_their_image_content(samples: list[dict]) -> None:
    for sample, hand in marked_samples(samples):
        other = "left" if hand == "right" else "right"
        flipped = flip(sample)
        np.testing.assert_allclose(blob_centres(flipped["image"]), wrist_pixels(flipped, other), atol=1.0)


def test_virtual_camera_keeps_wrists_on_their_image_content(samples: list[dict]) -> None:
    rng = np.random.default_rng(0)
    angles = []
    for sample, hand in marked_samples(samples):
        for _ in range(3):
            view = sample_view(sample, rng, NO_JITTER)
            assert view is not None
            angles.append(abs(Rotation.from_matrix(view[0]).as_rotvec()[2]))
            moved = reproject(sample, *view)
            pixels = wrist_pixels(moved, hand)
            if np.all((pixels > 10) & (pixels < [WIDTH - 10, HEIGHT - 10])):  # a blob cut by the border is off-centre
                np.testing.assert_allclose(blob_centres(moved["image"]), pixels, atol=1.5)
    assert max(angles) > np.radians(15), "views should include large in-plane rotations"


@pytest.mark.parametrize("flip_prob", [0.0, 1.0])
def test_full_augmentation_keeps_wrists_on_their_image_content(samples: list[dict], flip_prob: float) -> None:
    augment = Augment(AugmentConfig(jitter_prob=0.0, flip_prob=flip_prob))
    checked = 0
    for index, (sample, hand) in enumerate(marked_samples(samples)):
        out = augment(sample, np.random.default_rng(index))
        side = hand if flip_prob == 0.0 else ("left" if hand == "right" else "right")
        pixels = wrist_pixels(out, side)
        if np.all((pixels > 10) & (pixels < [WIDTH - 10, HEIGHT - 10])):
            np.testing.assert_allclose(blob_centres(out["image"]), pixels, atol=1.5)
            checked += 1
    assert checked >= 3


def test_rotated_actions_integrate_to_the_rotated_trajectory(samples: list[dict]) -> None:
    rotation = Rotation.from_euler("z", 25, degrees=True).as_matrix()
    for sample in samples:
        turned = rotate_camera_frame(sample, rotation)
        for hand in HANDS:
            if not tracked(sample, hand):
                continue
            before, after = trajectory(sample, hand), trajectory(turned, hand)
            np.testing.assert_array_equal(before.valid, after.valid)
            np.testing.assert_allclose(after.translation, before.translation @ rotation.T, atol=1e-5)
            np.testing.assert_allclose(after.rotation, rotation @ before.rotation, atol=1e-5)
            np.testing.assert_allclose(after.hand_pose, before.hand_pose, atol=1e-6)


def test_flip_twice_is_the_identity(samples: list[dict]) -> None:
    for sample in samples:
        twice = flip(flip(sample))
        assert twice["instruction"] == sample["instruction"]
        for name in ("image", "intrinsics", "actions", "action_mask", "state", "state_mask"):
            np.testing.assert_array_equal(twice[name], sample[name], err_msg=name)


def test_flipped_hands_are_the_mirror_images(samples: list[dict]) -> None:
    """FK of the flipped sample's hands equals the mirrored keypoints of the original's, over the chunk."""
    checked = 0
    for sample in samples:
        flipped = flip(sample)
        for hand, other in (("left", "right"), ("right", "left")):
            if not tracked(sample, hand):
                assert not flipped["state_mask"][layout.STATE_SLICES[other]].any()
                continue
            _, _, theta, beta = hand_pose(sample, hand)
            _, _, theta_f, beta_f = hand_pose(flipped, other)
            before, after = trajectory(sample, hand), trajectory(flipped, other)
            keypoints = hk.forward_kinematics(
                before.rotation, before.translation, np.concatenate([theta[None], before.hand_pose]), beta, hand
            )
            mirrored = hk.forward_kinematics(
                after.rotation, after.translation, np.concatenate([theta_f[None], after.hand_pose]), beta_f, other
            )
            np.testing.assert_allclose(mirrored, hk.mirror_keypoints(keypoints), atol=1e-5)
            checked += 1
    assert checked >= len(samples)


def test_flip_swaps_masks_and_prompt(samples: list[dict]) -> None:
    sample = samples[0]
    flipped = flip(sample)
    np.testing.assert_array_equal(
        flipped["action_mask"][:, layout.LEFT_ACTION], sample["action_mask"][:, layout.RIGHT_ACTION]
    )
    np.testing.assert_array_equal(flipped["state_mask"][layout.RIGHT_STATE], sample["state_mask"][layout.LEFT_STATE])
    assert flip_instruction("Left hand: Pick up the cup with the left hand. Right hand: None.") == (
        "Left hand: None. Right hand: Pick up the cup with the right hand."
    )
    assert flip_instruction("Left hand: Put the LEFT leftover upright. Right hand: Right-click it.") == (
        "Left hand: Left-click it. Right hand: Put the RIGHT leftover upright."
    )


def share_inside(pixels: np.ndarray, image: np.ndarray) -> float:
    height, width = image.shape[:2]
    with np.errstate(invalid="ignore"):
        return float(np.mean(np.all((pixels >= -0.5) & (pixels <= [width - 0.5, height - 0.5]), axis=1)))


def test_palm_path_stays_in_view(samples: list[dict]) -> None:
    rng = np.random.default_rng(1)
    config = AugmentConfig()
    for sample in samples:
        before = project_points(palm_path(sample), sample["intrinsics"])
        for _ in range(4):
            view = sample_view(sample, rng, config)
            if view is None:
                continue
            out = reproject(sample, *view)
            after = project_points(palm_path(out), out["intrinsics"])
            if len(after):
                wanted = min(config.min_path_in_view, share_inside(before, sample["image"]))
                assert share_inside(after, out["image"]) >= wanted - 1e-9


def test_masked_entries_stay_zero_and_types_are_kept(dataset: HandActionDataset) -> None:
    augment = Augment()
    for index in range(0, len(dataset), 2):
        sample = dataset.raw_sample(index)
        out = augment(sample, np.random.default_rng(index))
        assert not np.any(out["actions"][~out["action_mask"]])
        assert not np.any(out["state"][~out["state_mask"]])
        for name in ("image", "intrinsics", "actions", "state"):
            assert out[name].dtype == sample[name].dtype and out[name].shape == sample[name].shape, name
    assert (~dataset.raw_sample(len(dataset) - 1)["action_mask"]).any(), "the corpus should have masked steps"


def test_dataset_applies_it_reproducibly(dataset: HandActionDataset) -> None:
    augmented = HandActionDataset(dataset.root, transform=Augment(), seed=5)
    first, again = augmented[3], augmented[3]
    assert all(np.array_equal(first[k], again[k]) for k in ("image", "actions", "state", "intrinsics"))
    augmented.set_epoch(1)
    assert not np.array_equal(augmented[3]["image"], first["image"])


def test_colour_jitter_bounds() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    still = AugmentConfig(brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0, hue_colour_named=0.0)
    assert np.abs(colour_jitter(image, rng, still, False).astype(int) - image).max() <= 1
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 200
    named = AugmentConfig(brightness=0.0, contrast=0.0, saturation=0.0)
    for _ in range(20):
        hue = cv2.cvtColor(colour_jitter(red, rng, named, True).astype(np.float32) / 255, cv2.COLOR_RGB2HSV)[0, 0, 0]
        assert min(hue, 360 - hue) <= 360 * named.hue_colour_named + 1

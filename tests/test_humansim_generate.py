"""Clip generation end to end: determinism, visibility against segmentation, resume, truth -> corpus."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")

from dataclasses import replace
from pathlib import Path

import mujoco
import numpy as np
import pytest

from envs.humansim import hand_model
from envs.humansim.generate import HumanSimConfig, clip_done, generate, pose_frame, render_clip, setup_clip
from envs.humansim.scene import RENDER_CAMERA
from envs.humansim.spec import HANDS
from envs.humansim.truth import clip_episodes, load_truth, save_truth, write_truth_corpus
from vitra_bench.corpus import Corpus, validate_corpus
from vitra_bench.corpus.video import VideoSettings, encode_video
from vitra_bench.geometry import project_points

CONFIG = HumanSimConfig(preset="lab", clips=2, width=160, height=120, seed=3)


@pytest.fixture(scope="module")
def clip() -> tuple:
    return render_clip(CONFIG, 0)


def test_same_seed_gives_the_same_clip(clip: tuple) -> None:
    truth, frames = clip
    again, frames_again = render_clip(CONFIG, 0)
    np.testing.assert_array_equal(frames, frames_again)
    for side in HANDS:
        np.testing.assert_array_equal(truth.hands[side].joints_world, again.hands[side].joints_world)
        np.testing.assert_array_equal(truth.hands[side].visible, again.hands[side].visible)
    np.testing.assert_array_equal(truth.extrinsics, again.extrinsics)
    assert truth.segments == again.segments


def test_visible_keypoints_land_on_their_hand_in_the_segmentation(clip: tuple) -> None:
    truth, _ = clip
    setup = setup_clip(CONFIG, 0)
    data = mujoco.MjData(setup.model)
    hand_ids = {side: set(hand_model.hand_geom_ids(setup.model, setup.handles[side]).tolist()) for side in HANDS}
    checked = in_view = 0
    with mujoco.Renderer(setup.model, CONFIG.height, CONFIG.width) as renderer:
        renderer.enable_segmentation_rendering()
        for t in np.linspace(0, truth.num_frames - 1, 8).round().astype(int):
            pose_frame(setup, data, t)
            renderer.update_scene(data, camera=RENDER_CAMERA)
            segmentation = renderer.render()
            geoms = np.where(segmentation[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM), segmentation[..., 0], -1)
            for side in HANDS:
                hand = truth.hands[side]
                pixels = project_points(hand.joints_cam[t], truth.intrinsics)
                for k in np.flatnonzero(hand.visible[t]):
                    u, v = pixels[k].astype(int)
                    window = geoms[max(v - 1, 0) : v + 2, max(u - 1, 0) : u + 2]
                    assert hand_ids[side] & set(window.ravel().tolist()), f"{side} keypoint {k} at frame {t}"
                    checked += 1
                inside = np.all((pixels >= 0) & (pixels < [CONFIG.width, CONFIG.height]), axis=1)
                in_view += int(inside.sum()) if hand.present[t] else 0
    assert checked > 50
    assert checked >= 0.5 * in_view, "most keypoints of hands in view should count as visible"


def test_segments_start_and_end_at_wrist_speed_minima(clip: tuple) -> None:
    truth, _ = clip
    for segment in truth.segments:
        speed = np.linalg.norm(np.diff(truth.hands[segment.hand].wrist_translation, axis=0), axis=1)
        for boundary in (segment.start, segment.end):
            window = speed[max(boundary - 6, 0) : boundary + 6]
            assert speed[min(boundary, len(speed) - 1)] <= window.min() + 0.15 * (window.max() - window.min()) + 1e-6


def test_generation_resumes_and_refuses_other_settings(tmp_path: Path) -> None:
    config = replace(CONFIG, out=tmp_path / "clips", seconds=0.5)
    assert generate(config, progress=False) == ["clip_000000", "clip_000001"]
    (config.out / "clip_000001.json").unlink()  # as if killed before its sidecar was finished
    assert not clip_done(config, 1)
    assert generate(config, progress=False) == ["clip_000001"]
    assert generate(config, progress=False) == []
    with pytest.raises(ValueError, match="seed"):
        generate(replace(config, seed=4), progress=False)


def test_truth_corpus_has_one_valid_episode_per_segment(clip: tuple, tmp_path: Path) -> None:
    truth, frames = clip
    episodes = clip_episodes(truth, frames)
    assert len(episodes) == len(truth.segments)
    for episode, segment in zip(episodes, truth.segments):
        assert episode.main_hand == segment.hand
        assert episode.instructions[segment.hand][0].text == segment.instruction
        assert episode.num_frames == segment.end - segment.start

    clips = tmp_path / "clips"
    clips.mkdir()
    encode_video(frames, clips / "clip_000000.mp4", truth.fps, VideoSettings(codec="libx264", gop=30, crf=20))
    save_truth(truth, clips)
    root = write_truth_corpus(clips, tmp_path / "corpus", progress=False)
    assert validate_corpus(root) == []
    with Corpus(root) as corpus:
        assert corpus.num_episodes == len(load_truth(clips / "clip_000000.json").segments)
        first = corpus.episode(0)
        first_camera = np.linalg.inv(first.extrinsics[0])  # world = the clip's first camera, not this frame's
        assert np.allclose(first_camera[:3, :3] @ first_camera[:3, :3].T, np.eye(3), atol=1e-5)


def test_parallel_workers_write_the_same_clips_as_one_process(tmp_path: Path) -> None:
    serial = replace(CONFIG, out=tmp_path / "serial", seconds=0.5)
    parallel = replace(serial, out=tmp_path / "parallel", workers=2)
    generate(serial, progress=False)
    assert sorted(generate(parallel, progress=False)) == ["clip_000000", "clip_000001"]
    for index in range(2):
        a = load_truth(serial.out / f"clip_{index:06d}.json")
        b = load_truth(parallel.out / f"clip_{index:06d}.json")
        for side in HANDS:
            np.testing.assert_array_equal(a.hands[side].joints_cam, b.hands[side].joints_cam)
            np.testing.assert_array_equal(a.hands[side].visible, b.hands[side].visible)
        assert a.segments == b.segments

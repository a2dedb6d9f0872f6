import numpy as np
from scipy.spatial.transform import Rotation

from vitra_bench import hand as hk
from vitra_bench.episode import HANDS
from vitra_bench.geometry import project_points, transform_points
from vitra_bench.synthetic import SyntheticConfig, generate_episode, minimum_jerk

CONFIG = SyntheticConfig(episodes=6, frames=30, width=128, height=96)


def test_same_seed_and_index_give_the_same_episode() -> None:
    a, b = generate_episode(CONFIG, 3), generate_episode(CONFIG, 3)
    np.testing.assert_array_equal(a.frames["ego"], b.frames["ego"])
    for side in HANDS:
        np.testing.assert_array_equal(a.hands[side].joints_world, b.hands[side].joints_world)
    assert a.instructions == b.instructions
    assert generate_episode(CONFIG, 4).key != a.key


def test_episode_geometry_is_consistent() -> None:
    for index in range(CONFIG.episodes):
        episode = generate_episode(CONFIG, index)
        np.testing.assert_array_equal(episode.extrinsics[0], np.eye(4))  # world = first camera
        for side in HANDS:
            track = episode.hands[side]
            np.testing.assert_allclose(track.joints_cam, transform_points(episode.extrinsics, track.joints_world), atol=1e-5)
            np.testing.assert_allclose(track.wrist_world, track.joints_world[:, 0], atol=1e-6)
            rotation = Rotation.from_rotvec(track.wrist_orient_world.astype(np.float64))
            refit = hk.forward_kinematics(rotation, track.wrist_world, track.hand_pose, track.beta, side)
            np.testing.assert_allclose(refit, track.joints_world, atol=1e-5)
        main = episode.hands[episode.main_hand]
        assert main.kept.mean() > 0.8, "the main hand should be in view most of the time"
        pixels = project_points(main.joints_cam[main.kept, 0], episode.intrinsics)
        assert np.all((pixels >= 0) & (pixels < np.array(episode.image_size)))


def test_minimum_jerk_profile_is_still_then_smooth_then_still() -> None:
    progress = minimum_jerk(40, 5, 30)
    assert np.all(progress[:6] == 0) and np.all(progress[30:] == 1)
    assert np.all(np.diff(progress) >= 0)
    speed = np.diff(progress)
    assert np.argmax(speed) in range(15, 20)  # peak speed mid-way, as human reaches

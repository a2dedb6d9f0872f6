"""HumanSim cameras: MuJoCo renders where OpenCV projects, camera tracks, degradations."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from envs.humansim import camera  # noqa: E402
from envs.humansim.scene import RENDER_CAMERA  # noqa: E402
from vitra_bench.geometry import invert_transform, project_points, transform_points  # noqa: E402

TABLE_Z = 0.75
WORK_AREA = np.array([0.0, -0.03, TABLE_Z])
MARKER_RADIUS = 0.006


def _marker_model(points: np.ndarray, width: int, height: int) -> mujoco.MjModel:
    """Small spheres at ``points`` above a plane at the table height, and the render camera."""
    spec = mujoco.MjSpec()
    spec.visual.global_.offwidth, spec.visual.global_.offheight = width, height
    spec.worldbody.add_geom(
        name="plane", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[3, 3, 0.1], pos=[0, 0, TABLE_Z]
    )
    for i, p in enumerate(points):
        spec.worldbody.add_geom(
            name=f"marker{i}", type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[MARKER_RADIUS, 0, 0], pos=p.tolist()
        )
    spec.worldbody.add_camera(name=RENDER_CAMERA)
    return spec.compile()


@pytest.mark.parametrize(
    "mode, width, height, jitter",
    [
        ("static", 320, 240, 0.0),
        ("egocentric", 320, 240, 0.0),
        ("egocentric", 400, 224, 0.05),
        ("static", 256, 256, 0.08),
    ],
)
def test_rendered_markers_land_on_the_opencv_projection(
    mode: str, width: int, height: int, jitter: float
) -> None:
    rng = np.random.default_rng(width + height)
    points = WORK_AREA + rng.uniform([-0.15, -0.1, 0.01], [0.15, 0.15, 0.15], size=(6, 3))
    model = _marker_model(points, width, height)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    if mode == "static":
        track = camera.static_camera(rng, WORK_AREA, 3, width, height, principal_jitter=jitter)
    else:
        track = camera.egocentric_camera(rng, 3, 30.0, WORK_AREA, width, height, principal_jitter=jitter)
    with mujoco.Renderer(model, height, width) as renderer:
        renderer.enable_segmentation_rendering()
        for extrinsic in track.extrinsics:
            camera.set_render_camera(model, data, extrinsic, track.intrinsics, width, height)
            renderer.update_scene(data, RENDER_CAMERA)
            ids = renderer.render()[..., 0]
            cam_points = transform_points(extrinsic, points)
            expected = project_points(cam_points, track.intrinsics)
            radius_px = track.intrinsics[0, 0] * MARKER_RADIUS / cam_points[:, 2]
            for i, uv in enumerate(expected):
                ys, xs = np.nonzero(ids == model.geom(f"marker{i}").id)
                apart = np.linalg.norm(expected - uv, axis=1) > radius_px + radius_px[i] + 1
                apart[i] = True
                if not (4 < uv[0] < width - 4 and 4 < uv[1] < height - 4 and apart.all()):
                    continue  # out of the image or overlapping another marker
                assert len(xs) > 3
                centroid = np.array([xs.mean() + 0.5, ys.mean() + 0.5])  # pixel j covers [j, j + 1)
                assert np.linalg.norm(centroid - uv) < 0.5, (mode, i, centroid, uv)


def test_depth_render_is_distance_along_the_optical_axis() -> None:
    """Renderer depth is the camera-frame z, so pixels back-project onto the table plane."""
    width, height = 160, 120
    model = _marker_model(np.empty((0, 3)), width, height)
    data = mujoco.MjData(model)
    track = camera.static_camera(np.random.default_rng(0), WORK_AREA, 1, width, height)
    camera.set_render_camera(model, data, track.extrinsics[0], track.intrinsics, width, height)
    mujoco.mj_forward(model, data)  # after the camera is set: the model's camera must hold too
    with mujoco.Renderer(model, height, width) as renderer:
        renderer.enable_depth_rendering()
        renderer.update_scene(data, RENDER_CAMERA)
        depth = renderer.render()
    v, u = np.mgrid[0:height:10, 0:width:10]
    on_plane = depth[v, u] < 3.0  # the rest looks past the plane's far edge
    assert on_plane.mean() > 0.5
    v, u = v[on_plane], u[on_plane]
    pixels = np.stack([u + 0.5, v + 0.5, np.ones_like(u, float)], -1).reshape(-1, 3)
    rays = pixels @ np.linalg.inv(track.intrinsics).T
    cam_points = rays * depth[v, u].reshape(-1, 1)
    world = transform_points(invert_transform(track.extrinsics[0]), cam_points)
    np.testing.assert_allclose(world[:, 2], TABLE_Z, atol=1e-3)


def test_intrinsics_follow_the_fov() -> None:
    rng = np.random.default_rng(0)
    fovs = []
    for _ in range(50):
        k = camera.sample_intrinsics(rng, 640, 480)
        assert k[0, 0] == k[1, 1] and (k[0, 2], k[1, 2]) == (320.0, 240.0)
        fovs.append(np.degrees(2 * np.arctan(320.0 / k[0, 0])))
    assert 50 <= min(fovs) and max(fovs) <= 100 and max(fovs) - min(fovs) > 30
    k = camera.sample_intrinsics(rng, 640, 480, (60, 60), principal_jitter=0.05)
    assert k[0, 0] == pytest.approx(320 / np.tan(np.radians(30)))
    assert abs(k[0, 2] - 320) <= 32 and abs(k[1, 2] - 240) <= 24


def _centres(track) -> np.ndarray:
    return invert_transform(track.extrinsics)[:, :3, 3]


def test_static_camera_is_a_tripod_looking_at_the_target() -> None:
    for seed in range(10):
        track = camera.static_camera(np.random.default_rng(seed), WORK_AREA, 5)
        assert track.mode == "static" and track.extrinsics.shape == (5, 4, 4)
        assert np.all(track.extrinsics == track.extrinsics[0])
        uv = project_points(transform_points(track.extrinsics[0], WORK_AREA[None]), track.intrinsics)[0]
        np.testing.assert_allclose(uv, track.intrinsics[:2, 2], atol=1e-6)
        centre = _centres(track)[0]
        assert centre[1] < WORK_AREA[1] and centre[2] > TABLE_Z + 0.2, "on the person's side, above the table"


def test_egocentric_head_motion_is_smooth_and_looks_at_the_work_area() -> None:
    fps, n = 30.0, 300
    for seed in range(5):
        track = camera.egocentric_camera(
            np.random.default_rng(seed), n, fps, WORK_AREA, motion=camera.HeadMotion(saccade_rate_hz=0.0)
        )
        centres = _centres(track)
        offset = centres.mean(0) - WORK_AREA
        assert -0.5 < offset[1] < -0.27 and 0.42 < offset[2] < 0.63 and abs(offset[0]) < 0.08
        assert 0.005 < centres.std(0).mean() < 0.05, "a few centimetres of head motion"
        rotations = track.extrinsics[:, :3, :3]
        np.testing.assert_allclose(
            rotations @ rotations.transpose(0, 2, 1), np.broadcast_to(np.eye(3), (n, 3, 3)), atol=1e-9
        )
        step = np.linalg.norm(np.diff(centres, axis=0), axis=1)
        angle = np.arccos(
            np.clip(
                (np.trace(rotations[1:] @ rotations[:-1].transpose(0, 2, 1), axis1=1, axis2=2) - 1) / 2, -1, 1
            )
        )
        assert step.max() < 0.01 and np.degrees(angle).max() < 1.5, "smooth at 30 fps"
        uv = project_points(
            transform_points(track.extrinsics, np.broadcast_to(WORK_AREA, (n, 1, 3))), track.intrinsics
        )[:, 0]
        assert np.all((uv > 0) & (uv < [track.width, track.height])), "the work area stays in view"
    a = camera.egocentric_camera(np.random.default_rng(1), 10, fps, WORK_AREA)
    b = camera.egocentric_camera(np.random.default_rng(1), 10, fps, WORK_AREA)
    np.testing.assert_array_equal(a.extrinsics, b.extrinsics)


def test_saccades_turn_the_head_away_and_back() -> None:
    fps, n = 30.0, 600
    motion = camera.HeadMotion(translation_std=0.0, rotation_std_deg=0.0, saccade_rate_hz=0.5)
    track = camera.egocentric_camera(np.random.default_rng(2), n, fps, WORK_AREA, motion=motion)
    forward = invert_transform(track.extrinsics)[:, :3, 2]
    yaw = np.degrees(np.arctan2(forward[:, 0], forward[:, 1]))
    deviation = np.abs(yaw - yaw[0])
    assert deviation.max() > 8 and np.mean(deviation < 0.5) > 0.2, "glances away, then returns"
    still = camera.egocentric_camera(
        np.random.default_rng(2), 20, fps, WORK_AREA, motion=camera.HeadMotion(0.0, 0.0, saccade_rate_hz=0.0)
    )
    np.testing.assert_allclose(still.extrinsics, still.extrinsics[0:1].repeat(20, 0), atol=1e-12)


def _moving_square(n: int = 5, speed: int = 6) -> np.ndarray:
    frames = np.full((n, 64, 96, 3), 30, np.uint8)
    for t in range(n):
        frames[t, 24:40, 20 + speed * t : 36 + speed * t] = 220
    return frames


def test_motion_blur_smears_along_the_motion_only() -> None:
    frames = _moving_square()
    np.testing.assert_array_equal(camera.motion_blur(frames, 0.0), frames)
    blurred = camera.motion_blur(frames, 1.0)
    assert blurred.shape == frames.shape and blurred.dtype == np.uint8
    t = 2
    row, col = blurred[t, 32, :, 0].astype(int), blurred[t, :, 20 + 6 * t + 8, 0].astype(int)
    sharp_row, sharp_col = frames[t, 32, :, 0].astype(int), frames[t, :, 20 + 6 * t + 8, 0].astype(int)
    assert np.sum((row > 40) & (row < 210)) >= 6, "intermediate values along x: the square is smeared"
    assert np.sum((sharp_row > 40) & (sharp_row < 210)) == 0
    np.testing.assert_allclose(col, sharp_col, atol=25), "no smear across the motion"
    assert abs(blurred[t].astype(float).mean() - frames[t].astype(float).mean()) < 2.0, "energy is kept"


def test_sensor_noise_and_jpeg() -> None:
    frame = np.tile(np.linspace(0, 255, 128, dtype=np.uint8)[None, :, None], (96, 1, 3))
    noisy = camera.sensor_noise(frame, np.random.default_rng(0), 6.0)
    again = camera.sensor_noise(frame, np.random.default_rng(0), 6.0)
    np.testing.assert_array_equal(noisy, again)
    diff = noisy.astype(float) - frame
    assert 3.0 < diff[:, 10:118].std() < 7.0
    assert diff[:, 100:118].std() > diff[:, 10:28].std(), "brighter pixels are noisier"
    rng = np.random.default_rng(1)
    textured = np.clip(frame.astype(float) + rng.normal(0, 20, frame.shape), 0, 255).astype(np.uint8)
    errors = [np.abs(camera.jpeg_compress(textured, q).astype(float) - textured).mean() for q in (95, 50, 10)]
    assert errors[0] < errors[1] < errors[2]
    out = camera.degrade(
        _moving_square(),
        np.random.default_rng(0),
        camera.Degradations(blur=0.5, noise_sigma=3.0, jpeg_quality=80),
    )
    assert out.shape == _moving_square().shape and out.dtype == np.uint8
    np.testing.assert_array_equal(
        camera.degrade(_moving_square(), np.random.default_rng(0), camera.Degradations()), _moving_square()
    )

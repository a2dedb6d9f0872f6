"""HumanSim scenes: environments by id, determinism, props as free bodies, segmentation."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from envs.humansim import objects, scene  # noqa: E402
from envs.humansim.camera import egocentric_camera, set_render_camera  # noqa: E402
from vitra_bench.geometry import project_points, transform_points  # noqa: E402


def _props(rng: np.random.Generator, table: scene.Table, n: int = 4) -> list:
    candidates = [
        objects.make_prop(c, rng, name=f"{c}_{i}", n_points=256)
        for i, c in enumerate(["mug", "bowl", "box", "knife", "ball", "cloth"])
    ]
    poses = objects.place_props(rng, candidates, table, n=n)
    return [p for p in candidates if p.name in poses]


def _build(variation: str, env_id: int, seed: int = 0) -> tuple[scene.Scene, mujoco.MjModel]:
    config = scene.SceneConfig(variation=variation, environment_id=env_id)
    rng = np.random.default_rng(seed)
    built = scene.build_scene(rng, config, _props(rng, scene.make_table(config)))
    return built, built.compile()


def test_environment_id_picks_the_room_and_lab_ignores_it() -> None:
    tables = [scene.make_table(scene.SceneConfig("wild", env)) for env in range(12)]
    heights = [t.height for t in tables]
    assert all(0.72 <= h <= 0.80 for h in heights) and len(set(heights)) == 12
    assert len({t.texture for t in tables}) >= 3
    assert scene.make_table(scene.SceneConfig("wild", 4)) == tables[4]
    assert scene.make_table(scene.SceneConfig("lab", 0)) == scene.make_table(scene.SceneConfig("lab", 9))
    with pytest.raises(ValueError):
        scene.make_table(scene.SceneConfig("studio", 0))


def test_same_config_and_seed_give_identical_models() -> None:
    (a, ma), (b, mb) = _build("wild", 7, seed=3), _build("wild", 7, seed=3)
    for field in ("geom_size", "geom_rgba", "geom_pos", "tex_data", "light_diffuse", "light_pos", "mat_rgba"):
        np.testing.assert_array_equal(getattr(ma, field), getattr(mb, field))
    assert a.environment == b.environment
    _, other = _build("wild", 8, seed=3)
    assert other.ngeom != ma.ngeom or not np.array_equal(other.geom_rgba, ma.geom_rgba)


def test_clip_rng_only_jitters_the_lights() -> None:
    config = scene.SceneConfig("wild", 5)
    table = scene.make_table(config)
    a = scene.build_scene(np.random.default_rng(1), config, []).compile()
    b = scene.build_scene(np.random.default_rng(2), config, []).compile()
    np.testing.assert_array_equal(a.geom_size, b.geom_size)
    np.testing.assert_array_equal(a.tex_data, b.tex_data)
    assert not np.array_equal(a.light_diffuse, b.light_diffuse)
    top = a.geom("table_top")
    assert np.isclose(a.geom_pos[top.id][2] + a.geom_size[top.id][2], table.height)


@pytest.mark.parametrize("variation", scene.VARIATIONS)
def test_scene_contents(variation: str) -> None:
    built, model = _build(variation, 2)
    assert model.ngeom > 10 and 2 <= model.nlight <= 3
    assert np.all(model.geom_contype == 0) and np.all(model.geom_conaffinity == 0), "nothing collides"
    clutter = [model.geom(i).name for i in range(model.ngeom) if model.geom(i).name.startswith("clutter_")]
    if variation == "lab":
        assert not clutter
        assert model.ntex == 1, "lab: one table texture, plain walls and floor"
    ids = scene.prop_geom_ids(model)
    assert set(ids) == {p.name for p in built.props}
    for prop in built.props:
        assert model.body(f"prop:{prop.name}").jntnum == 1
        assert model.jnt_type[model.joint(f"prop:{prop.name}").id] == mujoco.mjtJoint.mjJNT_FREE
        assert len(ids[prop.name]) == len(prop.geoms)
        assert np.all(model.geom_group[ids[prop.name]] == scene.PROP_GROUP)
    assert model.vis.global_.offwidth == built.config.max_render_size[0]


def test_set_prop_pose_moves_the_body() -> None:
    built, model = _build("wild", 1)
    data = mujoco.MjData(model)
    prop = built.props[0]
    pose = np.array([0.1, -0.05, 0.9, np.cos(0.4), 0.0, 0.0, np.sin(0.4)])
    scene.set_prop_pose(model, data, prop.name, pose)
    mujoco.mj_kinematics(model, data)
    body = model.body(f"prop:{prop.name}").id
    np.testing.assert_allclose(data.xpos[body], pose[:3])
    np.testing.assert_allclose(data.xquat[body], pose[3:], atol=1e-12)


def test_placed_props_are_seen_by_an_egocentric_camera() -> None:
    """Scene, placement and camera together: every prop in view shows up in the segmentation."""
    width, height = 320, 240
    seen = 0
    for env in (0, 3):
        built, model = _build("wild", env, seed=env)
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        track = egocentric_camera(
            np.random.default_rng(env), 1, 30.0, built.table.work_area, width, height, fov_range_deg=(70, 90)
        )
        set_render_camera(model, data, track.extrinsics[0], track.intrinsics, width, height)
        with mujoco.Renderer(model, height, width) as renderer:
            renderer.enable_segmentation_rendering()
            renderer.update_scene(data, scene.RENDER_CAMERA)
            segmentation = renderer.render()
        geom_ids = segmentation[..., 0][segmentation[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM)]
        for name, ids in scene.prop_geom_ids(model).items():
            centre = [p for p in built.props if p.name == name][0].pose[:3]
            uv = project_points(transform_points(track.extrinsics[0], centre[None]), track.intrinsics)[0]
            if 10 < uv[0] < width - 10 and 10 < uv[1] < height - 10:
                assert np.isin(geom_ids, ids).sum() > 15, f"{name} should be visible"
                seen += 1
    assert seen >= 4


def test_kelvin_to_rgb_runs_warm_to_cool() -> None:
    warm, cool = scene.kelvin_to_rgb(2700), scene.kelvin_to_rgb(7500)
    assert warm[0] == 1.0 and warm[2] < 0.6
    assert cool[2] == 1.0 and cool[0] < 1.0
    np.testing.assert_allclose(scene.kelvin_to_rgb(6600), 1.0, atol=0.03)


def test_textures_tile_seamlessly() -> None:
    rng = np.random.default_rng(0)
    for kind in ("wood", "marble", "speckle", "plaster", "stripes", "checker", "tiles"):
        image = scene.texture_image(rng, kind, 64).astype(float)
        assert image.shape == (64, 64, 3) and image.std() > 1.0
        # the jump across the wrap-around seam is no larger than between any two neighbouring columns
        for axis in (0, 1):
            seam = np.abs(np.take(image, 0, axis) - np.take(image, -1, axis)).mean()
            inner = np.abs(np.diff(image, axis=axis)).mean(axis=(1 - axis, 2))
            assert seam <= inner.max() + 1e-9, kind

"""HumanSim props: surfaces, point clouds against the renderer, grasps, placement."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from envs.humansim import objects  # noqa: E402
from envs.humansim.camera import set_render_camera  # noqa: E402
from envs.humansim.scene import RENDER_CAMERA, SceneConfig, add_prop, make_table  # noqa: E402
from envs.humansim.spec import GeomSpec  # noqa: E402
from vitra_bench.geometry import intrinsics_from_fov, look_at, project_points, transform_points  # noqa: E402

CATEGORIES = sorted(objects.CATEGORIES)


@pytest.fixture(scope="module")
def props():
    rng = np.random.default_rng(0)
    return {c: objects.make_prop(c, rng, name=f"{c}_0") for c in CATEGORIES}


def test_registry_covers_the_issue_categories() -> None:
    needed = {
        "cup",
        "mug",
        "bottle",
        "box",
        "bowl",
        "can",
        "ball",
        "cloth",
        "spatula",
        "knife",
        "brush",
        "hammer",
        "pan",
        "plate",
        "book",
        "sponge",
    }
    assert needed <= set(objects.CATEGORIES)


@pytest.mark.parametrize("category", CATEGORIES)
def test_prop_is_well_formed(props, category: str) -> None:
    prop = props[category]
    assert prop.category == category and prop.colour in objects.PALETTE
    assert prop.label == f"{prop.colour} {category}"
    assert prop.points.shape == (objects.DEFAULT_POINTS, 3)
    assert 0.0 < prop.height < 0.35
    lo, hi = objects.prop_aabb(prop)
    assert lo[2] >= -1e-9, "props rest on their base: nothing below z = 0"
    assert np.isclose(hi[2], prop.height)
    assert np.isclose(np.linalg.norm(prop.grasp.approach), 1.0)
    assert 0.0 < prop.grasp.width < 0.15
    # the palm point sits just outside the prop, in front of the grasped surface
    distance = min(objects.geom_signed_distance(g, prop.grasp.point[None])[0] for g in prop.geoms)
    assert 0.005 < distance < 0.05
    assert prop.grasp.handle == (category in {"mug", "spatula", "knife", "brush", "hammer", "pan", "drawer"})


@pytest.mark.parametrize("category", CATEGORIES)
def test_points_lie_on_the_visible_surface(props, category: str) -> None:
    prop = props[category]
    sdf = np.stack([objects.geom_signed_distance(g, prop.points) for g in prop.geoms])
    assert np.abs(sdf).min(axis=0).max() < 1e-6, "every point lies on some primitive"
    assert sdf.min() > -2e-4, "no point is buried inside another primitive"


def test_sampling_is_area_weighted() -> None:
    rng = np.random.default_rng(1)
    size = (0.05, 0.02, 0.01)
    points = objects.sample_surface([GeomSpec("box", size)], rng, 20000)
    on_face = np.isclose(np.abs(points), size, atol=1e-9)  # (N, 3): which face pair each point is on
    areas = np.array([size[1] * size[2], size[0] * size[2], size[0] * size[1]])
    np.testing.assert_allclose(on_face.mean(axis=0), areas / areas.sum(), atol=0.01)
    sphere = objects.sample_surface([GeomSpec("capsule", (0.03, 0.0))], rng, 20000)
    # Archimedes: on a sphere, z is uniform, so each third of the height holds a third of the points
    counts = np.histogram(sphere[:, 2], bins=3, range=(-0.03, 0.03))[0] / len(sphere)
    np.testing.assert_allclose(counts, 1 / 3, atol=0.015)
    # A flat ellipsoid is nearly a two-sided disc: a quarter of its area lies within half its radius
    # (mapping the sphere's uniform points without the area correction would give 13 %).
    disc = objects.sample_surface([GeomSpec("ellipsoid", (0.05, 0.05, 0.002))], rng, 20000)
    assert abs(np.mean(np.linalg.norm(disc[:, :2], axis=1) < 0.025) - 0.25) < 0.015


def _render_prop(prop, eye, width=320, height=240):
    """Depth and segmentation of the prop alone, seen from ``eye``; also the camera."""
    spec = mujoco.MjSpec()
    spec.visual.global_.offwidth, spec.visual.global_.offheight = width, height
    add_prop(spec, prop)
    spec.worldbody.add_camera(name=RENDER_CAMERA)
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    k = intrinsics_from_fov(np.radians(60.0), width, height)
    extrinsic = look_at(eye, np.array([0.0, 0.0, prop.height / 2]), np.array([0.0, 0.0, 1.0]))
    set_render_camera(model, data, extrinsic, k, width, height)
    with mujoco.Renderer(model, height, width) as renderer:
        renderer.update_scene(data, RENDER_CAMERA)
        renderer.enable_depth_rendering()
        depth = renderer.render().copy()
        renderer.disable_depth_rendering()
        renderer.enable_segmentation_rendering()
        segmentation = renderer.render()[..., 0].copy()
    return model, data, depth, segmentation, k, extrinsic


@pytest.mark.parametrize("category", CATEGORIES)
def test_point_cloud_matches_rendered_geometry(props, category: str) -> None:
    prop = props[category]
    prop.pose = np.array([0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
    for eye in (np.array([0.15, -0.45, 0.4]), np.array([-0.35, 0.2, 0.3])):
        model, data, depth, segmentation, k, extrinsic = _render_prop(prop, eye)
        cam = transform_points(extrinsic, prop.points)
        uv = project_points(cam, k)
        pix = np.floor(uv).astype(int)
        inside = (
            (pix[:, 0] >= 1)
            & (pix[:, 0] < depth.shape[1] - 1)
            & (pix[:, 1] >= 1)
            & (pix[:, 1] < depth.shape[0] - 1)
        )
        assert inside.all()
        pix, z = pix[inside], cam[inside, 2]
        rendered = depth[pix[:, 1], pix[:, 0]]
        # No point floats in front of what the renderer drew (a 3x3 minimum forgives silhouettes).
        nearest = np.min(
            [depth[pix[:, 1] + dy, pix[:, 0] + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0
        )
        assert np.all(z > nearest - 0.003), f"{category}: points in front of the rendered surface"
        visible = np.abs(z - rendered) < 0.003
        assert visible.mean() > 0.2, f"{category}: too few points on the rendered surface"
        prop_geoms = {model.geom(f"prop:{prop.name}/{i}").id for i in range(len(prop.geoms))}
        assert set(segmentation[pix[visible, 1], pix[visible, 0]]) <= prop_geoms
    # Bounding boxes: points fill the exact analytic box, which fits in MuJoCo's geom boxes.
    lo, hi = objects.prop_aabb(prop)
    assert np.all(prop.points.min(0) >= lo - 1e-9) and np.all(prop.points.max(0) <= hi + 1e-9)
    np.testing.assert_allclose(prop.points.min(0), lo, atol=0.006)
    np.testing.assert_allclose(prop.points.max(0), hi, atol=0.006)
    centre, half = model.geom_aabb[:, :3], model.geom_aabb[:, 3:]
    xmat = data.geom_xmat.reshape(-1, 3, 3)
    world_c = data.geom_xpos + np.einsum("gij,gj->gi", xmat, centre)
    world_h = np.einsum("gij,gj->gi", np.abs(xmat), half)
    mj_lo, mj_hi = (world_c - world_h).min(0), (world_c + world_h).max(0)
    assert np.all(mj_lo <= lo + 1e-6) and np.all(mj_hi >= hi - 1e-6)
    np.testing.assert_allclose(mj_lo, lo, atol=0.004)  # MuJoCo's boxes are a little loose when tilted
    np.testing.assert_allclose(mj_hi, hi, atol=0.004)


def test_make_prop_is_deterministic_and_validates() -> None:
    a = objects.make_prop("mug", np.random.default_rng(5), name="m")
    b = objects.make_prop("mug", np.random.default_rng(5), name="m")
    np.testing.assert_array_equal(a.points, b.points)
    assert a.name == "m" and a.colour == b.colour
    assert objects.make_prop("cup", np.random.default_rng(0), colour="red").colour == "red"
    with pytest.raises(KeyError):
        objects.make_prop("spaceship", np.random.default_rng(0))
    with pytest.raises(KeyError):
        objects.make_prop("cup", np.random.default_rng(0), colour="octarine")


def _yaw(quat: np.ndarray) -> float:
    return 2 * np.arctan2(quat[3], quat[0])


def test_place_props_is_within_reach_without_overlap() -> None:
    table = make_table(SceneConfig(variation="wild", environment_id=3))
    x0, x1, y0, y1 = table.reach_region
    for seed in range(5):
        rng = np.random.default_rng(seed)
        props = [
            objects.make_prop(c, rng, name=f"{c}_{i}", n_points=256)
            for i, c in enumerate(rng.permutation(CATEGORIES)[:8])
        ]
        poses = objects.place_props(rng, props, table, n=5, min_gap=0.02)
        assert 1 <= len(poses) <= 5
        placed = [p for p in props if p.name in poses]
        for p in placed:
            np.testing.assert_array_equal(p.pose, poses[p.name])
            r = objects.footprint_radius(p)
            x, y, z = p.pose[:3]
            assert x0 + r <= x <= x1 - r and y0 + r <= y <= y1 - r
            assert z == table.height and np.isclose(np.linalg.norm(p.pose[3:]), 1.0)
            grasp_xy = p.grasp.point[:2]
            if np.linalg.norm(grasp_xy) > 0.01:  # off-centre grasps face the person (-y)
                angle = np.arctan2(grasp_xy[1], grasp_xy[0]) + _yaw(p.pose[3:])
                assert np.cos(angle + np.pi / 2) >= np.cos(np.pi / 3) - 1e-9
        for i, a in enumerate(placed):
            for b in placed[i + 1 :]:
                gap = (
                    np.linalg.norm(a.pose[:2] - b.pose[:2])
                    - objects.footprint_radius(a)
                    - objects.footprint_radius(b)
                )
                assert gap >= 0.02 - 1e-9
    again = np.random.default_rng(0)
    props = [
        objects.make_prop(c, again, name=f"{c}_{i}", n_points=256)
        for i, c in enumerate(again.permutation(CATEGORIES)[:8])
    ]
    first = objects.place_props(again, props, table, n=5, min_gap=0.02)
    again = np.random.default_rng(0)
    props = [
        objects.make_prop(c, again, name=f"{c}_{i}", n_points=256)
        for i, c in enumerate(again.permutation(CATEGORIES)[:8])
    ]
    second = objects.place_props(again, props, table, n=5, min_gap=0.02)
    assert first.keys() == second.keys() and all(np.array_equal(first[k], second[k]) for k in first)

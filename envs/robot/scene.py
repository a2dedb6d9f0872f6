"""Task scenes for the XHAND1 + RM75-6F environments, built procedurally with ``MjSpec``.

A scene is ``assets/xhand1/scene.xml`` (robot, table, head camera, light) plus, for one
:class:`vitra_bench.tasks.TaskInstance`:

* the task's objects, one free-jointed body per *role* (``obj_object``, ``obj_container``,
  ``obj_bottle``, ``obj_cup``, ``obj_broom``, ``obj_basket``), the pick & place distractors
  (``distractor_0..``) and, for Sweep, paper balls (``paper_ball_0..``) and a taped target zone
  (``sweep_zone``, visual only);
* the background: the table top's texture, a procedural image named by the instance (seen
  ``wood_table``, ``white_tablecloth``, ``gray_mat``; unseen ``checkered_tablecloth``,
  ``blue_mat``, ``marble_table``).

Frames and names (shared with ``base_env`` and ``tasks``):
    * world = the arm's base frame, x forward over the table, z up, table top at z = 0;
    * every object's body frame sits at the centre of its resting base (z up), so a pose with
      z = 0 rests on the table; geoms ``<body>/<i>``, handle geoms ``<body>/handle_<i>``;
    * a free joint named like its body, so poses go in through ``qpos`` (see ``set_body_pose``).

Geometry is primitive (boxes, spheres, capsules, cylinders, ellipsoids). Where HumanSim already
draws a category (cups, mugs, bottles, pans, knives, ...) its builder is reused with collisions
switched on. Each *named* object has fixed dimensions and colour, drawn once from a seed derived
from its name: a "seen" object is one particular physical object, as on the real robot, and the
compiled model depends only on the names (so ``build_scene`` results can be cached while poses
change per trial through ``qpos``).

Masses are the project's choice: light household objects (about 30-300 g) so the XHAND1's 1.1 N m
proximal joints can lift them; paper balls about 4 g with rolling friction so they stop rolling.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import mujoco
import numpy as np

from assets import XHAND1_DIR
from envs.humansim.objects import (
    PALETTE,
    PALM_OFFSET,
    _quat_z,
    _ring,
    _segment,
    geom_aabb,
    make_prop,
    sample_surface,
)
from envs.humansim.scene import texture_image
from envs.humansim.spec import GeomSpec, Grasp, Prop
from vitra_bench.tasks import TaskInstance

SCENE_XML = XHAND1_DIR / "scene.xml"
CAMERA = "head_camera"
EE_SITE = "rm_attachment_site"  # hand mount (= rh_palm frame); the IK target and the state's wrist
GRASP_SITE = "rh_grasp_site"
TEXTURE_SIZE = 256
N_POINTS = 256
OBJECT_DENSITY = 300.0  # kg/m^3: light household objects (project choice, see module docstring)
BALL_MASS = 0.004  # kg, a crumpled A4 sheet

_GEOM_TYPES = {
    "box": mujoco.mjtGeom.mjGEOM_BOX,
    "sphere": mujoco.mjtGeom.mjGEOM_SPHERE,
    "capsule": mujoco.mjtGeom.mjGEOM_CAPSULE,
    "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER,
    "ellipsoid": mujoco.mjtGeom.mjGEOM_ELLIPSOID,
}
_METAL = (0.72, 0.72, 0.75, 1.0)
_DARK = (0.08, 0.08, 0.09, 1.0)
_WOOD = (0.55, 0.36, 0.2, 1.0)
_GREEN_LEAF = (0.2, 0.5, 0.15, 1.0)


# --- objects ----------------------------------------------------------------------------------


@dataclass
class SceneObject:
    """One object of a scene: its geometry in the body frame and what an expert needs to take it.

    Attributes:
        name: the TaskSpec's object name (``"red apple"``).
        geoms: primitives in the body frame (origin at the centre of the resting base, z up).
        handle: indices into ``geoms`` of the handle (functional grasp), empty when it has none.
        grasp: where the palm centre goes and the approach direction, body frame (HumanSim's Grasp).
        points: (N, 3) surface points in the body frame (hand-object distances, grasp planning).
        keypoints: named body-frame points (``"mouth"`` of a bottle, ``"rim"`` of a cup ...).
        interior: for containers, ``(centre, half_extents)`` of the box that counts as "inside",
            body frame; ``None`` for other objects.
        static: fixtures that should not be knocked around get a larger mass (box, basket).
    """

    name: str
    geoms: list[GeomSpec]
    grasp: Grasp
    handle: tuple[int, ...] = ()
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    keypoints: dict[str, np.ndarray] = field(default_factory=dict)
    interior: tuple[np.ndarray, np.ndarray] | None = None
    static: bool = False
    rgba: tuple[float, float, float, float] = (0.5, 0.5, 0.5, 1.0)

    @property
    def aabb(self) -> tuple[np.ndarray, np.ndarray]:
        boxes = [geom_aabb(g) for g in self.geoms]
        return np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)

    @property
    def footprint(self) -> float:
        """Radius of the disc around the origin covering the object's shadow on the table."""
        lo, hi = self.aabb
        return float(np.linalg.norm(np.maximum(np.abs(lo[:2]), np.abs(hi[:2])))) + 0.005

    @property
    def height(self) -> float:
        return float(self.aabb[1][2])


def _name_rng(name: str) -> np.random.Generator:
    """A generator fixed by the object's name (stable across processes, unlike ``hash``)."""
    return np.random.default_rng(zlib.crc32(name.encode()))


def _colour(name: str) -> tuple[float, float, float, float]:
    return PALETTE[name]


def _top(z: float, width: float, xy=(0.0, 0.0), handle: bool = False) -> Grasp:
    return Grasp(np.array([xy[0], xy[1], z + PALM_OFFSET]), np.array([0.0, 0.0, -1.0]), width, handle)


def _from_prop(prop: Prop, name: str, handle_rule: bool = False) -> SceneObject:
    """A HumanSim prop as a scene object; with ``handle_rule`` its handle = the non-metal capsules
    (true of HumanSim's mug, pan, knife, hammer, brush and spatula)."""
    geoms = [GeomSpec(g.type, g.size, g.pos, g.quat, g.rgba if g.rgba is not None else prop.rgba) for g in prop.geoms]
    handle = ()
    if handle_rule:
        handle = tuple(
            i for i, g in enumerate(prop.geoms) if g.type == "capsule" and (g.rgba is None or tuple(g.rgba) != _METAL)
        )
    return SceneObject(name, geoms, prop.grasp, handle, prop.points, rgba=prop.rgba)


def _humansim(category: str, colour: str, handle: bool = False, **overrides) -> Callable[[str], SceneObject]:
    def build(name: str) -> SceneObject:
        prop = make_prop(category, _name_rng(name), colour, name=name, n_points=N_POINTS)
        return _from_prop(prop, name, handle)

    return build


def _fruit(colour: str, radius: tuple[float, float], stem: bool = True) -> Callable[[str], SceneObject]:
    def build(name: str) -> SceneObject:
        rng = _name_rng(name)
        r = rng.uniform(*radius)
        rgba = _colour(colour)
        geoms = [GeomSpec("sphere", (r,), (0.0, 0.0, r), rgba=rgba)]
        if stem:
            geoms.append(_segment((0, 0, 1.9 * r), (0.004, 0, 2.15 * r), 0.003, _WOOD))
        return SceneObject(name, geoms, _top(2 * r, 2 * r), rgba=rgba)

    return build


def _elongated(colour: str, half: float, radius: float, tip=None, bend: float = 0.0) -> Callable[[str], SceneObject]:
    """Lying along x: banana (bent), carrot (tapered with leaves), corn cob, lemon, eggplant."""

    def build(name: str) -> SceneObject:
        rng = _name_rng(name)
        h, r = half * rng.uniform(0.9, 1.1), radius * rng.uniform(0.9, 1.1)
        rgba = _colour(colour)
        if bend:
            a = np.array([-h, 0.0, r + bend])
            b = np.array([0.0, -bend, r])
            c = np.array([h, 0.0, r + bend])
            geoms = [_segment(a, b, r, rgba), _segment(b, c, r, rgba)]
        elif tip == "taper":
            geoms = [_segment((-h, 0, r), (0.2 * h, 0, r), r, rgba), _segment((0.2 * h, 0, r), (h, 0, r), 0.55 * r, rgba)]
        else:
            geoms = [GeomSpec("ellipsoid", (h, r, r), (0.0, 0.0, r), rgba=rgba)] if tip == "round" else [
                _segment((-h + r, 0, r), (h - r, 0, r), r, rgba)]
        if tip in ("taper", "cap"):
            geoms.append(_segment((-h - 0.02, 0, r), (-h + 0.005, 0, r), 0.6 * r, _GREEN_LEAF))
        return SceneObject(name, geoms, _top(2 * r, 2 * r), rgba=rgba)

    return build


def _toy_vehicle(colour: str, scale: float) -> Callable[[str], SceneObject]:
    def build(name: str) -> SceneObject:
        s = scale * _name_rng(name).uniform(0.95, 1.05)
        rgba, wr = _colour(colour), 0.012 * s
        body = (0.05 * s, 0.025 * s, 0.012 * s)
        geoms = [
            GeomSpec("box", body, (0.0, 0.0, wr + body[2]), rgba=rgba),
            GeomSpec("box", (0.022 * s, 0.022 * s, 0.011 * s), (-0.01 * s, 0.0, wr + 2 * body[2] + 0.011 * s),
                     rgba=(0.85, 0.9, 0.95, 1.0)),
        ]
        roll = (float(np.cos(np.pi / 4)), float(np.sin(np.pi / 4)), 0.0, 0.0)  # cylinder axis along y
        for x in (-0.032 * s, 0.032 * s):
            for y in (-body[1], body[1]):
                geoms.append(GeomSpec("cylinder", (wr, 0.005), (x, y, wr), roll, _DARK))
        return SceneObject(name, geoms, _top(wr + 2 * body[2] + 0.022 * s, 2 * body[1]), rgba=rgba)

    return build


def _animal(colour: str, kind: str) -> Callable[[str], SceneObject]:
    def build(name: str) -> SceneObject:
        rgba = _colour(colour)
        if kind == "duck":
            geoms = [
                GeomSpec("ellipsoid", (0.045, 0.033, 0.028), (0.0, 0.0, 0.028), rgba=rgba),
                GeomSpec("sphere", (0.022,), (0.028, 0.0, 0.07), rgba=rgba),
                GeomSpec("ellipsoid", (0.014, 0.01, 0.005), (0.052, 0.0, 0.066), rgba=_colour("orange")),
            ]
            top = 0.092
        else:  # dinosaur
            geoms = [
                GeomSpec("ellipsoid", (0.045, 0.022, 0.025), (0.0, 0.0, 0.03), rgba=rgba),
                _segment((0.03, 0, 0.04), (0.05, 0, 0.075), 0.011, rgba),
                GeomSpec("ellipsoid", (0.02, 0.012, 0.011), (0.062, 0.0, 0.08), rgba=rgba),
                _segment((-0.04, 0, 0.03), (-0.085, 0, 0.012), 0.01, rgba),
                _segment((0.02, 0.015, 0.02), (0.02, 0.02, 0.005), 0.006, rgba),
                _segment((-0.02, 0.015, 0.02), (-0.02, 0.02, 0.005), 0.006, rgba),
                _segment((0.02, -0.015, 0.02), (0.02, -0.02, 0.005), 0.006, rgba),
                _segment((-0.02, -0.015, 0.02), (-0.02, -0.02, 0.005), 0.006, rgba),
            ]
            top = 0.055
        return SceneObject(name, geoms, _top(top, 0.05), rgba=rgba)

    return build


def _ball(rgba, radius: float) -> Callable[[str], SceneObject]:
    def build(name: str) -> SceneObject:
        return SceneObject(name, [GeomSpec("sphere", (radius,), (0.0, 0.0, radius), rgba=rgba)],
                           _top(2 * radius, 2 * radius), rgba=rgba)

    return build


def _stick_tool(kind: str) -> Callable[[str], SceneObject]:
    """Long things lying along x, handle toward +x: screwdriver, toothbrush, wrench, paintbrush,
    ladle, whisk. The handle geoms are listed so functional grasp can be judged."""

    def build(name: str) -> SceneObject:
        rng = _name_rng(name)
        r = 0.012
        if kind == "screwdriver":
            rgba = _colour("red")
            geoms = [_segment((-0.1, 0, r), (-0.01, 0, r), 0.003, _METAL), _segment((-0.01, 0, r), (0.09, 0, r), r, rgba)]
            handle = (1,)
        elif kind == "toothbrush":
            rgba, r = _colour("blue"), 0.006
            geoms = [_segment((-0.05, 0, r), (0.09, 0, r), r, rgba),
                     GeomSpec("box", (0.014, 0.006, 0.006), (-0.065, 0.0, r + 0.003), rgba=(0.95, 0.95, 0.95, 1.0))]
            handle = (0,)
        elif kind == "wrench":
            rgba, r = _METAL, 0.008
            geoms = [GeomSpec("box", (0.075, 0.01, 0.004), (0.0, 0.0, 0.004), rgba=_METAL),
                     GeomSpec("box", (0.014, 0.02, 0.005), (-0.085, 0.0, 0.005), rgba=_METAL),
                     GeomSpec("box", (0.012, 0.017, 0.005), (0.085, 0.0, 0.005), rgba=_METAL),
                     _segment((0.0, 0, 0.011), (0.06, 0, 0.011), 0.007, _colour("red"))]
            handle = (0, 3)
        elif kind == "paintbrush":
            rgba = _WOOD
            geoms = [_segment((0.0, 0, r), (0.13, 0, r), r, rgba),
                     GeomSpec("cylinder", (0.013, 0.015), (-0.015, 0.0, 0.013), (0.7071068, 0.0, 0.7071068, 0.0), _METAL),
                     GeomSpec("box", (0.02, 0.018, 0.005), (-0.05, 0.0, 0.012), rgba=_colour("black"))]
            handle = (0,)
        elif kind == "ladle":
            rgba = _colour("grey")
            bowl = rng.uniform(0.035, 0.04)
            geoms = [GeomSpec("cylinder", (bowl, 0.003), (-0.1, 0.0, 0.003), rgba=_METAL)] + _ring(
                bowl, bowl + 0.006, 0.0, 0.035, 0.003, 12, _METAL)
            geoms = [GeomSpec(g.type, g.size, (g.pos[0] - 0.1 if i else g.pos[0], g.pos[1], g.pos[2]), g.quat, g.rgba)
                     for i, g in enumerate(geoms)]
            geoms.append(_segment((-0.06, 0, 0.034), (0.03, 0, 0.02), 0.004, _METAL))
            geoms.append(_segment((0.03, 0, 0.02), (0.14, 0, r), r, _colour("black")))
            handle = (len(geoms) - 1,)
        elif kind == "whisk":
            rgba = _colour("white")
            geoms = [_segment((0.0, 0, r), (0.11, 0, r), r, rgba),
                     GeomSpec("ellipsoid", (0.06, 0.025, 0.024), (-0.065, 0.0, 0.025), rgba=(0.8, 0.8, 0.83, 0.6))]
            handle = (0,)
        else:
            raise ValueError(kind)
        g = geoms[handle[0]]
        grip = np.array(g.pos, float)
        top = max(geom_aabb(geoms[i])[1][2] for i in handle)
        return SceneObject(name, geoms, _top(top, 2 * r, xy=grip[:2], handle=bool(handle)), handle, rgba=rgba)

    return build


def _block(kind: str) -> Callable[[str], SceneObject]:
    """Stationery and electronics: stapler, tape roll, remote control, glasses case."""

    def build(name: str) -> SceneObject:
        if kind == "stapler":
            rgba = _colour("black")
            geoms = [GeomSpec("box", (0.07, 0.018, 0.008), (0.0, 0.0, 0.008), rgba=rgba),
                     GeomSpec("box", (0.065, 0.015, 0.01), (0.0, 0.0, 0.026), rgba=_colour("grey"))]
            grasp = _top(0.036, 0.036)
        elif kind == "tape roll":
            rgba = (0.9, 0.85, 0.6, 1.0)
            geoms = _ring(0.042, 0.042, 0.0, 0.025, 0.012, 12, rgba)
            grasp = _top(0.025, 0.084)
        elif kind == "remote control":
            rgba = _colour("black")
            geoms = [GeomSpec("box", (0.085, 0.025, 0.01), (0.0, 0.0, 0.01), rgba=rgba),
                     GeomSpec("cylinder", (0.006, 0.001), (0.06, 0.0, 0.021), rgba=_colour("red"))]
            grasp = _top(0.02, 0.05)
        elif kind == "glasses case":
            rgba = _colour("brown")
            geoms = [GeomSpec("ellipsoid", (0.078, 0.03, 0.022), (0.0, 0.0, 0.022), rgba=rgba)]
            grasp = _top(0.044, 0.06)
        else:
            raise ValueError(kind)
        return SceneObject(name, geoms, grasp, rgba=rgba)

    return build


def _teapot(name: str) -> SceneObject:
    rgba = _colour("white")
    r = 0.055
    geoms = [GeomSpec("ellipsoid", (r, r, 0.045), (0.0, 0.0, 0.045), rgba=rgba),
             GeomSpec("cylinder", (0.02, 0.006), (0.0, 0.0, 0.094), rgba=rgba),
             _segment((-0.045, 0, 0.04), (-0.095, 0, 0.08), 0.008, rgba)]
    angles = np.deg2rad([60, 25, -10, -45])
    arc = [np.array([r + 0.028 * np.cos(q), 0.0, 0.05 + 0.028 * np.sin(q)]) for q in angles]
    arc = [np.array([r - 0.01, 0.0, arc[0][2]])] + arc + [np.array([r - 0.01, 0.0, arc[-1][2]])]
    start = len(geoms)
    geoms += [_segment(p, q, 0.007, rgba) for p, q in itertools.pairwise(arc)]
    handle = tuple(range(start, len(geoms)))
    grasp = Grasp(np.array([r + 0.035 + PALM_OFFSET, 0.0, 0.05]), np.array([-1.0, 0.0, 0.0]), 0.024, True)
    return SceneObject(name, geoms, grasp, handle, rgba=rgba)


def _saucepan(name: str) -> SceneObject:
    rgba = _METAL
    r, h = 0.075, 0.07
    geoms = [GeomSpec("cylinder", (r, 0.003), (0.0, 0.0, 0.003), rgba=rgba)] + _ring(r, r, 0.0, h, 0.004, 16, rgba)
    geoms.append(_segment((r - 0.004, 0, 0.06), (r + 0.15, 0, 0.07), 0.011, _colour("black")))
    grip = np.array([r + 0.1, 0.0, 0.067])
    return SceneObject(name, geoms, _top(grip[2] + 0.011, 0.022, grip[:2], True), (len(geoms) - 1,), rgba=rgba)


def _open_tray(hx: float, hy: float, h: float, t: float, rgba: tuple[float, ...]) -> list[GeomSpec]:
    """A floor and four walls of thickness ``t``: half extents ``hx`` x ``hy``, height ``h``."""
    return [
        GeomSpec("box", (hx, hy, t / 2), (0.0, 0.0, t / 2), rgba=rgba),
        GeomSpec("box", (t / 2, hy, h / 2), (hx - t / 2, 0.0, h / 2), rgba=rgba),
        GeomSpec("box", (t / 2, hy, h / 2), (-hx + t / 2, 0.0, h / 2), rgba=rgba),
        GeomSpec("box", (hx, t / 2, h / 2), (0.0, hy - t / 2, h / 2), rgba=rgba),
        GeomSpec("box", (hx, t / 2, h / 2), (0.0, -hy + t / 2, h / 2), rgba=rgba),
    ]


def _container_box(name: str) -> SceneObject:
    """An open cardboard box, 24 x 18 x 9 cm outside (the pick & place target)."""
    rgba = (0.62, 0.45, 0.28, 1.0)
    hx, hy, h, t = 0.12, 0.09, 0.09, 0.006
    geoms = _open_tray(hx, hy, h, t, rgba)
    interior = (np.array([0.0, 0.0, (h + t) / 2 + 0.02]), np.array([hx - t, hy - t, (h - t) / 2 + 0.02]))
    return SceneObject(name, geoms, _top(h, 0.02, (0.0, -hy)), interior=interior, static=True, rgba=rgba,
                       keypoints={"drop": np.array([0.0, 0.0, h + 0.08])})


def _basket(name: str) -> SceneObject:
    """A low wicker tray holding the hand broom: 31 x 16 cm inside, 2.5 cm walls (low enough that
    fingers closing on the handle from above pass over them)."""
    rgba = (0.6, 0.45, 0.25, 1.0)
    hx, hy, h, t = 0.163, 0.09, 0.025, 0.008
    geoms = _open_tray(hx, hy, h, t, rgba)
    interior = (np.array([0.0, 0.0, h / 2 + 0.02]), np.array([hx - t, hy - t, h / 2 + 0.02]))
    return SceneObject(name, geoms, _top(h, 0.02), interior=interior, static=True, rgba=rgba,
                       keypoints={"drop": np.array([0.0, 0.0, h + 0.06])})


def _broom(name: str) -> SceneObject:
    """A hand broom lying along x: bristle head at -x, handle toward +x (26 cm overall)."""
    rgba = _colour("red")
    geoms = [
        GeomSpec("box", (0.02, 0.07, 0.012), (-0.1, 0.0, 0.012), rgba=(0.9, 0.8, 0.55, 1.0)),  # bristles
        GeomSpec("box", (0.025, 0.072, 0.008), (-0.1, 0.0, 0.032), rgba=rgba),  # head
        _segment((-0.075, 0, 0.03), (0.14, 0, 0.03), 0.012, rgba),  # handle
    ]
    return SceneObject(name, geoms, _top(0.042, 0.024, (0.07, 0.0), True), (2,), rgba=rgba,
                       keypoints={"bristles": np.array([-0.12, 0.0, 0.0])})


def _bottle(colour: tuple[float, float, float, float]) -> Callable[[str], SceneObject]:
    def build(name: str) -> SceneObject:
        rng = _name_rng(name)
        r, body, shoulder, rn, neck = rng.uniform(0.03, 0.034), rng.uniform(0.13, 0.16), 0.03, 0.013, 0.03
        z_neck = body + 0.85 * shoulder
        geoms = [
            GeomSpec("cylinder", (r, body / 2), (0.0, 0.0, body / 2), rgba=colour),
            GeomSpec("ellipsoid", (r, r, shoulder), (0.0, 0.0, body), rgba=colour),
            GeomSpec("cylinder", (rn, neck / 2), (0.0, 0.0, z_neck + neck / 2), rgba=colour),
        ]
        grasp = Grasp(np.array([0.0, -(r + PALM_OFFSET), 0.5 * body]), np.array([0.0, 1.0, 0.0]), 2 * r)
        return SceneObject(name, geoms, grasp, rgba=colour, keypoints={"mouth": np.array([0.0, 0.0, z_neck + neck])})

    return build


def _cup(colour: tuple[float, float, float, float]) -> Callable[[str], SceneObject]:
    def build(name: str) -> SceneObject:
        r, h, t = 0.04, 0.1, 0.004
        r_top = 0.046
        geoms = [GeomSpec("cylinder", (r, 0.003), (0.0, 0.0, 0.003), rgba=colour)] + _ring(r, r_top, 0.0, h, t, 16, colour)
        grasp = Grasp(np.array([0.0, -(r + PALM_OFFSET + 0.003), 0.45 * h]), np.array([0.0, 1.0, 0.0]), 2 * r)
        # "pour": the region above the opening where the bottle's mouth must be while tilted.
        return SceneObject(name, geoms, grasp, rgba=colour, keypoints={"rim": np.array([0.0, 0.0, h])},
                           interior=(np.array([0.0, 0.0, h + 0.05]), np.array([r_top, r_top, 0.08])))

    return build


def _paper_ball(name: str) -> SceneObject:
    r = 0.018
    rgba = (0.95, 0.95, 0.92, 1.0)
    return SceneObject(name, [GeomSpec("sphere", (r,), (0.0, 0.0, r), rgba=rgba)], _top(2 * r, 2 * r), rgba=rgba)


# Every object name of the TaskSpec registry -> builder. Missing names fail loudly in build_object.
OBJECTS: dict[str, Callable[[str], SceneObject]] = {
    # pick & place, seen
    "red apple": _fruit("red", (0.036, 0.04)),
    "banana": _elongated("yellow", 0.085, 0.017, bend=0.012),
    "orange": _fruit("orange", (0.036, 0.04), stem=False),
    "carrot": _elongated("orange", 0.08, 0.015, tip="taper"),
    "corn cob": _elongated("yellow", 0.085, 0.022),
    "toy car": _toy_vehicle("red", 1.0),
    "rubber duck": _animal("yellow", "duck"),
    "tennis ball": _ball((0.8, 0.9, 0.2, 1.0), 0.033),
    "paper cup": _humansim("cup", "white"),
    "blue sponge": _humansim("sponge", "blue"),
    # pick & place, unseen objects (seen categories)
    "green apple": _fruit("green", (0.034, 0.038)),
    "lemon": _elongated("yellow", 0.04, 0.028, tip="round"),
    "eggplant": _elongated("purple", 0.08, 0.03, tip="cap"),
    "toy truck": _toy_vehicle("blue", 1.25),
    "toy dinosaur": _animal("green", "dinosaur"),
    "ping-pong ball": _ball(PALETTE["white"], 0.02),
    "plastic cup": _humansim("cup", "blue"),
    "yellow sponge": _humansim("sponge", "yellow"),
    # pick & place, unseen categories
    "screwdriver": _stick_tool("screwdriver"),
    "stapler": _block("stapler"),
    "tape roll": _block("tape roll"),
    "toothbrush": _stick_tool("toothbrush"),
    "remote control": _block("remote control"),
    "glasses case": _block("glasses case"),
    "box": _container_box,
    # functional grasp (handles marked)
    "mug": _humansim("mug", "red", handle=True),
    "frying pan": _humansim("pan", "black", handle=True),
    "kitchen knife": _humansim("knife", "black", handle=True),
    "hammer": _humansim("hammer", "brown", handle=True),
    "scrub brush": _humansim("brush", "blue", handle=True),
    "spatula": _humansim("spatula", "orange", handle=True),
    "ladle": _stick_tool("ladle"),
    "teapot": _teapot,
    "saucepan": _saucepan,
    "wrench": _stick_tool("wrench"),
    "paintbrush": _stick_tool("paintbrush"),
    "whisk": _stick_tool("whisk"),
    # pour
    "water bottle": _bottle((0.55, 0.75, 0.95, 0.8)),
    "juice bottle": _bottle((0.95, 0.6, 0.1, 1.0)),
    "glass cup": _cup((0.85, 0.92, 0.95, 0.45)),
    "red plastic cup": _cup(PALETTE["red"]),
    # sweep
    "hand broom": _broom,
    "basket": _basket,
    "paper ball": _paper_ball,
}

_CACHE_OBJECTS: dict[str, SceneObject] = {}


def build_object(name: str) -> SceneObject:
    """The scene object called ``name`` (fixed geometry per name; cached)."""
    if name not in OBJECTS:
        raise KeyError(f"no scene object named {name!r}; known: {sorted(OBJECTS)}")
    if name not in _CACHE_OBJECTS:
        obj = OBJECTS[name](name)
        if not len(obj.points):
            obj.points = sample_surface(obj.geoms, _name_rng(name + "/points"), N_POINTS)
        _CACHE_OBJECTS[name] = obj
    return _CACHE_OBJECTS[name]


# --- backgrounds -----------------------------------------------------------------------------

BACKGROUNDS = ("wood_table", "white_tablecloth", "gray_mat", "checkered_tablecloth", "blue_mat", "marble_table")


def background_image(name: str, size: int = TEXTURE_SIZE) -> np.ndarray:
    """(size, size, 3) uint8 tileable texture of the named table surface (fixed per name)."""
    rng = _name_rng("background/" + name)
    u = np.arange(size) / size
    x, y = np.meshgrid(u, u)
    if name == "wood_table":
        return texture_image(rng, "wood", size)
    if name == "marble_table":
        return texture_image(rng, "marble", size)
    if name == "checkered_tablecloth":
        t = ((np.floor(x * 8) + np.floor(y * 8)) % 2)[..., None]
        img = t * np.array([0.78, 0.12, 0.12]) + (1 - t) * np.array([0.95, 0.95, 0.93])
    elif name == "white_tablecloth":
        weave = 0.03 * (np.sin(2 * np.pi * x * 64) * np.sin(2 * np.pi * y * 64))
        img = np.array([0.93, 0.93, 0.9]) + weave[..., None] + rng.normal(0, 0.01, (size, size, 1))
    elif name in ("gray_mat", "blue_mat"):
        base = np.array([0.42, 0.43, 0.45]) if name == "gray_mat" else np.array([0.16, 0.3, 0.62])
        img = base * (0.92 + 0.16 * rng.uniform(size=(size, size, 1)))
    else:
        raise KeyError(f"unknown background {name!r}; known: {BACKGROUNDS}")
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


# --- the scene -------------------------------------------------------------------------------


@dataclass
class TaskScene:
    """A compiled task scene: the model and what the env needs to place and judge its objects.

    Attributes:
        spec: the ``MjSpec`` (kept so that callers can inspect or extend it).
        model: the compiled model.
        objects: body name -> ``SceneObject`` (roles ``obj_<slot>``, ``distractor_<i>``,
            ``paper_ball_<i>``).
        roles: TaskSpec slot -> body name (``"object" -> "obj_object"``).
        zone: Sweep only: ``(centre, half_extents)`` of the taped target zone on the table (world).
    """

    spec: mujoco.MjSpec
    model: mujoco.MjModel
    objects: dict[str, SceneObject]
    roles: dict[str, str]
    zone: tuple[np.ndarray, np.ndarray] | None = None


NUM_PAPER_BALLS = 4
SWEEP_ZONE = (np.array([0.42, -0.22, 0.0]), np.array([0.07, 0.07, 0.03]))
"""Sweep's target: a 14 x 14 cm taped square on the table, right of the workspace (world frame)."""
SWEEP_BALLS = (0.31, 0.55, -0.16, 0.02)
"""x0, x1, y0, y1 (m): where the paper balls are scattered, between the zone and the basket."""


def _add_object(spec: mujoco.MjSpec, body_name: str, obj: SceneObject) -> None:
    body = spec.worldbody.add_body(name=body_name)
    body.add_freejoint(name=body_name)
    density = OBJECT_DENSITY * (4.0 if obj.static else 1.0)
    for i, g in enumerate(obj.geoms):
        label = f"handle_{i}" if i in obj.handle else str(i)
        geom = body.add_geom(
            name=f"{body_name}/{label}",
            type=_GEOM_TYPES[g.type],
            size=list(g.size) + [0.0] * (3 - len(g.size)),
            pos=list(g.pos),
            quat=list(g.quat),
        )
        geom.rgba = list(g.rgba if g.rgba is not None else obj.rgba)
        geom.density = density
        geom.condim = 4  # torsional friction: grasped objects do not spin about the contact normal
    if obj.name == "paper ball":
        geom.condim = 6
        geom.friction = [1.0, 0.005, 0.002]  # rolling friction: paper balls stop instead of rolling away
        geom.mass = BALL_MASS  # geom mass overrides density


def build_scene(instance: TaskInstance, shadows: bool = False, render_size: tuple[int, int] = (1280, 720)) -> TaskScene:
    """The scene of ``instance`` (objects at the origin; ``place_objects`` draws their poses).

    ``shadows`` off by default: a shadow map costs most of the render time at 128 px
    (PACKAGE_NOTES.md) and the D455 view of a lit table hardly shows them.
    """
    spec = mujoco.MjSpec.from_file(str(SCENE_XML))
    spec.modelname = f"vitra_{instance.task}"
    spec.visual.global_.offwidth, spec.visual.global_.offheight = render_size
    for light in spec.lights:
        light.castshadow = shadows
    if spec.material("groundplane") is not None:
        spec.material("groundplane").reflectance = 0.0  # reflections double the render passes
    # Background: the table top's texture.
    image = background_image(instance.background)
    texture = spec.add_texture(name="background", type=mujoco.mjtTexture.mjTEXTURE_2D, width=image.shape[1],
                               height=image.shape[0], nchannel=3)
    texture.data = image.tobytes()
    material = spec.material("table")
    material.rgba = [1.0, 1.0, 1.0, 1.0]
    material.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "background"
    material.texuniform = True
    material.texrepeat = [2.5, 2.5]  # one tile per 40 cm

    objects: dict[str, SceneObject] = {}
    roles: dict[str, str] = {}
    for slot, name in instance.objects.items():
        roles[slot] = f"obj_{slot}"
        objects[roles[slot]] = build_object(name)
    for i, name in enumerate(instance.distractors):
        objects[f"distractor_{i}"] = build_object(name)
    zone = None
    if instance.task == "Sweep":
        for i in range(NUM_PAPER_BALLS):
            objects[f"paper_ball_{i}"] = build_object("paper ball")
        zone = (SWEEP_ZONE[0].copy(), SWEEP_ZONE[1].copy())
        tape = spec.worldbody.add_geom(name="sweep_zone", type=mujoco.mjtGeom.mjGEOM_BOX,
                                       size=[zone[1][0], zone[1][1], 0.0005], pos=[*zone[0][:2], 0.0005])
        tape.rgba = [0.1, 0.6, 0.9, 0.8]
        tape.contype, tape.conaffinity = 0, 0
    for body_name, obj in objects.items():
        _add_object(spec, body_name, obj)
    model = spec.compile()
    return TaskScene(spec, model, objects, roles, zone)


# --- placement -------------------------------------------------------------------------------

REACH_REGION = (0.25, 0.58, -0.3, 0.3)
"""x0, x1, y0, y1 (m): where objects may stand; also within ``REACH_RADIUS`` of the arm's base, so
the hand reaches them palm-down (reach 0.64 m from the shoulder, ROBOT_FACTS), and inside the head
camera's square crop (project choice)."""
REACH_RADIUS = (0.28, 0.56)
PARKING = np.array([-0.6, 0.5, -0.75])
"""Where a distractor that finds no room on the table waits: on the floor behind the robot, out of
the camera's view (the compiled model keeps its body, so models can be cached per object set)."""

_FIXED_LAYOUT = {
    # role -> (x, y, yaw) centres; jittered per trial.
    ("PickPlace", "container"): (0.40, 0.19, 0.0),
    ("Pour", "cup"): (0.44, 0.06, 0.0),
    ("Pour", "bottle"): (0.42, -0.14, 0.0),
    ("Sweep", "basket"): (0.42, 0.27, np.pi / 2),
}
"""The basket lies along y with the broom's handle toward +y, its bristles toward the zone: the
broom is then held, as taken, the way every stroke (toward -y) needs it, fingers forward and palm
down, the arm's most comfortable pose (a broom lying along x would need a quarter turn of the
wrist per stroke, which the RM75 cannot make palm-down this close to its base)."""


def _rectangle(obj: SceneObject, xy: np.ndarray, yaw: float) -> np.ndarray:
    """The 4 table-plane corners (4, 2) of the object's footprint rectangle at ``xy``, ``yaw``."""
    lo, hi = obj.aabb
    corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    c, s = np.cos(yaw), np.sin(yaw)
    return corners @ np.array([[c, s], [-s, c]]) + xy


def _overlap(a: np.ndarray, b: np.ndarray, gap: float) -> bool:
    """Separating-axis test of two convex polygons (corners (4, 2)), each grown by ``gap`` / 2."""
    for poly in (a, b):
        for i in range(len(poly)):
            edge = poly[(i + 1) % len(poly)] - poly[i]
            axis = np.array([-edge[1], edge[0]]) / np.linalg.norm(edge)
            pa, pb = a @ axis, b @ axis
            if pa.max() + gap <= pb.min() or pb.max() + gap <= pa.min():
                return False
    return True


def _yaw_toward(obj: SceneObject, direction: float, rng: np.random.Generator, spread: float) -> float:
    """Yaw that turns the object's grasp point (seen from its centre) toward ``direction``."""
    gx, gy = obj.grasp.point[:2]
    if np.hypot(gx, gy) < 0.01:
        return float(rng.uniform(-np.pi, np.pi))
    return float(direction - np.arctan2(gy, gx) + rng.uniform(-spread, spread))


def place_objects(scene: TaskScene, task: str, rng: np.random.Generator, tries: int = 200) -> dict[str, np.ndarray]:
    """Draw a resting pose (7,) = position + quaternion (w first) for every object of the scene.

    Fixtures (box, cup, bottle, basket) go to a task-specific spot jittered by +-3 cm; handled
    tools turn their handle toward the arm's base (-x) +-45 deg; the rest land anywhere in
    ``REACH_REGION`` at least 2 cm apart. The broom starts lying in its basket.
    """
    x0, x1, y0, y1 = REACH_REGION
    placed: list[np.ndarray] = []  # footprint rectangles
    poses: dict[str, np.ndarray] = {}
    inverse_roles = {v: k for k, v in scene.roles.items()}

    def put(body: str, xy: np.ndarray, yaw: float) -> None:
        z = 0.0005 - float(scene.objects[body].aabb[0][2])  # lowest point 0.5 mm above the table
        poses[body] = np.array([xy[0], xy[1], z, *_quat_z(yaw)])
        placed.append(_rectangle(scene.objects[body], np.asarray(xy, float), yaw))

    # Fixtures first, then the task's objects, then distractors and balls (which may be parked).
    order = sorted(scene.objects, key=lambda b: ((task, inverse_roles.get(b)) not in _FIXED_LAYOUT,
                                                 inverse_roles.get(b) is None))
    for body in order:
        obj = scene.objects[body]
        role = inverse_roles.get(body)
        if (task, role) in _FIXED_LAYOUT:
            x, y, yaw = _FIXED_LAYOUT[(task, role)]
            put(body, np.array([x, y]) + rng.uniform(-0.03, 0.03, 2), yaw + float(rng.uniform(-0.15, 0.15)))
            continue
        if task == "Sweep" and role == "broom":
            basket = poses[scene.roles["basket"]]
            yaw_b = 2 * np.arctan2(basket[6], basket[3])
            poses[body] = np.array([basket[0], basket[1], 0.0085, *_quat_z(yaw_b)])  # on the basket floor
            continue
        if body.startswith("paper_ball_"):
            region = SWEEP_BALLS
        else:
            region = (x0, x1, y0, y1)
        radius = obj.footprint
        yaw = _yaw_toward(obj, np.pi, rng, np.pi / 4) if obj.handle else float(rng.uniform(-np.pi, np.pi))
        for _ in range(tries):
            margin = min(radius, 0.5 * (region[1] - region[0]), 0.5 * (region[3] - region[2]))
            xy = rng.uniform([region[0] + margin, region[2] + margin], [region[1] - margin, region[3] - margin])
            reach = np.linalg.norm(xy)
            rect = _rectangle(obj, xy, yaw)
            if REACH_RADIUS[0] <= reach <= REACH_RADIUS[1] - radius / 2 and not any(
                _overlap(rect, other, 0.015) for other in placed
            ):
                break
        else:
            if not body.startswith("distractor_"):
                raise RuntimeError(f"no room on the table for {body} ({obj.name}) after {tries} tries")
            k = int(body.rsplit("_", 1)[1])
            poses[body] = np.array([PARKING[0], PARKING[1] + 0.25 * k, PARKING[2] - float(obj.aabb[0][2]), 1, 0, 0, 0])
            continue
        put(body, xy, yaw)
    return poses


def set_body_pose(model: mujoco.MjModel, data: mujoco.MjData, body: str, pose: np.ndarray) -> None:
    """Write a free body's pose (7,) into ``qpos`` and zero its velocity."""
    joint = model.joint(body)
    qadr, vadr = model.jnt_qposadr[joint.id], model.jnt_dofadr[joint.id]
    data.qpos[qadr : qadr + 7] = pose
    data.qvel[vadr : vadr + 6] = 0.0


__all__ = [
    "BACKGROUNDS", "CAMERA", "EE_SITE", "GRASP_SITE", "OBJECTS", "REACH_REGION", "SWEEP_BALLS", "SWEEP_ZONE",
    "SceneObject", "TaskScene", "background_image", "build_object", "build_scene", "place_objects",
    "set_body_pose",
]

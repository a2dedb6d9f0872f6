"""Procedural props: everyday objects built from MuJoCo primitives, with grasps and point clouds.

Every prop is a list of ``GeomSpec`` primitives in its own frame (origin at the centre of the
resting base, z up), so it renders in MuJoCo without meshes and its surface is known exactly:
the point cloud the benchmarks use for hand-object distances is sampled on the same primitives
that are rendered, with the parts hidden inside other parts removed. Hollow things (cups, bowls,
pans) get real walls, a ring of thin boxes, because a closed cylinder looks like a puck from the
40-60 cm at which a person sees the table.

Dimensions are drawn from realistic ranges; the category functions all have the signature
``(rng, colour, *, n_points) -> Prop`` and are registered in ``CATEGORIES``. Tools lie on the
table with their handle toward +x; ``place_props`` turns each prop so that its grasp faces the
person (-y).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import mujoco
import numpy as np

from envs.humansim.spec import GeomSpec, Grasp, Prop

if TYPE_CHECKING:
    from envs.humansim.scene import Table

DEFAULT_POINTS = 1024
# Distance from the grasped surface to where the palm centre goes: about half a palm's thickness.
PALM_OFFSET = 0.02

PALETTE: dict[str, tuple[float, float, float, float]] = {
    "red": (0.80, 0.10, 0.10, 1.0),
    "green": (0.15, 0.58, 0.20, 1.0),
    "blue": (0.12, 0.30, 0.80, 1.0),
    "yellow": (0.95, 0.85, 0.12, 1.0),
    "orange": (0.95, 0.50, 0.08, 1.0),
    "purple": (0.50, 0.20, 0.65, 1.0),
    "white": (0.92, 0.92, 0.90, 1.0),
    "black": (0.08, 0.08, 0.09, 1.0),
    "brown": (0.45, 0.27, 0.12, 1.0),
    "pink": (0.95, 0.55, 0.70, 1.0),
    "grey": (0.50, 0.50, 0.52, 1.0),
}

# Secondary parts keep neutral colours so that the prop's colour name stays unambiguous.
_METAL = (0.72, 0.72, 0.75, 1.0)
_DARK_METAL = (0.22, 0.22, 0.24, 1.0)
_PAGES = (0.95, 0.93, 0.85, 1.0)
_NEAR_BLACK = (0.06, 0.06, 0.06, 1.0)


def jitter_colour(rng: np.random.Generator, colour: str) -> tuple[float, float, float, float]:
    """The palette colour with a small random shade, so that two 'red' props are not identical."""
    rgb = np.asarray(PALETTE[colour][:3]) * rng.uniform(0.9, 1.08) + rng.uniform(-0.03, 0.03, 3)
    return (*np.clip(rgb, 0.0, 1.0).tolist(), 1.0)


def _shade(rgba: tuple[float, ...], factor: float) -> tuple[float, float, float, float]:
    return (*np.clip(np.asarray(rgba[:3]) * factor, 0.0, 1.0).tolist(), 1.0)


# --- small geometry helpers -------------------------------------------------------------------


def _quat_z(angle: float) -> tuple[float, float, float, float]:
    return (float(np.cos(angle / 2)), 0.0, 0.0, float(np.sin(angle / 2)))


def _quat_mul(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float, float]:
    out = np.zeros(4)
    mujoco.mju_mulQuat(out, np.asarray(a, float), np.asarray(b, float))
    return tuple(out.tolist())


def _quat_z_to(direction: np.ndarray) -> tuple[float, float, float, float]:
    """Quaternion turning +z onto ``direction`` (MuJoCo's capsule/cylinder axis)."""
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    axis = np.cross([0.0, 0.0, 1.0], d)
    s = np.linalg.norm(axis)
    if s < 1e-9:
        return (1.0, 0.0, 0.0, 0.0) if d[2] > 0 else (0.0, 1.0, 0.0, 0.0)
    angle = np.arctan2(s, d[2])
    axis /= s
    return (float(np.cos(angle / 2)), *(axis * np.sin(angle / 2)).tolist())


def geom_rotation(quat: Sequence[float]) -> np.ndarray:
    """(3, 3) rotation of a GeomSpec's (w, x, y, z) quaternion."""
    mat = np.zeros(9)
    mujoco.mju_quat2Mat(mat, np.asarray(quat, float))
    return mat.reshape(3, 3)


def _segment(p0, p1, radius: float, rgba=None) -> GeomSpec:
    """A capsule from ``p0`` to ``p1`` (GeomSpec has no fromto)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    half = np.linalg.norm(p1 - p0) / 2
    return GeomSpec("capsule", (radius, half), tuple(((p0 + p1) / 2).tolist()), _quat_z_to(p1 - p0), rgba)


def _ring(
    r_bottom: float, r_top: float, z0: float, z1: float, thickness: float, n: int, rgba=None
) -> list[GeomSpec]:
    """A (possibly flared) wall of ``n`` thin boxes whose outer faces touch radius r_bottom..r_top."""
    slant = np.hypot(r_top - r_bottom, z1 - z0)
    tilt = np.arctan2(r_top - r_bottom, z1 - z0)  # outward lean from vertical
    half_width = max(r_top, r_bottom) * np.tan(np.pi / n) * 1.05
    r_mid = (r_top + r_bottom) / 2 - thickness / 2 * np.cos(tilt)
    lean = (float(np.cos(tilt / 2)), 0.0, float(np.sin(tilt / 2)), 0.0)  # about y: z leans to +x
    geoms = []
    for i in range(n):
        phi = 2 * np.pi * i / n
        pos = (r_mid * np.cos(phi), r_mid * np.sin(phi), (z0 + z1) / 2 + thickness / 2 * np.sin(tilt))
        geoms.append(
            GeomSpec("box", (thickness / 2, half_width, slant / 2), pos, _quat_mul(_quat_z(phi), lean), rgba)
        )
    return geoms


# --- surfaces: area, sampling, signed distance ------------------------------------------------


def geom_area(g: GeomSpec) -> float:
    """Surface area of one primitive (Thomsen's approximation for ellipsoids, within ~1 %)."""
    s = g.size
    if g.type == "box":
        return 8.0 * (s[0] * s[1] + s[1] * s[2] + s[0] * s[2])
    if g.type == "sphere":
        return 4.0 * np.pi * s[0] ** 2
    if g.type == "capsule":
        return 4.0 * np.pi * s[0] * s[1] + 4.0 * np.pi * s[0] ** 2
    if g.type == "cylinder":
        return 4.0 * np.pi * s[0] * s[1] + 2.0 * np.pi * s[0] ** 2
    if g.type == "ellipsoid":
        p = 1.6075
        a, b, c = s[0] ** p, s[1] ** p, s[2] ** p
        return 4.0 * np.pi * ((a * b + a * c + b * c) / 3.0) ** (1.0 / p)
    raise ValueError(f"unknown geom type {g.type!r}")


def _unit_sphere(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _sample_local(g: GeomSpec, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` points uniform (by area) on one primitive's surface, in the geom's own frame."""
    s = np.asarray(g.size, float)
    if g.type == "sphere":
        return _unit_sphere(rng, n) * s[0]
    if g.type == "box":
        face_areas = np.array([s[1] * s[2], s[0] * s[2], s[0] * s[1]])
        axis = rng.choice(3, size=n, p=face_areas / face_areas.sum())
        pts = rng.uniform(-1, 1, size=(n, 3)) * s
        pts[np.arange(n), axis] = s[axis] * rng.choice([-1.0, 1.0], size=n)
        return pts
    if g.type in ("capsule", "cylinder"):
        r, h = s[0], s[1]
        side_area = 4 * np.pi * r * h
        end_area = 4 * np.pi * r**2 if g.type == "capsule" else 2 * np.pi * r**2
        on_side = rng.uniform(size=n) < side_area / (side_area + end_area)
        pts = np.empty((n, 3))
        phi = rng.uniform(0, 2 * np.pi, size=n)
        pts[on_side] = np.stack([r * np.cos(phi), r * np.sin(phi), rng.uniform(-h, h, size=n)], 1)[on_side]
        m = int((~on_side).sum())
        if g.type == "capsule":
            cap = _unit_sphere(rng, m) * r
            cap[:, 2] += np.where(cap[:, 2] >= 0, h, -h)
        else:
            rho, angle = r * np.sqrt(rng.uniform(size=m)), rng.uniform(0, 2 * np.pi, size=m)
            cap = np.stack([rho * np.cos(angle), rho * np.sin(angle), rng.choice([-h, h], size=m)], 1)
        pts[~on_side] = cap
        return pts
    if g.type == "ellipsoid":
        # Map the unit sphere onto the ellipsoid; the map stretches area at u by prod(s) |u / s|,
        # at most prod(s) / min(s), so keeping u with probability min(s) |u / s| makes it uniform.
        out = []
        while sum(len(o) for o in out) < n:
            u = _unit_sphere(rng, 2 * n)
            keep = rng.uniform(size=2 * n) < np.min(s) * np.linalg.norm(u / s, axis=1)
            out.append(u[keep] * s)
        return np.concatenate(out)[:n]
    raise ValueError(f"unknown geom type {g.type!r}")


def geom_signed_distance(g: GeomSpec, points: np.ndarray) -> np.ndarray:
    """Signed distance (negative inside) from prop-frame points to one primitive.

    Exact for every type except the ellipsoid, whose first-order estimate is exact on the
    surface and has the right sign everywhere, which is all that surface tests need.
    """
    local = (np.asarray(points, float) - np.asarray(g.pos)) @ geom_rotation(g.quat)
    s = np.asarray(g.size, float)
    if g.type == "sphere":
        return np.linalg.norm(local, axis=1) - s[0]
    if g.type == "box":
        q = np.abs(local) - s
        return np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(axis=1), 0)
    if g.type == "capsule":
        axis_point = np.zeros_like(local)
        axis_point[:, 2] = np.clip(local[:, 2], -s[1], s[1])
        return np.linalg.norm(local - axis_point, axis=1) - s[0]
    if g.type == "cylinder":
        d = np.stack([np.linalg.norm(local[:, :2], axis=1) - s[0], np.abs(local[:, 2]) - s[1]], 1)
        return np.minimum(d.max(axis=1), 0) + np.linalg.norm(np.maximum(d, 0), axis=1)
    if g.type == "ellipsoid":
        k0 = np.linalg.norm(local / s, axis=1)
        k1 = np.linalg.norm(local / s**2, axis=1)
        return k0 * (k0 - 1.0) / np.maximum(k1, 1e-12)
    raise ValueError(f"unknown geom type {g.type!r}")


def sample_surface(
    geoms: Sequence[GeomSpec], rng: np.random.Generator, n: int = DEFAULT_POINTS
) -> np.ndarray:
    """``n`` points uniform by area on the visible union of the primitives (prop frame).

    Candidates are drawn on every primitive in proportion to its area; those buried inside
    another primitive (more than 0.1 mm deep) are dropped, since no hand can touch them and a
    renderer never shows them. A uniform subset of the survivors is uniform on the union surface.
    """
    areas = np.array([geom_area(g) for g in geoms])
    kept = np.empty((0, 3))
    m = 2 * n
    while len(kept) < n:
        counts = rng.multinomial(m, areas / areas.sum())
        pts, owner = [], []
        for i, (g, c) in enumerate(zip(geoms, counts, strict=True)):
            if c:
                pts.append(_sample_local(g, rng, c) @ geom_rotation(g.quat).T + np.asarray(g.pos))
                owner.append(np.full(c, i))
        pts, owner = np.concatenate(pts), np.concatenate(owner)
        buried = np.zeros(len(pts), bool)
        for i, g in enumerate(geoms):
            others = owner != i
            buried[others] |= geom_signed_distance(g, pts[others]) < -1e-4
        kept = np.concatenate([kept, pts[~buried]])
        m *= 2
    return kept[rng.choice(len(kept), size=n, replace=False)]


def geom_aabb(g: GeomSpec) -> tuple[np.ndarray, np.ndarray]:
    """Exact axis-aligned bounds (min, max) of one primitive in the prop frame."""
    rot = geom_rotation(g.quat)
    s = np.asarray(g.size, float)
    if g.type == "box":
        half = np.abs(rot) @ s
    elif g.type == "sphere":
        half = np.full(3, s[0])
    elif g.type == "capsule":
        half = np.abs(rot[:, 2]) * s[1] + s[0]
    elif g.type == "cylinder":
        half = np.abs(rot[:, 2]) * s[1] + s[0] * np.sqrt(np.clip(1 - rot[:, 2] ** 2, 0, 1))
    elif g.type == "ellipsoid":
        half = np.sqrt((rot**2) @ s**2)
    else:
        raise ValueError(f"unknown geom type {g.type!r}")
    pos = np.asarray(g.pos, float)
    return pos - half, pos + half


def prop_aabb(prop: Prop) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned bounds (min, max) of the whole prop in its own frame."""
    boxes = [geom_aabb(g) for g in prop.geoms]
    return np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)


def footprint_radius(prop: Prop) -> float:
    """Radius of the disc around the prop's origin that covers its shadow on the table."""
    return float(np.linalg.norm(prop.points[:, :2], axis=1).max()) + 0.005


# --- the categories ---------------------------------------------------------------------------


def _prop(category: str, colour: str, rgba, geoms: list[GeomSpec], grasp: Grasp, rng, n_points: int) -> Prop:
    top = max(geom_aabb(g)[1][2] for g in geoms)
    return Prop(
        name=category,
        category=category,
        colour=colour,
        rgba=rgba,
        geoms=geoms,
        pose=np.array([0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]),
        grasp=grasp,
        points=sample_surface(geoms, rng, n_points),
        height=float(top),
    )


def _side_grasp(radius: float, z: float) -> Grasp:
    """Palm against the side facing the person (-y), fingers wrapping around."""
    return Grasp(np.array([0.0, -(radius + PALM_OFFSET), z]), np.array([0.0, 1.0, 0.0]), 2 * radius)


def _top_grasp(z_top: float, width: float, xy=(0.0, 0.0), handle: bool = False) -> Grasp:
    return Grasp(np.array([xy[0], xy[1], z_top + PALM_OFFSET]), np.array([0.0, 0.0, -1.0]), width, handle)


def cup(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """A tumbler: slightly flared wall (16 boxes) on a disc bottom."""
    rgba = jitter_colour(rng, colour)
    r, h, t = rng.uniform(0.032, 0.042), rng.uniform(0.08, 0.11), 0.004
    r_top = r + rng.uniform(0.0, 0.008)
    geoms = [GeomSpec("cylinder", (r, 0.003), (0.0, 0.0, 0.003))] + _ring(r, r_top, 0.0, h, t, 16)
    return _prop("cup", colour, rgba, geoms, _side_grasp((r + r_top) / 2, 0.45 * h), rng, n_points)


def mug(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """A straight mug with a D-shaped handle (capsules along an arc) on the +x side."""
    rgba = jitter_colour(rng, colour)
    r, h, t = rng.uniform(0.038, 0.048), rng.uniform(0.085, 0.105), 0.005
    a, bar = rng.uniform(0.026, 0.033), rng.uniform(0.005, 0.007)
    geoms = [GeomSpec("cylinder", (r, 0.003), (0.0, 0.0, 0.003))] + _ring(r, r, 0.0, h, t, 16)
    angles = np.deg2rad([70, 35, 0, -35, -70])
    arc = [np.array([r + a * np.cos(q), 0.0, h / 2 + a * np.sin(q)]) for q in angles]
    arc = [np.array([r - 0.002, 0.0, arc[0][2]])] + arc + [np.array([r - 0.002, 0.0, arc[-1][2]])]
    geoms += [_segment(p, q, bar) for p, q in zip(arc[:-1], arc[1:], strict=True)]
    outer = r + a + bar
    grasp = Grasp(
        np.array([outer + PALM_OFFSET, 0.0, h / 2]), np.array([-1.0, 0.0, 0.0]), 2 * bar + 0.01, True
    )
    return _prop("mug", colour, rgba, geoms, grasp, rng, n_points)


def bottle(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """Body cylinder, rounded shoulder (the upper half of an ellipsoid), neck and a neutral cap."""
    rgba = jitter_colour(rng, colour)
    r, body = rng.uniform(0.028, 0.04), rng.uniform(0.12, 0.19)
    shoulder, rn, neck = rng.uniform(0.025, 0.045), rng.uniform(0.011, 0.015), rng.uniform(0.02, 0.04)
    cap_h = rng.uniform(0.012, 0.02)
    cap = [_NEAR_BLACK, (0.95, 0.95, 0.95, 1.0), _METAL][rng.integers(3)]
    z_neck = body + 0.85 * shoulder
    geoms = [
        GeomSpec("cylinder", (r, body / 2), (0.0, 0.0, body / 2)),
        GeomSpec("ellipsoid", (r, r, shoulder), (0.0, 0.0, body)),
        GeomSpec("cylinder", (rn, neck / 2), (0.0, 0.0, z_neck + neck / 2)),
        GeomSpec("cylinder", (rn + 0.002, cap_h / 2), (0.0, 0.0, z_neck + neck + cap_h / 2), rgba=cap),
    ]
    return _prop("bottle", colour, rgba, geoms, _side_grasp(r, 0.45 * body), rng, n_points)


def box(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """A carton, sometimes with a white label on its lid; taken from above across its narrow side."""
    rgba = jitter_colour(rng, colour)
    s = np.array([rng.uniform(0.03, 0.09), rng.uniform(0.025, 0.06), rng.uniform(0.015, 0.05)])
    geoms = [GeomSpec("box", tuple(s.tolist()), (0.0, 0.0, s[2]))]
    if rng.uniform() < 0.5:
        label = (0.7 * s[0], 0.6 * s[1], 0.0008)
        geoms.append(GeomSpec("box", label, (0.0, 0.0, 2 * s[2] + 0.0004), rgba=(0.95, 0.95, 0.93, 1.0)))
    return _prop("box", colour, rgba, geoms, _top_grasp(2 * s[2], 2 * min(s[0], s[1])), rng, n_points)


def bowl(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """A flared wall of 20 boxes on a small base; grasped at the rim nearest the person."""
    rgba = jitter_colour(rng, colour)
    r_top, h, t = rng.uniform(0.06, 0.095), rng.uniform(0.045, 0.07), 0.004
    r_bottom = r_top * rng.uniform(0.5, 0.65)
    geoms = [GeomSpec("cylinder", (r_bottom, 0.003), (0.0, 0.0, 0.003))] + _ring(
        r_bottom, r_top, 0.0, h, t, 20
    )
    grasp = Grasp(np.array([0.0, -(r_top + PALM_OFFSET), h * 0.8]), np.array([0.0, 1.0, 0.0]), 0.02)
    return _prop("bowl", colour, rgba, geoms, grasp, rng, n_points)


def can(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """A drink or food can: coloured body, metal lid."""
    rgba = jitter_colour(rng, colour)
    r, h = rng.uniform(0.027, 0.04), rng.uniform(0.09, 0.15)
    geoms = [
        GeomSpec("cylinder", (r, h / 2), (0.0, 0.0, h / 2)),
        GeomSpec("cylinder", (r - 0.003, 0.001), (0.0, 0.0, h + 0.0005), rgba=_METAL),
    ]
    return _prop("can", colour, rgba, geoms, _side_grasp(r, 0.45 * h), rng, n_points)


def ball(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """A ball from squash to small-football size, taken from above."""
    rgba = jitter_colour(rng, colour)
    r = rng.uniform(0.03, 0.055)
    geoms = [GeomSpec("sphere", (r,), (0.0, 0.0, r))]
    return _prop("ball", colour, rgba, geoms, _top_grasp(2 * r, 2 * r), rng, n_points)


def cloth(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """A thin slab with a few soft creases (flattened ellipsoids) and sometimes a rolled edge."""
    rgba = jitter_colour(rng, colour)
    hx, hy, hz = rng.uniform(0.09, 0.16), rng.uniform(0.07, 0.12), rng.uniform(0.0015, 0.003)
    geoms = [GeomSpec("box", (hx, hy, hz), (0.0, 0.0, hz))]
    for _ in range(rng.integers(1, 4)):
        size = (rng.uniform(0.3, 0.6) * min(hx, hy), rng.uniform(0.006, 0.014), rng.uniform(0.002, 0.004))
        x, y = rng.uniform(-0.4, 0.4, 2) * (hx, hy)
        yaw = _quat_z(rng.uniform(0, np.pi))
        geoms.append(GeomSpec("ellipsoid", size, (x, y, max(size[2], 2 * hz)), yaw))
    if rng.uniform() < 0.4:
        rc = rng.uniform(0.005, 0.009)
        geoms.append(_segment((-hx + 0.01, hy - rc, rc), (hx - 0.01, hy - rc, rc), rc))
    grasp = _top_grasp(2 * hz, 0.01, xy=(0.0, -0.6 * hy))
    return _prop("cloth", colour, rgba, geoms, grasp, rng, n_points)


def spatula(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """Flat blade at -x, a metal neck rising to a round handle toward +x."""
    rgba = jitter_colour(rng, colour)
    rh, lh = rng.uniform(0.009, 0.013), rng.uniform(0.11, 0.15)
    bx, by, bt = rng.uniform(0.035, 0.05), rng.uniform(0.028, 0.042), 0.0015
    neck = rng.uniform(0.03, 0.05)
    total = 2 * bx + neck + lh + 2 * rh
    x0 = -total / 2
    xb, xn = x0 + bx, x0 + 2 * bx + neck
    geoms = [
        GeomSpec("box", (bx, by, bt), (xb, 0.0, bt)),
        _segment((xb + bx - 0.005, 0.0, 0.004), (xn, 0.0, rh), 0.004, _METAL),
        _segment((xn + rh, 0.0, rh), (xn + rh + lh, 0.0, rh), rh),
    ]
    grasp = _top_grasp(2 * rh, 2 * rh, xy=(xn + rh + 0.55 * lh, 0.0), handle=True)
    return _prop("spatula", colour, rgba, geoms, grasp, rng, n_points)


def knife(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """A flat metal blade with a slanted tip at -x and a coloured handle at +x."""
    rgba = jitter_colour(rng, colour)
    rh, lh = rng.uniform(0.008, 0.011), rng.uniform(0.085, 0.115)
    bl, bw, bt = rng.uniform(0.05, 0.08), rng.uniform(0.009, 0.014), 0.001
    total = 2 * bl + lh + 2 * rh + 0.02
    x0 = -total / 2 + 0.02
    xh = x0 + 2 * bl
    tip = GeomSpec("box", (0.016, bw * 0.6, bt), (x0 - 0.006, -0.3 * bw, bt), _quat_z(np.deg2rad(25)), _METAL)
    geoms = [
        GeomSpec("box", (bl, bw, bt), (x0 + bl, 0.0, bt), rgba=_METAL),
        tip,
        _segment((xh + rh, 0.0, rh), (xh + rh + lh, 0.0, rh), rh),
    ]
    grasp = _top_grasp(2 * rh, 2 * rh, xy=(xh + rh + 0.5 * lh, 0.0), handle=True)
    return _prop("knife", colour, rgba, geoms, grasp, rng, n_points)


def brush(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """A scrubbing brush: bristle block under a head at -x, handle sloping down to the table."""
    rgba = jitter_colour(rng, colour)
    hx, hy, hh = rng.uniform(0.03, 0.045), rng.uniform(0.02, 0.03), rng.uniform(0.007, 0.011)
    bristle_h = rng.uniform(0.008, 0.013)
    rh, lh = rng.uniform(0.009, 0.013), rng.uniform(0.09, 0.13)
    bristles = [(0.93, 0.93, 0.9, 1.0), _NEAR_BLACK, (0.85, 0.75, 0.55, 1.0)][rng.integers(3)]
    total = 2 * hx + lh + rh
    x_head = -total / 2 + hx
    z_head = bristle_h + hh
    geoms = [
        GeomSpec("box", (hx - 0.003, hy - 0.003, bristle_h / 2), (x_head, 0.0, bristle_h / 2), rgba=bristles),
        GeomSpec("box", (hx, hy, hh), (x_head, 0.0, z_head)),
        _segment((x_head + hx - 0.005, 0.0, z_head), (x_head + hx + lh, 0.0, rh), rh),
    ]
    grip = np.array([x_head + hx + 0.6 * lh, 0.0, 0.0])
    grip[2] = z_head + (rh - z_head) * 0.6 + rh
    grasp = _top_grasp(grip[2], 2 * rh, xy=grip[:2], handle=True)
    return _prop("brush", colour, rgba, geoms, grasp, rng, n_points)


def hammer(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """A dark steel head at -x (lying on its side) and a long coloured handle toward +x."""
    rgba = jitter_colour(rng, colour)
    head = np.array([rng.uniform(0.012, 0.016), rng.uniform(0.045, 0.06), rng.uniform(0.012, 0.016)])
    rh, lh = rng.uniform(0.011, 0.015), rng.uniform(0.2, 0.27)
    total = 2 * head[0] + lh
    xh = -total / 2 + head[0]
    z0 = max(head[2], rh)  # the handle leaves the head's middle, its end rests on the table
    geoms = [
        GeomSpec("box", tuple(head.tolist()), (xh, 0.0, head[2]), rgba=_DARK_METAL),
        _segment((xh, 0.0, z0), (xh + head[0] + lh - rh, 0.0, rh), rh),
    ]
    grasp = _top_grasp(z0 + (rh - z0) * 0.7 + rh, 2 * rh, xy=(xh + head[0] + 0.7 * lh, 0.0), handle=True)
    return _prop("hammer", colour, rgba, geoms, grasp, rng, n_points)


def pan(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """A frying pan: low flared wall (20 boxes), flat bottom, long black handle rising toward +x."""
    rgba = jitter_colour(rng, colour)
    r, h, t = rng.uniform(0.09, 0.12), rng.uniform(0.03, 0.045), 0.004
    r_top = r + rng.uniform(0.008, 0.015)
    rh, lh = rng.uniform(0.01, 0.013), rng.uniform(0.14, 0.19)
    rise = np.deg2rad(rng.uniform(5, 15))
    start = np.array([r_top - 0.005, 0.0, 0.8 * h])
    end = start + lh * np.array([np.cos(rise), 0.0, np.sin(rise)])
    geoms = [GeomSpec("cylinder", (r, 0.002), (0.0, 0.0, 0.002))] + _ring(r, r_top, 0.0, h, t, 20)
    geoms.append(_segment(start, end, rh, _NEAR_BLACK))
    grip = start + 0.7 * (end - start)
    grasp = _top_grasp(grip[2] + rh, 2 * rh, xy=grip[:2], handle=True)
    # Centre the footprint: the handle makes the pan long along +x.
    shift = -(end[0] + rh - r_top) / 2
    geoms = [GeomSpec(g.type, g.size, (g.pos[0] + shift, g.pos[1], g.pos[2]), g.quat, g.rgba) for g in geoms]
    grasp.point[0] += shift
    return _prop("pan", colour, rgba, geoms, grasp, rng, n_points)


def plate(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """A foot, a disc, and a slightly darker well so the rim reads from above; pinched at its near rim
    from above (a palm cannot slide under a plate lying on a table)."""
    rgba = jitter_colour(rng, colour)
    r, t = rng.uniform(0.09, 0.13), rng.uniform(0.008, 0.014)
    foot = 0.004
    geoms = [
        GeomSpec("cylinder", (0.6 * r, foot / 2), (0.0, 0.0, foot / 2)),
        GeomSpec("cylinder", (r, t / 2), (0.0, 0.0, foot + t / 2)),
        GeomSpec("cylinder", (0.72 * r, 0.0005), (0.0, 0.0, foot + t), rgba=_shade(rgba, 0.9)),
    ]
    grasp = _top_grasp(foot + t, t + 0.01, xy=(0.0, -0.75 * r))
    return _prop("plate", colour, rgba, geoms, grasp, rng, n_points)


def book(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """Covers and a spine in the colour, cream pages inset between them; taken from above across its width."""
    rgba = jitter_colour(rng, colour)
    hx, hy, hz = rng.uniform(0.07, 0.12), rng.uniform(0.05, 0.085), rng.uniform(0.008, 0.022)
    c = 0.0015
    geoms = [
        GeomSpec("box", (hx, hy, c / 2), (0.0, 0.0, c / 2)),
        GeomSpec("box", (hx, hy, c / 2), (0.0, 0.0, 2 * hz - c / 2)),
        GeomSpec("box", (c, hy, hz), (-hx + c, 0.0, hz)),
        GeomSpec("box", (hx - 0.003, hy - 0.003, hz - c), (0.0, 0.0, hz), rgba=_PAGES),
    ]
    grasp = _top_grasp(2 * hz, min(2 * hy, 0.14))  # a spread hand spans about 14 cm
    return _prop("book", colour, rgba, geoms, grasp, rng, n_points)


def sponge(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """A foam block with a dark scouring layer on top."""
    rgba = jitter_colour(rng, colour)
    hx, hy, hz = rng.uniform(0.035, 0.05), rng.uniform(0.022, 0.035), rng.uniform(0.01, 0.018)
    pad = rng.uniform(0.002, 0.004)
    scour = [(0.1, 0.32, 0.15, 1.0), (0.2, 0.2, 0.2, 1.0)][int(colour == "green")]
    geoms = [
        GeomSpec("box", (hx, hy, hz), (0.0, 0.0, hz)),
        GeomSpec("box", (hx, hy, pad / 2), (0.0, 0.0, 2 * hz + pad / 2), rgba=scour),
    ]
    return _prop("sponge", colour, rgba, geoms, _top_grasp(2 * hz + pad, 2 * hy), rng, n_points)


def drawer(rng: np.random.Generator, colour: str, *, n_points: int = DEFAULT_POINTS) -> Prop:
    """A small drawer unit standing on the table, its bar handle facing the person: "open" pulls it.

    The whole unit slides (HumanSim simulates no carcass around it), which from an egocentric view
    reads as a drawer coming out; a darker front panel and the handle make the front legible.
    """
    rgba = jitter_colour(rng, colour)
    hx, hy, hz = rng.uniform(0.08, 0.13), rng.uniform(0.07, 0.11), rng.uniform(0.04, 0.07)
    bar, standoff = rng.uniform(0.006, 0.009), 0.025
    y_bar = -hy - standoff
    geoms = [
        GeomSpec("box", (hx, hy, hz), (0.0, 0.0, hz)),
        GeomSpec("box", (hx - 0.008, 0.002, hz - 0.008), (0.0, -hy - 0.002, hz), rgba=_shade(rgba, 0.8)),
        _segment((-0.5 * hx, y_bar, hz), (0.5 * hx, y_bar, hz), bar, _METAL),
        _segment((-0.5 * hx, -hy, hz), (-0.5 * hx, y_bar, hz), 0.6 * bar, _METAL),
        _segment((0.5 * hx, -hy, hz), (0.5 * hx, y_bar, hz), 0.6 * bar, _METAL),
    ]
    grasp = Grasp(np.array([0.0, y_bar - bar - PALM_OFFSET, hz]), np.array([0.0, 1.0, 0.0]), 2 * bar, handle=True)
    return _prop("drawer", colour, rgba, geoms, grasp, rng, n_points)


_ALL = (
    drawer,
    cup,
    mug,
    bottle,
    box,
    bowl,
    can,
    ball,
    cloth,
    spatula,
    knife,
    brush,
    hammer,
    pan,
    plate,
    book,
    sponge,
)
CATEGORIES: dict[str, Callable[..., Prop]] = {f.__name__: f for f in _ALL}


def make_prop(
    category: str,
    rng: np.random.Generator,
    colour: str | None = None,
    name: str | None = None,
    n_points: int = DEFAULT_POINTS,
) -> Prop:
    """A random prop of ``category``; the colour is drawn from the palette when not given."""
    if category not in CATEGORIES:
        raise KeyError(f"unknown prop category {category!r}; known: {sorted(CATEGORIES)}")
    if colour is None:
        colour = str(rng.choice(list(PALETTE)))
    elif colour not in PALETTE:
        raise KeyError(f"unknown colour {colour!r}; known: {sorted(PALETTE)}")
    prop = CATEGORIES[category](rng, colour, n_points=n_points)
    prop.name = name or category
    return prop


# --- placement --------------------------------------------------------------------------------


def place_props(
    rng: np.random.Generator,
    props: Sequence[Prop],
    table: Table,
    n: int | None = None,
    min_gap: float = 0.03,
    tries: int = 200,
) -> dict[str, np.ndarray]:
    """Put up to ``n`` of ``props`` (in order; all by default) on the table, within reach.

    Each prop's footprint disc must lie in ``table.reach_region`` and keep ``min_gap`` from the
    others; a prop that finds no room in ``tries`` draws is skipped, so callers may offer more
    candidates than they need. Props whose grasp sits off-centre (handles, near-edge grasps) are
    turned so the grasp faces the person (-y) within +-60 degrees; symmetric ones get any yaw.
    The placed props' ``pose`` is set and the poses are returned by name.
    """
    n = len(props) if n is None else n
    x0, x1, y0, y1 = table.reach_region
    placed: list[tuple[np.ndarray, float]] = []
    poses: dict[str, np.ndarray] = {}
    for prop in props:
        if len(poses) == n:
            break
        radius = footprint_radius(prop)
        if x1 - x0 < 2 * radius or y1 - y0 < 2 * radius:
            continue
        for _ in range(tries):
            xy = rng.uniform([x0 + radius, y0 + radius], [x1 - radius, y1 - radius])
            if all(np.linalg.norm(xy - c) >= radius + r + min_gap for c, r in placed):
                break
        else:
            continue
        grasp_xy = prop.grasp.point[:2]
        if np.linalg.norm(grasp_xy) > 0.01:
            toward_person = -np.pi / 2 + rng.uniform(-np.pi / 3, np.pi / 3)
            yaw = toward_person - np.arctan2(grasp_xy[1], grasp_xy[0])
        else:
            yaw = rng.uniform(-np.pi, np.pi)
        prop.pose = np.array([xy[0], xy[1], table.height, *_quat_z(yaw)])
        placed.append((xy, radius))
        poses[prop.name] = prop.pose.copy()
    return poses

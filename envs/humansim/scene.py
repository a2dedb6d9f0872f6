"""Scene assembly with ``mujoco.MjSpec``: room, table, clutter, lights, props and a render camera.

A scene is a spec, not a compiled model, because the hands are added by ``hand_model`` before
compiling. Everything about the room (table size and texture, walls, floor, clutter, the light
rig) is drawn from ``SceneConfig.environment_id`` alone, so benchmarks can hold out whole
environments; the clip's own ``rng`` only jitters light intensity and colour within a room.
The ``lab`` variation ignores the environment id: one plain room, one table, uniform light, as in
the lab-recorded data of the paper's ablation.

Nothing is simulated: every geom has collisions off, props hang on free joints whose ``qpos`` the
caller writes (``set_prop_pose``). Geom groups tell things apart in segmentation: background
``BACKGROUND_GROUP``, props ``PROP_GROUP`` (geoms named ``prop:{name}/{i}`` on bodies
``prop:{name}``); hand_model's hands are in group 1.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import mujoco
import numpy as np

from envs.humansim.objects import PALETTE
from envs.humansim.spec import Prop

VARIATIONS = ("lab", "wild")
BACKGROUND_GROUP = 0
PROP_GROUP = 2  # hand_model puts hands in group 1; groups 0-2 are the ones MuJoCo renders by default
RENDER_CAMERA = "render"
NEAR_EDGE_Y = -0.25  # the table edge the person stands at; the head is 10-25 cm behind it

TABLE_TEXTURES = ("wood", "marble", "speckle", "stripes", "checker", "flat")
FLOOR_TEXTURES = ("wood", "tiles", "speckle", "flat")
WALL_TEXTURES = ("plaster", "stripes", "flat")

# Surface finish per prop category: (specular, shininess).
_FINISH = {"glossy": (0.5, 0.6), "satin": (0.25, 0.3), "matte": (0.05, 0.1)}
_CATEGORY_FINISH = {
    "cup": "glossy", "mug": "glossy", "bowl": "glossy", "plate": "glossy", "bottle": "glossy",
    "can": "glossy", "pan": "satin", "ball": "satin", "spatula": "satin", "knife": "satin",
    "brush": "satin", "hammer": "satin", "cloth": "matte", "sponge": "matte", "book": "matte",
    "box": "matte",
}  # fmt: skip


@dataclass
class SceneConfig:
    """What a scene is built from; equal configs give identical rooms."""

    variation: str = "wild"  # "lab" | "wild"
    environment_id: int = 0  # picks the room in "wild"; ignored in "lab"
    shadows: bool = False  # the key light casts shadows (about 5x slower software rendering)
    max_render_size: tuple[int, int] = (640, 480)  # (width, height) of the largest offscreen render
    texture_size: int = 256  # pixels per side of the procedural textures


@dataclass
class Table:
    """The work surface: a box whose top is the plane z = ``height``, its near edge at y = -0.25."""

    height: float
    center: tuple[float, float]  # (x, y) of the top's centre
    half_extent: tuple[float, float]  # (x, y) half sizes of the top
    thickness: float
    texture: str  # kind of the top's texture, one of TABLE_TEXTURES

    @property
    def near_edge(self) -> float:
        return self.center[1] - self.half_extent[1]

    @property
    def reach_region(self) -> tuple[float, float, float, float]:
        """(x0, x1, y0, y1): where props go, within a seated or standing person's easy reach."""
        half_x = min(0.38, self.half_extent[0] - 0.03)
        depth = min(0.5, 2 * self.half_extent[1] - 0.03)
        return (
            self.center[0] - half_x,
            self.center[0] + half_x,
            self.near_edge + 0.06,
            self.near_edge + depth,
        )

    @property
    def work_area(self) -> np.ndarray:
        """The point on the table top that a person's gaze centres on while working."""
        return np.array([self.center[0], self.near_edge + 0.22, self.height])


@dataclass
class Scene:
    """An uncompiled scene: add hands to ``spec``, then ``compile``."""

    spec: mujoco.MjSpec
    table: Table
    config: SceneConfig
    props: list[Prop]
    environment: dict = field(default_factory=dict)  # what was drawn, for the ground-truth sidecar

    def compile(self) -> mujoco.MjModel:
        return self.spec.compile()


def _rng(config: SceneConfig, part: str) -> np.random.Generator:
    """An independent stream per room part, so drawing one part never shifts another."""
    room = 0 if config.variation == "lab" else config.environment_id + 1
    return np.random.default_rng([room, zlib.crc32(part.encode())])


def make_table(config: SceneConfig) -> Table:
    """The environment's table; place props on it before ``build_scene``."""
    if config.variation not in VARIATIONS:
        raise ValueError(f"variation must be one of {VARIATIONS}, not {config.variation!r}")
    if config.variation == "lab":
        half = (0.6, 0.375)
        return Table(0.75, (0.0, NEAR_EDGE_Y + half[1]), half, 0.03, "wood")
    rng = _rng(config, "table")
    half = (float(rng.uniform(0.45, 0.8)), float(rng.uniform(0.3, 0.45)))
    kind = str(rng.choice(TABLE_TEXTURES))
    return Table(
        float(rng.uniform(0.72, 0.80)),
        (0.0, NEAR_EDGE_Y + half[1]),
        half,
        float(rng.uniform(0.025, 0.05)),
        kind,
    )


# --- procedural textures ----------------------------------------------------------------------


def _noise(
    rng: np.random.Generator, size: int, beta: float = 2.0, stretch: tuple[float, float] = (1.0, 1.0)
) -> np.ndarray:
    """Tileable fractal noise in [0, 1]: white noise shaped by a 1/f^beta power spectrum.

    beta below 2 is grainy (speckle, plaster), above 3 smooth enough to warp patterns (veins).
    Built in the Fourier domain, so it wraps seamlessly when MuJoCo repeats the texture;
    ``stretch`` > 1 along an axis elongates the features along that axis (wood grain).
    """
    fx = np.fft.fftfreq(size)[None, :] * stretch[0]
    fy = np.fft.fftfreq(size)[:, None] * stretch[1]
    f = np.hypot(fx, fy)
    f[0, 0] = np.inf
    field_ = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(size, size))) / f ** (beta / 2)))
    return (field_ - field_.min()) / (np.ptp(field_) + 1e-12)


def _mix(a, b, t: np.ndarray) -> np.ndarray:
    """Blend colours or images ``a`` and ``b`` (RGB, last axis) by weights ``t`` (H, W)."""
    return np.asarray(a) * (1 - t[..., None]) + np.asarray(b) * t[..., None]


def _random_colour(rng: np.random.Generator, lo: float = 0.2, hi: float = 0.9) -> np.ndarray:
    return rng.uniform(lo, hi, 3)


def texture_image(rng: np.random.Generator, kind: str, size: int) -> np.ndarray:
    """A (size, size, 3) uint8 tileable texture of ``kind`` with random colours."""
    u = np.arange(size) / size
    x, y = np.meshgrid(u, u)
    if kind == "wood":
        tones = [
            (0.76, 0.60, 0.42),
            (0.55, 0.36, 0.20),
            (0.36, 0.22, 0.12),
            (0.85, 0.75, 0.60),
            (0.60, 0.50, 0.42),
        ]
        light = np.asarray(tones[rng.integers(len(tones))]) * rng.uniform(0.9, 1.1)
        dark = light * rng.uniform(0.55, 0.8)
        grain = y * rng.integers(8, 20) + 3.0 * _noise(rng, size, 3.5, (6.0, 1.0))
        lines = (0.5 + 0.5 * np.sin(2 * np.pi * grain)) ** 10
        t = (
            0.45 * lines
            + 0.35 * _noise(rng, size, 3.0, (6.0, 1.0))
            + 0.2 * _noise(rng, size, 1.0, (16.0, 1.0))
        )
        img = _mix(light, dark, t)
    elif kind == "marble":
        base = [np.array([0.92, 0.91, 0.88]), np.array([0.2, 0.2, 0.22]), np.array([0.85, 0.8, 0.72])][
            rng.integers(3)
        ]
        vein = base * rng.uniform(0.35, 0.6) if base.mean() > 0.5 else np.full(3, rng.uniform(0.75, 0.9))
        v = x * rng.integers(1, 4) + y * rng.integers(1, 4) + 2.0 * _noise(rng, size, 3.6)
        t = (1.0 - np.abs(np.sin(np.pi * v))) ** 6
        img = _mix(base, vein, 0.8 * t + 0.1 * _noise(rng, size, 1.0))
    elif kind == "speckle":
        a = _random_colour(rng, 0.3, 0.8)
        b = a * rng.uniform(0.5, 0.8)
        t = 0.6 * _noise(rng, size, 1.2) + 0.4 * (rng.uniform(size=(size, size)) > 0.85)
        img = _mix(a, b, t)
    elif kind == "plaster":
        a = _random_colour(rng, 0.55, 0.95)
        img = _mix(a, a * 0.88, _noise(rng, size, 1.8))
    elif kind == "stripes":
        a, b = _random_colour(rng), _random_colour(rng)
        t = (np.sin(2 * np.pi * x * rng.integers(4, 16)) > rng.uniform(-0.5, 0.5)).astype(float)
        img = _mix(a, b, 0.9 * t + 0.1 * _noise(rng, size, 1.5))
    elif kind in ("checker", "tiles"):
        a, b = _random_colour(rng), _random_colour(rng)
        n = int(rng.integers(2, 5)) * 2
        t = ((np.floor(x * n) + np.floor(y * n)) % 2).astype(float)
        if kind == "tiles":
            b = a * rng.uniform(0.8, 0.95)
            grout = (np.minimum((x * n) % 1, (y * n) % 1) < 0.04).astype(float)
            img = _mix(_mix(a, b, t), np.full(3, 0.75), grout)
        else:
            img = _mix(a, b, t)
        img = img * (0.95 + 0.05 * _noise(rng, size, 1.0))[..., None]
    else:
        raise ValueError(f"unknown texture kind {kind!r}")
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def _surface_material(
    spec: mujoco.MjSpec, rng: np.random.Generator, name: str, kind: str, size: int, tile_m: float
) -> str:
    """A material of ``kind`` whose texture repeats every ``tile_m`` metres; 'flat' is a plain colour."""
    shine = {"marble": (0.5, 0.6), "wood": (0.25, 0.35)}.get(kind, (0.1, 0.15))
    material = spec.add_material(name=name, specular=shine[0], shininess=shine[1], texuniform=True)
    if kind == "flat":
        material.rgba = [*_random_colour(rng, 0.25, 0.9), 1.0]
        return name
    image = texture_image(rng, kind, size)
    texture = spec.add_texture(
        name=name, type=mujoco.mjtTexture.mjTEXTURE_2D, width=size, height=size, nchannel=3
    )
    texture.data = image.tobytes()
    material.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = name
    material.texrepeat = [1.0 / tile_m, 1.0 / tile_m]
    return name


# --- room -------------------------------------------------------------------------------------


def _static_geom(body, name: str, gtype, size, pos, rgba=None, material: str | None = None) -> None:
    geom = body.add_geom(name=name, type=gtype, size=list(size) + [0.0] * (3 - len(size)), pos=list(pos))
    geom.contype, geom.conaffinity, geom.group = 0, 0, BACKGROUND_GROUP
    if rgba is not None:
        geom.rgba = list(rgba)
    if material is not None:
        geom.material = material


def _add_table(spec: mujoco.MjSpec, table: Table, material: str, leg_rgba) -> None:
    world = spec.worldbody
    (cx, cy), (hx, hy), t = table.center, table.half_extent, table.thickness
    _static_geom(
        world,
        "table_top",
        mujoco.mjtGeom.mjGEOM_BOX,
        (hx, hy, t / 2),
        (cx, cy, table.height - t / 2),
        material=material,
    )
    leg_h = (table.height - t) / 2
    for i, (sx, sy) in enumerate([(-1, -1), (-1, 1), (1, -1), (1, 1)]):
        pos = (cx + sx * (hx - 0.05), cy + sy * (hy - 0.05), leg_h)
        _static_geom(world, f"table_leg{i}", mujoco.mjtGeom.mjGEOM_BOX, (0.025, 0.025, leg_h), pos, leg_rgba)


def _add_room(spec: mujoco.MjSpec, config: SceneConfig, table: Table, env: dict) -> dict:
    """Floor, four walls and a ceiling; returns the room's extents for the clutter."""
    rng = _rng(config, "room")
    world, box = spec.worldbody, mujoco.mjtGeom.mjGEOM_BOX
    lab = config.variation == "lab"
    far = table.center[1] + table.half_extent[1]
    room = {
        "back": far + (0.6 if lab else rng.uniform(0.2, 1.5)),
        "front": NEAR_EDGE_Y - (1.5 if lab else rng.uniform(1.2, 2.5)),
        "side": 1.6 if lab else rng.uniform(1.1, 2.5),
        "height": 2.6,
    }
    floor_kind = "flat" if lab else str(rng.choice(FLOOR_TEXTURES))
    wall_kind = "flat" if lab else str(rng.choice(WALL_TEXTURES))
    floor = _surface_material(
        spec, rng, "floor", floor_kind, config.texture_size, 0.6 if floor_kind == "tiles" else 1.0
    )
    wall = _surface_material(spec, rng, "wall", wall_kind, config.texture_size, 1.2)
    if lab:
        spec.material("floor").rgba = [0.55, 0.55, 0.57, 1.0]
        spec.material("wall").rgba = [0.85, 0.85, 0.86, 1.0]
    _static_geom(
        world, "floor", mujoco.mjtGeom.mjGEOM_PLANE, (6.0, 6.0, 0.1), (0.0, 0.0, 0.0), material=floor
    )
    b, f, s, h = room["back"], room["front"], room["side"], room["height"]
    mid_y, half_y = (b + f) / 2, (b - f) / 2
    for name, size, pos in [
        ("wall_back", (s, 0.02, h / 2), (0.0, b + 0.02, h / 2)),
        ("wall_front", (s, 0.02, h / 2), (0.0, f - 0.02, h / 2)),
        ("wall_left", (0.02, half_y, h / 2), (-s - 0.02, mid_y, h / 2)),
        ("wall_right", (0.02, half_y, h / 2), (s + 0.02, mid_y, h / 2)),
        ("ceiling", (s, half_y, 0.02), (0.0, mid_y, h + 0.02)),
    ]:
        _static_geom(world, name, box, size, pos, material=wall)
    env.update(floor_texture=floor_kind, wall_texture=wall_kind, room={k: float(v) for k, v in room.items()})
    return room


def _add_clutter(spec: mujoco.MjSpec, config: SceneConfig, table: Table, room: dict, env: dict) -> None:
    """Shelves with items, a bright window, a picture, floor boxes and static things on the far table.

    All clutter is background (never a prop), and none of it enters the table's reach region.
    """
    rng = _rng(config, "clutter")
    world, box, cyl = spec.worldbody, mujoco.mjtGeom.mjGEOM_BOX, mujoco.mjtGeom.mjGEOM_CYLINDER
    palette = [np.asarray(c) for c in PALETTE.values()]
    back, side = room["back"], room["side"]
    items = []

    def item(name, gtype, size, pos, rgba):
        _static_geom(world, f"clutter_{name}", gtype, size, pos, rgba)
        items.append(name)

    for k in range(rng.integers(0, 3)):
        z, half_w, depth = rng.uniform(1.0, 1.8), rng.uniform(0.3, 0.6), rng.uniform(0.1, 0.15)
        x = rng.uniform(-side + half_w, side - half_w)
        wood = [0.45, 0.3, 0.18, 1.0] if rng.uniform() < 0.5 else [0.9, 0.9, 0.88, 1.0]
        item(f"shelf{k}", box, (half_w, depth, 0.012), (x, back - depth, z), wood)
        for j in range(rng.integers(2, 6)):
            hz = rng.uniform(0.03, 0.12)
            pos = (x + rng.uniform(-half_w + 0.05, half_w - 0.05), back - depth, z + 0.012 + hz)
            rgba = [*palette[rng.integers(len(palette))][:3] * rng.uniform(0.7, 1.0), 1.0]
            if rng.uniform() < 0.5:
                item(
                    f"shelf{k}_item{j}",
                    box,
                    (rng.uniform(0.02, 0.06), rng.uniform(0.03, 0.08), hz),
                    pos,
                    rgba,
                )
            else:
                item(f"shelf{k}_item{j}", cyl, (rng.uniform(0.02, 0.05), hz), pos, rgba)
    if rng.uniform() < 0.6:  # a window: an emissive panel, the brightest thing in the room
        material = spec.add_material(name="window", emission=rng.uniform(0.7, 1.0), specular=0.0)
        material.rgba = [0.85, 0.92, 1.0, 1.0]
        w, hh, z = rng.uniform(0.4, 0.8), rng.uniform(0.3, 0.5), rng.uniform(1.2, 1.8)
        on_back = rng.uniform() < 0.5
        x_or_y = rng.uniform(-side + w, side - w) if on_back else rng.uniform(room["front"] + w, back - w)
        if on_back:
            _static_geom(
                world, "clutter_window", box, (w, 0.005, hh), (x_or_y, back - 0.005, z), material="window"
            )
        else:
            sx = side * rng.choice([-1, 1])
            _static_geom(
                world,
                "clutter_window",
                box,
                (0.005, w, hh),
                (sx - np.sign(sx) * 0.005, x_or_y, z),
                material="window",
            )
        items.append("window")
        env["window"] = {"on": "back" if on_back else "side", "z": float(z)}
    if rng.uniform() < 0.5:
        picture = _surface_material(
            spec, rng, "picture", str(rng.choice(["marble", "stripes", "speckle"])), 64, 0.5
        )
        pw, ph = rng.uniform(0.15, 0.4), rng.uniform(0.15, 0.3)
        _static_geom(
            world,
            "clutter_picture",
            box,
            (pw, 0.008, ph),
            (rng.uniform(-side + pw, side - pw), back - 0.008, rng.uniform(1.3, 1.9)),
            material=picture,
        )
        items.append("picture")
    for k in range(rng.integers(0, 4)):  # cardboard boxes and a cabinet near the walls
        s = np.array([rng.uniform(0.15, 0.35), rng.uniform(0.15, 0.3), rng.uniform(0.1, 0.45)])
        pos = (
            rng.choice([-1, 1]) * rng.uniform(table.half_extent[0] + 0.3, side - 0.2),
            rng.uniform(NEAR_EDGE_Y + 0.3, back - 0.3),
            s[2],
        )
        item(f"floor_box{k}", box, s, pos, [*(np.array([0.6, 0.45, 0.3]) * rng.uniform(0.7, 1.2)), 1.0])
    y0 = table.reach_region[3] + 0.05
    y1 = table.center[1] + table.half_extent[1] - 0.05
    if y1 - y0 > 0.06:  # things standing on the far side of the table, out of reach
        for k in range(rng.integers(0, 4)):
            pos_xy = (
                rng.uniform(-table.half_extent[0] + 0.08, table.half_extent[0] - 0.08),
                rng.uniform(y0, y1),
            )
            rgba = [*palette[rng.integers(len(palette))][:3], 1.0]
            if rng.uniform() < 0.5:
                r, hz = rng.uniform(0.025, 0.05), rng.uniform(0.04, 0.12)
                item(f"table_jar{k}", cyl, (r, hz), (*pos_xy, table.height + hz), rgba)
            else:
                s = (rng.uniform(0.04, 0.1), rng.uniform(0.03, 0.06), rng.uniform(0.02, 0.08))
                item(f"table_block{k}", box, s, (*pos_xy, table.height + s[2]), rgba)
    env["clutter"] = items


# --- lights -----------------------------------------------------------------------------------


def kelvin_to_rgb(kelvin: float) -> np.ndarray:
    """Approximate RGB (max 1) of a black body at ``kelvin`` (Tanner Helland's fit), 1000-40000 K."""
    t = kelvin / 100.0
    r = 1.0 if t <= 66 else 1.292936 * (t - 60) ** -0.1332047592
    g = 0.3900815788 * np.log(t) - 0.6318414438 if t <= 66 else 1.1298908609 * (t - 60) ** -0.0755148492
    b = 1.0 if t >= 66 else (0.0 if t <= 19 else 0.5432067891 * np.log(t - 10) - 1.1962540891)
    rgb = np.clip([r, g, b], 0, 1)
    return rgb / rgb.max()


def _light_rig(config: SceneConfig, table: Table, env: dict) -> list[dict]:
    """The room's lights: a key (spot or directional), a fill, sometimes a window light."""
    target = table.work_area
    if config.variation == "lab":  # two bright overhead lights, neutral white, as in a recording lab
        return [
            {"type": "directional", "pos": (0, 0, 2.4), "dir": d, "kelvin": 5000.0, "intensity": 0.7}
            for d in ((0.3, 0.4, -1.0), (-0.3, 0.2, -1.0))
        ]
    rng = _rng(config, "lights")
    rig = []
    azimuth, elevation, distance = (
        rng.uniform(0, 2 * np.pi),
        np.deg2rad(rng.uniform(40, 85)),
        rng.uniform(1.2, 2.0),
    )
    offset = distance * np.array(
        [np.cos(azimuth) * np.cos(elevation), np.sin(azimuth) * np.cos(elevation), np.sin(elevation)]
    )
    key = {
        "type": "spot" if rng.uniform() < 0.6 else "directional",
        "pos": tuple(target + offset),
        "dir": tuple(-offset),
    }
    key.update(
        kelvin=rng.uniform(2700, 6500),
        intensity=rng.uniform(0.45, 0.85),
        cutoff=rng.uniform(35, 60),
        exponent=rng.uniform(1, 8),
    )
    rig.append(key)
    fill_dir = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), -1.0])
    rig.append(
        {
            "type": "directional",
            "pos": tuple(target - fill_dir),
            "dir": tuple(fill_dir),
            "kelvin": rng.uniform(3000, 7000),
            "intensity": rng.uniform(0.15, 0.35),
        }
    )
    if "window" in env or rng.uniform() < 0.3:
        side = np.array([rng.choice([-1.0, 1.0]), rng.uniform(0.2, 1.0), -rng.uniform(0.3, 0.8)])
        rig.append(
            {
                "type": "directional",
                "pos": tuple(target - side),
                "dir": tuple(side),
                "kelvin": rng.uniform(5500, 7500),
                "intensity": rng.uniform(0.15, 0.35),
            }
        )
    return rig


def _add_lights(
    spec: mujoco.MjSpec, rng: np.random.Generator, config: SceneConfig, rig: list[dict]
) -> list[dict]:
    """Add the rig with the clip's jitter of intensity (+-15 %) and colour temperature (+-300 K)."""
    lab = config.variation == "lab"
    headlight = spec.visual.headlight
    headlight.ambient = [0.3] * 3 if lab else [rng.uniform(0.08, 0.25)] * 3
    headlight.diffuse = [0.15] * 3 if lab else [rng.uniform(0.0, 0.15)] * 3
    headlight.specular = [0.05] * 3
    used = []
    for i, light in enumerate(rig):
        light = dict(light)
        if not lab:
            light["intensity"] *= rng.uniform(0.85, 1.15)
            light["kelvin"] += rng.uniform(-300, 300)
        rgb = kelvin_to_rgb(light["kelvin"]) * light["intensity"]
        kind = (
            mujoco.mjtLightType.mjLIGHT_SPOT
            if light["type"] == "spot"
            else mujoco.mjtLightType.mjLIGHT_DIRECTIONAL
        )
        added = spec.worldbody.add_light(
            name=f"light{i}", type=kind, pos=list(light["pos"]), dir=list(light["dir"])
        )
        added.diffuse, added.specular, added.ambient = rgb.tolist(), (0.2 * rgb).tolist(), [0.0, 0.0, 0.0]
        added.castshadow = bool(config.shadows and i == 0)
        if light["type"] == "spot":
            added.cutoff, added.exponent = light["cutoff"], light["exponent"]
        used.append(
            {k: (np.asarray(v, float).tolist() if isinstance(v, tuple) else v) for k, v in light.items()}
        )
    return used


# --- props and assembly -----------------------------------------------------------------------

_GEOM_TYPES = {
    "box": mujoco.mjtGeom.mjGEOM_BOX,
    "sphere": mujoco.mjtGeom.mjGEOM_SPHERE,
    "capsule": mujoco.mjtGeom.mjGEOM_CAPSULE,
    "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER,
    "ellipsoid": mujoco.mjtGeom.mjGEOM_ELLIPSOID,
}


def add_prop(spec: mujoco.MjSpec, prop: Prop) -> None:
    """A free-jointed body ``prop:{name}`` (joint of the same name) carrying the prop's geoms."""
    for finish, (specular, shininess) in _FINISH.items():
        if spec.material(f"prop_{finish}") is None:
            spec.add_material(name=f"prop_{finish}", specular=specular, shininess=shininess)
    body = spec.worldbody.add_body(
        name=f"prop:{prop.name}", pos=prop.pose[:3].tolist(), quat=prop.pose[3:].tolist()
    )
    body.add_freejoint(name=f"prop:{prop.name}")
    for i, g in enumerate(prop.geoms):
        size = list(g.size) + [0.0] * (3 - len(g.size))
        geom = body.add_geom(
            name=f"prop:{prop.name}/{i}",
            type=_GEOM_TYPES[g.type],
            size=size,
            pos=list(g.pos),
            quat=list(g.quat),
        )
        geom.rgba = list(g.rgba if g.rgba is not None else prop.rgba)
        geom.material = f"prop_{_CATEGORY_FINISH.get(prop.category, 'satin')}"
        geom.contype, geom.conaffinity, geom.group = 0, 0, PROP_GROUP


def build_scene(rng: np.random.Generator, config: SceneConfig, props: Sequence[Prop]) -> Scene:
    """The room of ``config.environment_id`` with ``props`` at their current poses.

    ``rng`` (the clip's) only jitters the lights. Place the props first (``objects.place_props``
    on ``make_table(config)``); their poses become the free joints' initial ``qpos``.
    """
    table = make_table(config)
    spec = mujoco.MjSpec()
    spec.modelname = f"humansim_{config.variation}_{config.environment_id}"
    spec.visual.global_.offwidth, spec.visual.global_.offheight = config.max_render_size
    if config.shadows:
        spec.visual.quality.shadowsize = 2048
    env: dict = {
        "variation": config.variation,
        "environment_id": config.environment_id,
        "table_texture": table.texture,
    }
    surface_rng = _rng(config, "surfaces")
    top = _surface_material(spec, surface_rng, "table_top", table.texture, config.texture_size, 0.8)
    if config.variation == "lab":
        spec.material("table_top").texrepeat = [1.25, 1.25]
    leg_rgba = [*(surface_rng.uniform(0.1, 0.6, 3)), 1.0]
    _add_table(spec, table, top, leg_rgba)
    room = _add_room(spec, config, table, env)
    if config.variation == "wild":
        _add_clutter(spec, config, table, room, env)
    env["lights"] = _add_lights(spec, rng, config, _light_rig(config, table, env))
    for prop in props:
        add_prop(spec, prop)
    spec.worldbody.add_camera(name=RENDER_CAMERA, pos=[0.0, -0.6, 1.3])
    return Scene(spec, table, config, list(props), env)


def set_prop_pose(model: mujoco.MjModel, data: mujoco.MjData, name: str, pose: np.ndarray) -> None:
    """Write a prop's world pose (7,) into ``qpos``; call ``mj_kinematics`` before rendering."""
    joint = model.joint(f"prop:{name}")
    adr = model.jnt_qposadr[joint.id]
    data.qpos[adr : adr + 7] = pose


def prop_geom_ids(model: mujoco.MjModel) -> dict[str, np.ndarray]:
    """Geom ids of each prop, by prop name: segmentation pixels map to props through these."""
    out: dict[str, list[int]] = {}
    for gid in range(model.ngeom):
        body = model.body(model.geom_bodyid[gid]).name
        if body.startswith("prop:"):
            out.setdefault(body[len("prop:") :], []).append(gid)
    return {k: np.asarray(v) for k, v in out.items()}

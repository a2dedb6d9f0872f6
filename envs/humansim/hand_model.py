"""Two articulated human hands with forearms for MuJoCo, built from the project's skeleton.

The hands must *look like hands to a real detector*, not like stick figures: MediaPipe found 57 %
of box-and-capsule hands but 80 % once the phalanges tapered with creases at the joints, the
palm had thenar and hypothenar bulk, the fingers had nails and knuckles, a sleeve covered the
forearm and the skin was a low-specular material in several tones (``shared/PACKAGE_NOTES.md``).
These hands are built that way; ``benchmarks/humansim_hand_detection.py`` measures them (85 % of
360 varied single-hand frames detected, 90 % of those where the hand is clearly visible rather
than edge-on). In its ablations, removing the knuckle spheres cost egocentric views 14 points,
fingers 10 % thinner cost 5 overall, and palms paler than backs (true of real hands) cost dark
tones half their detections, so the skin is one colour.

HumanSim is purely kinematic: a pose is written into ``qpos`` (``set_hand_pose``) and
``mj_forward`` runs before rendering; nothing collides and nothing is simulated.

Body tree of one hand (every name starts with ``prefix``, default ``"{side}_"``)
    ``{prefix}wrist``: free joint ``{prefix}root``; origin on keypoint 0, orientation the wrist
    rotation (hand frame -> world). It carries the palm (rigid with the wrist, as in the
    skeleton), the forearm and the sleeve. Below it, for each of the 15 MANO joints, a body
    ``{prefix}{joint}`` (``index1`` ... ``thumb3``) with a ball joint of the same name, placed on
    the joint's keypoint: body position = ``rest_offsets(beta, side)`` of that keypoint in the
    parent's frame, body quaternion identity (MANO's joint frames are aligned with the wrist
    frame at rest), ball-joint rotation = theta's local rotation R (right hand) or ``M R M`` with
    ``M = diag(-1, 1, 1)`` (left hand, whose geometry is mirrored while theta keeps the right-hand
    convention; see ``vitra_bench.hand.keypoint_frames``). Site ``{prefix}kp{k}`` marks keypoint k
    (group 5, invisible), so ``data.site_xpos`` equals ``forward_kinematics`` exactly.

Geoms and segmentation
    All visible geoms are in group 1 with ``contype = conaffinity = 0``. Hand geoms are named
    ``{prefix}hand_*``: ``hand_palm`` (a convex hull of knuckles, palmar pads, hypothenar and
    wrist), ``hand_bone{k}`` (the tapered phalanx from keypoint k), ``hand_joint{k}``,
    ``hand_knuckle{k}``, ``hand_web{k}``, ``hand_thenar``, ``hand_nail{k}``; the forearm and the
    sleeve are ``{prefix}forearm`` and ``{prefix}sleeve``. Materials are ``{prefix}skin``,
    ``{prefix}nail`` and ``{prefix}sleeve``. A segmentation render
    (``mujoco.Renderer.enable_segmentation_rendering``) gives geom ids per pixel: pixels whose id
    is in ``hand_geom_ids(model, handle)`` are that hand (``segmentation_mask`` makes the mask);
    ``forearm_geom_ids`` are *not* hand pixels (hand segmentation in the data engine means the
    hand up to the wrist crease, which is where the palm mesh ends; the wrist keypoint is on it).

Forearm
    A tapered, slightly flattened capsule 26 cm long from the wrist back along the hand frame's
    -x (the left hand's mirrored frame: +x), and a cloth sleeve from 9 cm behind the wrist to
    42 cm (past the elbow, so that no stump ends inside the image at working distances). Both
    are rigid with the wrist: a real forearm follows the elbow, but in egocentric and tabletop
    views the wrist's own rotation dominates what is seen, and a rigid forearm needs no arm model.

Hiding a hand
    ``hide_hand`` moves the hand to ``HIDDEN_POSITION`` (1 km below the origin): under any floor
    and beyond the far clipping plane of scene-sized models, so it renders no pixel. The model's
    geometry is untouched, so one compiled model serves clips with one or two hands.

For scene builders
    ``add_hand`` takes the spec, not a parent body: a free joint must hang from the world body.
    MuJoCo's near clipping plane is ``visual.map.znear`` times the model's extent, so a large
    scene (a 4 m floor gives an extent of ~10 m) clips hands nearer than ~10 cm unless znear is
    lowered. MediaPipe found the hands more often under soft light (headlight ambient 0.25-0.4)
    than under contrasty light (ambient 0.05-0.15: 5 points fewer), and at working distances
    than in close-ups where the hand and forearm fill the frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mujoco
import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import ConvexHull
from scipy.spatial.transform import Rotation

from vitra_bench.hand import (
    FINGER_JOINT_NAMES,
    FINGERTIPS,
    JOINT_KEYPOINTS,
    JOINT_PARENTS,
    NUM_JOINTS,
    NUM_KEYPOINTS,
    Side,
    beta_scales,
    rest_offsets,
)

HIDDEN_POSITION = np.array([0.0, 0.0, -1000.0])
VISIBLE_GROUP = 1  # geom group of every rendered hand/forearm geom
SITE_GROUP = 5  # keypoint sites: not drawn by MuJoCo's default visual options

# Skin tones (sRGB, light to dark), after the spread of the Monk skin tone scale (Google, 2022),
# nudged so that MuJoCo's lighting renders them near the swatches.
SKIN_TONES: dict[str, tuple[float, float, float]] = {
    "porcelain": (0.96, 0.83, 0.75),
    "light": (0.92, 0.75, 0.64),
    "light_medium": (0.86, 0.66, 0.52),
    "medium": (0.77, 0.56, 0.41),
    "olive": (0.68, 0.50, 0.35),
    "tan": (0.58, 0.40, 0.27),
    "brown": (0.43, 0.28, 0.19),
    "dark": (0.29, 0.18, 0.12),
}
SLEEVE_COLOURS: dict[str, tuple[float, float, float]] = {
    "navy": (0.12, 0.16, 0.30),
    "grey": (0.45, 0.45, 0.47),
    "black": (0.08, 0.08, 0.09),
    "white": (0.88, 0.88, 0.86),
    "red": (0.60, 0.12, 0.12),
    "green": (0.20, 0.35, 0.22),
    "denim": (0.28, 0.38, 0.55),
    "beige": (0.76, 0.68, 0.55),
}

_M = np.array([-1.0, 1.0, 1.0])
_SPHERE, _ELLIPSOID = mujoco.mjtGeom.mjGEOM_SPHERE, mujoco.mjtGeom.mjGEOM_ELLIPSOID
_FINGER_BASES = (1, 5, 9, 13, 17)  # keypoint order: thumb, index, middle, ring, pinky
# Skin radius (m, average hand) at each finger's keypoints base, +1, +2 and of the tip's pulp:
# adult finger breadths ~20 mm at the proximal phalanx down to ~14 mm at the pad.
_FINGER_RADII = {
    1: (0.0125, 0.0105, 0.0093, 0.0082),
    5: (0.0098, 0.0087, 0.0078, 0.0069),
    9: (0.0100, 0.0090, 0.0080, 0.0071),
    13: (0.0094, 0.0084, 0.0075, 0.0067),
    17: (0.0084, 0.0074, 0.0066, 0.0060),
}
_CREASE = 0.0025  # each phalanx stops this short of a joint; the joint sphere is thinner: a crease
_JOINT_SPHERE = 0.86  # joint sphere radius / phalanx radius at the joint
_FOREARM_LENGTH = 0.26
_SLEEVE_START = 0.09  # the cuff sits this far behind the wrist keypoint
_SLEEVE_END = 0.42  # past the elbow, so that no stump ends in view at working distances


@dataclass
class HandAppearance:
    """Colours and material of one hand; ``sample_appearance`` draws a varied one."""

    skin_rgba: tuple[float, float, float, float] = (*SKIN_TONES["light_medium"], 1.0)
    sleeve_rgba: tuple[float, float, float, float] = (*SLEEVE_COLOURS["navy"], 1.0)
    specular: float = 0.12
    shininess: float = 0.3

    @property
    def nail_rgba(self) -> tuple[float, float, float, float]:
        """Nails: the skin tone lightened toward pinkish white (nail beds are pale on every hand)."""
        return (*(0.5 * np.asarray(self.skin_rgba[:3]) + 0.5 * np.array([0.97, 0.86, 0.84])), 1.0)


@dataclass(frozen=True)
class HandHandle:
    """Names of one hand inside a spec / compiled model (ids are looked up per model)."""

    side: Side
    prefix: str
    beta: np.ndarray = field(compare=False)
    hand_geoms: tuple[str, ...]
    forearm_geoms: tuple[str, ...]

    @property
    def root_body(self) -> str:
        return f"{self.prefix}wrist"

    @property
    def root_joint(self) -> str:
        return f"{self.prefix}root"

    @property
    def joints(self) -> tuple[str, ...]:
        """Ball joints in MANO order (the rows of theta)."""
        return tuple(f"{self.prefix}{name}" for name in FINGER_JOINT_NAMES)

    @property
    def sites(self) -> tuple[str, ...]:
        """Keypoint sites in keypoint order."""
        return tuple(f"{self.prefix}kp{k}" for k in range(NUM_KEYPOINTS))


def sample_appearance(rng: np.random.Generator) -> HandAppearance:
    """A random skin tone (with a little jitter), sleeve colour and skin sheen."""
    tones = list(SKIN_TONES.values())
    skin = np.clip(np.asarray(tones[rng.integers(len(tones))]) * rng.uniform(0.95, 1.05, 3), 0, 1)
    sleeves = list(SLEEVE_COLOURS.values())
    sleeve = np.clip(np.asarray(sleeves[rng.integers(len(sleeves))]) + rng.uniform(-0.04, 0.04, 3), 0, 1)
    return HandAppearance(
        skin_rgba=(*skin, 1.0),
        sleeve_rgba=(*sleeve, 1.0),
        specular=float(rng.uniform(0.1, 0.3)),
        shininess=float(rng.uniform(0.2, 0.5)),
    )


def add_hand(
    spec: mujoco.MjSpec,
    side: Side,
    beta: ArrayLike | None = None,
    appearance: HandAppearance | None = None,
    prefix: str | None = None,
) -> HandHandle:
    """Add one hand with its forearm to ``spec`` (at the world body, free-floating) and name it.

    Args:
        spec: the scene's spec; the hand's materials, meshes and bodies are added to it.
        side: ``"left"`` or ``"right"``.
        beta: (10,) skeleton shape; betas 8 and 9 thicken fingers and palm.
        appearance: colours and material (default: a medium skin tone, navy sleeve).
        prefix: name prefix of everything added (default ``"{side}_"``); must be unique per spec.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    beta = np.zeros(10) if beta is None else np.asarray(beta, dtype=np.float64)
    builder = _HandBuilder(spec, side, beta, appearance or HandAppearance(), prefix or f"{side}_")
    return builder.build()


def set_hand_pose(
    model: mujoco.MjModel,
    data: mujoco.MjData,
    handle: HandHandle,
    wrist_rotation: ArrayLike,
    wrist_translation: ArrayLike,
    theta: ArrayLike,
) -> None:
    """Write a skeleton pose into ``data.qpos`` (call ``mj_forward`` before rendering).

    Args:
        wrist_rotation: (3, 3) hand frame -> world.
        wrist_translation: (3,) the wrist keypoint in the world.
        theta: (15, 3) local axis-angle rotations, MANO order, right-hand convention on both sides.
    """
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (NUM_JOINTS, 3):
        raise ValueError(f"theta: expected shape ({NUM_JOINTS}, 3), got {theta.shape}")
    if handle.side == "left":
        theta = theta * -_M  # rotation vector of M R M: (x, -y, -z)
    root = _qpos_address(model, handle.root_joint)
    data.qpos[root : root + 3] = wrist_translation
    data.qpos[root + 3 : root + 7] = Rotation.from_matrix(wrist_rotation).as_quat(scalar_first=True)
    quats = Rotation.from_rotvec(theta).as_quat(scalar_first=True)
    for name, quat in zip(handle.joints, quats):
        address = _qpos_address(model, name)
        data.qpos[address : address + 4] = quat


def hide_hand(model: mujoco.MjModel, data: mujoco.MjData, handle: HandHandle) -> None:
    """Move a hand that is not in the scene to ``HIDDEN_POSITION`` (flat, identity rotation)."""
    set_hand_pose(model, data, handle, np.eye(3), HIDDEN_POSITION, np.zeros((NUM_JOINTS, 3)))


def keypoint_sites(model: mujoco.MjModel, data: mujoco.MjData, handle: HandHandle) -> np.ndarray:
    """World positions (21, 3) of the keypoint sites after ``mj_forward``."""
    ids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, name) for name in handle.sites]
    return data.site_xpos[ids].copy()


def hand_geom_ids(model: mujoco.MjModel, handle: HandHandle) -> np.ndarray:
    """Geom ids of the hand proper (palm and fingers): its pixels in a segmentation render."""
    return _geom_ids(model, handle.hand_geoms)


def forearm_geom_ids(model: mujoco.MjModel, handle: HandHandle) -> np.ndarray:
    """Geom ids of the forearm and sleeve (not hand pixels)."""
    return _geom_ids(model, handle.forearm_geoms)


def segmentation_mask(segmentation: np.ndarray, geom_ids: np.ndarray) -> np.ndarray:
    """Boolean (H, W) mask of the pixels of ``geom_ids`` in a segmentation render (H, W, 2).

    The render holds (object id, object type) per pixel; only geom pixels count. The type is
    compared with a plain int: against MuJoCo's enum numpy falls back to a Python-level
    comparison per pixel (~0.5 s for 640x480).
    """
    is_geom = segmentation[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM)
    return is_geom & np.isin(segmentation[..., 0], geom_ids)


def hand_scene(
    betas: dict[str, ArrayLike] | None = None,
    appearances: dict[str, HandAppearance] | None = None,
) -> tuple[mujoco.MjSpec, dict[str, HandHandle]]:
    """A standalone spec with both hands, soft shadowless lights and a fixed camera ``camera``.

    Used by the tests and the detection benchmark; ``spec.to_xml()`` gives its MJCF. The camera
    is meant to be moved through ``model.cam_pos`` / ``model.cam_quat``.
    """
    spec = mujoco.MjSpec()
    spec.modelname = "humansim_hands"
    spec.visual.headlight.ambient = (0.35, 0.35, 0.35)
    spec.visual.headlight.diffuse = (0.35, 0.35, 0.35)
    spec.visual.headlight.specular = (0.05, 0.05, 0.05)
    for name, direction in (("key", (-0.3, 0.4, -1.0)), ("fill", (0.6, -0.5, -0.4))):
        light = spec.worldbody.add_light(name=name, type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL)
        light.dir = np.asarray(direction) / np.linalg.norm(direction)
        light.diffuse = (0.45, 0.45, 0.45) if name == "key" else (0.25, 0.25, 0.25)
        light.specular = (0.1, 0.1, 0.1)
        light.castshadow = False
    spec.worldbody.add_camera(name="camera", pos=(0.0, -0.5, 0.0), fovy=60.0)
    betas, appearances = betas or {}, appearances or {}
    handles = {side: add_hand(spec, side, betas.get(side), appearances.get(side)) for side in ("left", "right")}
    return spec, handles


# --- construction ----------------------------------------------------------------------------


class _HandBuilder:
    """Builds one hand in right-hand coordinates and mirrors every geom for a left hand."""

    def __init__(self, spec: mujoco.MjSpec, side: Side, beta: np.ndarray, look: HandAppearance, prefix: str):
        self.spec, self.side, self.beta, self.prefix = spec, side, beta, prefix
        scales = beta_scales(beta)
        self.offsets = rest_offsets(beta)  # right-hand geometry; mirrored when placed
        self.finger_scale = scales[0] * scales[8]
        self.palm_scale = scales[0] * scales[9]
        self.hand_geoms: list[str] = []
        self.forearm_geoms: list[str] = []
        self.materials: dict[str, str] = {}
        for part, rgba, specular, shininess in (
            ("skin", look.skin_rgba, look.specular, look.shininess),
            ("nail", look.nail_rgba, 2 * look.specular, 0.6),  # nails are glossier than skin
            ("sleeve", look.sleeve_rgba, 0.02, 0.05),
        ):
            material = spec.add_material(name=f"{prefix}{part}", rgba=rgba, specular=specular, shininess=shininess)
            material.reflectance = 0.0
            self.materials[part] = material.name

    def build(self) -> HandHandle:
        wrist = self.spec.worldbody.add_body(name=f"{self.prefix}wrist")
        wrist.add_freejoint(name=f"{self.prefix}root")
        self._inertia(wrist)
        self._site(wrist, 0, np.zeros(3))
        self._palm(wrist)
        self._forearm(wrist)
        bodies: list[mujoco.MjsBody] = []
        for joint, (keypoint, parent) in enumerate(zip(JOINT_KEYPOINTS, JOINT_PARENTS)):
            parent_body = wrist if parent < 0 else bodies[parent]
            body = parent_body.add_body(name=f"{self.prefix}{FINGER_JOINT_NAMES[joint]}")
            body.pos = self.offsets[keypoint] * (_M if self.side == "left" else 1.0)
            body.add_joint(name=f"{self.prefix}{FINGER_JOINT_NAMES[joint]}", type=mujoco.mjtJoint.mjJNT_BALL)
            self._inertia(body)
            self._site(body, keypoint, np.zeros(3))
            self._phalanx(body, keypoint)
            if keypoint + 1 in FINGERTIPS:
                self._site(body, keypoint + 1, self.offsets[keypoint + 1])
            bodies.append(body)
        return HandHandle(
            side=self.side,
            prefix=self.prefix,
            beta=self.beta.copy(),
            hand_geoms=tuple(self.hand_geoms),
            forearm_geoms=tuple(self.forearm_geoms),
        )

    # Parts, in right-hand coordinates of the body they belong to.

    def _palm(self, wrist: mujoco.MjsBody) -> None:
        """Palm: the convex hull of the knuckles, palmar pads, hypothenar and the wrist, plus webs.

        A hull keeps the outline smooth and round-edged; the hypothenar (little-finger side
        of the palm) is part of it, the thenar moves with the thumb metacarpal and lives on
        ``thumb1``. Knuckle spheres give the back of a fist its bumps, and thin webs between
        the finger bases stop the fingers looking stuck onto a box.
        """
        t, s, size = self.palm_scale, self.finger_scale, beta_scales(self.beta)[0]
        xz = np.array([size, t, size])  # palm-local lengths: widths scale with size, thickness with beta 9
        points = []
        for base in _FINGER_BASES[1:]:
            radius = _FINGER_RADII[base][0] * s
            points.append(_ellipsoid_points(self.offsets[base], (radius, radius * t / s, radius)))
            pad = self.offsets[base] + np.array([-0.006, 0.0035, 0.0]) * xz
            points.append(_ellipsoid_points(pad, (radius, 0.95 * radius * t / s, radius)))
        for centre, radii in (
            (self.offsets[1] / xz + (0.0, 0.003, -0.005), (0.016, 0.0125, 0.012)),  # the thumb's base
            ((0.036, 0.004, -0.028), (0.030, 0.0125, 0.0115)),  # hypothenar
            ((0.002, 0.0015, -0.003), (0.012, 0.0165, 0.0265)),  # wrist
        ):
            points.append(_ellipsoid_points(np.asarray(centre) * xz, np.asarray(radii) * xz))
        vertices, faces = _hull(np.concatenate(points))
        self._mesh(wrist, "hand_palm", (vertices, _vertex_normals(vertices, faces), faces))
        for base in _FINGER_BASES[1:]:
            knuckle = self.offsets[base] + np.array([0.0, -0.002, 0.0]) * xz
            radius = _FINGER_RADII[base][0] * s * 0.97
            self._primitive(wrist, f"hand_knuckle{base}", _SPHERE, (radius, 0.0, 0.0), knuckle)
        for first, second in zip(_FINGER_BASES[1:-1], _FINGER_BASES[2:]):
            a, b = self.offsets[first], self.offsets[second]
            centre = 0.5 * (a + b) + np.array([0.007, 0.002, 0.0]) * xz
            half_gap = 0.5 * np.linalg.norm(b - a)
            self._primitive(wrist, f"hand_web{first}", _ELLIPSOID, (0.011 * size, 0.005 * t, half_gap), centre)

    def _phalanx(self, body: mujoco.MjsBody, keypoint: int) -> None:
        """The bone from this body's keypoint to the next, a tapered capsule with creases at joints."""
        base = max(b for b in _FINGER_BASES if b <= keypoint)
        level = keypoint - base
        radii = np.asarray(_FINGER_RADII[base]) * self.finger_scale
        bone = self.offsets[keypoint + 1]
        length = np.linalg.norm(bone)
        axis = bone / length
        r0, r1 = radii[level], radii[level + 1]
        start = axis * _CREASE if level > 0 else np.zeros(3)  # a finger's base is buried in the palm
        end = bone - axis * (r1 if level == 2 else _CREASE)  # the tip keypoint lies on the skin of the pulp
        self._mesh(body, f"hand_bone{keypoint}", _tapered_capsule(start, end, r0, r1, flatten=0.9))
        if level > 0:
            self._primitive(body, f"hand_joint{keypoint}", _SPHERE, (r0 * _JOINT_SPHERE, 0.0, 0.0), np.zeros(3))
        if level == 0 and base == 1:
            self._thenar(body, bone, r0)
        if level == 2:
            self._nail(body, base, bone, r1)

    def _thenar(self, body: mujoco.MjsBody, bone: np.ndarray, radius: float) -> None:
        """The ball of the thumb and the web to the index finger, moving with the thumb metacarpal."""
        length = np.linalg.norm(bone)
        axis = bone / length
        normal = np.array([0.0, 1.0, 0.0])  # palmar
        inward = np.cross(normal, axis)  # in the palm plane, from the thumb toward the fingers
        frame = np.stack([axis, normal, -inward], axis=1)  # right-handed; the ellipsoids are symmetric
        t = self.palm_scale / self.finger_scale
        centre = 0.3 * bone + 0.0035 * self.palm_scale * normal + 0.006 * inward
        size = (0.62 * length, 0.95 * radius * t, 1.2 * radius)
        self._primitive(body, "hand_thenar", _ELLIPSOID, size, centre, frame)
        web = 0.72 * bone + 0.0015 * self.palm_scale * normal + 0.011 * inward
        size = (0.42 * length, 0.55 * radius * t, 1.05 * radius)
        self._primitive(body, "hand_web1", _ELLIPSOID, size, web, frame)

    def _nail(self, body: mujoco.MjsBody, base: int, bone: np.ndarray, tip_radius: float) -> None:
        """A thin ellipsoid on the back of the distal phalanx; the thumb's faces sideways (pronated)."""
        length = np.linalg.norm(bone)
        axis = bone / length
        back = np.array([0.0, -1.0, 0.0])
        if base == 1:
            outward = np.cross(axis, np.array([0.0, 1.0, 0.0]))  # away from the fingers, in the palm plane
            back = (back + 0.9 * outward) / np.linalg.norm(back + 0.9 * outward)
        across = np.cross(back, axis)
        radius = tip_radius * 1.04
        centre = (length - 0.9 * tip_radius - 0.25 * length) * axis + (radius - 0.0012) * back
        frame = np.stack([axis, across, back], axis=1)
        size = (max(0.3 * length, 0.0045), 0.72 * radius, 0.0011)
        self._primitive(body, f"hand_nail{base}", _ELLIPSOID, size, centre, frame, "nail")

    def _forearm(self, wrist: mujoco.MjsBody) -> None:
        """Forearm from behind the palm's wrist edge back along -x, and a sleeve over its far part."""
        size, t = beta_scales(self.beta)[0], self.palm_scale
        centre = np.array([0.0, 0.001, -0.004]) * size
        start = centre + (-0.016 * size, 0, 0)
        end = centre + (-_FOREARM_LENGTH * size, 0, 0)
        forearm = _tapered_capsule(start, end, 0.026 * size, 0.036 * size, flatten=0.68 * t)
        self._mesh(wrist, "forearm", forearm, hand=False)
        cuff = centre + (-_SLEEVE_START * size, 0, 0)
        far = centre + (-_SLEEVE_END * size, 0, 0)
        sleeve = _tapered_capsule(cuff, far, 0.036 * size, 0.046 * size, flatten=0.85)
        self._mesh(wrist, "sleeve", sleeve, "sleeve", hand=False)

    # MuJoCo elements, mirrored for a left hand.

    def _mesh(
        self, body: mujoco.MjsBody, name: str, surface: tuple[np.ndarray, np.ndarray, np.ndarray],
        material: str = "skin", hand: bool = True,
    ) -> None:  # fmt: skip
        """A mesh geom from ``(vertices, normals, faces)`` in right-hand coordinates."""
        vertices, normals, faces = surface
        if self.side == "left":
            vertices, normals = vertices * _M, normals * _M
            faces = faces[:, ::-1]  # a reflection reverses the winding
        mesh = self.spec.add_mesh(name=f"{self.prefix}{name}")
        mesh.uservert = vertices.ravel().tolist()
        mesh.userface = faces.ravel().tolist()
        mesh.usernormal = normals.ravel().tolist()
        geom = body.add_geom(name=f"{self.prefix}{name}", type=mujoco.mjtGeom.mjGEOM_MESH, meshname=mesh.name)
        self._finish(geom, material, hand)

    def _primitive(
        self, body: mujoco.MjsBody, name: str, geom_type: mujoco.mjtGeom, size: ArrayLike, pos: np.ndarray,
        frame: np.ndarray = np.eye(3), material: str = "skin",
    ) -> None:  # fmt: skip
        """A sphere or ellipsoid of the hand (primitives are never forearm geoms)."""
        if self.side == "left":
            pos, frame = pos * _M, frame * np.outer(_M, _M)  # symmetric shapes: M R M is their mirror
        geom = body.add_geom(name=f"{self.prefix}{name}", type=geom_type, size=size, pos=pos)
        geom.quat = Rotation.from_matrix(frame).as_quat(scalar_first=True)
        self._finish(geom, material, hand=True)

    def _finish(self, geom: mujoco.MjsGeom, material: str, hand: bool) -> None:
        geom.material = self.materials[material]
        geom.group = VISIBLE_GROUP
        geom.contype = geom.conaffinity = 0
        (self.hand_geoms if hand else self.forearm_geoms).append(geom.name)

    def _site(self, body: mujoco.MjsBody, keypoint: int, pos: np.ndarray) -> None:
        pos = pos * _M if self.side == "left" else pos
        name = f"{self.prefix}kp{keypoint}"
        body.add_site(name=name, pos=pos, size=(0.002, 0, 0), group=SITE_GROUP, rgba=(1, 0, 0, 0))

    @staticmethod
    def _inertia(body: mujoco.MjsBody) -> None:
        """A token explicit inertia: the model is kinematic, but moving bodies need positive mass."""
        body.explicitinertial = True
        body.mass = 0.01
        body.inertia = (1e-6, 1e-6, 1e-6)


# --- geometry --------------------------------------------------------------------------------


def _tapered_capsule(
    start: np.ndarray, end: np.ndarray, r0: float, r1: float, flatten: float = 1.0, slices: int = 20, stacks: int = 5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closed mesh of a sphere-swept cone (spheres r0 at ``start``, r1 at ``end``) with analytic normals.

    Capsules of one radius cannot taper, and a convex hull of the two spheres shades badly
    (long skinny triangles); this lofts the exact surface instead. ``flatten`` scales the
    cross-section along the y direction (orthogonalised against the axis): fingers and forearms
    are a little flatter palm-to-back than side-to-side. Returns vertices, normals (V, 3) and
    outward-wound faces (F, 3).
    """
    length = np.linalg.norm(end - start)
    u = (end - start) / length
    e2 = np.array([0.0, 1.0, 0.0]) - u[1] * u
    if np.linalg.norm(e2) < 1e-6:  # axis along y: any perpendicular
        e2 = np.array([1.0, 0.0, 0.0]) - u[0] * u
    e2 /= np.linalg.norm(e2)
    e1 = np.cross(e2, u)  # (e1, e2, u) right-handed
    tangent = np.arcsin(np.clip((r0 - r1) / length, -1.0, 1.0))  # elevation of the cone's normal
    elevations = np.concatenate(
        [np.linspace(-np.pi / 2, tangent, stacks + 1)[1:], np.linspace(tangent, np.pi / 2, stacks + 1)[:-1]]
    )
    centres = np.where((np.arange(2 * stacks) < stacks)[:, None], start, end)
    radii = np.where(np.arange(2 * stacks) < stacks, r0, r1)
    azimuth = np.linspace(0.0, 2 * np.pi, slices, endpoint=False)
    cos_e, sin_e = np.cos(elevations)[:, None, None], np.sin(elevations)[:, None, None]
    radial = np.cos(azimuth)[:, None] * e1 + flatten * np.sin(azimuth)[:, None] * e2
    radial_normal = np.cos(azimuth)[:, None] * e1 + np.sin(azimuth)[:, None] * e2 / flatten
    rings = centres[:, None] + radii[:, None, None] * (cos_e * radial + sin_e * u)
    ring_normals = cos_e * radial_normal + sin_e * u
    vertices = np.concatenate([[start - r0 * u], rings.reshape(-1, 3), [end + r1 * u]])
    normals = np.concatenate([[-u], ring_normals.reshape(-1, 3), [u]])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    # Winding: with (e1, e2, u) right-handed, (azimuth step) x (elevation step) points outward.
    last = len(vertices) - 1
    index = 1 + np.arange(2 * stacks)[:, None] * slices + np.arange(slices)
    following = np.roll(index, -1, axis=1)
    a, b, c, d = index[:-1], following[:-1], following[1:], index[1:]
    faces = [
        np.stack([np.zeros(slices, int), following[0], index[0]], axis=1),
        np.stack([a, b, c], axis=-1).reshape(-1, 3),
        np.stack([a, c, d], axis=-1).reshape(-1, 3),
        np.stack([index[-1], following[-1], np.full(slices, last)], axis=1),
    ]
    return vertices, normals, np.concatenate(faces)


def _ellipsoid_points(centre: np.ndarray, radii: ArrayLike, count: int = 60) -> np.ndarray:
    """Evenly spread points on an axis-aligned ellipsoid (a stretched Fibonacci lattice)."""
    k = np.arange(count) + 0.5
    polar = np.arccos(1 - 2 * k / count)
    azimuth = np.pi * (1 + 5**0.5) * k
    unit = np.stack([np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth), np.cos(polar)], axis=1)
    return centre + unit * np.asarray(radii)


def _hull(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and outward-wound faces of the convex hull of ``points``."""
    hull = ConvexHull(points)
    used = np.unique(hull.simplices)
    remap = np.full(len(points), -1)
    remap[used] = np.arange(len(used))
    faces = remap[hull.simplices]
    vertices = points[used]
    a, b, c = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    inward = np.einsum("ij,ij->i", np.cross(b - a, c - a), hull.equations[:, :3]) < 0
    faces[inward] = faces[inward][:, ::-1]
    return vertices, faces


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals (V, 3) of a closed, outward-wound mesh."""
    a, b, c = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    face_normals = np.cross(b - a, c - a)  # length = twice the area
    normals = np.zeros_like(vertices)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_normals)
    return normals / np.linalg.norm(normals, axis=1, keepdims=True)


def _qpos_address(model: mujoco.MjModel, joint: str) -> int:
    joint_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, joint)
    if joint_id < 0:
        raise KeyError(f"joint {joint!r} is not in the model")
    return int(model.jnt_qposadr[joint_id])


def _geom_ids(model: mujoco.MjModel, names: tuple[str, ...]) -> np.ndarray:
    ids = np.array([mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, name) for name in names], dtype=int)
    if np.any(ids < 0):
        raise KeyError(f"geoms missing from the model: {[n for n, i in zip(names, ids) if i < 0]}")
    return ids

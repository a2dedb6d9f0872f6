"""HumanSim motion programs: determinism, segment timing, joint limits, holding, placing, wording."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from envs.humansim.motions import Stage, grasp_target, make_choreography, programs, reach_from_distance, scripts
from envs.humansim.spec import HANDS, Choreography, GeomSpec, Grasp, Prop
from vitra_bench import hand as hk

TABLE = 0.75
FPS = 30.0
COLOURS = ("red", "green", "blue", "yellow", "white", "purple", "orange", "black")


# --- hand-made props: a few primitives, a grasp, a surface point cloud (prop frame, base at z = 0) ---


def _cylinder_points(rng: np.random.Generator, radius: float, height: float, hollow: float = 0.0, n: int = 600) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi, n)
    side = np.stack([radius * np.cos(angle), radius * np.sin(angle), rng.uniform(0, height, n)], axis=1)
    disc_r = radius * np.sqrt(rng.random(n // 3))
    disc_a = rng.uniform(0, 2 * np.pi, n // 3)
    disc = np.stack([disc_r * np.cos(disc_a), disc_r * np.sin(disc_a)], axis=1)
    bottom = np.concatenate([disc, np.zeros((len(disc), 1))], axis=1)
    if not hollow:
        top = np.concatenate([disc, np.full((len(disc), 1), height)], axis=1)
        return np.concatenate([side, bottom, top])
    inner = side * [(radius - hollow) / radius, (radius - hollow) / radius, 1.0]
    inner[:, 2] = np.maximum(inner[:, 2], hollow)
    floor = np.concatenate([disc * (radius - hollow) / radius, np.full((len(disc), 1), hollow)], axis=1)
    return np.concatenate([side, bottom, inner, floor])


def _box_points(rng: np.random.Generator, half: np.ndarray, n: int = 900) -> np.ndarray:
    points = rng.uniform(-1, 1, (n, 3)) * half
    face = rng.integers(0, 3, n)
    points[np.arange(n), face] = np.sign(rng.uniform(-1, 1, n)) * half[face]
    return points + [0.0, 0.0, half[2]]


def make_prop(rng: np.random.Generator, category: str, name: str, xy: tuple[float, float], yaw: float = 0.0) -> Prop:
    """A prop of ``category`` resting on the table at ``xy``: what the object library would give."""
    colour = COLOURS[int(rng.integers(len(COLOURS)))]
    s = rng.uniform(0.9, 1.1)
    if category in ("cup", "mug", "glass", "bottle", "can", "bowl", "pot"):
        radius, height, hollow = {
            "cup": (0.04, 0.10, 0.004), "mug": (0.042, 0.1, 0.004), "glass": (0.035, 0.12, 0.003),
            "bottle": (0.035, 0.22, 0.0), "can": (0.033, 0.12, 0.0), "bowl": (0.08, 0.06, 0.005), "pot": (0.1, 0.1, 0.005),
        }[category]  # fmt: skip
        radius, height = radius * s, height * s
        geoms = [GeomSpec("cylinder", (radius, height / 2), (0.0, 0.0, height / 2))]
        points = _cylinder_points(rng, radius, height, hollow)
        if category in ("bowl", "pot"):  # low and wide: pinched at the rim from above
            grasp = Grasp(np.array([0.0, -radius + 0.01, height + 0.035]), np.array([0.0, 0.3, -0.954]), 0.02)
        else:
            grasp = Grasp(np.array([0.0, -(radius + 0.02), 0.5 * height]), np.array([0.0, 1.0, 0.0]), 2 * radius)
    elif category in ("box", "sponge", "cloth", "drawer", "lid"):
        half = s * np.array(
            {"box": (0.05, 0.04, 0.04), "sponge": (0.05, 0.035, 0.02), "cloth": (0.1, 0.08, 0.004),
             "drawer": (0.15, 0.12, 0.06), "lid": (0.06, 0.06, 0.01)}[category]
        )  # fmt: skip
        geoms = [GeomSpec("box", tuple(half), (0.0, 0.0, half[2]))]
        points = _box_points(rng, half)
        if category == "drawer":
            geoms.append(GeomSpec("capsule", (0.01, 0.05), (0.0, -half[1] - 0.02, half[2]), (0.7071, 0.0, 0.7071, 0.0)))
            handle = np.stack([rng.uniform(-0.05, 0.05, 100), np.full(100, -half[1] - 0.02), np.full(100, half[2])], axis=1)
            points = np.concatenate([points, handle])
            grasp = Grasp(np.array([0.0, -half[1] - 0.045, half[2]]), np.array([0.0, 1.0, 0.0]), 0.02, handle=True)
        else:
            grasp = Grasp(np.array([0.0, 0.0, 2 * half[2] + 0.02]), np.array([0.0, 0.0, -1.0]), 2 * half[1])
        height = 2 * half[2]
    elif category == "ball":
        radius = 0.035 * s
        geoms = [GeomSpec("sphere", (radius,), (0.0, 0.0, radius))]
        direction = rng.normal(size=(500, 3))
        points = radius * direction / np.linalg.norm(direction, axis=1, keepdims=True) + [0.0, 0.0, radius]
        grasp = Grasp(np.array([0.0, 0.0, 2 * radius + 0.02]), np.array([0.0, 0.0, -1.0]), 2 * radius)
        height = 2 * radius
    elif category == "brush":
        geoms = [GeomSpec("capsule", (0.012, 0.07), (0.0, 0.0, 0.012), (0.7071, 0.0, 0.7071, 0.0))]
        points = np.stack([rng.uniform(-0.08, 0.08, 400), rng.uniform(-0.012, 0.012, 400), rng.uniform(0, 0.024, 400)], axis=1)
        grasp = Grasp(np.array([-0.04, 0.0, 0.045]), np.array([0.0, 0.0, -1.0]), 0.025, handle=True)
        height = 0.024
    else:
        raise ValueError(category)
    pose = np.concatenate([[xy[0], xy[1], TABLE], Rotation.from_rotvec([0, 0, yaw]).as_quat(scalar_first=True)])
    return Prop(name, category, colour, (0.5, 0.5, 0.5, 1.0), geoms, pose, grasp, points, height)


def scene(rng: np.random.Generator, categories: tuple[str, ...]) -> list[Prop]:
    """Props of ``categories`` spread over the table in front of the person, their footprints apart."""
    props: list[Prop] = []
    for i, category in enumerate(categories):
        for _ in range(200):
            xy = (rng.uniform(-0.3, 0.3), rng.uniform(-0.12, 0.2))
            prop = make_prop(rng, category, f"{category}_{i}", xy, rng.uniform(-0.3, 0.3))
            radius = np.linalg.norm(prop.points[:, :2], axis=1).max()
            if all(np.linalg.norm(np.subtract(xy, p.pose[:2])) > radius + np.linalg.norm(p.points[:, :2], axis=1).max() + 0.02 for p in props):
                break
        props.append(prop)
    return props


KITCHEN = ("cup", "bottle", "bowl", "box", "sponge", "ball")


# --- helpers ---------------------------------------------------------------------------------------


def wrist_speed(motion) -> np.ndarray:
    """Per-frame wrist speed (m/s), central differences."""
    return np.linalg.norm(np.gradient(motion.translation, axis=0), axis=1) * FPS


def pose_matrices(poses: np.ndarray) -> np.ndarray:
    matrices = np.broadcast_to(np.eye(4), poses.shape[:-1] + (4, 4)).copy()
    matrices[..., :3, :3] = Rotation.from_quat(poses[..., 3:], scalar_first=True).as_matrix()
    matrices[..., :3, 3] = poses[..., :3]
    return matrices


def wrist_matrices(motion) -> np.ndarray:
    matrices = np.broadcast_to(np.eye(4), (len(motion.translation), 4, 4)).copy()
    matrices[:, :3, :3], matrices[:, :3, 3] = motion.rotation, motion.translation
    return matrices


def moved_props(choreo: Choreography) -> set[str]:
    return {name for name, poses in choreo.prop_poses.items() if np.ptp(poses, axis=0).max() > 0}


def clips(style: str, seeds: range, categories=KITCHEN, **kwargs) -> list[tuple[list[Prop], Choreography]]:
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        props = scene(rng, categories)
        out.append((props, make_choreography(rng, props, TABLE, style=style, **kwargs)))
    return out


@pytest.fixture(scope="module")
def wild_clips():
    return clips("wild", range(8)) + clips("wild", range(8, 13), ("bottle", "cup", "cloth", "brush", "drawer", "ball", "bowl"))


@pytest.fixture(scope="module")
def lab_clips():
    return clips("lab", range(4))


# --- tests -----------------------------------------------------------------------------------------


def test_same_rng_same_clip():
    a = clips("wild", range(3, 4))[0][1]
    b = clips("wild", range(3, 4))[0][1]
    for side in HANDS:
        np.testing.assert_array_equal(a.hands[side].translation, b.hands[side].translation)
        np.testing.assert_array_equal(a.hands[side].theta, b.hands[side].theta)
    for name in a.prop_poses:
        np.testing.assert_array_equal(a.prop_poses[name], b.prop_poses[name])
    assert a.segments == b.segments and a.narrations == b.narrations


def test_shapes_and_presence(wild_clips, lab_clips):
    for props, choreo in wild_clips + lab_clips:
        n = choreo.num_frames
        assert set(choreo.hands) == set(HANDS)
        for motion in choreo.hands.values():
            assert motion.rotation.shape == (n, 3, 3) and motion.translation.shape == (n, 3)
            assert motion.theta.shape == (n, 15, 3) and motion.present.shape == (n,) and motion.present.all()
            assert np.allclose(np.linalg.det(motion.rotation), 1.0)
        assert set(choreo.prop_poses) == {p.name for p in props}
        assert all(poses.shape == (n, 7) for poses in choreo.prop_poses.values())


def test_spans_half_open_disjoint_and_inside(wild_clips, lab_clips):
    for _, choreo in wild_clips + lab_clips:
        assert choreo.segments
        for side in HANDS:
            spans = sorted((s.start, s.end) for s in choreo.segments if s.hand == side)
            for (start, end), following in zip(spans, spans[1:] + [(choreo.num_frames, None)]):
                assert 0 <= start < end <= following[0] <= choreo.num_frames


def test_segment_boundaries_at_wrist_speed_minima(wild_clips, lab_clips):
    for _, choreo in wild_clips + lab_clips:
        for segment in choreo.segments:
            speed = wrist_speed(choreo.hands[segment.hand])
            peak = speed[segment.start : segment.end].max()
            assert peak > 0.02, segment  # a segment is a movement
            for boundary in (segment.start, segment.end):
                window = speed[max(boundary - 2, 0) : boundary + 3]
                low = window.argmin() + max(boundary - 2, 0)
                # a local minimum within +-2 frames (up to 1 mm/s: a resting hand is never quite
                # still), far below the movement's peak
                neighbours = speed[max(low - 1, 0)], speed[min(low + 1, len(speed) - 1)]
                assert speed[low] <= min(neighbours) + 1e-3, segment
                assert speed[low] < 0.05 * peak, (segment, speed[low], peak)
            margin = max(3, (segment.end - segment.start) // 10)
            inside = speed[segment.start + margin : segment.end - margin]
            assert inside.min() > 0.02 * peak, segment  # one movement: the hand does not stop inside


def test_theta_within_joint_limits(wild_clips, lab_clips):
    low, high = hk.JOINT_LIMITS[..., 0], hk.JOINT_LIMITS[..., 1]
    for _, choreo in wild_clips + lab_clips:
        for motion in choreo.hands.values():
            assert np.all(motion.theta >= low - 1e-9) and np.all(motion.theta <= high + 1e-9)


def test_props_move_only_rigidly_with_a_hand(wild_clips):
    """Whenever a prop moves, its pose in some wrist's frame stays constant over that step."""
    moved = 0
    for _, choreo in wild_clips:
        relative = {h: np.linalg.inv(wrist_matrices(choreo.hands[h])) for h in HANDS}
        for name, poses in choreo.prop_poses.items():
            steps = np.flatnonzero(np.linalg.norm(np.diff(poses, axis=0), axis=1) > 1e-9)
            props = pose_matrices(poses)
            rigid = np.zeros(len(steps), dtype=bool)
            for h in HANDS:
                in_hand = relative[h] @ props
                rigid |= np.abs(in_hand[steps + 1] - in_hand[steps]).max(axis=(1, 2)) < 1e-9
            assert rigid.all(), (name, steps[~rigid])
            moved += len(steps) > 0
    assert moved >= 20


def test_fingers_stay_above_the_table(wild_clips, lab_clips):
    """Keypoints do not sink into the table (a few millimetres at most, on rare frames)."""
    depths = []
    for _, choreo in wild_clips + lab_clips:
        for side, motion in choreo.hands.items():
            keypoints = hk.forward_kinematics(motion.rotation, motion.translation, motion.theta, side=side)
            depths.append(TABLE - keypoints[..., 2].min(axis=1))
    depths = np.concatenate(depths)
    assert depths.max() < 0.03 and np.mean(depths > 0.005) < 0.01


def test_palm_reaches_the_grasp_point():
    """At the end of each grasp segment the palm point sits on the prop's grasp point."""
    for props, choreo in clips("lab", range(6)) + clips("wild", range(6)):
        poses = {p.name: p for p in props}
        for segment in choreo.segments:
            handed = any(s.action == "handover" and s.target == segment.target for s in choreo.segments)
            if segment.action != "grasp" or handed:  # a hand-over is taken on the far side
                continue
            motion = choreo.hands[segment.hand]
            frame = segment.end
            keypoints = hk.forward_kinematics(motion.rotation[frame], motion.translation[frame], motion.theta[frame], side=segment.hand)
            point, _ = grasp_target(poses[segment.target], choreo.prop_poses[segment.target][frame], segment.hand)
            assert np.linalg.norm(hk.palm_point(keypoints) - point) < 0.01, segment


def test_grasp_of_a_box_uses_its_own_grasp_point():
    """A non-round prop is taken exactly where its ``Grasp`` says."""
    rng = np.random.default_rng(5)
    box = make_prop(rng, "box", "box_0", (0.1, 0.05), 0.4)
    choreo = reach_from_distance(rng, box, TABLE, lift=False)
    (segment,) = choreo.segments
    motion = choreo.hands["right"]
    keypoints = hk.forward_kinematics(motion.rotation[segment.end], motion.translation[segment.end], motion.theta[segment.end])
    rotation = Rotation.from_quat(box.pose[3:], scalar_first=True).as_matrix()
    assert np.linalg.norm(hk.palm_point(keypoints) - (box.pose[:3] + rotation @ box.grasp.point)) < 0.01


def test_reach_starts_at_the_requested_distance():
    rng = np.random.default_rng(2)
    for hand in HANDS:
        cup = make_prop(rng, "cup", "cup_0", (0.05, 0.05))
        choreo = reach_from_distance(rng, cup, TABLE, hand=hand, distance=0.2)
        motion = choreo.hands[hand]
        grasp_segment, lift_segment = choreo.segments
        assert (grasp_segment.action, lift_segment.action) == ("grasp", "lift")
        start = hk.palm_point(hk.forward_kinematics(motion.rotation[0], motion.translation[0], motion.theta[0], side=hand))
        point, _ = grasp_target(cup, cup.pose, hand)
        assert abs(np.linalg.norm(start - point) - 0.2) < 1e-6
        assert choreo.prop_poses["cup_0"][-1, 2] > TABLE + 0.05  # lifted


def test_placed_props_rest_on_the_table(wild_clips, lab_clips):
    """After a place or push the prop rests on the table, or inside the container its instruction names."""
    checked = 0
    for props, choreo in wild_clips + lab_clips:
        by_name = {p.name: p for p in props}
        for segment in choreo.segments:
            if segment.action not in ("place", "push"):
                continue
            prop, pose = by_name[segment.target], choreo.prop_poses[segment.target][segment.end]
            rotation = Rotation.from_quat(pose[3:], scalar_first=True).as_matrix()
            lowest = (prop.points @ rotation.T)[:, 2].min() + pose[2]
            holders = [p for p in props if p is not prop and f"{p.colour} {p.category}" in segment.instruction]
            inside = [p for p in holders if np.linalg.norm(choreo.prop_poses[p.name][segment.end, :2] - pose[:2]) < 0.05]
            if segment.action == "push":  # slid: neither lifted nor sunk
                assert abs(pose[2] - choreo.prop_poses[segment.target][segment.start, 2]) < 1e-9, segment
            elif inside:
                assert TABLE < lowest < TABLE + inside[0].height, segment
            else:
                assert abs(lowest - TABLE) < 1e-9, segment
            checked += 1
            later = [s.start for s in choreo.segments if s.target == segment.target and s.start >= segment.end]
            still = choreo.prop_poses[segment.target][segment.end : min(later, default=None)]
            assert np.allclose(still, pose), segment  # and it stays there until handled again
    assert checked >= 30


def test_props_stay_still_unless_handled(wild_clips):
    for _, choreo in wild_clips:
        targets = {s.target for s in choreo.segments if s.action in ("grasp", "push")}
        assert moved_props(choreo) <= targets


def test_instructions_name_colour_and_category(wild_clips, lab_clips):
    for props, choreo in wild_clips + lab_clips:
        by_name = {p.name: p for p in props}
        for segment in choreo.segments:
            assert segment.instruction.endswith(".") and segment.instruction[0].isupper()
            assert 3 <= len(segment.rephrases) <= 4 and segment.instruction not in segment.rephrases
            if segment.target is not None:
                prop = by_name[segment.target]
                for text in [segment.instruction, *segment.rephrases]:
                    assert prop.colour in text and prop.category in text, text


def test_narrations_are_coarse_and_loose(wild_clips):
    for _, choreo in wild_clips:
        duration = choreo.num_frames / FPS
        assert choreo.narrations
        times = [n.time for n in choreo.narrations]
        assert times == sorted(times) and all(0 <= t <= duration for t in times)
        assert all(n.text.startswith("#C C ") for n in choreo.narrations)
        assert len(choreo.narrations) <= len(choreo.segments)


def test_every_activity_runs_on_random_props():
    """Each activity on a few random scenes that allow it: the clip is valid and has its action."""
    cases = {
        "pick_place": (lambda s: scripts.pick_and_place(s, "right"), KITCHEN, "place"),
        "push": (lambda s: scripts.push_activity(s, "left"), KITCHEN, "push"),
        "pour": (lambda s: scripts.pour_activity(s, "right"), ("bottle", "cup", "box"), "pour"),
        "pour_steady": (lambda s: scripts.pour_activity(s, "left", steady=True), ("bottle", "bowl", "ball"), "pour"),
        "wipe": (lambda s: scripts.wipe_activity(s, ["right"]), ("sponge", "cup", "box"), "wipe"),
        "sweep": (lambda s: scripts.wipe_activity(s, ["left"]), ("brush", "cup"), "wipe"),
        "wipe_both": (lambda s: scripts.wipe_activity(s, list(HANDS)), ("sponge", "cloth", "cup"), "wipe"),
        "open": (lambda s: scripts.open_activity(s, "right"), ("drawer", "cup"), "open"),
        "open_lid": (lambda s: scripts.open_activity(s, "right"), ("lid", "cup"), "open"),
        "handover": (lambda s: scripts.handover_activity(s, "right"), ("ball", "bottle", "cup"), "handover"),
        "both": (lambda s: scripts.both_pick_and_place(s), KITCHEN, "place"),
    }
    for name, (activity, categories, action) in cases.items():
        ran = 0
        for seed in range(8):
            rng = np.random.default_rng(seed)
            stage = Stage(rng, scene(rng, categories), TABLE, FPS, "wild")
            try:
                activity(stage)
            except programs.Infeasible:
                continue
            choreo = stage.finish()
            assert any(s.action == action for s in choreo.segments), name
            assert all(stage.held(h) is None for h in HANDS), name  # activities leave the hands free
            ran += 1
            if ran == 3:
                break
        assert ran == 3, name


def test_lab_style_is_single_handed_pick_and_place(lab_clips):
    for _, choreo in lab_clips:
        assert len({s.hand for s in choreo.segments}) == 1
        assert [s.action for s in choreo.segments] == ["grasp", "place", "retract"] * 2


def test_fixed_length_clips():
    rng = np.random.default_rng(9)
    props = scene(rng, KITCHEN)
    for frames in (20, 150, 400):
        choreo = make_choreography(np.random.default_rng(frames), props, TABLE, num_frames=frames, style="wild")
        assert choreo.num_frames == frames
        assert all(s.end <= frames for s in choreo.segments)
    single = make_choreography(np.random.default_rng(1), props, TABLE, num_frames=300, hands=["left"])
    assert {s.hand for s in single.segments} <= {"left"}
    assert np.ptp(single.hands["right"].translation, axis=0).max() < 0.02  # the unused hand rests


def test_the_library_drawer_is_opened_by_pulling_it_toward_the_body() -> None:
    from envs.humansim import objects, scene

    table = scene.make_table(scene.SceneConfig(variation="wild", environment_id=3))
    for seed in range(40):
        rng = np.random.default_rng(seed)
        props = [objects.make_prop(c, rng, name=f"{c}_{i}") for i, c in enumerate(["drawer", "cup", "bottle"])]
        placed = objects.place_props(rng, props, table)
        props = [p for p in props if p.name in placed]
        choreography = make_choreography(
            rng, props, table.height, None, 30.0, "wild", table_center=table.center, workspace=table.reach_region
        )
        opened = [s for s in choreography.segments if s.action == "open"]
        if opened:
            poses = choreography.prop_poses[opened[0].target]
            assert poses[opened[0].end - 1, 1] < poses[opened[0].start, 1] - 0.04  # slid toward the person (-y)
            assert "drawer" in opened[0].instruction
            return
    pytest.fail("no clip of 40 opened the drawer")

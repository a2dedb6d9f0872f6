"""The XHAND1 <-> MANO theta joint table (vitra_bench/xhand_mapping.py)."""

import numpy as np
import pytest

from vitra_bench import xhand_mapping as hm
from vitra_bench.hand import FINGER_JOINT_NAMES
from vitra_bench.layout import FINGERS, HAND_ACTION_DIM, finger_slot

# XHAND1 finger name -> MANO finger name.
FINGER = {
    "thumb": "thumb",
    "index": "index",
    "mid": "middle",
    "ring": "ring",
    "pinky": "pinky",
}


@pytest.mark.parametrize("table", ["project", "release"])
def test_round_trip_is_identity(table):
    rng = np.random.default_rng(0)
    q = rng.uniform(-2.0, 2.0, size=(7, 3, 12))
    theta = hm.xhand_to_theta(q, table)
    assert theta.shape == (7, 3, 45)
    np.testing.assert_array_equal(hm.theta_to_xhand(theta, table), q)
    np.testing.assert_array_equal(
        hm.theta_to_xhand(hm.xhand_to_theta(q[0, 0], table), table), q[0, 0]
    )


@pytest.mark.parametrize("table", ["project", "release"])
def test_mask_covers_exactly_the_mapped_slots(table):
    mask = hm.theta_mask(table)
    assert mask.shape == (45,) and mask.sum() == 12
    rng = np.random.default_rng(1)
    theta = hm.xhand_to_theta(
        rng.uniform(0.1, 1.0, 12), table
    )  # no zero angles: every mapped slot is nonzero
    np.testing.assert_array_equal(theta != 0, mask)
    # Slots outside the mask never reach the robot.
    noise = np.where(mask, 0.0, rng.normal(size=45))
    np.testing.assert_array_equal(hm.theta_to_xhand(noise, table), np.zeros(12))
    action = hm.action_mask(table)
    assert action.shape == (HAND_ACTION_DIM,) and action[:6].all()
    np.testing.assert_array_equal(action[FINGERS], mask)


def test_mapped_values_sit_in_mano_joint_order():
    # DESIGN.md / VITRA_FACTS.md: theta is joint-major in MANO order index, middle, pinky, ring, thumb.
    assert FINGER_JOINT_NAMES[::3] == ("index1", "middle1", "pinky1", "ring1", "thumb1")
    q = np.arange(1.0, 13.0)  # joint k carries the value k + 1
    theta = hm.xhand_to_theta(q, "project")
    expected = {  # (MANO joint name, axis) per XHAND1 joint, the documented project table
        "thumb_bend": ("thumb1", 2, +1), "thumb_rota1": ("thumb1", 1, +1), "thumb_rota2": ("thumb2", 1, +1),
        "index_bend": ("index1", 1, -1), "index_joint1": ("index1", 2, +1), "index_joint2": ("index2", 2, +1),
        "mid_joint1": ("middle1", 2, +1), "mid_joint2": ("middle2", 2, +1),
        "ring_joint1": ("ring1", 2, +1), "ring_joint2": ("ring2", 2, +1),
        "pinky_joint1": ("pinky1", 2, +1), "pinky_joint2": ("pinky2", 2, +1),
    }  # fmt: skip
    for k, name in enumerate(hm.XHAND1_JOINTS):
        mano_name, axis, sign = expected[name]
        mano = FINGER_JOINT_NAMES.index(mano_name)
        assert mano_name.startswith(FINGER[name.split("_")[0]])
        # The same slot through the action layout: finger_slot counts the 6 wrist dims.
        assert theta[finger_slot(mano, axis) - FINGERS.start] == sign * (k + 1), name
    # The flexion slots of the four fingers' MCPs come in MANO order index < middle < pinky < ring < thumb.
    slots = [int(np.flatnonzero(theta == v)[0]) for v in (5.0, 7.0, 11.0, 9.0, 1.0)]
    assert slots == sorted(slots) == [2, 11, 20, 29, 38]


def test_release_table_matches_the_published_pairs():
    # (xhand_idx, human_idx, sign): robot index - 6 is the SDK joint, human index - 6 the theta slot;
    # y-axis signs flip into this project's axes (MANO turned 180 deg about z).
    for robot, human, sign in hm.RELEASE_PAIRS:
        row = next(r for r in hm.RELEASE_TABLE if r.robot == robot - 6)
        assert row.slot == human - 6
        assert row.sign == (sign if row.axis == 2 else -sign)
    # The two tables agree on everything but the second joint of the four fingers (PIP vs DIP).
    differ = {
        hm.XHAND1_JOINTS[a.robot]
        for a, b in zip(hm.PROJECT_TABLE, hm.RELEASE_TABLE)
        if a != b
    }
    assert differ == {"index_joint2", "mid_joint2", "ring_joint2", "pinky_joint2"}


def test_names_and_errors():
    assert hm.mjcf_joint_names("right")[0] == "rh_thumb_bend"
    assert hm.mjcf_joint_names("left")[-1] == "lh_pinky_joint2"
    with pytest.raises(ValueError):
        hm.xhand_to_theta(np.zeros(11))
    with pytest.raises(ValueError):
        hm.theta_to_xhand(np.zeros(51))
    with pytest.raises(ValueError):
        hm.theta_mask("vitra")
    with pytest.raises(ValueError):
        hm.mjcf_joint_names("both")

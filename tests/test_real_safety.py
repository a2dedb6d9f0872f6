"""The safety layer: property tests (no command ever leaves the joint, speed or workspace limits, whatever
the policy asks) and the halting behaviour (error codes, driver failures, watchdog) with in-memory robots."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from real.action_mapping import ActionMapper
from real.calibration import Calibration
from real.interfaces import DeviceError, JointState, Robot
from real.kinematics import ArmKinematics
from real.robots.xhand.driver import HAND_LOWER, HAND_UPPER
from real.safety import CommandFilter, SafetyConfig, SafetyLayer, SafetyStop
from vitra_bench import layout

KIN = ArmKinematics()
CONFIG = SafetyConfig()
DT = 1 / 30
EPS = 1e-9

wild = st.floats(allow_nan=True, allow_infinity=True, width=64)
offsets = arrays(np.float64, 7, elements=st.floats(-3.0, 3.0))
hand_requests = arrays(np.float64, 12, elements=st.one_of(st.floats(-5.0, 5.0), st.just(np.nan)))
lag = arrays(np.float64, 7, elements=st.floats(-0.05, 0.05))


def _check(filt: CommandFilter, history: list[tuple[float, np.ndarray]], hands: list[np.ndarray]) -> None:
    """Every commanded arm and hand target obeys every limit."""
    arms = np.array([q for _, q in history])
    times = np.array([t for t, _ in history])
    assert np.all(np.isfinite(arms))
    assert np.all(arms[1:] >= filt.arm_lower - EPS) and np.all(arms[1:] <= filt.arm_upper + EPS)
    steps = np.abs(np.diff(arms, axis=0))
    assert np.all(steps <= CONFIG.max_step + EPS)
    for i, t in enumerate(times[1:], start=1):  # any window of speed_window_s ending at a command
        window = (times[1:] > t - CONFIG.speed_window_s) & (times[1:] <= t)
        assert np.all(steps[window].sum(axis=0) <= CONFIG.max_speed * CONFIG.speed_window_s + 1e-7)
    for q in arms:
        assert filt.workspace_violation(q) <= EPS
    hands = np.array(hands)
    assert np.all(np.isfinite(hands))
    assert np.all(hands[1:] >= HAND_LOWER - EPS) and np.all(hands[1:] <= HAND_UPPER + EPS)
    assert np.all(np.abs(np.diff(hands, axis=0)) <= CONFIG.hand_max_step + EPS)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(offsets, hand_requests, lag, st.booleans()), min_size=1, max_size=45))
def test_joint_targets_never_leave_the_limits(requests):
    """Raw joint requests (far, NaN) at 30 Hz, the arm lagging its commands a little."""
    filt = CommandFilter(CONFIG, KIN)
    q0, h0 = KIN.home.copy(), np.zeros(12)
    filt.reset(q0, h0)
    history, hands = [(0.0, q0)], [h0]
    for step, (offset, hand, measured_lag, poison) in enumerate(requests, start=1):
        request = q0 + offset
        if poison:
            request[step % 7] = np.nan
        measured = history[-1][1] + measured_lag
        history.append((step * DT, filt.arm(request, measured, step * DT)))
        hands.append(filt.hand(hand))
    _check(filt, history, hands)


policy_actions = arrays(np.float64, layout.ACTION_DIM, elements=st.one_of(st.floats(-0.5, 0.5), wild))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(policy_actions, min_size=1, max_size=30))
def test_random_policy_outputs_never_leave_the_limits(actions):
    """The full path a policy output takes: action mapping (IK), then the filter."""
    filt = CommandFilter(CONFIG, KIN)
    mapper = ActionMapper(ArmKinematics(), Calibration.simulated())
    q0, h0 = KIN.home.copy(), np.zeros(12)
    filt.reset(q0, h0)
    mapper.reset(q0)
    history, hands = [(0.0, q0)], [h0]
    for step, action in enumerate(actions, start=1):
        try:
            arm, hand = mapper.targets(action)
        except ValueError:  # non-finite action: the mapper refuses it; the runner would stop
            arm, hand = np.full(7, np.nan), np.full(12, np.nan)
        sent = filt.arm(arm, history[-1][1], step * DT)
        mapper.sync(sent)
        history.append((step * DT, sent))
        hands.append(filt.hand(hand))
    _check(filt, history, hands)


def test_every_clamp_is_logged_with_requested_and_safe_values(caplog):
    filt = CommandFilter(CONFIG, KIN)
    filt.reset(KIN.home, np.zeros(12))
    with caplog.at_level(logging.WARNING, logger="real.safety"):
        q = filt.arm(KIN.home + 0.5, KIN.home, 0.0)
    rules = [c.rule for c in filt.clamps]
    assert rules[:2] == ["max_relative_target", "max_step"]
    assert len(caplog.records) == len(filt.clamps)
    assert "requested" in caplog.text and "safe" in caplog.text
    np.testing.assert_allclose(q - KIN.home, CONFIG.max_step)


def test_workspace_shortens_a_step_toward_the_table():
    filt = CommandFilter(SafetyConfig(max_step=1.0, max_relative_target=3.0, max_speed=10.0), KIN)
    filt.reset(KIN.home, np.zeros(12))
    down = KIN.home.copy()
    down[1] += 0.6  # shoulder forward: the hand dives into the table
    assert filt.workspace_violation(down) > 0
    q = filt.arm(down, KIN.home, 0.0)
    assert filt.workspace_violation(q) <= EPS and np.any(q != KIN.home)
    assert filt.clamps[-1].rule == "workspace"


# --------------------------------------------------------------------------- the layer, with in-memory robots


class RecordingRobot(Robot):
    """A robot that only records calls (stands in for a driver; the drivers are tested in test_real_driver)."""

    def __init__(self, n: int, fail_send: bool = False) -> None:
        self.name, self.joint_names = "recording", tuple(str(i) for i in range(n))
        self.calls: list[str] = []
        self.errors: tuple[int, ...] = ()
        self.fail_send = fail_send
        self._q = np.zeros(n) if n == 12 else KIN.home.copy()

    is_connected = True

    def connect(self) -> None: ...

    def disconnect(self) -> None: ...

    def read_state(self) -> JointState:
        return JointState(self._q.copy(), self.errors)

    def send_action(self, q: np.ndarray) -> np.ndarray:
        if self.fail_send:
            raise DeviceError("link lost")
        self.calls.append("move")
        self._q = np.asarray(q, float)
        return self._q.copy()

    def stop(self) -> None:
        self.calls.append("stop")


def _layer(watchdog_s: float = 0.5, fail_send: bool = False) -> tuple[SafetyLayer, RecordingRobot, RecordingRobot]:
    arm, hand = RecordingRobot(7, fail_send), RecordingRobot(12)
    return SafetyLayer(arm, hand, CommandFilter(SafetyConfig(watchdog_s=watchdog_s), KIN)), arm, hand


def test_error_code_halts_and_refuses_further_motion():
    layer, arm, hand = _layer()
    with layer:
        layer.start(KIN.home, np.zeros(12))
        layer.send(KIN.home, np.zeros(12), KIN.home)
        arm.errors = (4097,)
        with pytest.raises(SafetyStop, match="4097"):
            layer.check(arm.read_state())
        with pytest.raises(SafetyStop):
            layer.send(KIN.home, np.zeros(12), KIN.home)
    assert arm.calls == ["move", "stop"] and hand.calls == ["move", "stop"]


def test_driver_failure_halts():
    layer, arm, _ = _layer(fail_send=True)
    with layer:
        layer.start(KIN.home, np.zeros(12))
        with pytest.raises(SafetyStop, match="link lost"):
            layer.send(KIN.home, np.zeros(12), KIN.home)
    assert arm.calls == ["stop"]


def test_watchdog_stops_the_arm_when_commands_stop_arriving():
    layer, arm, hand = _layer(watchdog_s=0.1)
    with layer:
        layer.start(KIN.home, np.zeros(12))
        layer.send(KIN.home, np.zeros(12), KIN.home)
        time.sleep(0.3)
        assert layer.halted is not None and "watchdog" in layer.halted
        with pytest.raises(SafetyStop):
            layer.send(KIN.home, np.zeros(12), KIN.home)
    assert arm.calls == ["move", "stop"] and hand.calls[-1] == "stop"


def test_paused_layer_does_not_trip_the_watchdog_and_halt_works_from_any_thread():
    layer, arm, _ = _layer(watchdog_s=0.1)
    with layer:
        layer.start(KIN.home, np.zeros(12))
        time.sleep(0.3)  # armed by the first command only, not by start()
        layer.send(KIN.home, np.zeros(12), KIN.home)
        layer.pause()
        time.sleep(0.3)
        assert layer.halted is None
        threading.Thread(target=layer.halt, args=("operator stop",)).start()
        time.sleep(0.1)
        assert layer.halted == "operator stop" and arm.calls == ["move", "stop"]


def test_calibration_file_round_trip_and_rejects_non_rotations(tmp_path):
    calibration = Calibration.simulated()
    calibration.save(tmp_path / "calibration.yaml")
    loaded = Calibration.load(tmp_path / "calibration.yaml")
    np.testing.assert_allclose(loaded.camera_to_base, calibration.camera_to_base)
    (tmp_path / "bad.yaml").write_text("camera_to_base: [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]\n")
    with pytest.raises(ValueError, match="not a rotation"):
        Calibration.load(tmp_path / "bad.yaml")

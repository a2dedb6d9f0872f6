"""The Realman wire format (byte for byte, REALMAN_PROTOCOL.md), the TCP driver against the digital
twin (no mocks), the XHAND1 driver through the fake SDK, and the dry-run devices."""

from __future__ import annotations

import ast
import io
import json
import socket
import time

import numpy as np
import pytest

from real.interfaces import DeviceError
from real.robots.realman import protocol
from real.robots.realman.config import RealmanConfig
from real.robots.realman.driver import (
    RealmanArm,
    RealmanArmError,
    RealmanDisconnected,
    RealmanTimeout,
    canfd_message,
)
from real.robots.xhand.config import XHandConfig
from real.robots.xhand.driver import XHand1
from real.twin import fake_xhand
from real.twin.faults import FaultPlan
from real.twin.realman_server import TwinArmServer
from real.twin.sim import TwinSim

DEG = np.pi / 180


def _eventually(condition, timeout: float = 3.0) -> bool:
    """Poll ``condition`` until true or ``timeout`` s: the twin runs in wall-clock time on a shared CPU."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# --------------------------------------------------------------------------- protocol, no sockets


def test_degrees_truncate_toward_zero_like_the_sdk():
    assert protocol.deg_to_wire([1.2345678, -1.2345678, 0.0006, 179.9999]) == [1234, -1234, 0, 179999]


def test_movej_bytes_match_the_sdk():
    q = np.array([10, 20, 30, 40, 50, 60, 70]) * DEG
    assert protocol.encode(protocol.movej(q, 20)) == (
        b'{"command":"movej","v":20,"joint":[10000,20000,30000,40000,50000,60000,70000],'
        b'"trajectory_connect":0,"r":0}\r\n'
    )


def test_movej_canfd_bytes_match_the_sdk():
    q = np.array([0.1, 0, 0, 0, 0, 0, 0]) * DEG
    assert protocol.encode(protocol.movej_canfd(q, follow=False)) == (
        b'{"command":"movej_canfd","joint":[100,0,0,0,0,0,0],"follow":false,"expand":0,'
        b'"trajectory_mode":0,"radio":0}\r\n'
    )
    high = protocol.movej_canfd(q, follow=True, expand=12.5, trajectory_mode=1, radio=50)
    assert protocol.encode(high).endswith(b'"follow":true,"expand":12500,"trajectory_mode":1,"radio":50}\r\n')


def test_queries_and_stop_bytes():
    assert protocol.encode(protocol.query("get_current_arm_state")) == b'{"command":"get_current_arm_state"}\r\n'
    assert protocol.encode(protocol.query("set_arm_stop")) == b'{"command":"set_arm_stop"}\r\n'


def test_arm_state_reply_parsed_into_si_units():
    reply = json.loads('{"state":"current_arm_state","arm_state":{"joint":[12345,-90000,1,0,0,0,-179999],'
                       '"pose":[123456,-500000,1000000,3141,-1571,1],"err":[0,4097]}}')
    state = protocol.parse_arm_state(reply, 7)
    np.testing.assert_allclose(np.degrees(state.joint), [12.345, -90, 0.001, 0, 0, 0, -179.999])
    np.testing.assert_allclose(state.pose, [0.123456, -0.5, 1.0, 3.141, -1.571, 0.001])
    assert state.errors == (0, 4097) and state.has_error


@pytest.mark.parametrize("arm_state", [
    {"joint": [0] * 7, "pose": [0] * 6, "err": []},  # empty err: the SDK's -3
    {"joint": [0] * 6, "pose": [0] * 6, "err": [0]},  # wrong DOF
    {"joint": [0] * 7, "pose": [0] * 6, "arm_err": 0, "sys_err": 0},  # the old fields are not accepted
])
def test_malformed_arm_state_is_a_format_error(arm_state):
    with pytest.raises(protocol.ReplyFormatError):
        protocol.parse_arm_state({"state": "current_arm_state", "arm_state": arm_state}, 7)


def test_booleans_must_be_json_booleans():
    with pytest.raises(protocol.ReplyFormatError):
        protocol.require_bool({"command": "set_arm_stop", "arm_stop": 1}, "arm_stop")


def test_splitter_needs_crlf_and_handles_any_chunking():
    splitter = protocol.LineSplitter()
    assert splitter.feed(b'{"a":1}\r\n{"b"') == [b'{"a":1}']
    assert splitter.feed(b':2}\r\n{"c":3}\n') == [b'{"b":2}']  # bare \n is not a terminator
    assert splitter.feed(b"\r\n") == [b'{"c":3}\n']


def test_reply_key_prefers_state():
    assert protocol.reply_key({"state": "joint_degree", "command": "x"}) == "joint_degree"
    assert protocol.reply_key({"command": "set_arm_stop", "arm_stop": True}) == "set_arm_stop"


# --------------------------------------------------------------------------- twin server, raw socket


@pytest.fixture
def twin():
    faults = FaultPlan()
    with TwinSim() as sim, TwinArmServer(sim, faults) as server:
        yield sim, server, faults


def _exchange(address, lines: list[bytes]) -> list[bytes]:
    with socket.create_connection(address, 2.0) as sock:
        splitter, replies = protocol.LineSplitter(), []
        for line in lines:
            sock.sendall(line)
            while len(replies) < lines.index(line) + 1:
                replies += splitter.feed(sock.recv(65536))
        return replies


def test_twin_handshake_replies_are_the_documented_bytes(twin):
    _, server, _ = twin
    commands = ["get_arm_software_info", "get_realtime_push", "get_current_work_frame",
                "get_current_tool_frame", "get_install_pose", "get_joint_max_acc"]
    replies = _exchange(server.address, [protocol.encode(protocol.query(c)) for c in commands])
    assert replies[0] == (
        b'{"state":"arm_software_info","Product_version":"RM75-B","algorithm_info":{"version":"1.4.3"},'
        b'"ctrl_info":{"build_time":"2024-01-01 00:00:00","version":"1.4.0"},"dynamic_info":{"model_version":"1"},'
        b'"plan_info":{"build_time":"2024-01-01 00:00:00","version":"1.4.0"}}')
    assert replies[1] == (
        b'{"command":"get_realtime_push","cycle":20,"enable":false,"port":8089,"force_coordinate":-1,'
        b'"ip":"127.0.0.1","custom":{"expand_state":false,"joint_speed":false,"lift_state":false,'
        b'"arm_current_status":false,"aloha_state":false,"hand":false,"rm_plus_base":false,"rm_plus_state":false}}')
    assert replies[2] == b'{"state":"current_work_frame","frame_name":"World","pose":[0,0,0,0,0,0]}'
    assert replies[3] == (b'{"state":"current_tool_frame","tool_name":"Arm_Tip","pose":[0,0,0,0,0,0],'
                          b'"payload":0,"position":[0,0,0]}')
    assert replies[4] == b'{"state":"install_pose","pose":[0,0,0]}'
    assert replies[5] == b'{"state":"joint_max_acc","joint_acc":[100000,100000,100000,100000,100000,100000,100000]}'


def test_twin_accepts_several_messages_in_one_segment(twin):
    sim, server, _ = twin
    q = sim.arm_joints() + 0.01
    burst = protocol.encode(protocol.movej_canfd(q, False)) * 3 + protocol.encode(protocol.query("get_joint_degree"))
    replies = _exchange(server.address, [burst])
    assert json.loads(replies[0])["state"] == "joint_degree"
    assert server.commands()[-4:] == ["movej_canfd"] * 3 + ["get_joint_degree"]


# --------------------------------------------------------------------------- the driver against the twin


def _arm(server: TwinArmServer, **overrides) -> RealmanArm:
    host, port = server.address
    return RealmanArm(RealmanConfig(host=host, port=port, **overrides))


def test_driver_handshake_state_stream_and_stop(twin):
    sim, server, _ = twin
    with _arm(server) as arm:
        assert server.commands()[:11] == list(protocol.HANDSHAKE)
        assert arm.product == "RM75-B"
        np.testing.assert_allclose(arm.joint_max, sim.arm_range[:, 1], atol=1e-4)
        np.testing.assert_allclose(np.degrees(arm.joint_max_speed), [180, 180, 225, 225, 225, 225, 225], atol=0.01)
        state = arm.read_state()
        np.testing.assert_allclose(state.position, sim.arm_joints(), atol=2e-5)
        assert state.errors == ()
        target = state.position + np.array([0.05, 0, 0, 0, 0, 0, -0.05])
        sent = arm.send_action(target)
        np.testing.assert_allclose(sent, target, atol=2e-5)  # 0.001 deg resolution
        assert _eventually(lambda: np.allclose(arm.read_joints(), target, atol=5e-3))
    assert server.commands()[-1] == "set_arm_stop"  # disconnect stops the arm first


def test_blocking_move_waits_for_arrival(twin):
    sim, server, _ = twin
    with _arm(server, move_speed_percent=100) as arm:
        goal = arm.read_joints() + 0.05
        start = time.monotonic()
        arm.move_to(goal)
        assert time.monotonic() - start >= 0.9 * 0.05 / np.radians(180)
        np.testing.assert_allclose(sim.arm_targets(), goal, atol=2e-5)


def test_controller_errors_refusals_timeouts_and_disconnects(twin):
    _, server, faults = twin
    with _arm(server, timeout_s=0.2) as arm:
        faults.error_codes = (4097,)
        assert arm.read_state().errors == (4097,)
        faults.error_codes = ()
        faults.refuse = frozenset({"movej"})
        with pytest.raises(RealmanArmError):
            arm.move_to(arm.read_joints())
        faults.refuse = frozenset()
        faults.reply_delay_s = 0.5
        with pytest.raises(RealmanTimeout) as timeout:
            arm.read_state()
        assert timeout.value.rc == -2
        faults.reply_delay_s = 0.0
        time.sleep(0.6)  # the late reply arrives and is discarded as stale by the next request
        arm.read_state()
        server.disconnect_clients()
        time.sleep(0.1)
        with pytest.raises(RealmanDisconnected) as gone:
            arm.send_action(arm.joint_min)
        assert gone.value.rc == -1 and not arm.is_connected
        arm.emergency_stop()  # a fresh connection still reaches the controller
    assert server.commands()[-1] == "set_arm_stop"


def test_connect_refused_says_what_to_check():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RealmanDisconnected, match="cannot reach the Realman controller"):
        RealmanArm(RealmanConfig(host="127.0.0.1", port=port)).connect()


# --------------------------------------------------------------------------- XHAND1


def test_xhand_without_sdk_fails_with_install_instructions():
    with pytest.raises(DeviceError, match="xhand_controller.*pip install"):
        XHand1(XHandConfig()).connect()


def test_xhand_driver_through_the_fake_sdk():
    faults = FaultPlan()
    with TwinSim() as sim, fake_xhand.install(sim, faults), XHand1(XHandConfig()) as hand:
        target = np.full(12, 0.3)
        target[1], target[3] = 0.2, 0.1
        np.testing.assert_allclose(hand.send_action(target), target, atol=1e-6)
        assert _eventually(lambda: np.allclose(hand.read_joints(), target, atol=0.03))
        faults.hand_error = 7
        with pytest.raises(DeviceError, match="error 7"):
            hand.read_state()
        faults.hand_error = 0


# --------------------------------------------------------------------------- dry run


def test_dry_run_arm_prints_the_exact_bytes():
    from real.dry_run import DryRunArm

    out = io.StringIO()
    config = RealmanConfig()
    q = np.linspace(-0.3, 0.3, 7)
    with DryRunArm(config, np.zeros(7), out) as arm:
        sent = arm.send_action(q)
        np.testing.assert_allclose(arm.read_joints(), sent)
    lines = out.getvalue().splitlines()
    sent_bytes = [ast.literal_eval(line.split(" <- ", 1)[1]) for line in lines if line.startswith("arm <- ")]
    assert [json.loads(b)["command"] for b in sent_bytes[:11]] == list(protocol.HANDSHAKE)
    assert sent_bytes[11] == protocol.encode(canfd_message(config, q))
    assert sent_bytes[-1] == b'{"command":"set_arm_stop"}\r\n'


def test_vendor_sdk_accepts_the_twin(twin):
    """The vendor's own SDK (``robotic-arm``, a closed C library; not a dependency) as the twin's client."""
    rm = pytest.importorskip("Robotic_Arm.rm_robot_interface")
    _, server, _ = twin
    arm = rm.RoboticArm(rm.rm_thread_mode_e.RM_TRIPLE_MODE_E)
    assert arm.rm_create_robot_arm(*server.address).id > 0
    rc, state = arm.rm_get_current_arm_state()
    assert rc == 0 and state["err"]["err"] == ["0"]
    goal = [j + 2.0 for j in state["joint"]]
    assert arm.rm_movej(goal, 50, 0, 0, 1) == 0  # blocking: the arrival push is seen
    assert arm.rm_movej(state["joint"], 50, 0, 0, 0) == 0  # non-blocking: its push is swallowed...
    time.sleep(0.3)
    assert arm.rm_movej(goal, 50, 0, 0, 1) == 0  # ...and the next blocking move still gets its own
    assert arm.rm_movej_canfd(goal, False) == 0
    assert arm.rm_set_arm_stop() == 0
    assert arm.rm_delete_robot_arm() == 0


def test_stop_command_reaches_the_arm_without_a_handshake(twin):
    from real.config import StopConfig
    from vitra_bench.cli.real import run_stop

    _, server, _ = twin
    assert run_stop(StopConfig(arm=server.address_str)) == 0
    assert server.commands() == ["set_arm_stop"]

"""A TCP server that answers like a Realman RM75 controller, byte for byte (REALMAN_PROTOCOL.md), backed by ``TwinSim``.

It accepts the project's driver and the vendor SDK alike: the 11-query handshake gets the reply
shapes the SDK requires (``Product_version`` with a force suffix, ``data`` of DOF entries, and so
on), ``movej`` is acknowledged and its arrival pushed in a *separate* write after the motion (the
SDK's non-blocking counter trap, section 4), ``movej_canfd`` gets no reply, ``set_arm_stop`` halts
the simulation. The joint limits and speeds it reports are the MJCF's (= the vendor URDF's and spec
sheet's), so the driver learns the same limits it would from a real controller.

Every message received is logged in ``received`` (time, command, message) so tests can assert
what reached "the arm"; ``FaultPlan`` injects late or missing replies, refusals, error codes and
disconnects.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from real.robots.realman import protocol
from real.twin.faults import FaultPlan
from real.twin.sim import ARM_MAX_SPEED, TwinSim

log = logging.getLogger(__name__)

PRODUCT = "RM75-B"
_STATIC_REPLIES: dict[str, dict[str, Any]] = {
    "get_arm_software_info": {
        "state": "arm_software_info", "Product_version": PRODUCT, "algorithm_info": {"version": "1.4.3"},
        "ctrl_info": {"build_time": "2024-01-01 00:00:00", "version": "1.4.0"},
        "dynamic_info": {"model_version": "1"},
        "plan_info": {"build_time": "2024-01-01 00:00:00", "version": "1.4.0"},
    },
    "get_realtime_push": {
        "command": "get_realtime_push", "cycle": 20, "enable": False, "port": 8089, "force_coordinate": -1,
        "ip": "127.0.0.1",
        "custom": {"expand_state": False, "joint_speed": False, "lift_state": False, "arm_current_status": False,
                   "aloha_state": False, "hand": False, "rm_plus_base": False, "rm_plus_state": False},
    },
    "get_current_work_frame": {"state": "current_work_frame", "frame_name": "World", "pose": [0, 0, 0, 0, 0, 0]},
    "get_current_tool_frame": {"state": "current_tool_frame", "tool_name": "Arm_Tip", "pose": [0, 0, 0, 0, 0, 0],
                               "payload": 0, "position": [0, 0, 0]},
    "get_install_pose": {"state": "install_pose", "pose": [0, 0, 0]},
    "get_joint_max_acc": {"state": "joint_max_acc", "joint_acc": [100000] * 7},
}  # fmt: skip


@dataclass(frozen=True)
class Received:
    """One message the server received: when (monotonic s), its command name, the parsed JSON."""

    time: float
    command: str
    message: dict[str, Any]


class TwinArmServer:
    """Realman controller twin on ``host:port`` (port 0: the OS picks one; see ``address``)."""

    def __init__(self, sim: TwinSim, faults: FaultPlan | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self.faults = faults or FaultPlan()
        self.received: list[Received] = []
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(0.1)  # accept() polls, so close() does not wait on a blocked accept
        self._connections: list[socket.socket] = []
        self._running = False
        self._threads: list[threading.Thread] = []
        self._send_locks: dict[int, threading.Lock] = {}

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._listener.getsockname()[:2]
        return host, port

    @property
    def address_str(self) -> str:
        return "{}:{}".format(*self.address)

    def start(self) -> TwinArmServer:
        self._running = True
        thread = threading.Thread(target=self._accept, name="twin-arm-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def close(self) -> None:
        self._running = False
        self.disconnect_clients()
        for thread in self._threads:
            thread.join(timeout=1.0)
        self._listener.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def disconnect_clients(self) -> None:
        """Drop every open connection now (fault injection: cable pulled, controller rebooted)."""
        for conn in list(self._connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        self._connections.clear()

    def commands(self, since: float = 0.0) -> list[str]:
        """Command names received at or after monotonic time ``since``, in order."""
        return [r.command for r in list(self.received) if r.time >= since]

    # --- connection handling ------------------------------------------------------------------

    def _accept(self) -> None:
        while self._running:
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._connections.append(conn)
            self._send_locks[id(conn)] = threading.Lock()
            thread = threading.Thread(target=self._serve, args=(conn,), name="twin-arm-conn", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        splitter = protocol.LineSplitter()
        count = 0
        while self._running:
            try:
                chunk = conn.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            for line in splitter.feed(chunk):
                message = protocol.decode(line)
                if message is None or not isinstance(message.get("command"), str):
                    log.warning("twin: ignored %r", line[:200])
                    continue
                count += 1
                self.received.append(Received(time.monotonic(), message["command"], message))
                limit = self.faults.disconnect_after
                if limit is not None and count >= limit:
                    log.warning("twin: fault injection: dropping the connection after %d messages", count)
                    self._drop(conn)
                    return
                self._handle(conn, message)
        self._drop(conn)

    def _drop(self, conn: socket.socket) -> None:
        if conn in self._connections:
            self._connections.remove(conn)
        try:
            conn.close()
        except OSError:
            pass

    def _send(self, conn: socket.socket, message: dict[str, Any], delay: float = 0.0) -> None:
        if self.faults.mute:
            return
        if delay > 0:
            timer = threading.Timer(delay, self._send, args=(conn, message))
            timer.daemon = True
            timer.start()
            return
        lock = self._send_locks.get(id(conn))
        if lock is None:
            return
        with lock:
            try:
                conn.sendall(protocol.encode(message))
            except OSError:
                pass

    # --- the controller -----------------------------------------------------------------------

    def _handle(self, conn: socket.socket, message: dict[str, Any]) -> None:
        command = message["command"]
        reply = self._reply(conn, command, message)
        if reply is not None:
            self._send(conn, reply, self.faults.reply_delay(command))

    def _reply(self, conn: socket.socket, command: str, message: dict[str, Any]) -> dict[str, Any] | None:
        if command in _STATIC_REPLIES:
            return _STATIC_REPLIES[command]
        limits = self.sim.arm_range
        if command == "get_joint_min_pos":
            return {"state": "joint_min_pos", "min_pos": protocol.rad_to_wire(limits[:, 0])}
        if command == "get_joint_max_pos":
            return {"state": "joint_max_pos", "max_pos": protocol.rad_to_wire(limits[:, 1])}
        if command == "get_joint_max_speed":
            speed = [round(v / protocol.SPEED_SCALE) for v in np.degrees(ARM_MAX_SPEED)]
            return {"state": "joint_max_speed", "joint_speed": speed}
        if command == "get_DH_data":
            return {"command": "get_DH_data", **{f"joint_{i}": [0, 0, 0, 0] for i in range(1, 8)}}
        if command == "get_arm_current_trajectory":
            goal = self.sim.plan_goal
            if goal is None:
                return {"state": "arm_current_trajectory", "type": "none", "data": [0] * 7}
            return {"state": "arm_current_trajectory", "type": "movej", "data": protocol.rad_to_wire(goal)}
        if command == "get_current_arm_state":
            err = list(self.faults.error_codes) or [0]
            return {"state": "current_arm_state", "arm_state": {
                "joint": protocol.rad_to_wire(self.sim.arm_joints()),
                "pose": protocol.pose_to_wire(self.sim.flange_pose6()), "err": err}}
        if command == "get_joint_degree":
            return {"state": "joint_degree", "joint": protocol.rad_to_wire(self.sim.arm_joints())}
        if command == "movej":
            return self._movej(conn, message)
        if command == "movej_canfd":
            joint = message.get("joint")
            if self._accepts_motion() and _valid_joint(joint):
                self.sim.set_arm_target(protocol.wire_to_rad(joint))
            return None  # fire and forget
        if command in protocol.STOP_COMMANDS:
            key = "arm_stop" if command == "set_arm_stop" else "arm_slow_stop"
            if command not in self.faults.refuse:
                self.sim.stop()
            return {"command": command, key: command not in self.faults.refuse}
        log.warning("twin: unknown command %r (no reply, as the SDK would wait in vain)", command)
        return None

    def _accepts_motion(self) -> bool:
        return not self.faults.error_codes

    def _movej(self, conn: socket.socket, message: dict[str, Any]) -> dict[str, Any]:
        joint, speed = message.get("joint"), message.get("v")
        ok = (self._accepts_motion() and _valid_joint(joint) and isinstance(speed, int)
              and "movej" not in self.faults.refuse)
        if ok:
            connect = message.get("trajectory_connect", 0)
            push = {"state": protocol.TRAJECTORY_PUSH, "trajectory_state": True, "device": 0,
                    "trajectory_connect": connect}
            # A short pause keeps the push in its own TCP write, after the ack (the SDK trap, section 4).
            self.sim.plan_move(protocol.wire_to_rad(joint), speed,
                               on_done=lambda: (time.sleep(0.01), self._send(conn, push)))
        return {"command": "movej", "receive_state": ok}


def _valid_joint(joint: Any) -> bool:
    return isinstance(joint, list) and len(joint) == 7 and all(isinstance(v, int) for v in joint)

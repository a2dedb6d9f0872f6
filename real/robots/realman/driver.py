"""The Realman arm over raw TCP: the same bytes the vendor SDK sends, no vendor package needed.

Why not the vendor SDK: it is a ctypes wrapper around a closed C library per platform, and its
failure modes (hangs in ``rm_delete_robot_arm`` after a failed create, swallowed pushes after
non-blocking moves, REALMAN_PROTOCOL.md section 7) are exactly what a safety layer must not sit on.
Speaking the documented wire format ourselves keeps every failure a Python exception with the SDK's
return code in it.

Threads: a receiver thread parses ``\\r\\n``-terminated replies into per-name inboxes (the SDK's
reply FIFO); requests wait on their inbox. Sending is serialised by a lock but waiting is not, so
``stop()`` from the watchdog thread goes out while the control thread waits for a state reply.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import defaultdict, deque
from typing import Any

import numpy as np

from real.interfaces import DeviceAlreadyConnectedError, DeviceError, JointState, Robot
from real.robots.realman import protocol
from real.robots.realman.config import RealmanConfig

log = logging.getLogger(__name__)

ARM_JOINTS: tuple[str, ...] = tuple(f"rm_joint{i}" for i in range(1, 8))
_INBOX_SIZE = 40  # the SDK's reply FIFO holds 40 entries


class RealmanError(DeviceError):
    """A request failed; ``rc`` is the vendor SDK's return code for the same failure."""

    def __init__(self, message: str, rc: int) -> None:
        super().__init__(f"{message} (rc {rc})")
        self.rc = rc


class RealmanDisconnected(RealmanError):
    """The TCP link is gone (rc -1): nothing more can be sent."""


class RealmanTimeout(RealmanError):
    """No matching reply in time (rc -2): controller busy, link lost, or malformed JSON."""


class RealmanArmError(RealmanError):
    """The controller refused a request or reports error codes (rc 1)."""

    def __init__(self, message: str, errors: tuple[int, ...] = ()) -> None:
        super().__init__(message, protocol.RC_REFUSED)
        self.errors = errors


def canfd_message(config: RealmanConfig, q: np.ndarray) -> dict[str, Any]:
    """The streamed set-point for joints ``q`` (rad) under ``config``; shared with the dry run."""
    return protocol.movej_canfd(q, config.follow, trajectory_mode=config.trajectory_mode, radio=config.radio)


class RealmanArm(Robot):
    """Realman RM75 arm: connect (the SDK's 11-query handshake), read state, stream set-points, stop."""

    name = "realman"
    joint_names = ARM_JOINTS

    def __init__(self, config: RealmanConfig) -> None:
        self.config = config
        self._sock: socket.socket | None = None
        self._receiver: threading.Thread | None = None
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self._inbox: dict[str, deque[dict[str, Any]]] = defaultdict(lambda: deque(maxlen=_INBOX_SIZE))
        self._key_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._alive = False
        self.product = ""
        self.joint_min = np.full(config.dof, -np.pi)
        self.joint_max = np.full(config.dof, np.pi)
        self.joint_max_speed = np.full(config.dof, np.pi)

    # --- connection -------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        return self._alive

    @property
    def address(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    def connect(self) -> None:
        if self._alive:
            raise DeviceAlreadyConnectedError(f"{self.name} at {self.address} is already connected")
        try:
            self._sock = socket.create_connection((self.config.host, self.config.port), self.config.connect_timeout_s)
        except OSError as err:
            raise RealmanDisconnected(
                f"cannot reach the Realman controller at {self.address}: {err}; check the cable, the IP "
                "(vendor default 192.168.1.18) and that no other program holds the connection",
                protocol.RC_SEND_FAILED,
            ) from err
        self._sock.settimeout(None)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._alive = True
        self._receiver = threading.Thread(target=self._receive, name="realman-rx", daemon=True)
        self._receiver.start()
        try:
            self._handshake()
        except BaseException:
            self._close()
            raise

    def _handshake(self) -> None:
        """The SDK's create sequence; also learns the controller's own joint limits and speeds."""
        replies = {}
        for command in protocol.HANDSHAKE:
            optional = command == "get_arm_current_trajectory"  # the SDK tolerates its absence
            try:
                replies[command] = self._request(protocol.query(command), timeout=1.0 if optional else None)
            except RealmanTimeout:
                if not optional:
                    raise
        try:
            self.product = str(replies["get_arm_software_info"].get("Product_version", ""))
            dof = protocol.dof_of_product(self.product)
            trajectory = replies.get("get_arm_current_trajectory")
            if trajectory and trajectory.get("type") == "none" and isinstance(trajectory.get("data"), list):
                dof = len(trajectory["data"])  # the SDK lets this override the model's DOF
            if dof != self.config.dof:
                raise protocol.ReplyFormatError(f"controller reports {dof} joints, config expects {self.config.dof}")
            get = protocol.int_array
            self.joint_min = protocol.wire_to_rad(get(replies["get_joint_min_pos"], "min_pos", dof, "joint_min_pos"))
            self.joint_max = protocol.wire_to_rad(get(replies["get_joint_max_pos"], "max_pos", dof, "joint_max_pos"))
            speed = get(replies["get_joint_max_speed"], "joint_speed", dof, "joint_max_speed")
            self.joint_max_speed = np.radians(np.asarray(speed, float) * protocol.SPEED_SCALE)
        except protocol.ReplyFormatError as err:
            raise RealmanError(f"{self.address}: handshake reply malformed: {err}", protocol.RC_BAD_REPLY) from err
        log.info("connected to %s (%s)", self.address, self.product)

    def disconnect(self) -> None:
        """Stop the arm (best effort), then close the socket; like ``rm_delete_robot_arm`` it sends nothing else."""
        if self._alive:
            try:
                self.stop()
            except DeviceError as err:
                log.error("%s: stop before disconnect failed: %s", self.name, err)
        self._close()

    def _require_connected(self) -> None:
        if not self._alive and self._sock is not None:  # was connected, the link dropped
            raise RealmanDisconnected(f"{self.name}: link to {self.address} lost", protocol.RC_SEND_FAILED)
        super()._require_connected()

    def _close(self) -> None:
        self._alive = False
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self._receiver is not None and self._receiver is not threading.current_thread():
            self._receiver.join(timeout=1.0)
        with self._cond:
            self._cond.notify_all()

    # --- transport ----------------------------------------------------------------------------

    def _receive(self) -> None:
        splitter = protocol.LineSplitter()
        sock = self._sock
        while self._alive and sock is not None:
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            for line in splitter.feed(chunk):
                message = protocol.decode(line)
                key = protocol.reply_key(message) if message is not None else None
                if key is None:
                    log.warning("%s: dropped unparsable message %r", self.name, line[:200])
                    continue
                with self._cond:
                    self._inbox[key].append(message)
                    self._cond.notify_all()
        if self._alive:
            log.error("%s: controller at %s closed the connection", self.name, self.address)
        self._alive = False
        with self._cond:
            self._cond.notify_all()

    def _send(self, message: dict[str, Any]) -> None:
        data = protocol.encode(message)
        with self._send_lock:
            sock = self._sock
            if not self._alive or sock is None:
                raise RealmanDisconnected(f"{self.name}: not connected to {self.address}", protocol.RC_SEND_FAILED)
            try:
                sock.sendall(data)
            except OSError as err:
                self._alive = False
                raise RealmanDisconnected(f"{self.name}: send to {self.address} failed: {err}",
                                          protocol.RC_SEND_FAILED) from err

    def _wait(self, key: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._inbox[key]:
                remaining = deadline - time.monotonic()
                if not self._alive:
                    raise RealmanDisconnected(f"{self.name}: link to {self.address} lost waiting for {key}",
                                              protocol.RC_SEND_FAILED)
                if remaining <= 0:
                    raise RealmanTimeout(f"{self.name}: no {key!r} reply from {self.address} in {timeout:.2f} s",
                                         protocol.RC_TIMEOUT)
                self._cond.wait(remaining)
            return self._inbox[key].popleft()

    def _request(self, message: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Send and wait for the reply by name; stale replies of that name are dropped first (as the SDK)."""
        key = protocol.REPLY_NAME[message["command"]]
        with self._key_locks[key]:
            with self._cond:
                self._inbox[key].clear()
            self._send(message)
            return self._wait(key, self.config.timeout_s if timeout is None else timeout)

    # --- arm API -------------------------------------------------------------------------------

    def read_arm_state(self) -> protocol.ArmState:
        """Joints (rad), flange pose (m, rad) and the controller's error codes (zeros included)."""
        self._require_connected()
        reply = self._request(protocol.query("get_current_arm_state"))
        try:
            return protocol.parse_arm_state(reply, self.config.dof)
        except protocol.ReplyFormatError as err:
            raise RealmanError(f"{self.name}: {err}", protocol.RC_BAD_REPLY) from err

    def read_state(self) -> JointState:
        state = self.read_arm_state()
        return JointState(state.joint, tuple(e for e in state.errors if e))

    def send_action(self, q: np.ndarray) -> np.ndarray:
        """Stream one ``movej_canfd`` set-point; returns the radians the wire ints stand for."""
        self._require_connected()
        message = canfd_message(self.config, np.asarray(q, np.float64))
        self._send(message)
        return protocol.wire_to_rad(message["joint"])

    def move_to(self, q: np.ndarray, speed_percent: int | None = None) -> None:
        """Blocking ``movej`` (slow, controller-planned): for going home between trials, never for streaming.

        Waits for the ``current_trajectory_state`` push while polling the arm state; any error code
        stops the arm and raises ``RealmanArmError``.
        """
        self._require_connected()
        speed = self.config.move_speed_percent if speed_percent is None else speed_percent
        with self._cond:
            self._inbox[protocol.TRAJECTORY_PUSH].clear()
        ack = self._request(protocol.movej(q, speed))
        if not self._bool(ack, "receive_state"):
            raise RealmanArmError(f"{self.name}: controller refused movej to {np.round(q, 3).tolist()}")
        deadline = time.monotonic() + self.config.move_timeout_s
        while time.monotonic() < deadline:
            try:
                push = self._wait(protocol.TRAJECTORY_PUSH, self.config.state_poll_s)
            except RealmanTimeout:
                errors = self.read_state().errors
                if errors:
                    self.stop()
                    raise RealmanArmError(f"{self.name}: arm error {errors} during movej", errors) from None
                continue
            if push.get("device", 0) != 0:
                continue
            if push.get("trajectory_state") is not True:
                raise RealmanArmError(f"{self.name}: movej ended without reaching its target")
            return
        self.stop()
        raise RealmanTimeout(f"{self.name}: movej not finished after {self.config.move_timeout_s} s",
                             protocol.RC_TIMEOUT)

    def stop(self) -> None:
        """``set_arm_stop``: immediate stop, the controller holds position."""
        reply = self._request(protocol.query("set_arm_stop"))
        if not self._bool(reply, "arm_stop"):
            raise RealmanArmError(f"{self.name}: controller refused set_arm_stop")
        log.warning("%s: arm stopped", self.name)

    def emergency_stop(self) -> None:
        """``set_arm_stop`` on the open link; if that fails (link lost, reply late), on a fresh connection.

        The second path is why this exists: after a cable glitch the controller still holds the last
        streamed set-point, and the only way to tell it to stop is a new connection.
        """
        try:
            self.stop()
            return
        except RealmanError as err:
            log.error("%s: stop on the open link failed (%s); sending set_arm_stop on a fresh connection", self.name, err)
        if not stop_over_new_connection(self.config):
            log.error("%s: set_arm_stop sent on a fresh connection but not confirmed in time", self.name)
            return
        log.warning("%s: arm stopped through a fresh connection", self.name)

    def _bool(self, reply: dict[str, Any], key: str) -> bool:
        try:
            return protocol.require_bool(reply, key)
        except protocol.ReplyFormatError as err:
            raise RealmanError(f"{self.name}: {err}", protocol.RC_BAD_REPLY) from err


def stop_over_new_connection(config: RealmanConfig) -> bool:
    """Send ``set_arm_stop`` on a new TCP connection (no handshake needed); True when confirmed.

    Raises ``RealmanDisconnected`` when the controller cannot be reached at all.
    """
    try:
        with socket.create_connection((config.host, config.port), config.connect_timeout_s) as sock:
            sock.sendall(protocol.encode(protocol.query("set_arm_stop")))
            return _await_reply(sock, "set_arm_stop", config.timeout_s)
    except OSError as err:
        raise RealmanDisconnected(f"emergency stop via {config.host}:{config.port} failed: {err}; "
                                  "USE THE HARDWARE E-STOP", protocol.RC_SEND_FAILED) from err


def _await_reply(sock: socket.socket, key: str, timeout: float) -> bool:
    """Whether a reply named ``key`` arrives on ``sock`` within ``timeout`` seconds."""
    sock.settimeout(timeout)
    splitter = protocol.LineSplitter()
    try:
        while chunk := sock.recv(4096):
            if any(protocol.reply_key(m) == key for m in map(protocol.decode, splitter.feed(chunk)) if m):
                return True
    except TimeoutError:
        pass
    return False

"""The Realman controller's wire format, byte for byte as the vendor SDK ``robotic-arm`` 1.1.6 speaks it.

Source: ``../shared/REALMAN_PROTOCOL.md`` (observed by logging every byte the SDK sent and
accepted). Both the driver (client side) and the digital twin (server side) use this module, so the
two cannot drift apart, and a test pins each message to the bytes in that document.

* Framing: one compact JSON object per message, terminated by ``\\r\\n`` both ways; several
  messages may share one TCP segment and one may span several, so receivers split on ``\\r\\n``
  only (a bare ``\\n`` is not a terminator: the SDK never recognises it).
* Key order matters for byte-exactness and follows the SDK (``movej``: command, v, joint,
  trajectory_connect, r).
* Units on the wire: joints int 0.001 deg; positions int 1e-6 m; orientations int 0.001 rad.
  Conversion happens here and only here: everything above this module is radians and metres.
  Degrees become ints the way the SDK's C library does it, ``(int)(float32(deg) * 1000)`` in
  single precision, which truncates toward zero (1.2345678 deg -> 1234, -1.2345678 -> -1234).
* Replies are matched by the value of ``"state"``, or of ``"command"`` when there is no ``"state"``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

TERMINATOR = b"\r\n"
DEFAULT_PORT = 8080
DEFAULT_HOST = "192.168.1.18"

# Request command -> the name its reply is matched by (REALMAN_PROTOCOL.md sections 3 and 4).
REPLY_NAME: dict[str, str] = {
    "get_arm_software_info": "arm_software_info",
    "get_arm_current_trajectory": "arm_current_trajectory",
    "get_realtime_push": "get_realtime_push",
    "get_current_work_frame": "current_work_frame",
    "get_current_tool_frame": "current_tool_frame",
    "get_install_pose": "install_pose",
    "get_joint_min_pos": "joint_min_pos",
    "get_joint_max_pos": "joint_max_pos",
    "get_joint_max_acc": "joint_max_acc",
    "get_joint_max_speed": "joint_max_speed",
    "get_DH_data": "get_DH_data",
    "get_current_arm_state": "current_arm_state",
    "get_joint_degree": "joint_degree",
    "movej": "movej",
    "set_arm_stop": "set_arm_stop",
    "set_arm_slow_stop": "set_arm_slow_stop",
}
TRAJECTORY_PUSH = "current_trajectory_state"
"""Pushed by the controller when a ``movej`` ends (no request names it)."""

HANDSHAKE: tuple[str, ...] = (
    "get_arm_software_info",
    "get_arm_current_trajectory",
    "get_realtime_push",
    "get_current_work_frame",
    "get_current_tool_frame",
    "get_install_pose",
    "get_joint_min_pos",
    "get_joint_max_pos",
    "get_joint_max_acc",
    "get_joint_max_speed",
    "get_DH_data",
)
"""What ``rm_create_robot_arm`` sends after connecting, strictly in this order, each after its reply."""

MOTION_COMMANDS = frozenset({"movej", "movej_canfd"})
STOP_COMMANDS = frozenset({"set_arm_stop", "set_arm_slow_stop"})

# The SDK's return codes, kept as the error's ``rc`` so logs read like the vendor's documentation.
RC_REFUSED = 1
RC_SEND_FAILED = -1
RC_TIMEOUT = -2
RC_BAD_REPLY = -3

SPEED_SCALE = 0.006
"""``get_joint_max_speed`` / ``get_joint_max_acc`` values x 0.006 are deg/s and deg/s^2 (30000 -> 180 deg/s)."""

_DOF_BY_MODEL = (("RML63", 6), ("ECO65", 6), ("ECO62", 6), ("ECO63", 6), ("RM65", 6), ("RM75", 7), ("GEN72", 7))
_FORCE_SUFFIXES = ("-6FB-V", "-B-V", "-6FB", "-6F", "-ZF", "-B")


# --------------------------------------------------------------------------- units


def deg_to_wire(degrees: Iterable[float]) -> list[int]:
    """Degrees -> ints of 0.001 deg, exactly as the SDK: single-precision product, truncated toward 0."""
    values = np.asarray(list(degrees), np.float32) * np.float32(1000.0)
    return [int(v) for v in np.trunc(values)]


def rad_to_wire(q: Iterable[float]) -> list[int]:
    """Joint radians -> wire ints (through degrees, as the SDK's API takes degrees)."""
    return deg_to_wire(np.degrees(np.asarray(list(q), np.float64)))


def wire_to_rad(values: Sequence[int]) -> np.ndarray:
    """Wire joint ints (0.001 deg) -> radians, float64."""
    return np.radians(np.asarray(values, np.float64) / 1000.0)


def pose_to_wire(pose: Sequence[float]) -> list[int]:
    """``[x, y, z (m), rx, ry, rz (rad)]`` -> ``[1e-6 m x3, 0.001 rad x3]`` ints (rounded: the twin's side)."""
    x = np.asarray(pose, np.float64)
    return [round(v * 1e6) for v in x[:3].tolist()] + [round(v * 1e3) for v in x[3:6].tolist()]


def wire_to_pose(values: Sequence[int]) -> np.ndarray:
    """Wire pose ints -> ``[x, y, z (m), rx, ry, rz (rad)]`` float64."""
    x = np.asarray(values, np.float64)
    return np.concatenate([x[:3] / 1e6, x[3:6] / 1e3])


# --------------------------------------------------------------------------- messages


def encode(message: Mapping[str, Any]) -> bytes:
    """One message as the SDK writes it: ``cJSON_PrintUnformatted`` (no spaces, key order kept) + CRLF."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + TERMINATOR


def query(command: str) -> dict[str, Any]:
    """A request without arguments, e.g. ``{"command":"get_current_arm_state"}``."""
    return {"command": command}


def movej(q: Sequence[float], speed_percent: int, blend_radius: int = 0, connect: int = 0) -> dict[str, Any]:
    """Joint-space move to ``q`` (rad) at ``speed_percent`` of the maximum joint speed."""
    return {"command": "movej", "v": int(speed_percent), "joint": rad_to_wire(q),
            "trajectory_connect": int(connect), "r": int(blend_radius)}


def movej_canfd(
    q: Sequence[float], follow: bool, expand: float = 0.0, trajectory_mode: int = 0, radio: int = 0
) -> dict[str, Any]:
    """A streamed joint set-point (fire and forget: the controller sends no reply).

    ``follow`` true is the SDK's "high follow" (the controller tracks the set-point at once, used
    with ``trajectory_mode=1``); ``expand`` is the expansion joint in its unit, x1000 like the SDK.
    """
    return {"command": "movej_canfd", "joint": rad_to_wire(q), "follow": bool(follow),
            "expand": int(np.trunc(np.float32(expand) * np.float32(1000.0))),
            "trajectory_mode": int(trajectory_mode), "radio": int(radio)}


def reply_key(message: Mapping[str, Any]) -> str | None:
    """The name a reply is matched by: ``state`` if present, else ``command`` (None if neither)."""
    key = message.get("state", message.get("command"))
    return key if isinstance(key, str) else None


class LineSplitter:
    """Reassembles ``\\r\\n``-terminated messages from arbitrary TCP chunks."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        """Append ``chunk``; return the complete messages it finished (without terminators)."""
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(TERMINATOR)
        return [line for line in lines if line.strip()]


def decode(line: bytes) -> dict[str, Any] | None:
    """A message as a dict, or None for JSON that does not parse (the SDK drops it silently too)."""
    try:
        value = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


# --------------------------------------------------------------------------- replies the client parses


class ReplyFormatError(ValueError):
    """A reply matched by name but a required field is missing or malformed (the SDK's rc -3)."""


def int_array(message: Mapping[str, Any], key: str, length: int | None, where: str) -> list[int]:
    """Field ``key`` as a list of ints (of ``length`` when given), else ``ReplyFormatError`` naming ``where``."""
    value = message.get(key)
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ReplyFormatError(f"{where}: field {key!r} must be an int array, got {value!r}")
    if length is not None and len(value) != length:
        raise ReplyFormatError(f"{where}: field {key!r} has {len(value)} entries, expected {length}")
    return value


@dataclass(frozen=True)
class ArmState:
    """``get_current_arm_state``'s reply in SI units: joints (rad), pose ``[x, y, z, rx, ry, rz]``, errors."""

    joint: np.ndarray
    pose: np.ndarray
    errors: tuple[int, ...]

    @property
    def has_error(self) -> bool:
        return any(self.errors)


def parse_arm_state(message: Mapping[str, Any], dof: int) -> ArmState:
    """Validate ``current_arm_state`` like the SDK: nested ``arm_state`` with ``joint`` (dof ints),
    ``pose`` (6 ints) and a non-empty int array ``err``; anything else is a ``ReplyFormatError``."""
    state = message.get("arm_state")
    if not isinstance(state, dict):
        raise ReplyFormatError(f"current_arm_state: 'arm_state' must be an object, got {state!r}")
    joint = int_array(state, "joint", dof, "current_arm_state")
    pose = int_array(state, "pose", 6, "current_arm_state")
    err = int_array(state, "err", None, "current_arm_state")
    if not err:
        raise ReplyFormatError("current_arm_state: 'err' must not be empty")
    return ArmState(wire_to_rad(joint), wire_to_pose(pose), tuple(err))


def require_bool(message: Mapping[str, Any], key: str) -> bool:
    """A JSON boolean field (an int 0/1 is a format error, as in the SDK)."""
    value = message.get(key)
    if not isinstance(value, bool):
        raise ReplyFormatError(f"{reply_key(message)}: field {key!r} must be true/false, got {value!r}")
    return value


def dof_of_product(product: str) -> int:
    """Joints of the arm named by ``Product_version``; ValueError without a force suffix (SDK rule)."""
    if not any(s in product for s in _FORCE_SUFFIXES):
        raise ReplyFormatError(f"Product_version {product!r} has no force suffix ({', '.join(_FORCE_SUFFIXES)})")
    return next((dof for model, dof in _DOF_BY_MODEL if model in product), 7)

"""The safety layer between the policy and the drivers: nothing reaches the hardware without passing it.

Two parts, so the rules can be property-tested without hardware or threads:

``CommandFilter`` (pure): clamps each requested command, logging every clamp with requested vs.
safe values (LeRobot's ``ensure_safe_goal_position`` pattern, extended):

1. non-finite requests are replaced by the previous command (hold);
2. joint limits: the arm's MJCF ranges (the vendor URDF's), intersected with what the controller
   reports, shrunk by ``joint_margin``; the hand's URDF ranges;
3. ``max_relative_target``: at most this far from the *measured* position (LeRobot's rule: a
   blocked arm cannot be commanded ever further away);
4. per-step speed: at most ``max_step`` rad from the previous command (bursts);
5. per-second speed: over any ``speed_window_s`` window the commanded travel of each joint is at
   most ``max_speed * speed_window_s`` (sustained speed; binds after ~0.7 s of full-speed steps);
6. workspace: the hand mount and the fingertip end (``workspace_points``, flange frame) stay in
   an axis-aligned box of the base frame; a command that would leave it is shortened along its
   straight joint-space line to the last point inside (or held).

Steps 4-6 move the command toward the previous one only, so by convexity each keeps what the
earlier steps ensured; step 3 is the one that yields when it conflicts with 4 (speed wins).

``SafetyLayer`` (I/O): sends filtered commands through the drivers and *halts* - emergency stop of
the arm, hold of the hand, no further motion accepted - on any controller error code, any driver
failure (disconnect, late reply), a watchdog timeout (no command for ``watchdog_s`` while
streaming, i.e. since the first command of a stream), Ctrl-C or an explicit ``halt()`` from any thread. A halted layer raises ``SafetyStop``
on every later ``send``, so a halted run cannot move the arm again without a new layer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np

from real.interfaces import DeviceError, JointState, Robot
from real.kinematics import ArmKinematics
from real.robots.xhand.driver import HAND_JOINTS, HAND_LOWER, HAND_UPPER

log = logging.getLogger(__name__)

CLAMP_TOLERANCE = 1e-6
"""rad: smaller changes (e.g. a simulated finger sagging 1e-8 below its zero) are applied but not
reported; the arm's wire resolution is 0.001 deg = 1.7e-5 rad."""


def format_values(values: np.ndarray) -> str:
    """``[0.1234, -1e+300, nan]``: 4 significant digits, safe for any float (no overflow warnings)."""
    return "[" + ", ".join(f"{v:.4g}" for v in np.asarray(values, float).ravel()) + "]"


@dataclass
class SafetyConfig:
    """Limits of the safety layer (project choices; the hardware's own limits are wider).

    Attributes:
        joint_margin: rad kept from each arm joint limit.
        max_step: rad per command per arm joint (per-step limit; 1.5 rad/s at 30 Hz).
        max_speed: rad/s per arm joint averaged over ``speed_window_s`` (per-second limit; the
            hardware allows 3.1-3.9 rad/s, ROBOT_FACTS.md).
        speed_window_s: window of the per-second limit.
        max_relative_target: rad between a command and the measured position (LeRobot's name).
        hand_max_step: rad per command per finger joint (XHAND1 users bound steps to ~0.1 rad at
            30 Hz, ROBOT_FACTS.md).
        workspace_low / workspace_high: box in the arm base frame (m) for ``workspace_points``;
            the default keeps the hand above the table top (z = 0) in front of the base.
        workspace_points: points of the hand in the flange frame (m) that must stay in the box:
            the mount and the fingertip end (fingers along +z, 0.17 m, ``assets/xhand1``).
        watchdog_s: halt when no command was sent for this long while streaming; must exceed the
            policy's inference time.
    """

    joint_margin: float = 0.05
    max_step: float = 0.05
    max_speed: float = 1.0
    speed_window_s: float = 1.0
    max_relative_target: float = 0.2
    hand_max_step: float = 0.1
    workspace_low: tuple[float, float, float] = (0.15, -0.5, 0.04)
    workspace_high: tuple[float, float, float] = (0.85, 0.45, 0.65)
    workspace_points: tuple[tuple[float, float, float], ...] = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.17))
    watchdog_s: float = 0.5

    def __post_init__(self) -> None:
        positive = ("max_step", "max_speed", "speed_window_s", "max_relative_target", "hand_max_step", "watchdog_s")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"safety.{name} must be positive")
        if not np.all(np.less(self.workspace_low, self.workspace_high)):
            raise ValueError("safety.workspace_low must be below workspace_high on every axis")


@dataclass(frozen=True)
class Clamp:
    """One clamp: which rule, on which joints, the requested and the safe values (rad)."""

    rule: str
    joints: tuple[str, ...]
    requested: np.ndarray
    safe: np.ndarray


class SafetyStop(DeviceError):
    """The safety layer halted the robot; ``reason`` says why. Nothing more will be sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"safety stop: {reason}")
        self.reason = reason


class CommandFilter:
    """Clamps commands to the limits (module docstring, steps 1-6); no I/O, deterministic given ``now``."""

    def __init__(
        self,
        config: SafetyConfig,
        kinematics: ArmKinematics,
        arm_limits: tuple[np.ndarray, np.ndarray] | None = None,
        arm_joints: Sequence[str] = tuple(f"rm_joint{i}" for i in range(1, 8)),
    ) -> None:
        self.config = config
        self.kinematics = kinematics
        lower, upper = kinematics.lower, kinematics.upper
        if arm_limits is not None:  # the controller's own limits, where tighter
            lower, upper = np.maximum(lower, arm_limits[0]), np.minimum(upper, arm_limits[1])
        self.arm_lower = lower + config.joint_margin
        self.arm_upper = upper - config.joint_margin
        self.arm_joints = tuple(arm_joints)
        self._low = np.asarray(config.workspace_low, float)
        self._high = np.asarray(config.workspace_high, float)
        self._points = np.asarray(config.workspace_points, float).reshape(-1, 3)
        self.clamps: list[Clamp] = []
        self._arm = np.zeros(len(self.arm_joints))
        self._hand = np.zeros(len(HAND_JOINTS))
        self._history: deque[tuple[float, np.ndarray]] = deque()

    def reset(self, q_arm: np.ndarray, q_hand: np.ndarray) -> None:
        """Start from the measured joints (the previous command of the first step)."""
        self._arm = np.asarray(q_arm, float).copy()
        self._hand = np.asarray(q_hand, float).copy()
        self._history.clear()

    def workspace_violation(self, q: np.ndarray) -> float:
        """How far (m, summed over the points) the hand is outside the box at ``q``; 0 inside."""
        points = self.kinematics.points(q, self._points)
        return float(np.sum(np.maximum(self._low - points, 0) + np.maximum(points - self._high, 0)))

    def _clamp(self, rule: str, names: Sequence[str], before: np.ndarray, after: np.ndarray) -> np.ndarray:
        """Record and log the joints ``rule`` changed by more than ``CLAMP_TOLERANCE``; return ``after``."""
        changed = np.flatnonzero(np.abs(after - before) > CLAMP_TOLERANCE) if np.all(np.isfinite(before)) else np.arange(len(before))
        if len(changed):
            clamp = Clamp(rule, tuple(names[i] for i in changed), before[changed].copy(), after[changed].copy())
            self.clamps.append(clamp)
            log.warning("safety clamp [%s] %s: requested %s -> safe %s", rule, ", ".join(clamp.joints),
                        format_values(clamp.requested), format_values(clamp.safe))
        return after

    def arm(self, q: np.ndarray, measured: np.ndarray, now: float) -> np.ndarray:
        """The safe arm command for request ``q`` at time ``now`` (s), given the measured joints."""
        cfg, names, prev = self.config, self.arm_joints, self._arm
        q = np.asarray(q, float).reshape(prev.shape)
        if not np.all(np.isfinite(q)):
            q = self._clamp("non_finite", names, q, prev.copy())
        q = self._clamp("joint_limit", names, q, np.clip(q, self.arm_lower, self.arm_upper))
        measured = np.asarray(measured, float)
        q = self._clamp("max_relative_target", names, q,
                        np.clip(q, measured - cfg.max_relative_target, measured + cfg.max_relative_target))
        q = self._clamp("max_step", names, q, np.clip(q, prev - cfg.max_step, prev + cfg.max_step))
        while self._history and self._history[0][0] <= now - cfg.speed_window_s:
            self._history.popleft()
        travelled = sum((d for _, d in self._history), np.zeros_like(prev))
        budget = np.maximum(cfg.max_speed * cfg.speed_window_s - travelled, 0.0)
        q = self._clamp("max_speed", names, q, np.clip(q, prev - budget, prev + budget))
        q = self._clamp("workspace", names, q, self._inside(prev, q))
        self._history.append((now, np.abs(q - prev)))
        self._arm = q
        return q.copy()

    def _inside(self, prev: np.ndarray, q: np.ndarray) -> np.ndarray:
        """``q``, or the farthest point toward it from ``prev`` not further outside the box than ``prev``."""
        allowed = self.workspace_violation(prev) + 1e-9
        if self.workspace_violation(q) <= allowed:
            return q
        good, bad = 0.0, 1.0
        for _ in range(12):
            mid = 0.5 * (good + bad)
            if self.workspace_violation(prev + mid * (q - prev)) <= allowed:
                good = mid
            else:
                bad = mid
        return prev + good * (q - prev)

    def hand(self, q: np.ndarray) -> np.ndarray:
        """The safe hand command for request ``q``: finite, in range, within ``hand_max_step`` of the last."""
        prev, step = self._hand, self.config.hand_max_step
        q = np.asarray(q, float).reshape(prev.shape)
        if not np.all(np.isfinite(q)):
            q = self._clamp("non_finite", HAND_JOINTS, q, prev.copy())
        q = self._clamp("joint_limit", HAND_JOINTS, q, np.clip(q, HAND_LOWER, HAND_UPPER))
        q = self._clamp("max_step", HAND_JOINTS, q, np.clip(q, prev - step, prev + step))
        self._hand = q
        return q.copy()


class SafetyLayer:
    """Filtered sending, error checks, watchdog and halting (module docstring); thread-safe."""

    def __init__(
        self, arm: Robot, hand: Robot, command_filter: CommandFilter,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.arm, self.hand, self.filter, self.clock = arm, hand, command_filter, clock
        self.watchdog_s = command_filter.config.watchdog_s
        self.halted: str | None = None
        self._lock = threading.RLock()
        self._streaming = False
        self._last_command = clock()
        self._stop_event = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="safety-watchdog", daemon=True)
        self._watchdog.start()

    def start(self, q_arm: np.ndarray, q_hand: np.ndarray) -> None:
        """Begin a stream from the measured joints; the watchdog arms at its first command (so a slow
        first frame or the first, slowest inference does not trip it before anything moved)."""
        with self._lock:
            self._raise_if_halted()
            self.filter.reset(q_arm, q_hand)
            self._streaming = False

    def pause(self) -> None:
        """Stop expecting commands (between trials, while the operator works); the watchdog disarms."""
        self._streaming = False

    def check(self, arm_state: JointState) -> None:
        """Halt on any controller error code."""
        if arm_state.errors:
            self.halt(f"arm reports error codes {list(arm_state.errors)}")
            self._raise_if_halted()

    def send(self, q_arm: np.ndarray, q_hand: np.ndarray, measured_arm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Clamp and send one command; returns what the drivers sent. Raises ``SafetyStop`` once halted."""
        with self._lock:
            self._raise_if_halted()
            now = self.clock()
            arm = self.filter.arm(q_arm, measured_arm, now)
            hand = self.filter.hand(q_hand)
            try:
                sent_arm = self.arm.send_action(arm)
                sent_hand = self.hand.send_action(hand)
            except DeviceError as err:
                self.halt(f"driver failure while sending: {err}")
                raise SafetyStop(self.halted or str(err)) from err
            self._last_command = now
            self._streaming = True
            return sent_arm, sent_hand

    def halt(self, reason: str) -> None:
        """Stop everything now and refuse further motion; idempotent, callable from any thread."""
        with self._lock:
            if self.halted is not None:
                return
            self.halted = reason
            self._streaming = False
            log.error("SAFETY HALT: %s", reason)
            for device, action in ((self.arm, self.arm.emergency_stop), (self.hand, self.hand.stop)):
                try:
                    action()
                except DeviceError as err:
                    log.error("%s: stop failed during halt: %s", device.name, err)

    def close(self) -> None:
        self._stop_event.set()
        self._watchdog.join(timeout=1.0)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _raise_if_halted(self) -> None:
        if self.halted is not None:
            raise SafetyStop(self.halted)

    def _watch(self) -> None:
        while not self._stop_event.wait(self.watchdog_s / 5):
            idle = self.clock() - self._last_command
            if self._streaming and self.halted is None and idle > self.watchdog_s:
                self.halt(f"watchdog: no command for {idle:.2f} s (limit {self.watchdog_s} s)")

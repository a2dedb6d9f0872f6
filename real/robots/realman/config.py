"""Settings of the Realman arm driver (every default cites REALMAN_PROTOCOL.md or says it is ours)."""

from __future__ import annotations

from dataclasses import dataclass

from real.robots.realman import protocol


@dataclass
class RealmanConfig:
    """How to reach and drive a Realman RM75 controller.

    Attributes:
        host: controller IP (the vendor's default ``192.168.1.18``).
        port: controller TCP port (the vendor's examples use 8080; the SDK has no default).
        timeout_s: how long a request waits for its reply; the SDK's default is 0.5 s.
        connect_timeout_s: TCP connect timeout (ours).
        dof: joints the arm must report; the driver refuses a controller that says otherwise.
        move_speed_percent: ``v`` of ``movej`` (percent of max joint speed) for slow moves such
            as going home between trials (ours: 20 % is ~36-45 deg/s, slow enough to watch).
        move_timeout_s: give up on a blocking ``movej`` after this long (ours).
        follow: ``movej_canfd``'s follow flag for streamed set-points. False (the SDK's low
            follow, controller-side smoothing) is ours: policy targets at 30 Hz are coarse.
        trajectory_mode: ``movej_canfd``'s trajectory mode (0 = plain pass-through).
        radio: ``movej_canfd``'s smoothing ratio for trajectory modes 1 and 2.
        state_poll_s: how often a blocking move polls the arm state for errors (the SDK polls
            once per 500 ms wait; ours is faster so a fault stops the wait sooner).
    """

    host: str = protocol.DEFAULT_HOST
    port: int = protocol.DEFAULT_PORT
    timeout_s: float = 0.5
    connect_timeout_s: float = 2.0
    dof: int = 7
    move_speed_percent: int = 20
    move_timeout_s: float = 30.0
    follow: bool = False
    trajectory_mode: int = 0
    radio: int = 0
    state_poll_s: float = 0.1

    def __post_init__(self) -> None:
        if not 1 <= self.move_speed_percent <= 100:
            raise ValueError(f"move_speed_percent must be in 1..100, got {self.move_speed_percent}")
        if self.timeout_s <= 0 or self.move_timeout_s <= 0:
            raise ValueError("timeouts must be positive")

    @classmethod
    def from_address(cls, address: str, **overrides: object) -> RealmanConfig:
        """``"HOST:PORT"`` (or ``"HOST"``, port 8080) -> config."""
        host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
        if not host:
            raise ValueError(f"arm address {address!r} must be HOST:PORT, e.g. 192.168.1.18:8080")
        return cls(host=host, port=int(port) if port else protocol.DEFAULT_PORT, **overrides)  # type: ignore[arg-type]

"""Fault injection for the digital twin: what a real set-up does wrong, switchable at run time.

One ``FaultPlan`` is shared by the twin's arm server, fake hand SDK and fake camera; tests flip its
fields while a run is in progress (plain attribute writes are atomic in CPython, so no lock).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FaultPlan:
    """Faults to inject; the defaults inject none.

    Attributes:
        reply_delay_s: arm replies are sent this late (a busy or congested controller).
        delay_only: commands whose replies are delayed; empty means every command.
        mute: the arm server reads but never replies (a hung controller).
        error_codes: non-zero codes reported in ``arm_state.err``; while set, motion commands are
            ignored, as a faulted controller does.
        refuse: commands answered with ``false`` (``receive_state``/``arm_stop``).
        disconnect_after: close each arm connection after it has received this many messages.
        drop_every: the camera drops every n-th frame (0: never).
        drop_next: the camera drops this many frames from now on (counts down).
        hand_error: error code the fake hand SDK returns from every call (0: healthy).
    """

    reply_delay_s: float = 0.0
    delay_only: frozenset[str] = field(default_factory=frozenset)
    mute: bool = False
    error_codes: tuple[int, ...] = ()
    refuse: frozenset[str] = field(default_factory=frozenset)
    disconnect_after: int | None = None
    drop_every: int = 0
    drop_next: int = 0
    hand_error: int = 0

    def reply_delay(self, command: str) -> float:
        """Delay (s) for the reply to ``command``."""
        if not self.delay_only or command in self.delay_only:
            return self.reply_delay_s
        return 0.0

    def drop_frame(self, index: int) -> bool:
        """Whether frame number ``index`` (counting from 1) is dropped; consumes ``drop_next``."""
        if self.drop_next > 0:
            self.drop_next -= 1
            return True
        return self.drop_every > 0 and index % self.drop_every == 0

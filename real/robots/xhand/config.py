"""Settings of the XHAND1 driver (values from ROBOT_FACTS.md "XHAND1" and the vendor's examples)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class XHandConfig:
    """How to reach and drive one XHAND1.

    Attributes:
        protocol: ``"RS485"`` (USB adapter) or ``"EtherCAT"`` (first EtherCAT device found).
        serial_port: RS-485 device, e.g. ``/dev/ttyUSB0``; stable names live in ``/dev/serial/by-id``.
        baud_rate: RS-485 rate; the hand runs at 3 Mbaud.
        hand_id: bus id of the hand (ids do not survive a power cycle on some firmware: check with
            ``list_hands_id``).
        kp / ki / kd: per-finger position gains sent with every command (the vendor examples' 100/0/0).
        tor_max: per-finger current limit in mA (the vendor examples' 300).
        mode: finger control mode; 3 is position control (the only one this driver uses).
    """

    protocol: Literal["RS485", "EtherCAT"] = "RS485"
    serial_port: str = "/dev/ttyUSB0"
    baud_rate: int = 3_000_000
    hand_id: int = 0
    kp: int = 100
    ki: int = 0
    kd: int = 0
    tor_max: int = 300
    mode: int = 3

"""Configs of the real-robot commands (draccus dataclasses: ``--field value`` on the command line, YAML files).

``DeviceConfig`` is what every command needs to reach the robot; ``RunConfig``, ``ReplayConfig``
and ``TeleopConfig`` add their own fields. Nested blocks are reached as ``--safety.max_step=0.03``,
``--hand.serial_port=/dev/ttyUSB1``, ``--realman.follow=true``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from real.cameras.realsense import RealSenseConfig
from real.robots.realman.config import RealmanConfig
from real.robots.xhand.config import XHandConfig
from real.safety import SafetyConfig


@dataclass
class DeviceConfig:
    """How to reach the robot.

    Attributes:
        arm: the Realman controller as HOST:PORT (overrides ``realman.host``/``realman.port``).
        dry_run: send nothing; print every message the drivers would send (arm bytes, hand SDK calls).
        twin: run against an in-process digital twin (MuJoCo) instead of hardware; the arm is still
            driven over TCP by the real driver, the hand through a fake SDK module.
        camera: ``realsense`` on the robot; ``twin`` renders the twin's head camera (needs
            MUJOCO_GL=egl without a display); ``synthetic`` (twin, no GL) and ``still`` (grey) for plumbing.
        calibration: YAML with camera_to_base (and flange_to_mount); none = the simulated set-up's.
        realman / hand / realsense / safety: driver and safety settings.
    """

    arm: str = "192.168.1.18:8080"
    dry_run: bool = False
    twin: bool = False
    camera: Literal["realsense", "twin", "synthetic", "still"] = "realsense"
    calibration: Path | None = None
    realman: RealmanConfig = field(default_factory=RealmanConfig)
    hand: XHandConfig = field(default_factory=XHandConfig)
    realsense: RealSenseConfig = field(default_factory=RealSenseConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)

    def arm_config(self) -> RealmanConfig:
        base = RealmanConfig.from_address(self.arm)
        return RealmanConfig(**{**self.realman.__dict__, "host": base.host, "port": base.port})


@dataclass
class RunConfig(DeviceConfig):
    """``vitra-bench real run``: execute a TaskSpec's trials with a policy.

    Attributes:
        task: TaskSpec name (``vitra_bench.tasks``).
        split: TaskSpec split the trials are drawn from.
        policy: a checkpoint directory (``policies.checkpoints``) or ``initial`` (the do-nothing baseline).
        trials: number of trials; default the TaskSpec's count for the split.
        max_steps: control steps per trial; default the TaskSpec's horizon.
        actions_per_inference: steps executed from each predicted chunk before predicting again.
        joint_table: MANO<->XHAND1 table of the checkpoint (``project`` or ``release``).
        zero_shot: accept a checkpoint trained on another embodiment (human data) on purpose.
        policy_device: torch device for inference.
        seed: seed of the trial draws (objects, instructions).
        out: output root; the run writes ``<out>/<run_name>/`` (corpus/, results, log, config).
        run_name: default ``<task>__<policy>__<time>``.
        record: record every trial as a corpus episode.
        record_width / record_height: frame size stored in the corpus.
        max_dropped_frames: consecutive dropped camera frames tolerated (the last frame is reused).
    """

    task: str = "PickPlace"
    split: str = "seen"
    policy: str = "initial"
    trials: int | None = None
    max_steps: int | None = None
    actions_per_inference: int = 8
    joint_table: Literal["project", "release"] = "release"
    zero_shot: bool = False
    policy_device: str = "cpu"
    seed: int = 0
    out: Path = Path("outputs/real")
    run_name: str = ""
    record: bool = True
    record_width: int = 320
    record_height: int = 180
    max_dropped_frames: int = 5


@dataclass
class ReplayConfig(DeviceConfig):
    """``vitra-bench real replay``: send a recorded episode's commands again, through the safety layer.

    Attributes:
        corpus: corpus directory holding the episode.
        episode: episode key (e.g. ``run/PickPlace/seen/trial-000``).
    """

    corpus: Path = Path("outputs/real/corpus")
    episode: str = ""


@dataclass
class TeleopConfig(DeviceConfig):
    """``vitra-bench real teleop-record``: record demonstrations by keyboard teleoperation.

    Attributes:
        task: TaskSpec whose instructions label the demonstrations.
        split: split the instructions are drawn from.
        demos: demonstrations to record.
        max_steps: control steps per demonstration at most.
        step_m: end-effector translation per key press (m).
        joint_table: MANO<->XHAND1 table used to store the hand in the corpus.
        seed / out / run_name / record_width / record_height: as for ``real run``.
    """

    task: str = "PickPlace"
    split: str = "seen"
    demos: int = 1
    max_steps: int = 1800
    step_m: float = 0.005
    joint_table: Literal["project", "release"] = "release"
    seed: int = 0
    out: Path = Path("outputs/real")
    run_name: str = ""
    record_width: int = 320
    record_height: int = 180


@dataclass
class TwinServeConfig:
    """``vitra-bench real twin``: serve the Realman twin over TCP until Ctrl-C (for the vendor SDK or a
    second process running ``real run --arm HOST:PORT``; the hand and camera twins are in-process only).

    Attributes:
        host: address to listen on.
        port: TCP port (0: the OS picks one and it is printed).
    """

    host: str = "127.0.0.1"
    port: int = 8080


@dataclass
class StopConfig:
    """``vitra-bench real stop``: send ``set_arm_stop`` to the arm on a new connection.

    Attributes:
        arm: the Realman controller as HOST:PORT.
    """

    arm: str = "192.168.1.18:8080"

"""``vitra-bench real run``: a TaskSpec's trials on the robot, at the policy's 30 Hz, behind the safety layer.

One trial: the arm streams home (through the safety layer, like every motion), the operator resets
the scene for the sampled instance and presses Enter, the control loop runs, the operator labels
success and, after a failure, the task's milestones (how far it got). Each control step is
*capture -> inference -> command*, each part timed:

1. read the arm (error codes halt at once) and the hand, capture a frame (a dropped frame reuses
   the last one, up to ``max_dropped_frames`` in a row, then halts);
2. ``ActionSource.next_action``: the policy predicts a 16-step chunk every
   ``actions_per_inference`` steps (teleoperation plugs in here too);
3. the action becomes joint targets (``ActionMapper``), the safety layer clamps and sends them.

Any ``SafetyStop`` (error code, disconnect, late reply, watchdog) or Ctrl-C halts the robot and
ends the run; the trials finished so far keep their episodes and results. Every trial is recorded
as a corpus episode whatever its label, so real data serves fine-tuning and replay.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from real.action_mapping import ActionMapper
from real.config import RunConfig
from real.devices import Devices
from real.interfaces import DeviceError, FrameTimeout
from real.kinematics import ArmKinematics
from real.recorder import TrialRecorder
from real.results import TrialResult
from real.safety import CommandFilter, SafetyConfig, SafetyLayer, SafetyStop
from vitra_bench.corpus import CorpusWriter
from vitra_bench.episode import Instruction, prompt_at
from vitra_bench.geometry import fov_from_intrinsics
from vitra_bench.tasks import TaskSpec

if TYPE_CHECKING:
    from real.twin.faults import FaultPlan

log = logging.getLogger(__name__)

Ask = Callable[[str], str]
HOME_TOLERANCE = 0.01  # rad: "at home" for the streamed homing move


class ActionSource(Protocol):
    """Where actions come from: a policy, a teleoperator, a recording."""

    def reset(self) -> None:
        """Forget the previous trial (queued actions)."""

    def next_action(self, observation: dict[str, Any]) -> np.ndarray | None:
        """The (102,) action for this step, or None to end the episode (teleop's "done" key)."""


class PolicySource:
    """Serves a policy's chunks: predicts (B=1) every ``actions_per_inference`` steps."""

    def __init__(self, policy: Any, actions_per_inference: int, device: str = "cpu") -> None:
        self.policy, self.actions_per_inference, self.device = policy, actions_per_inference, device
        self._chunk: np.ndarray | None = None
        self._used = 0

    def reset(self) -> None:
        self._chunk, self._used = None, 0

    def next_action(self, observation: dict[str, Any]) -> np.ndarray:
        if self._chunk is None or self._used >= min(self.actions_per_inference, len(self._chunk)):
            self._chunk, self._used = self._predict(observation), 0
        action = self._chunk[self._used]
        self._used += 1
        return action

    def _predict(self, observation: dict[str, Any]) -> np.ndarray:
        import torch

        k = observation["intrinsics"]
        batch = {
            "image": torch.from_numpy(np.ascontiguousarray(observation["image"])).permute(2, 0, 1)[None],
            "instruction": [observation["instruction"]],
            "fov": torch.tensor(fov_from_intrinsics(k), dtype=torch.float32)[None],
            "intrinsics": torch.tensor(k, dtype=torch.float32)[None],
            "state": torch.from_numpy(observation["state"])[None],
            "state_mask": torch.from_numpy(observation["state_mask"])[None],
        }
        batch = {key: v.to(self.device) if isinstance(v, torch.Tensor) else v for key, v in batch.items()}
        with torch.no_grad():
            return self.policy.predict_actions(batch)[0].float().cpu().numpy()


@dataclass
class Session:
    """Everything a control loop needs, built once per run."""

    devices: Devices
    safety: SafetyLayer
    mapper: ActionMapper
    hz: float
    max_dropped_frames: int = 5
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _last_frame: np.ndarray | None = field(default=None, repr=False)


@contextmanager
def session(devices: Devices, safety_config: SafetyConfig, joint_table: str, hz: float,
            max_dropped_frames: int = 5) -> Any:
    """A safety layer and action mapper over connected ``devices``; the watchdog stops on exit."""
    kinematics = ArmKinematics()
    limits = getattr(devices.arm, "joint_min", None), getattr(devices.arm, "joint_max", None)
    command_filter = CommandFilter(safety_config, kinematics, None if limits[0] is None else limits)
    safety = SafetyLayer(devices.arm, devices.hand, command_filter)
    mapper = ActionMapper(ArmKinematics(), devices.calibration, joint_table)
    try:
        yield Session(devices, safety, mapper, hz, max_dropped_frames)
    except KeyboardInterrupt:
        safety.halt("operator interrupt (Ctrl-C)")
        raise
    finally:
        safety.close()


def _read(s: Session) -> tuple[np.ndarray, np.ndarray]:
    """Measured arm and hand joints; any device failure or arm error code halts."""
    try:
        arm = s.devices.arm.read_state()
        hand = s.devices.hand.read_joints()
    except DeviceError as err:
        s.safety.halt(f"reading the robot failed: {err}")
        raise SafetyStop(s.safety.halted or str(err)) from err
    s.safety.check(arm)
    return arm.position, hand


def _capture(s: Session, dropped: int) -> tuple[np.ndarray, int]:
    try:
        frame = s.devices.camera.read()
        s._last_frame = frame
        return frame, 0
    except FrameTimeout as err:
        dropped += 1
        log.warning("dropped frame (%d in a row): %s", dropped, err)
        if s._last_frame is None or dropped > s.max_dropped_frames:
            s.safety.halt(f"camera: {dropped} frames dropped in a row")
            raise SafetyStop(s.safety.halted or "camera") from err
        return s._last_frame, dropped


def stream_to(s: Session, arm_home: np.ndarray, hand_home: np.ndarray, timeout_s: float = 20.0) -> None:
    """Stream to a joint pose through the safety layer (its speed limits pace the move): homing, replay starts."""
    arm, hand = _read(s)
    s.safety.start(arm, hand)
    deadline = s.clock() + timeout_s
    while np.max(np.abs(arm - arm_home)) > HOME_TOLERANCE or np.max(np.abs(hand - hand_home)) > 0.05:
        if s.clock() > deadline:
            s.safety.halt(f"home not reached in {timeout_s} s (workspace or joint limits in the way?)")
            raise SafetyStop(s.safety.halted or "home")
        t0 = s.clock()
        s.safety.send(arm_home, hand_home, arm)
        s.sleep(max(0.0, t0 + 1.0 / s.hz - s.clock()))
        arm, hand = _read(s)
    s.safety.pause()


def execute(s: Session, source: ActionSource, recorder: TrialRecorder | None, prompt: str,
            max_steps: int) -> tuple[int, dict[str, float]]:
    """Run one episode from the current pose; returns (steps, latency summary in ms)."""
    arm, hand = _read(s)
    s.mapper.reset(arm)
    source.reset()
    s.safety.start(arm, hand)
    camera = s.devices.camera
    intrinsics = camera.intrinsics()
    timings: list[tuple[float, float, float]] = []
    dropped, steps = 0, 0
    for _ in range(max_steps):
        t0 = s.clock()
        if steps:
            arm, hand = _read(s)
        frame, dropped = _capture(s, dropped)
        t_capture = s.clock()
        observation = {"image": frame, "instruction": prompt, "intrinsics": intrinsics,
                       "state": s.mapper.state(arm, hand), "state_mask": s.mapper.state_mask}
        action = source.next_action(observation)
        if action is None:
            break
        t_inference = s.clock()
        arm_target, hand_target = s.mapper.targets(action)
        sent_arm, sent_hand = s.safety.send(arm_target, hand_target, arm)
        s.mapper.sync(sent_arm)
        t_command = s.clock()
        timings.append((t_capture - t0, t_inference - t_capture, t_command - t_inference))
        log.debug("step %d: capture %.1f ms, inference %.1f ms, command %.1f ms", steps,
                  *(1e3 * v for v in timings[-1]))
        if recorder is not None:
            recorder.add(frame, arm, hand, sent_arm, sent_hand)
        steps += 1
        s.sleep(max(0.0, t0 + 1.0 / s.hz - s.clock()))
    s.safety.pause()
    return steps, latency_summary(timings)


def latency_summary(timings: list[tuple[float, float, float]]) -> dict[str, float]:
    """Mean and p95 (ms) of capture, inference, command and their total over a trial's steps."""
    if not timings:
        return {}
    values = 1e3 * np.asarray(timings)
    parts = {"capture": values[:, 0], "inference": values[:, 1], "command": values[:, 2], "total": values.sum(1)}
    out = {}
    for name, v in parts.items():
        out[f"{name}_mean"] = float(v.mean())
        out[f"{name}_p95"] = float(np.percentile(v, 95))
    out["total_max"] = float(values.sum(1).max())
    return out


def make_prompt(instruction: str) -> str:
    """The prompt format the policy was trained with (``vitra_bench.episode.prompt_at``), right hand main."""
    return prompt_at({"right": [Instruction(instruction, 0, 1)]}, "right", 0)


def yes(answer: str) -> bool:
    return answer.strip().lower() in ("y", "yes", "1", "s", "success")


def label_events(task: TaskSpec, success: bool, ask: Ask, index: int) -> dict[str, bool]:
    """The operator's labels of the task's milestones, as simulation records them (``info["events"]``).

    A success implies every milestone (the expert tests check that in simulation), so the operator
    is asked only after a failure: that is where "how far did it get" tells policies apart.
    """
    from envs.robot.tasks import EVENT_QUESTIONS, EVENTS

    names = list(EVENTS.get(task.success, {}))
    if success:
        return dict.fromkeys(names, True)
    return {name: yes(ask(f"Trial {index + 1}: {name}: {EVENT_QUESTIONS[name]}? [y/n]: ")) for name in names}


def run_trials(
    s: Session, source: ActionSource, *, task: TaskSpec, split: str, trials: int, max_steps: int, seed: int,
    policy_name: str, run_name: str, writer: CorpusWriter | None, recorder: TrialRecorder, ask: Ask,
    say: Callable[[str], None] = print,
) -> list[TrialResult]:
    """The trial loop of ``real run`` (module docstring); returns the labelled trials."""
    rng = np.random.default_rng(seed)
    home_arm, home_hand = ArmKinematics().home, np.zeros(s.devices.hand.num_joints)
    results: list[TrialResult] = []
    for index in range(trials):
        instance = task.sample(split, rng)
        say(f"[trial {index + 1}/{trials}] moving home; keep clear of the arm")
        stream_to(s, home_arm, home_hand)
        scene = ", ".join(f"{k}: {v}" for k, v in instance.objects.items())
        extras = f"; distractors: {', '.join(instance.distractors)}" if instance.distractors else ""
        answer = ask(f"Reset the scene ({scene}{extras}; background {instance.background}) and press Enter "
                     f"to start \"{instance.instruction}\" (q to quit): ")
        if answer.strip().lower() == "q":
            break
        key = f"{run_name}/{task.name}/{split}/trial-{index:03d}"
        recorder.start(key, instance.instruction, s.devices.camera.intrinsics(),
                       (s.devices.camera.width, s.devices.camera.height))
        clamps_before = len(s.safety.filter.clamps)
        steps, latency = execute(s, source, recorder, make_prompt(instance.instruction), max_steps)
        success = yes(ask(f"Trial {index + 1}: success? [y/n]: "))
        events = label_events(task, success, ask, index)
        result = TrialResult(index, task.name, split, policy_name, instance.instruction, success, steps, key,
                             latency, len(s.safety.filter.clamps) - clamps_before, events)
        results.append(result)
        say(f"[trial {index + 1}] {'success' if success else 'failure'}, {steps} steps, "
            f"latency mean {latency.get('total_mean', float('nan')):.1f} ms "
            f"(p95 {latency.get('total_p95', float('nan')):.1f}), {result.clamps} clamps")
        if writer is not None and steps:
            writer.add(recorder.episode({"task": task.name, "split": split, "policy": policy_name,
                                         "instance": instance.__dict__, "success": success, "events": events,
                                         "latency_ms": latency, "clamps": result.clamps}))
    return results


def load_source(policy: str, actions_per_inference: int, joint_table: str, zero_shot: bool,
                device: str) -> tuple[ActionSource, str]:
    """``initial``, a checkpoint directory or a training run (its newest checkpoint), checked against the
    XHAND1 right-arm embodiment first."""
    if policy == "initial":
        from policies.baselines import InitialPositionPolicy

        return PolicySource(InitialPositionPolicy(), actions_per_inference, device), "initial"
    from policies.checkpoints import load_policy
    from policies.embodiment import check_compatible
    from policies.loading import resolve_checkpoint
    from vitra_bench.embodiment import xhand1

    checkpoint = resolve_checkpoint(policy)
    check_compatible(checkpoint, xhand1(["right"], joint_table), exact=not zero_shot)
    return PolicySource(load_policy(checkpoint, device), actions_per_inference, device), Path(policy).name


@dataclass
class RunSummary:
    """What ``run`` produced: the run directory, the labelled trials, and why it halted (None if it did not)."""

    out: Path
    trials: list[TrialResult]
    halted: str | None = None


def run(config: RunConfig, ask: Ask | None = None, say: Callable[[str], None] = print,
        twin_faults: FaultPlan | None = None) -> RunSummary:
    """``vitra-bench real run``: open the devices, run the trials, write the results.

    ``ask`` answers the operator prompts (tests pass scripted answers); ``twin_faults`` is the
    ``FaultPlan`` of a ``--twin`` run.
    """
    from real import results as results_table
    from real.devices import open_devices
    from real.recorder import open_writer
    from vitra_bench import tasks
    from vitra_bench.config import save_config

    ask = ask or input  # looked up per call, so a patched input() is seen
    task = tasks.get_task(config.task)
    trials = config.trials or task.trials(config.split)
    max_steps = config.max_steps or task.horizon
    source, policy_name = load_source(config.policy, config.actions_per_inference, config.joint_table,
                                      config.zero_shot, config.policy_device)
    name = config.run_name or f"{task.name}__{policy_name}__{time.strftime('%Y%m%d-%H%M%S')}"
    out = Path(config.out) / name
    out.mkdir(parents=True, exist_ok=True)
    save_config(config, out)
    size = (config.record_width, config.record_height)
    results: list[TrialResult] = []
    halted = None
    with _log_to(out / "run.log"), open_devices(config, twin_faults) as devices:
        recorder = TrialRecorder(size, devices.calibration, config.joint_table, task.control_hz)
        writer = open_writer(out / "corpus", size, task.control_hz) if config.record and not config.dry_run else None
        try:
            with session(devices, config.safety, config.joint_table, task.control_hz,
                         config.max_dropped_frames) as s:
                results = run_trials(s, source, task=task, split=config.split, trials=trials, max_steps=max_steps,
                                     seed=config.seed, policy_name=policy_name, run_name=name, writer=writer,
                                     recorder=recorder, ask=ask, say=say)
        except SafetyStop as stop:
            halted = stop.reason
            say(f"RUN HALTED: {stop.reason}")
        finally:
            if writer is not None:
                writer.close()
    if results:
        results_table.write(out, results)
        say(results_table.format_table(results))
    say(f"outputs in {out}")
    return RunSummary(out, results, halted)


@contextmanager
def _log_to(path: Path) -> Any:
    """Also log this run (every clamp and halt) to ``path``."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("real")
    root.addHandler(handler)
    previous = root.level
    root.setLevel(min(previous or logging.INFO, logging.INFO))
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        handler.close()

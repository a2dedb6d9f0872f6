"""The real-robot runner end to end against the digital twin (real TCP driver, fake hand SDK), its
fault handling (disconnect, error code, late replies, watchdog, Ctrl-C, dropped frames: the arm
gets a stop and no motion command after it), replay, keyboard teleoperation, and the dry run."""

from __future__ import annotations

import argparse
import ast
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from real.config import ReplayConfig, RunConfig, TeleopConfig
from real.devices import open_devices
from real.recorder import TrialRecorder, load_commands, open_writer
from real.replay import replay
from real.robots.realman import protocol
from real.runner import PolicySource, execute, label_events, run, run_trials, session
from real.safety import SafetyConfig, SafetyStop
from real.teleop import teleop_record
from real.twin.faults import FaultPlan
from vitra_bench import layout
from vitra_bench.corpus import Corpus
from vitra_bench.tasks import get_task

MOTION = {"movej", "movej_canfd"}


def _answers(*answers: str) -> Callable[[str], str]:
    queue = list(answers)
    return lambda prompt: queue.pop(0)


class ForwardPolicy:
    """Moves the hand mount 5 mm per step along the camera's +x and closes the index finger a little."""

    def predict_actions(self, batch: dict, generator: torch.Generator | None = None) -> torch.Tensor:
        actions = torch.zeros(1, layout.CHUNK_SIZE, layout.ACTION_DIM)
        actions[..., layout.RIGHT_ACTION.start] = 0.005
        actions[..., layout.RIGHT_ACTION.start + layout.finger_slot(0, 2)] = 0.3  # index1 z: index_joint1
        return actions


def _twin_config(tmp_path: Path, **overrides) -> RunConfig:
    return RunConfig(twin=True, camera="synthetic", out=tmp_path, run_name="t", **overrides)


def test_run_end_to_end_against_the_twin(tmp_path):
    answers = _answers("", "y", "", "n", "y")  # trial 2 failed, but the operator saw the object lifted
    summary = run(_twin_config(tmp_path, trials=2, max_steps=6), ask=answers, say=lambda _: None)
    out = summary.out
    assert summary.halted is None and len(summary.trials) == 2
    table = (out / "results.csv").read_text().splitlines()
    assert table[0].startswith("task,split,policy,trials,successes,success_rate,ci_low,ci_high")
    task, split, policy, n, k, _, low, high = table[1].split(",")
    assert (task, split, policy, n, k) == ("PickPlace", "seen", "initial", "2", "1")
    assert float(low) < 0.5 < float(high)
    info = json.loads((out / "eval_info.json").read_text())
    assert [e["success"] for e in info["per_episode"]] == [True, False]
    assert info["per_episode"][0]["latency_ms"]["total_mean"] > 0
    assert [e["events"] for e in info["per_episode"]] == [{"lifted": True}, {"lifted": True}]  # success implies it
    assert info["aggregated"]["pc_events"] == {"lifted": 100.0}
    with Corpus(out / "corpus") as corpus:
        assert corpus.num_episodes == 2
        episode = corpus.episode(0)
        assert episode.extra["trial"]["success"] is True and episode.hands["right"].kept.sum() == 6
    assert "SAFETY HALT" not in (out / "run.log").read_text()


def test_policy_moves_the_twin_and_the_recording_replays(tmp_path):
    config = _twin_config(tmp_path)
    task = get_task("PickPlace")
    with open_devices(config) as devices, session(devices, config.safety, "project", 30.0) as s:
        start = devices.twin.sim.arm_joints()
        recorder = TrialRecorder((64, 36), devices.calibration, "project", 30.0)
        with open_writer(tmp_path / "corpus", (64, 36), 30.0) as writer:
            results = run_trials(s, PolicySource(ForwardPolicy(), 8), task=task, split="seen", trials=1,
                                 max_steps=20, seed=0, policy_name="forward", run_name="r", writer=writer,
                                 recorder=recorder, ask=_answers("", "y"), say=lambda _: None)
        origin = s.mapper.mount_in_camera(start)[:3, 3]

        def moved() -> np.ndarray:
            return s.mapper.mount_in_camera(devices.twin.sim.arm_joints())[:3, 3] - origin

        deadline = time.monotonic() + 3.0  # the twin runs in wall-clock time on a shared CPU
        while moved()[0] < 0.03 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert moved()[0] > 0.03 and abs(moved()[1]) < 0.03  # ~20 x 5 mm along camera x (safety allows it)
        assert devices.twin.sim.hand_joints()[4] > 0.1
        assert results[0].steps == 20 and devices.twin.server.commands().count("movej_canfd") >= 20
    arm, hand, fps = load_commands(tmp_path / "corpus", results[0].episode_key)
    assert arm.shape == (20, 7) and hand.shape == (20, 12) and fps == 30.0
    replay_config = ReplayConfig(twin=True, camera="synthetic", corpus=tmp_path / "corpus",
                                 episode=results[0].episode_key)
    assert replay(replay_config, say=lambda _: None) == 20


class FaultAt:
    """An action source that does ``fault()`` once, at step ``step``, and otherwise holds still."""

    def __init__(self, step: int, fault: Callable[[], None]) -> None:
        self.step, self.fault, self.count, self.fault_time = step, fault, 0, None

    def reset(self) -> None:
        self.count = 0

    def next_action(self, observation: dict) -> np.ndarray:
        self.count += 1
        if self.count == self.step:
            self.fault_time = time.monotonic()
            self.fault()
        return np.zeros(layout.ACTION_DIM)


def _faulted_trial(make_fault: Callable[[object], Callable[[], None]], faults: FaultPlan | None = None,
                   expect: type[BaseException] = SafetyStop, **safety) -> tuple[list[str], str]:
    """Run a trial that faults at step 5; return the arm commands received from the fault on, and the halt reason."""
    faults = faults or FaultPlan()
    config = RunConfig(twin=True, camera="synthetic", safety=SafetyConfig(**safety), max_dropped_frames=3)
    with open_devices(config, faults) as devices:
        source = FaultAt(5, make_fault(devices))
        with pytest.raises(expect), session(devices, config.safety, "project", 30.0, 3) as s:
            execute(s, source, None, "Right hand: test.", 60)
        server = devices.twin.server
        reason = s.safety.halted or ""
    return server.commands(since=source.fault_time), reason


def _assert_stopped(commands: list[str]) -> None:
    assert "set_arm_stop" in commands, commands
    after = commands[commands.index("set_arm_stop"):]
    assert not MOTION & set(after), after


def test_disconnect_stops_the_arm_over_a_fresh_connection():
    commands, reason = _faulted_trial(lambda d: d.twin.server.disconnect_clients)
    _assert_stopped(commands)
    assert "reading the robot failed" in reason or "driver failure" in reason


def test_error_code_stops_the_arm():
    faults = FaultPlan()
    commands, reason = _faulted_trial(lambda d: lambda: setattr(faults, "error_codes", (4097,)), faults)
    _assert_stopped(commands)
    assert "4097" in reason


def test_late_replies_stop_the_arm():
    faults = FaultPlan()
    commands, reason = _faulted_trial(lambda d: lambda: setattr(faults, "reply_delay_s", 0.8), faults,
                                      watchdog_s=2.0)
    _assert_stopped(commands)
    assert "no 'current_arm_state' reply" in reason


def test_watchdog_stops_the_arm_when_inference_hangs():
    commands, reason = _faulted_trial(lambda d: lambda: time.sleep(0.4), watchdog_s=0.15)
    _assert_stopped(commands)
    assert reason.startswith("watchdog")


def test_ctrl_c_stops_the_arm():
    def interrupt() -> None:
        raise KeyboardInterrupt

    commands, reason = _faulted_trial(lambda d: interrupt, expect=KeyboardInterrupt)
    _assert_stopped(commands)
    assert "Ctrl-C" in reason


def test_dropped_frames_are_tolerated_then_stop_the_arm():
    faults = FaultPlan()
    config = RunConfig(twin=True, camera="synthetic", max_dropped_frames=3)
    with open_devices(config, faults) as devices, session(devices, config.safety, "project", 30.0, 3) as s:
        faults.drop_every = 4  # isolated drops: the last frame is reused
        steps, _ = execute(s, FaultAt(99, lambda: None), None, "Right hand: test.", 10)
        assert steps == 10
    commands, reason = _faulted_trial(lambda d: lambda: setattr(faults, "drop_next", 10), faults)
    _assert_stopped(commands)
    assert "frames dropped" in reason


def test_keyboard_teleop_records_a_demonstration(tmp_path):
    keys = iter(["w", "ww", "g", "", "gg", "x"])
    out = teleop_record(TeleopConfig(twin=True, camera="synthetic", out=tmp_path, run_name="tele"),
                        keys=lambda: next(keys), ask=_answers("", "y"), say=lambda _: None)
    with Corpus(out / "corpus") as corpus:
        assert corpus.num_episodes == 1 and corpus.episode(0).extra["trial"]["teleop"] == "keyboard"
    arm, hand, _ = load_commands(out / "corpus", "tele/PickPlace/demo-000")
    assert len(arm) == 5 and hand[-1, 4] > hand[0, 4]


def test_dry_run_prints_exactly_what_would_be_sent(tmp_path, capsys, monkeypatch):
    from vitra_bench.cli import real as real_cli

    parser = argparse.ArgumentParser()
    real_cli.register(parser.add_subparsers(dest="command"))
    args, unknown = parser.parse_known_args(
        ["real", "run", "--dry-run", "--trials", "1", "--max-steps", "3", "--out", str(tmp_path)])
    args.config_args = unknown
    monkeypatch.setattr("builtins.input", _answers("", "y"))
    assert args.run(args) == 0
    lines = capsys.readouterr().out.splitlines()
    sent = [ast.literal_eval(line.split(" <- ", 1)[1]) for line in lines if line.startswith("arm <- ")]
    assert sent and all(isinstance(b, bytes) and b.endswith(b"\r\n") for b in sent)
    messages = [json.loads(b) for b in sent]
    assert all(protocol.encode(m) == b for m, b in zip(messages, sent))  # printed = encoded, byte for byte
    assert [m["command"] for m in messages[:11]] == list(protocol.HANDSHAKE)
    assert [m["command"] for m in messages].count("movej_canfd") == 3
    assert messages[-1] == {"command": "set_arm_stop"}
    hand = [line for line in lines if line.startswith("hand <- send_command")]
    assert len(hand) >= 3 and '"mode":3' in hand[0]
    assert not list(tmp_path.glob("*/corpus"))  # a dry run records nothing


def test_operator_labels_each_milestone_after_a_failure_only():
    prompts: list[str] = []
    answers = iter(["y", "n"])

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    pour = get_task("Pour")
    assert label_events(pour, False, ask, 0) == {"lifted": True, "poured": False}
    assert prompts[0].startswith("Trial 1: lifted: did the robot hold the object at least 5 cm")
    assert "70 deg with its mouth above the cup" in prompts[1]
    assert label_events(pour, True, ask, 1) == {"lifted": True, "poured": True} and len(prompts) == 2  # not asked

"""The real command line, run in-process through ``main`` (and once as the installed script)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vitra_bench.cli.main import main

SYNTH = ["--episodes=3", "--frames=24", "--width=128", "--height=96"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "corpus"
    assert main(["corpus", "synth", f"--out={root}", *SYNTH]) == 0
    return root


def test_synth_writes_a_valid_corpus_and_its_resolved_config(corpus: Path, capsys: pytest.CaptureFixture) -> None:
    assert (corpus / "meta" / "info.json").exists()
    assert "episodes: 3" in (corpus / "config.yaml").read_text()
    assert main(["corpus", "validate", str(corpus)]) == 0
    assert "valid (3 episodes, 72 frames)" in capsys.readouterr().out


def test_stats_reports_sizes_and_action_statistics(corpus: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["corpus", "stats", str(corpus), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["episodes"] == 3 and summary["frames"] == 72
    assert summary["cameras"] == {"ego": [128, 96]}
    rows = summary["action_stats"]
    main_steps = sum(rows[f"{side} dt"]["valid_steps"] for side in ("left", "right"))
    assert main_steps > 0
    assert main(["corpus", "stats", str(corpus)]) == 0
    assert "mm/step" in capsys.readouterr().out


def test_show_prints_the_episode_and_writes_a_figure(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "episode.png"
    assert main(["corpus", "show", str(corpus), "1", f"--out={out}"]) == 0
    printed = capsys.readouterr().out
    assert "episode 1: synthetic-0-000001" in printed
    assert "Reach for the" in printed
    assert out.stat().st_size > 10_000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_show_selects_an_episode_by_key(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["corpus", "show", str(corpus), "synthetic-0-000002", "--no-frames", f"--out={tmp_path / 'e.png'}"]) == 0
    assert "episode 2: synthetic-0-000002" in capsys.readouterr().out


def test_show_logs_to_a_rerun_recording(corpus: Path, tmp_path: Path) -> None:
    pytest.importorskip("rerun")
    recording = tmp_path / "episode.rrd"
    assert main(["corpus", "show", str(corpus), "0", f"--rerun-save={recording}"]) == 0
    assert recording.stat().st_size > 10_000


def test_validate_reports_a_broken_corpus_and_exits_1(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(corpus, broken)
    next((broken / "data").rglob("*.parquet")).unlink()
    assert main(["corpus", "validate", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "data/chunk-000/file-000.parquet" in out and "problem(s)" in out


def test_bad_input_gives_a_one_line_error_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["corpus", "show", str(tmp_path / "missing"), "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vitra-bench: error:") and "Traceback" not in err
    assert main(["corpus", "synth", "--episodes=many"]) == 2
    assert "episodes" in capsys.readouterr().err


def test_unknown_arguments_of_plain_commands_are_rejected(corpus: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["corpus", "validate", str(corpus), "--frobnicate"])
    assert exit_info.value.code == 2


def test_demo_runs_every_stage_then_reuses_them(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "demo"
    args = ["demo", f"--out={out}", "--humansim.preset=lab", "--humansim.clips=1", "--humansim.seconds=null"]
    args += ["--humansim.width=160", "--humansim.height=120"]
    args += ["--grasp_eval.clips=1", "--grasp_eval.preset=lab", "--grasp_eval.width=160", "--grasp_eval.height=120"]
    args += ["--robot=false"]  # the robot stages have their own tests (test_robot_demos, test_sim_eval, test_robot_report)
    args += ["--pretrain.max_steps=2", "--pretrain.batch_size=2", "--pretrain.save_every=2", "--pretrain.policy.noise_draws=1", "--samples=1"]
    assert main(args) == 0
    stages = ("humansim", "grasp_eval", "truth_corpus", "engine", "engine_score", "validate", "inspect", "pretrain", "zero_shot", "report")
    for stage in stages:
        assert (out / stage / ".done").exists()
    assert (out / "humansim" / "clip_000000_truth.png").exists()
    assert (out / "inspect" / "episode_000000.png").exists()
    assert json.loads((out / "inspect" / "summary.json").read_text())["episodes"] > 0
    assert "truth corpus (upper bound)" in (out / "engine_score" / "score.md").read_text()
    assert "| pretrained | d_hand_obj_cm |" in (out / "zero_shot" / "zero_shot.md").read_text()
    report = (out / "report" / "REPORT.md").read_text()
    assert "## Zero-shot grasp prediction" in report and "| engine_score |" in report
    assert "clips: 1" in (out / "config.yaml").read_text()
    capsys.readouterr()
    assert main(args) == 0
    assert capsys.readouterr().out.count("done earlier") == len(stages) - 1  # the report is always regathered


def test_humansim_commands_generate_show_and_write_a_corpus(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    clips = tmp_path / "clips"
    args = ["humansim", "generate", "--preset", "lab", "--clips", "1", "--seed", "2", "--out", str(clips)]
    assert main([*args, "--width", "160", "--height", "120", "--seconds", "1"]) == 0
    assert "1 clip(s) written now" in capsys.readouterr().out
    assert main(["humansim", "show", str(clips / "clip_000000.mp4"), "--out", str(tmp_path / "truth.png")]) == 0
    assert (tmp_path / "truth.png").stat().st_size > 5_000
    assert main(["humansim", "to-corpus", "--clips", str(clips), "--out", str(tmp_path / "corpus")]) == 0
    assert main(["corpus", "validate", str(tmp_path / "corpus")]) == 0


def test_installed_script_runs() -> None:
    script = Path(sys.executable).with_name("vitra-bench")
    result = subprocess.run([str(script), "corpus", "synth", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "--episodes" in result.stdout

"""The robot table: Wilson intervals per source and split, zero-shot error beside, the correlation."""

from __future__ import annotations

import json

import pandas as pd

from vitra_bench.robot_report import robot_tables


def _eval_info(path, successes: int, trials: int, lifted: int | None = None) -> None:
    path.mkdir(parents=True)
    aggregated = {"n_episodes": trials, "pc_success": 100.0 * successes / trials}
    if lifted is not None:
        aggregated["pc_events"] = {"lifted": 100.0 * lifted / trials}
    (path / "eval_info.json").write_text(json.dumps({"aggregated": aggregated}))


def test_table_and_correlation(tmp_path):
    run, robot = tmp_path / "run", tmp_path / "run" / "robot"
    (run / "zero_shot").mkdir(parents=True)
    pd.DataFrame({"d_hand_obj_cm": [10.0, 12.0]}).to_csv(run / "zero_shot" / "pretrained_cases.csv", index=False)
    for fraction, error in (("20", 15.0), ("100", 12.0)):
        point = run / "sweep" / "points" / f"frac{fraction}_seed0"
        point.mkdir(parents=True)
        pd.DataFrame({"d_hand_obj_cm": [error]}).to_csv(point / "grasp_cases.csv", index=False)
    _eval_info(robot / "no_pretraining" / "PickPlace" / "seen", 0, 10, lifted=3)
    _eval_info(robot / "no_pretraining" / "PickPlace" / "unseen_object_background", 0, 10, lifted=1)
    _eval_info(robot / "pretrained" / "PickPlace" / "seen", 8, 10)
    _eval_info(robot / "pretrained_20pct" / "PickPlace" / "seen", 2, 10)
    _eval_info(robot / "pretrained_100pct" / "PickPlace" / "seen", 5, 10)
    text = robot_tables(run, robot, ["no_pretraining", "pretrained", "pretrained_20pct", "pretrained_100pct"]).read_text()
    assert "| pretrained | 80 [49, 94] (n=10) | - | 80 [49, 94] (n=10) | - | 11.0 |" in text  # Wilson 8/10
    header = next(line for line in text.splitlines() if line.startswith("| pretraining"))
    cells = dict(zip(header.split("|"), next(line for line in text.splitlines() if line.startswith("| no_pretraining")).split("|"), strict=True))
    assert cells[" all "] == " 0 [0, 16] (n=20) "  # Wilson 0/20 over both splits
    assert cells[" all: lifted "] == " 20 [8, 42] (n=20) "  # 4 of 20 trials took the object
    assert cells[" PickPlace seen "] == " 0 [0, 28] (n=10) "
    assert "Spearman rho = -1.00" in text  # lower error, higher success, over 3 checkpoints
    assert (robot / "robot_correlation.png").stat().st_size > 0


def test_table_command_reads_eval_outputs_without_a_run(tmp_path, capsys):
    from vitra_bench.cli.main import main

    _eval_info(tmp_path / "scratch" / "Pour" / "seen", 1, 20, lifted=12)
    _eval_info(tmp_path / "random" / "Pour" / "seen", 0, 10, lifted=0)
    assert main(["robot", "table", "--evals", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "| random | 0 [0, 28] (n=10) | 0 [0, 28] (n=10) | 0 [0, 28] (n=10) | - |" in printed  # sorted sources
    assert "| scratch | 5 [1, 24] (n=20) | 5 [1, 24] (n=20) | 60 [39, 78] (n=20) | - |" in printed
    assert (tmp_path / "robot.md").read_text().strip() == printed.strip()

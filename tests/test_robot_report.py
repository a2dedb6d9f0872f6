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
    assert "Zero-shot error vs success over 3 checkpoints: Spearman rho = -1.00" in text  # lower error, higher success
    assert (robot / "robot_correlation.png").stat().st_size > 0


def test_milestone_correlation_while_success_is_constant(tmp_path):
    run, robot = tmp_path / "run", tmp_path / "run" / "robot"
    for fraction, error in (("20", 15.0), ("50", 13.0), ("100", 12.0)):
        point = run / "sweep" / "points" / f"frac{fraction}_seed0"
        point.mkdir(parents=True)
        pd.DataFrame({"d_hand_obj_cm": [error]}).to_csv(point / "grasp_cases.csv", index=False)
    for fraction, lifted in (("20", 2), ("50", 5), ("100", 9)):
        _eval_info(robot / f"pretrained_{fraction}pct" / "Pour" / "seen", 0, 20, lifted=lifted)
    text = robot_tables(run, robot, ["pretrained_20pct", "pretrained_50pct", "pretrained_100pct"]).read_text()
    assert "Zero-shot error vs success over 3 checkpoints: Spearman rho = undefined" in text
    assert "Zero-shot error vs lifted over 3 checkpoints: Spearman rho = -1.00" in text


def test_table_command_reads_eval_outputs_without_a_run(tmp_path, capsys):
    from vitra_bench.cli.main import main

    _eval_info(tmp_path / "scratch" / "Pour" / "seen", 1, 20, lifted=12)
    _eval_info(tmp_path / "random" / "Pour" / "seen", 0, 10, lifted=0)
    assert main(["robot", "table", "--evals", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "| random | 0 [0, 28] (n=10) | 0 [0, 28] (n=10) | 0 [0, 28] (n=10) | - |" in printed  # sorted sources
    assert "| scratch | 5 [1, 24] (n=20) | 5 [1, 24] (n=20) | 60 [39, 78] (n=20) | - |" in printed
    assert (tmp_path / "robot.md").read_text().strip() == printed.strip()
    _eval_info(tmp_path / "scratch" / "Pour" / "unseen_object_background", 0, 20, lifted=2)
    assert main(["robot", "table", "--evals", str(tmp_path), "--splits", "unseen_object_background"]) == 0
    printed = capsys.readouterr().out
    assert "| scratch | 0 [0, 16] (n=20) | 0 [0, 16] (n=20) | 10 [3, 30] (n=20) | - |" in printed  # seen left out


def _tables(text: str) -> list[list[dict[str, str]]]:
    """The markdown tables of a report (blocks of '|' lines), each as rows of {column: cell}."""
    def cells(line: str) -> list[str]:
        return [c.strip() for c in line.strip().strip("|").split("|")]

    blocks = [block.splitlines() for block in text.split("\n\n") if block.startswith("|")]
    return [[dict(zip(cells(b[0]), cells(line), strict=True)) for line in b[2:]] for b in blocks]


def test_training_runs_are_pooled_and_shown_one_by_one(tmp_path):
    from vitra_bench.cli.main import main

    first, second, out = tmp_path / "seed0", tmp_path / "seed1", tmp_path / "pooled"
    _eval_info(first / "pretrained" / "Pour" / "seen", 1, 20, lifted=11)
    _eval_info(second / "pretrained" / "Pour" / "seen", 0, 20, lifted=3)
    _eval_info(first / "scratch" / "Pour" / "seen", 0, 20, lifted=4)
    _eval_info(second / "scratch" / "Pour" / "seen", 0, 20, lifted=4)
    _eval_info(first / "random" / "Pour" / "seen", 0, 10, lifted=1)  # no second run of this source
    assert main(["robot", "table", "--evals", str(first), str(second), "--out", str(out), "--baseline", "scratch"]) == 0
    text = (out / "robot.md").read_text()
    pooled, statistics = _tables(text)
    rates = {row["pretraining"]: row for row in pooled}
    assert rates["pretrained"]["Pour seen"] == "2 [0, 13] (n=40)"  # Wilson 1/40 (0.4 to 12.9 %): trials of both runs
    assert rates["pretrained"]["all: lifted"] == "35 [22, 50] (n=40)"  # 14 of 40
    stats = {(row["pretraining"], row["outcome"]): row for row in statistics}
    assert stats["pretrained", "lifted"]["per run"] == "11/20, 3/20"
    assert stats["random", "lifted"]["per run"] == "1/10, -" and stats["random", "lifted"]["runs differ (p)"] == "-"
    assert stats["scratch", "lifted"]["runs differ (p)"] == "1"  # 4/20 twice
    assert float(stats["pretrained", "lifted"]["runs differ (p)"]) < 0.05  # 11/20 against 3/20
    assert stats["scratch", "success"]["runs differ (p)"] == "1"  # 0/20 twice
    assert stats["pretrained", "lifted"]["vs scratch (p)"] == "0.21"  # Fisher exact, 14/40 against 8/40
    assert stats["pretrained", "lifted"]["vs scratch: points"] == "15 [-5, 33]"  # 35 % - 20 %, Newcombe
    assert stats["pretrained", "success"]["vs scratch (p)"] == "1"
    assert stats["scratch", "lifted"]["vs scratch (p)"] == "-"
    assert "Pooled over 2 training runs" in text and "runs differ" in text

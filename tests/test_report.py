"""REPORT.md: stages listed in the chain's order even when one was redone alone."""

from __future__ import annotations

import json
import os

from vitra_bench.report import write_report


def _stage_rows(text: str) -> list[str]:
    return [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ") and "seconds" not in line]


def test_stages_follow_the_chain_not_the_finish_time(tmp_path):
    run = tmp_path / "run"
    for offset, stage in enumerate(("robot", "pretrain", "humansim")):  # finished in the reverse of the chain's order
        (run / stage).mkdir(parents=True)
        marker = run / stage / ".done"
        marker.write_text(json.dumps({"seconds": 1.0 + offset}))
        os.utime(marker, (1000 + offset, 1000 + offset))
    chain = ["humansim", "pretrain", "robot"]
    assert _stage_rows(write_report(run, tmp_path / "out", "vitra-bench demo", stage_order=chain).read_text()) == chain
    assert _stage_rows(write_report(run, tmp_path / "out", "vitra-bench demo").read_text()) == chain[::-1]  # finish time

"""The run's report: one Markdown file gathering every stage's table and plot, with the paper's numbers.

Every number in it is read from files the stages of that run wrote (nothing is typed in), so
regenerating the run regenerates the report. Plots are copied beside the report, so the folder
can be committed (``results/``) and read on GitHub.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from vitra_bench.benchmarking import machine_info

PAPER_TABLE_1 = """| method (paper, VITRA_FACTS.md) | avg / median cm |
|---|---|
| initial position | 20.0 / 20.0 |
| lab data (EgoDex) | 17.6 / 18.3 |
| original human annotations | 14.1 / 14.1 |
| no augmentation | 11.6 / 10.7 |
| bidirectional attention | 9.3 / 7.2 |
| VITRA | 8.8 / 6.2 |"""

PAPER_ROBOT = """| method (paper) | P&P | FG | Pour | Sweep | avg (seen) | avg (unseen) |
|---|---|---|---|---|---|---|
| no VLA pretraining | 32.5 | 33.3 | 12.5 | 50.0 | 32.1 | 10.9 |
| VITRA | 80.0 | 66.7 | 75.0 | 62.5 | 71.0 | 64.6 |"""

# (stage folder, file, title, what it shows)
SECTIONS = (
    ("engine_score", "score.md", "Data engine vs HumanSim truth",
     "The engine's corpus of the run's wild clips scored per stage against their hidden truth; the truth corpus row is the upper bound."),
    ("zero_shot", "zero_shot.md", "Zero-shot grasp prediction",
     "Unseen rooms and held-out categories, the hand 20 cm from the target; d_hand_obj and best-of-K ADE/FDE in cm with bootstrap 95 % intervals."),
    ("conditions", "conditions.md", "Zero-shot table: the paper's conditions",
     "Each condition trained alike (same model, steps and seeds) and evaluated on the same clips.\n\n" + PAPER_TABLE_1),
    ("sweep", "sweep.md", "Data-scaling sweep",
     "Zero-shot d_hand_obj against the number of pretraining episodes, with log-linear and power-law fits (95 % intervals)."),
    ("robot", "robot.md", "Robot fine-tuning and simulated evaluation",
     "Success rates in MuJoCo with Wilson 95 % intervals.\n\n" + PAPER_ROBOT),
    ("twin", "twin.md", "Real-robot runner against the digital twin",
     "The real-robot runner driving the twin through the Realman TCP protocol."),
)  # fmt: skip


def write_report(run_dir: Path, out: Path, command: str, stage_order: Sequence[str] = ()) -> Path:
    """``out/REPORT.md`` from the stages of ``run_dir`` that finished; plots copied into ``out``.

    Stages are listed in ``stage_order`` (the chain's order), others after them by finish time: a
    stage redone alone finishes last but still belongs where it runs in the chain.
    """
    run_dir, out = Path(run_dir), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# vitra-bench report", "", f"Regenerate: `{command}`", ""]
    lines += [f"- {key}: {value}" for key, value in machine_info().items()]
    lines += ["", "## Stages and wall time", "", "| stage | seconds |", "|---|---|"]
    rank = {name: index for index, name in enumerate(stage_order)}
    markers = sorted(run_dir.glob("*/.done"), key=lambda p: (rank.get(p.parent.name, len(rank)), p.stat().st_mtime))
    for marker in markers:
        lines.append(f"| {marker.parent.name} | {json.loads(marker.read_text())['seconds']:.1f} |")
    for folder, name, title, intro in SECTIONS:
        table = run_dir / folder / name
        if not table.exists():
            continue
        lines += ["", f"## {title}", "", intro, "", table.read_text().rstrip()]
        for plot in sorted((run_dir / folder).glob("*.png")):
            copied = out / f"{folder}_{plot.name}"
            shutil.copyfile(plot, copied)
            lines += ["", f"![{folder} {plot.stem}]({copied.name})"]
    report = out / "REPORT.md"
    report.write_text("\n".join(lines) + "\n")
    return report

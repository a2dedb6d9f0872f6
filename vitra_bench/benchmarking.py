"""Reporting for ``benchmarks/``: the machine a number was measured on, and the files it goes to.

Every benchmark script reports the same way, so that results from different scripts and machines
read side by side: ``results/benchmarks/<name>.md`` holds a title, the machine and settings as
``- key: value`` lines, the table and a note on how to read it; ``<name>.csv`` holds the same rows
for plotting or diffing. A number without the machine it came from cannot be compared, so the
machine is written next to every table.

Nothing heavy is imported here (no torch, mujoco or mediapipe): each script passes the versions
of the libraries it uses, so a script that needs only MuJoCo does not pay for importing torch.
"""

from __future__ import annotations

import csv
import datetime
import os
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results" / "benchmarks"
"""Where results are written: the repository's ``results/benchmarks``, whatever the working directory."""

Row = Mapping[str, Any]


def cpu_model() -> str:
    """The CPU's model name, from ``/proc/cpuinfo`` where there is one.

    On Linux ``platform.processor()`` is usually empty and ``platform.machine()`` only says
    ``x86_64``, which does not tell two machines' speeds apart.
    """
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        lines = cpuinfo.read_text().splitlines()
        cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), cpu)
    return cpu


def machine_info(**extra: str) -> dict[str, str]:
    """``date`` (UTC), ``cpu``, ``cores``, ``python``, then ``extra`` (library versions, settings).

    ``cores`` counts the cores this process may run on (a container's or ``taskset``'s limit),
    not the host's, since that is what a throughput was measured with.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": str(cores),
        "python": platform.python_version(),
        **extra,
    }


def markdown_table(rows: Sequence[Row]) -> str:
    """A Markdown table of ``rows`` (no trailing newline); the first row's keys are the columns."""
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(row[key]) for key in header) + " |" for row in rows]
    return "\n".join(lines)


def write_results(
    name: str,
    title: str,
    info: Mapping[str, str],
    rows: Sequence[Row],
    notes: str = "",
    out: Path = RESULTS_DIR,
    info_in_csv: bool = True,
) -> str:
    """Write ``out/<name>.md`` and ``out/<name>.csv``; return the Markdown.

    The Markdown is ``# title``, the ``info`` lines, the table and ``notes``. With ``info_in_csv``
    every CSV row also carries the ``info`` values as extra columns, so that CSVs from several
    runs can be concatenated and still say where each row came from; where an ``info`` key is
    also a column of the rows, the row's value is kept.
    """
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{name}.csv", "w", newline="") as handle:
        extra = info if info_in_csv else {}
        writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys([*rows[0], *extra])))
        writer.writeheader()
        writer.writerows({**extra, **row} for row in rows)
    lines = [f"# {title}", "", *(f"- {key}: {value}" for key, value in info.items()), "", markdown_table(rows)]
    if notes:
        lines += ["", notes.rstrip("\n")]
    markdown = "\n".join(lines) + "\n"
    (out / f"{name}.md").write_text(markdown)
    return markdown

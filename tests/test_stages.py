import json
from pathlib import Path

import pytest

from vitra_bench.stages import DONE_MARKER, Stage, run_stages


def test_finished_stages_are_reused_and_an_interrupted_one_is_redone(tmp_path: Path) -> None:
    calls: list[str] = []

    def ok(name: str):
        def run(out: Path) -> None:
            calls.append(name)
            (out / "output.txt").write_text(name)

        return run

    def crash(out: Path) -> None:
        calls.append("second")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        run_stages(tmp_path, [Stage("first", "", ok("first")), Stage("second", "", crash)], log=lambda _: None)
    assert (tmp_path / "first" / DONE_MARKER).exists()
    assert not (tmp_path / "second" / DONE_MARKER).exists()

    seconds = run_stages(tmp_path, [Stage("first", "", ok("first")), Stage("second", "", ok("second"))], log=lambda _: None)
    assert calls == ["first", "second", "second"]
    assert set(seconds) == {"second"}
    assert json.loads((tmp_path / "second" / DONE_MARKER).read_text())["seconds"] >= 0

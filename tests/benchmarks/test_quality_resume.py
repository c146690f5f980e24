"""quality.py --resume: a run stopped part-way goes on with the (task, seed) pairs it had
finished, and refuses to mix in pairs run with other settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import quality
from benchmarks.tuning.pair_log import PairLog

HEADER = {"settings": {"trials": 4, "epochs": 3}, "methods": ["random+fifo", "tpe+asha-stop"]}


def test_a_resumed_log_holds_the_pairs_and_sittings_written_before(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    log = PairLog.open(path, HEADER, resume=False)
    log.add({"task": "moons", "seed": 0, "trained": 12})
    log.close({"date": "d1", "load_before": "0.1", "load_after": "0.2", "wall": 5.0})
    log.add({"task": "moons", "seed": 1, "trained": 7})  # then the run was stopped

    again = PairLog.open(path, HEADER, resume=True)
    assert [(p["seed"], p["trained"]) for p in again.finished] == [(0, 12), (1, 7)]
    assert [p["date"] for p in again.parts] == ["d1"]


def test_without_resume_an_earlier_log_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    PairLog.open(path, HEADER, resume=False).add({"task": "moons", "seed": 0})
    assert PairLog.open(path, HEADER, resume=False).finished == []
    assert PairLog.open(path, HEADER, resume=True).finished == []


def test_resuming_with_other_settings_is_refused_and_names_both(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    PairLog.open(path, HEADER, resume=False).add({"task": "moons", "seed": 0})
    other = {**HEADER, "methods": ["random+fifo"]}
    with pytest.raises(SystemExit, match="tpe\\+asha-stop.*--resume"):
        PairLog.open(path, other, resume=True)
    assert len(path.read_text().splitlines()) == 2  # the log is left as it was


def test_a_resumed_smoke_run_trains_nothing_again_and_reports_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quality.main(["--smoke", "--out", str(tmp_path)])
    first = (tmp_path / "quality.md").read_text()
    capsys.readouterr()

    quality.main(["--smoke", "--out", str(tmp_path), "--resume"])
    said = capsys.readouterr().out
    assert "resumed: 1 (task, seed) pairs" in said and "; 0 to run" in said
    assert "moons seed 0:" not in said  # the line a trained pair prints
    second = (tmp_path / "quality.md").read_text()
    body = first.split("\n## ", 1)[1]  # everything below the header (dates differ)
    assert second.split("\n## ", 1)[1] == body
    assert "Run in 2 sittings (--resume)" in second
    raw = json.loads((tmp_path / "quality-raw.json").read_text())
    assert len(raw["meta"]["parts"]) == 2

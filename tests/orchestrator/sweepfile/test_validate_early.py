"""Fail before starting anything: a sweep that cannot run is refused by `caviar validate`
and `caviar run` alike, before Ray starts and before a results directory is made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import ray
import yaml

from orchestrator.cli import main
from orchestrator.sweepfile.parse import SweepError, parse_sweep
from workers.data.datasets import load_dataset


class RayStarted(Exception):
    """Raised in place of starting or joining Ray."""


@pytest.fixture
def no_ray(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`ray.init` raises RayStarted; the working directory is tmp_path, so that a results
    directory made anywhere by default would be seen."""

    def init(*args: Any, **kwargs: Any) -> None:
        raise RayStarted

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.delenv("CAVIAR_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)


def _csv(path: Path, header: str, rows: int) -> Path:
    """A CSV file of two feature columns and a label of two classes taking turns."""
    lines = [header, *(f"{i},{i * i % 7},{i % 2}" for i in range(rows))]
    path.write_text("\n".join(lines) + "\n")
    return path


def _sweep(tmp_path: Path, dataset: Any, **top: Any) -> Path:
    raw = {
        "name": "early",
        "dataset": dataset,
        "space": {"learning_rate": {"type": "log_uniform", "low": 0.01, "high": 0.1}},
        "budget": {"trials": 2, "max_epochs": 2},
        **top,
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


def test_validate_refuses_a_csv_without_its_label_column_and_writes_nothing(
    tmp_path: Path, no_ray: None, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _csv(tmp_path / "d.csv", "x0,x1,labels", 20)
    sweep = _sweep(tmp_path, {"path": "d.csv", "label": "label"})
    before = _files(tmp_path)
    assert main(["validate", str(sweep)]) == 2
    assert capsys.readouterr().err == (
        f"caviar validate: error: dataset.label: no column 'label' in {data} "
        "(did you mean 'labels'?); columns are ['x0', 'x1', 'labels']\n"
    )
    assert _files(tmp_path) == before


def _bad_sweeps(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Sweep files that cannot run, each with what its error says."""
    folder = tmp_path / "sweeps"
    folder.mkdir()
    _csv(folder / "d.csv", "x0,x1,labels", 20)
    _csv(folder / "five.csv", "x0,x1,label", 5)
    (folder / "only.csv").write_text("label\n0\n1\n0\n1\n0\n1\n")
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "no label column": (
            {"dataset": {"path": "d.csv", "label": "label"}},
            "dataset.label: no column 'label'",
        ),
        "no label named": (
            {"dataset": "d.csv"},
            "dataset: a CSV or Parquet file needs the label column's name",
        ),
        "no feature column": (
            {"dataset": {"path": "only.csv", "label": "label"}},
            "only.csv: no feature columns besides the label 'label'",
        ),
        # 5 rows at val_fraction 0.2: ceil(1.0) = 1 validation row, and a part needs 2
        "too few rows": (
            {"dataset": {"path": "five.csv", "label": "label"}},
            "val_fraction: 0.2 of the 5 rows in",
        ),
        "absurd epochs": (
            {"dataset": "digits", "budget": {"max_epochs": 10**12}},
            "budget.max_epochs: must be an integer from 1 to 100000, got 1000000000000",
        ),
        "absurd trials": (
            {"dataset": "digits", "budget": {"trials": 10**12}},
            "budget.trials: must be an integer from 1 to 1000000, got 1000000000000",
        ),
    }
    sweeps = {}
    for i, (case, (top, says)) in enumerate(cases.items()):
        raw = {
            "name": "early",
            "space": {"learning_rate": 0.1},
            "budget": {"trials": 2, "max_epochs": 2},
            **top,
        }
        path = folder / f"sweep{i}.yaml"
        path.write_text(yaml.safe_dump(raw))
        sweeps[case] = (path, says)
    return sweeps


def test_run_refuses_a_sweep_that_cannot_run_before_ray_and_before_any_directory(
    tmp_path: Path, no_ray: None, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "runs"
    for case, (sweep, says) in _bad_sweeps(tmp_path).items():
        before = _files(tmp_path)
        for command in (["validate"], ["run", "--results", str(results)], ["run"]):
            assert main([*command[:1], str(sweep), *command[1:]]) == 2, (case, command)
            err = capsys.readouterr().err
            assert err.startswith(f"caviar {command[0]}: error: "), (case, command)
            assert says in err, (case, command)
            assert _files(tmp_path) == before, (case, command)  # no runs/, nothing at all
    assert not results.exists()


def test_run_of_a_good_sweep_gets_as_far_as_starting_ray(
    tmp_path: Path, no_ray: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The other side of the test above: with a file that can run, Ray is what starts (and
    its failure, not being bad input, exits 1 with its traceback)."""
    _csv(tmp_path / "d.csv", "x0,x1,label", 20)
    sweep = _sweep(tmp_path, {"path": "d.csv", "label": "label"})
    assert main(["validate", str(sweep)]) == 0
    assert main(["run", str(sweep), "--results", str(tmp_path / "runs")]) == 1
    assert "RayStarted\n" in capsys.readouterr().err  # the traceback's last line
    assert (tmp_path / "runs" / "early" / "sweep.db").is_file()


def test_validate_names_the_columns_and_how_to_name_the_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _csv(tmp_path / "d.csv", "x0,x1,y", 20)
    assert main(["validate", str(_sweep(tmp_path, "d.csv"))]) == 2
    assert capsys.readouterr().err == (
        "caviar validate: error: dataset: a CSV or Parquet file needs the label column's name "
        f"({data}); its columns are ['x0', 'x1', 'y']; write dataset: {{path: d.csv, label: "
        "COLUMN}\n"
    )


def test_a_valid_csv_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _csv(tmp_path / "d.csv", "x0,x1,label", 6)  # ceil(0.2 * 6) = 2 validation, 4 training rows
    assert main(["validate", str(_sweep(tmp_path, {"path": "d.csv", "label": "label"}))]) == 0
    assert "ok" in capsys.readouterr().out


def test_too_few_rows_name_the_rule_and_the_numbers(tmp_path: Path) -> None:
    three = _csv(tmp_path / "three.csv", "x0,x1,label", 3)
    with pytest.raises(SweepError) as info:
        parse_sweep({**_raw(three), "val_fraction": 0.5})
    assert str(info.value) == (
        f"dataset: {three} has at most 3 data row(s), too few to split: each part needs at "
        "least 2 rows (a row of every class, and a dataset has at least 2 classes)"
    )
    sixty = _csv(tmp_path / "sixty.csv", "x0,x1,label", 60)
    with pytest.raises(SweepError) as info:
        parse_sweep({**_raw(sixty), "val_fraction": 0.01})
    # ceil(0.01 * 60) = 1 validation row; 0.01 * n > 1 first holds at n = 101
    assert str(info.value) == (
        f"val_fraction: 0.01 of the 60 rows in {sixty} gives 1 validation and 59 training rows; "
        "each part needs at least 2 rows (a row of every class, and a dataset has at least 2 "
        "classes), so at this val_fraction the file needs at least 101 rows"
    )


def _raw(path: Path) -> dict[str, Any]:
    return {
        "name": "early",
        "dataset": {"path": str(path), "label": "label"},
        "space": {"learning_rate": 0.1},
    }


def test_the_row_rule_refuses_what_the_loader_refuses_for_two_balanced_classes(
    tmp_path: Path,
) -> None:
    """With two classes of rows taking turns, a file is refused up front exactly when the
    worker's loader would refuse it later."""
    seen = set()
    for rows in range(2, 14):
        path = _csv(tmp_path / f"d{rows}.csv", "x0,x1,label", rows)
        for val_fraction in (0.1, 0.2, 0.25, 0.5, 0.75, 0.9):
            try:
                load_dataset({"path": str(path), "label": "label"}, val_fraction=val_fraction)
                loads = True
            except ValueError:
                loads = False
            try:
                parse_sweep({**_raw(path), "val_fraction": val_fraction})
                parses = True
            except SweepError:
                parses = False
            assert parses == loads, (rows, val_fraction)
            seen.add(loads)
    assert seen == {True, False}

"""Bad input that used to get through `caviar validate`: a value left unused by another key,
a key given twice, a built-in dataset too small for its split, and more Hyperband brackets
than the budget has room for. Each is now refused with exit code 2, naming its entry."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import caviar
from orchestrator.cli import main
from orchestrator.schedulers import make_scheduler
from orchestrator.sweepfile.parse import SweepErrors, load_sweep, parse_sweep
from workers.data.datasets import load_dataset

SPACE = {"learning_rate": {"type": "log_uniform", "low": 0.01, "high": 0.1}}


def _validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(textwrap.dedent(text))
    code = main(["validate", str(sweep)])
    return code, capsys.readouterr().err


def _paths(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(SweepErrors) as info:
        parse_sweep(raw)
    return [p.path for p in info.value.problems]


# -- a value that breaks its rule is refused even when another key leaves it unused ---------


@pytest.mark.parametrize("trials", [0, "many", 10_000_000, 2.5, True])
def test_budget_trials_is_checked_when_every_stage_gives_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], trials: Any
) -> None:
    raw = {
        "name": "t",
        "space": SPACE,
        "budget": {"trials": trials},
        "stages": [{"trials": 2}, {"trials": 3}],
    }
    assert _paths(raw) == ["budget.trials"]
    code, err = _validate(tmp_path, yaml.safe_dump(raw), capsys)
    assert code == 2
    assert err.startswith("caviar validate: error: budget.trials: must be an integer from 1 to")
    with pytest.raises(caviar.InputError, match=r"^budget\.trials: "):
        caviar.validate(raw)


def test_a_bad_budget_trials_used_by_a_stage_is_one_problem_not_two() -> None:
    raw = {"name": "t", "space": SPACE, "budget": {"trials": 0}, "stages": [{}, {"trials": 3}]}
    assert _paths(raw) == ["budget.trials"]
    assert _paths({"name": "t", "space": SPACE, "budget": {"trials": 0}}) == ["budget.trials"]


def test_a_good_budget_trials_that_every_stage_overrides_is_still_fine() -> None:
    raw = {"name": "t", "space": SPACE, "budget": {"trials": 7}, "stages": [{"trials": 2}]}
    assert [s.trials for s in parse_sweep(raw).stages] == [2]


# -- a key given twice in one mapping -------------------------------------------------------


def test_two_budget_blocks_are_refused_naming_the_key_and_both_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _validate(
        tmp_path,
        """\
        name: twice
        budget: {trials: 4}
        space:
          learning_rate: {type: log_uniform, low: 0.01, high: 0.1}
        budget:
          max_epochs: 3
        """,
        capsys,
    )
    assert code == 2
    assert err == (
        "caviar validate: error: budget: is given twice in one mapping, on lines 2 and 5; "
        "YAML would keep only the last, so remove one\n"
    )


def test_a_nested_key_given_twice_is_named_by_its_path(tmp_path: Path) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(
        textwrap.dedent("""\
        name: twice
        space:
          learning_rate:
            type: log_uniform
            low: 0.01
            high: 0.1
            low: 0.001
        stages:
          - {trials: 2, trials: 3}
        """)
    )
    with pytest.raises(SweepErrors) as info:
        load_sweep(sweep)
    assert [(p.path, p.rule) for p in info.value.problems] == [
        (
            "space.learning_rate.low",
            "is given twice in one mapping, on lines 5 and 7; YAML would keep only the last, "
            "so remove one",
        ),
        (
            "stages[0].trials",
            "is given twice in one mapping, both on line 9; YAML would keep only the last, "
            "so remove one",
        ),
    ]


def test_keys_equal_as_values_are_the_same_key(tmp_path: Path) -> None:
    """YAML reads `1` and `1.0` (and `yes` and `true`) as equal keys: the last would win."""
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: t\nspace: {learning_rate: 0.1}\nmodel: {1: a, 1.0: b}\n")
    with pytest.raises(SweepErrors) as info:
        load_sweep(sweep)
    assert [p.path for p in info.value.problems] == ["model.1.0"]


def test_a_merged_key_may_be_overridden_as_yaml_means(tmp_path: Path) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(
        textwrap.dedent("""\
        name: merged
        space: {learning_rate: 0.1}
        stages:
          - &first {trials: 2}
          - {<<: *first, trials: 3}
        """)
    )
    assert [s.trials for s in load_sweep(sweep).stages] == [2, 3]


# -- a built-in dataset too small for its split -----------------------------------------------


def _dataset_sweep(dataset: str, val_fraction: float = 0.2) -> dict[str, Any]:
    return {"name": "t", "dataset": dataset, "val_fraction": val_fraction, "space": SPACE}


def test_moons_with_3_rows_is_refused_by_validate_not_at_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # make_moons(3) deals the rows 1 and 2: class 0 has one row, and a stratified split
    # needs two of each
    code, err = _validate(tmp_path, yaml.safe_dump(_dataset_sweep("moons:rows=3")), capsys)
    assert code == 2
    assert err == (
        "caviar validate: error: dataset: moons: a stratified split needs at least 2 rows per "
        "class, but class(es) [0] have 1; give it at least 4 rows\n"
    )
    with pytest.raises(ValueError, match="at least 2 rows per class"):  # as the run would
        load_dataset("moons:rows=3")


@pytest.mark.parametrize(
    ("dataset", "val_fraction", "path"),
    [
        # 4 rows at 0.2: ceil(0.8) = 1 validation row for 2 classes
        ("moons:rows=4", 0.2, "val_fraction"),
        # 9 rows in 3 classes deal 3, 3, 3: ceil(0.2 * 9) = 2 validation rows for 3 classes
        ("spirals:rows=9,classes=3", 0.2, "val_fraction"),
        # 1797 rows at 0.001: ceil(1.797) = 2 validation rows for 10 digits
        ("digits", 0.001, "val_fraction"),
        # 569 rows at 0.999: 569 - ceil(568.431) = 0 training rows
        ("breast_cancer", 0.999, "val_fraction"),
        # 5 rows in 3 classes deal 2, 2, 1
        ("synthetic:rows=5,classes=3,features=2", 0.5, "dataset"),
    ],
)
def test_a_builtin_whose_split_fails_is_refused_naming_the_culprit(
    dataset: str, val_fraction: float, path: str
) -> None:
    assert _paths(_dataset_sweep(dataset, val_fraction)) == [path]
    with pytest.raises(ValueError):  # and the worker would refuse it the same way
        load_dataset(dataset, val_fraction=val_fraction)


@pytest.mark.parametrize(
    ("dataset", "val_fraction"),
    [
        ("moons:rows=4", 0.5),  # 2 and 2 rows: each part gets one of each class
        ("moons:rows=10", 0.2),  # 2 validation rows, 8 training rows
        ("spirals:rows=6,classes=3", 0.5),
        ("digits", 0.006),  # ceil(10.782) = 11 validation rows for 10 digits
    ],
)
def test_a_builtin_just_large_enough_passes_and_loads(dataset: str, val_fraction: float) -> None:
    parse_sweep(_dataset_sweep(dataset, val_fraction))
    load_dataset(dataset, val_fraction=val_fraction)


# -- Hyperband's brackets within what max_epochs and the grace period allow -------------------


def test_a_million_brackets_is_refused_by_validate_not_an_overflow_at_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _validate(
        tmp_path,
        """\
        name: hb
        space: {learning_rate: 0.1}
        scheduler: {name: hyperband, brackets: 1000000}
        budget: {max_epochs: 30}
        """,
        capsys,
    )
    assert code == 2
    # brackets start at 1, 3, 9, 27 epochs; the fifth would start at 81 > 30
    assert err.startswith(
        "caviar validate: error: scheduler.brackets: must be at most 4 with grace_period 1, "
        "reduction_factor 3 and budget.max_epochs 30, got 1000000; "
    )
    assert "Traceback" not in err


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_a_scheduler_setting_that_is_not_a_finite_number_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code, err = _validate(
        tmp_path,
        f"""\
        name: eta
        space: {{learning_rate: 0.1}}
        scheduler: {{name: asha, reduction_factor: {value}}}
        budget: {{max_epochs: 9}}
        """,
        capsys,
    )
    assert code == 2
    assert "scheduler.reduction_factor: must be a number > 1" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["asha", "hyperband"])
def test_every_bracket_the_budget_has_room_for_is_accepted_and_builds(name: str) -> None:
    # grace 2, eta 2, 16 epochs: brackets start at 2, 4, 8 and 16 epochs
    settings: dict[str, Any] = {"name": name, "grace_period": 2, "reduction_factor": 2}
    raw = {"name": "t", "space": SPACE, "budget": {"max_epochs": 16}}
    spec = parse_sweep({**raw, "scheduler": {**settings, "brackets": 4}})
    scheduler = make_scheduler(spec.scheduler, 16, 1.0, np.random.default_rng(0))
    assert [b.grace for b in scheduler.brackets] == [2, 4, 8, 16]  # type: ignore[attr-defined]
    assert _paths({**raw, "scheduler": {**settings, "brackets": 5}}) == ["scheduler.brackets"]


def test_a_bad_grace_period_is_still_named_with_brackets_given() -> None:
    raw = {
        "name": "t",
        "space": SPACE,
        "budget": {"max_epochs": 10},
        "scheduler": {"name": "hyperband", "grace_period": 20, "brackets": 2},
    }
    assert _paths(raw) == ["scheduler.grace_period"]

"""The sweep file's `test_fraction`: parsed, 0 by default, in the workers' data only when a
test part is asked for, and refused (naming it) when it breaks a rule or the split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.sweepfile.data import MIN_SPLIT_PART, rows_needed
from orchestrator.sweepfile.parse import SweepErrors, parse_sweep
from workers.data.datasets import load_dataset, split_parts

SPACE = {"learning_rate": {"type": "log_uniform", "low": 0.01, "high": 0.1}}
PROPERTY = settings(  # the same examples on every run, as in test_sweep_properties.py
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _sweep(**top: Any) -> dict[str, Any]:
    return {"name": "t", "dataset": "digits", "space": SPACE, **top}


def _problems(raw: dict[str, Any], base_dir: Path = Path(".")) -> list[Any]:
    with pytest.raises(SweepErrors) as info:
        parse_sweep(raw, base_dir)
    return info.value.problems


def test_it_defaults_to_0_and_leaves_the_workers_data_as_it_was() -> None:
    for raw in (_sweep(), _sweep(test_fraction=0), _sweep(test_fraction=0.0)):
        spec = parse_sweep(raw)
        assert spec.test_fraction == 0.0
        assert spec.data == {"spec": "digits", "seed": 0, "val_fraction": 0.2}


def test_a_test_fraction_is_parsed_and_sent_to_the_workers() -> None:
    spec = parse_sweep(_sweep(test_fraction=0.25, val_fraction=0.15, seed=3))
    assert spec.test_fraction == 0.25
    assert spec.data == {"spec": "digits", "seed": 3, "val_fraction": 0.15, "test_fraction": 0.25}
    data = spec.data  # what a worker loads: 1797 rows, ceil(269.55) and ceil(449.25) held out
    ds = load_dataset(
        data["spec"],
        seed=data["seed"],
        val_fraction=data["val_fraction"],
        test_fraction=data["test_fraction"],
    )
    assert (ds.n_train, ds.n_val, ds.n_test) == (1797 - 270 - 450, 270, 450)


@pytest.mark.parametrize(
    ("top", "says"),
    [
        ({"test_fraction": -0.1}, "must be a number in [0, 1), got -0.1"),
        ({"test_fraction": 1}, "must be a number in [0, 1), got 1"),
        ({"test_fraction": 1.5}, "must be a number in [0, 1), got 1.5"),
        ({"test_fraction": "a fifth"}, "must be a number in [0, 1), got 'a fifth'"),
        ({"test_fraction": True}, "must be a number in [0, 1), got True"),
        (
            {"test_fraction": 0.5, "val_fraction": 0.5},
            "val_fraction + test_fraction must be < 1 so rows are left for training, but "
            "val_fraction is 0.5, got 0.5",
        ),
    ],
)
def test_a_bad_test_fraction_is_refused_naming_it(top: dict[str, Any], says: str) -> None:
    problems = _problems(_sweep(**top))
    assert [(p.path, p.reason) for p in problems] == [("test_fraction", says)]


def test_a_builtin_too_small_for_a_test_part_is_refused_naming_test_fraction() -> None:
    # 6 rows in 3 classes at 0.5 + 0.3: 3 validation, 2 test and 1 training row
    raw = _sweep(dataset="spirals:rows=6,classes=3", val_fraction=0.5, test_fraction=0.3)
    [problem] = _problems(raw)
    assert problem.path == "test_fraction" and "at least one row per class (3)" in str(problem)
    assert "choose a smaller test_fraction" in str(problem)
    parse_sweep({**raw, "test_fraction": 0})  # without the test part it splits


def test_a_file_too_short_for_a_test_part_is_refused_naming_test_fraction(tmp_path: Path) -> None:
    (tmp_path / "six.csv").write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(6)))
    raw = _sweep(dataset={"path": "six.csv", "label": "y"})
    # 6 rows at 0.2 + 0.2: ceil(1.2) = 2 validation, 2 test and 2 training rows
    parse_sweep({**raw, "test_fraction": 0.2}, tmp_path)
    # at 0.2 + 0.4: 2 validation, ceil(2.4) = 3 test rows and 1 training row
    [problem] = _problems({**raw, "test_fraction": 0.4}, tmp_path)
    assert problem.path == "test_fraction"
    assert "gives 3 test, 2 validation and 1 training rows" in str(problem)


@pytest.mark.parametrize("val_fraction", [0.05, 0.2, 0.33, 0.5])
@pytest.mark.parametrize("test_fraction", [0.01, 0.1, 0.3, 0.49])
def test_every_file_from_rows_needed_on_splits(val_fraction: float, test_fraction: float) -> None:
    needed = rows_needed(val_fraction, test_fraction)
    for rows in range(needed, needed + 500):
        assert min(split_parts(rows, val_fraction, test_fraction)) >= MIN_SPLIT_PART, rows


@st.composite
def builtins(draw: st.DrawFn) -> tuple[str, float, float]:
    name = draw(st.sampled_from(["moons", "spirals", "synthetic"]))
    options = [f"rows={draw(st.integers(2, 30))}"]
    if name != "moons":
        options.append(f"classes={draw(st.integers(2, 4))}")
    if name == "synthetic":
        options.append("features=2")
    val_fraction = draw(st.floats(0.05, 0.9))
    return f"{name}:{','.join(options)}", val_fraction, draw(st.floats(0.01, 0.9))


@PROPERTY
@given(case=builtins())
def test_a_builtin_with_a_test_part_validates_exactly_when_the_worker_can_split_it(
    case: tuple[str, float, float],
) -> None:
    dataset, val_fraction, test_fraction = case
    try:
        load_dataset(dataset, val_fraction=val_fraction, test_fraction=test_fraction)
        loads = True
    except ValueError:
        loads = False
    try:
        parse_sweep(_sweep(dataset=dataset, val_fraction=val_fraction, test_fraction=test_fraction))
        validates = True
    except SweepErrors as err:
        validates = False
        assert {p.path for p in err.problems} <= {"dataset", "val_fraction", "test_fraction"}
    assert validates == loads, case

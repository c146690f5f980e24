"""A sweep file with several mistakes: every one is reported at once, in the file's order,
and none that only follows from another."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

import caviar
from orchestrator.cli import main
from orchestrator.sweepfile.parse import SweepError, SweepErrors, load_sweep, parse_sweep

# Four independent mistakes, one per line marked; the paths in the order they come.
FOUR = textwrap.dedent("""\
    name: my sweep                                    # a space: not a directory name
    dataset: digits
    budjet: {trials: 4}                               # a misspelt key
    space:
      learning_rate: {type: log_uniform, low: 1, high: 1e-3}   # low > high
      optimizer: [momentum, adam]
    scheduler: {name: asha, reduction_factor: 1}      # must be > 1
    budget: {trials: 4, max_epochs: 5}
    """)
FOUR_PATHS = ["name", "budjet", "space.learning_rate.low", "scheduler.reduction_factor"]


def _problems(raw: Any) -> list[SweepError]:
    with pytest.raises(SweepErrors) as info:
        parse_sweep(raw)
    return info.value.problems


def test_four_independent_mistakes_are_four_problems_in_file_order(tmp_path: Path) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(FOUR)
    with pytest.raises(SweepErrors) as info:
        load_sweep(sweep)
    err = info.value
    assert [p.path for p in err.problems] == FOUR_PATHS
    lines = str(err).splitlines()
    assert lines[0] == "4 problems in the sweep file:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == FOUR_PATHS
    assert "got 'my sweep'" in lines[1]
    assert "(did you mean 'budget'?)" in lines[2]
    assert "low < high must hold, got low=1.0, high=0.001" in lines[3]
    assert "must be a number > 1 (keep the top 1/eta at a rung), got 1" in lines[4]
    assert isinstance(err, SweepError) and isinstance(err, ValueError)  # old handlers hold


def test_the_order_is_the_files_not_the_validators() -> None:
    raw = {
        "scheduler": "ashha",
        "space": {"learning_rat": 0.1},
        "seed": -1,
        "name": "ok",
    }
    assert [p.path for p in _problems(raw)] == ["scheduler", "space.learning_rat", "seed"]


def test_one_mistake_gives_the_message_it_always_gave() -> None:
    with pytest.raises(SweepErrors) as info:
        parse_sweep({"name": "t", "space": {"learning_rate": 0.1}, "seed": -1})
    assert str(info.value) == "seed: must be an integer >= 0, got -1"
    assert info.value.path == "seed"
    assert [str(p) for p in info.value.problems] == [str(info.value)]


def test_every_parameter_every_stage_and_every_scheduler_setting_is_checked() -> None:
    raw = {
        "name": "t",
        "space": {
            "learning_rate": {"type": "log_uniform", "low": 0, "high": 1},
            "hidden_units": {"type": "int_uniform", "low": 0, "high": 8},
            "optimizer": ["adam", "sgd"],
        },
        "stages": [{"trials": 0}, {"trials": 4, "sampler": "grd"}, {"trials": 4, "zoom": 3}],
        "scheduler": {"name": "asha", "reduction_factor": 1, "mode": "promot"},
        "budget": {"max_epochs": 5},
    }
    assert [p.path for p in _problems(raw)] == [
        "space.learning_rate.low",
        "space.hidden_units.low",
        "space.optimizer.values[1]",
        "stages[0].trials",
        "stages[1].sampler",
        "stages[2].zoom",
        "scheduler.reduction_factor",
        "scheduler.mode",
    ]


def test_what_depends_on_a_section_with_a_problem_is_not_checked(tmp_path: Path) -> None:
    # the tied rule (decay_rate in (0, 1] under exponential decay) would fail on sampled
    # points too; with a problem in the space it is not sampled, so it is said once
    raw = {
        "name": "t",
        "model": {"lr_decay": "exponential"},
        "space": {
            "decay_rate": {"type": "uniform", "low": 0.5, "high": 2.0},
            "learning_rate": {"type": "log_uniform", "low": 0, "high": 1},
        },
    }
    assert [p.path for p in _problems(raw)] == ["space.learning_rate.low"]
    # a bad val_fraction: the data file's length is not measured against it
    data = tmp_path / "d.csv"
    data.write_text("a,label\n" + "".join(f"{i},{i % 2}\n" for i in range(5)))
    raw = {
        "name": "t",
        "dataset": {"path": str(data), "label": "label"},
        "val_fraction": 1.5,
        "space": {"learning_rate": 0.1},
    }
    assert [p.path for p in _problems(raw)] == ["val_fraction"]
    # a bad max_epochs: the grace period is not compared with it
    raw = {
        "name": "t",
        "space": {"learning_rate": 0.1},
        "scheduler": {"name": "asha", "grace_period": 20},
        "budget": {"max_epochs": 0},
    }
    assert [p.path for p in _problems(raw)] == ["budget.max_epochs"]
    # a bad top-level sampler is said once, not again for each stage that uses it
    raw = {
        "name": "t",
        "space": {"learning_rate": 0.1},
        "sampler": "grd",
        "stages": [{"trials": 2}, {"trials": 2}],
    }
    assert [p.path for p in _problems(raw)] == ["sampler"]


def test_a_budget_two_stages_share_is_said_once() -> None:
    raw = {
        "name": "t",
        "space": {"learning_rate": 0.1},
        "stages": [{"sampler": "random"}, {"sampler": "sobol"}],
        "budget": {"trials": 0},
    }
    assert [p.path for p in _problems(raw)] == ["budget.trials"]


def test_caviar_validate_of_a_dict_lists_every_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    raw = {"name": "a b", "space": {"learning_rate": 0.1}, "seed": 1.5, "metric": "acc"}
    with pytest.raises(ValueError, match="^3 problems in the sweep file:\n") as info:
        caviar.validate(raw)
    assert [p.path for p in info.value.problems] == ["name", "seed", "metric"]  # type: ignore[attr-defined]


def test_caviar_validate_prints_every_problem_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(FOUR)
    assert main(["validate", str(sweep)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0] == "caviar validate: error: 4 problems in the sweep file:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == FOUR_PATHS
    assert captured.out == ""

"""One error root: every error class is a `caviar.CaviarError`; bad input is an `InputError`
(path, rule, value, hint) that the command line reports in one line with exit code 2, and
anything else, an internal ValueError from numpy included, keeps its traceback and exits 1.
"""

from __future__ import annotations

import importlib
import pickle
import pkgutil
import types
from pathlib import Path

import numpy as np
import pytest

import caviar
from caviar_common.errors import ConfigError, InputError
from orchestrator.cli import main
from orchestrator.cluster.control import ClusterError, PortTaken
from orchestrator.cluster.ray_jobs import JobsError
from orchestrator.search.samplers import RandomSampler
from orchestrator.search.space import SpaceError
from orchestrator.sweepfile.checks import SweepError, SweepErrors
from orchestrator.sweepfile.fields import FieldError

PACKAGES = ("caviar", "caviar_common", "orchestrator", "workers")
GOOD = "name: ok\nspace:\n  learning_rate: {type: log_uniform, low: 0.01, high: 0.1}\n"


def _error_classes(module: types.ModuleType) -> list[type[BaseException]]:
    """The exception classes `module` itself defines (not those it imports); a warning
    (SweepWarning: legal, probably unintended) is not an error."""
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and not issubclass(value, Warning)
        and value.__module__ == module.__name__
    ]


def _modules() -> list[types.ModuleType]:
    """Every module of Caviar's packages, imported (a `__main__` would run a command)."""
    found = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        found.append(package)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            if not info.name.endswith("__main__"):
                found.append(importlib.import_module(info.name))
    return found


def test_every_error_class_in_the_code_is_a_caviar_error() -> None:
    modules = _modules()
    assert len(modules) > 50  # the walk saw the packages, not just their __init__s
    classes = {cls for module in modules for cls in _error_classes(module)}
    # the classes this test must see, wherever they are defined
    expected = {InputError, SweepErrors, FieldError, caviar.StoreError, JobsError}
    assert classes >= expected | {ClusterError, PortTaken}
    outside = sorted(
        f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, caviar.CaviarError)
    )
    assert outside == []


def test_the_class_finder_sees_an_error_class_outside_the_root() -> None:
    """The other side of the test above: a stray exception class would be found."""
    module = types.ModuleType("stray")
    source = (
        "class StrayError(ValueError): ...\nclass Note(UserWarning): ...\nimported = KeyError\n"
    )
    exec(source, vars(module))
    stray = _error_classes(module)
    assert [c.__name__ for c in stray] == ["StrayError"]
    assert not issubclass(stray[0], caviar.CaviarError)


def test_the_old_names_are_the_one_input_error_and_old_handlers_still_catch_it() -> None:
    assert ConfigError is SpaceError is SweepError is caviar.InputError
    for cls in (SweepErrors, FieldError, JobsError):
        assert issubclass(cls, caviar.InputError)
    for cls in (caviar.InputError, caviar.StoreError, JobsError):
        assert issubclass(cls, ValueError)  # `except ValueError` in user code still holds
    assert issubclass(ClusterError, RuntimeError) and issubclass(PortTaken, ClusterError)


def test_an_input_error_says_path_rule_value_and_hint() -> None:
    err = InputError("budget.trials", "must be an integer >= 1", 0, "or leave it out")
    assert str(err) == "budget.trials: must be an integer >= 1, got 0; or leave it out"
    assert (err.path, err.key, err.rule, err.value, err.hint) == (
        "budget.trials",
        "budget.trials",
        "must be an integer >= 1",
        0,
        "or leave it out",
    )
    assert err.reason == "must be an integer >= 1, got 0; or leave it out"
    assert str(InputError("", "no sweep file at 'x.yaml'")) == "no sweep file at 'x.yaml'"
    assert str(InputError("seed", "must be an integer >= 0", None)) == (
        "seed: must be an integer >= 0, got None"  # None is a value, not "no value"
    )


@pytest.mark.parametrize(
    "err",
    [
        InputError("space.beta.low", "must be a number", "x", "quote nothing"),
        InputError("seed", "must be an integer >= 0"),
        FieldError("must be an integer from 1 to 100000, got 0"),
        SweepErrors([InputError("a", "one"), InputError("b", "two", 2)]),
        JobsError("JOB", "no job 'x' on this cluster"),
    ],
)
def test_an_input_error_crosses_a_process_boundary_whole(err: InputError) -> None:
    back = pickle.loads(pickle.dumps(err))  # as Ray sends a worker's error to the driver
    assert type(back) is type(err) and str(back) == str(err)
    assert (back.path, back.rule, back.value, back.hint) == (
        err.path,
        err.rule,
        err.value,
        err.hint,
    )


def test_a_sweep_with_one_problem_is_one_problem_with_its_parts() -> None:
    only = InputError("budget.trials", "must be an integer >= 1", 0)
    both = SweepErrors([only])
    assert str(both) == str(only) and both.value == 0 and both.problems == [only]


# -- the command line: bad input exits 2 in one line, anything else 1 with its traceback ----


def test_a_bad_sweep_exits_2_in_one_line_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(GOOD + "budget: {max_epochs: 0}\n")
    assert main(["sample", str(sweep)]) == 2
    err = capsys.readouterr().err
    assert err == (
        "caviar sample: error: budget.max_epochs: must be an integer from 1 to 100000, got 0\n"
    )


def test_an_internal_value_error_exits_1_with_its_traceback_not_as_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug deep in the sampling (numpy refusing to broadcast) is not the user's input."""

    def broken(self: RandomSampler, n: int, *args: object) -> np.ndarray:
        return np.zeros((n, 2)) + np.zeros(3)  # numpy raises ValueError: cannot broadcast

    monkeypatch.setattr(RandomSampler, "points", broken)
    sweep = tmp_path / "s.yaml"
    sweep.write_text(GOOD)
    assert main(["sample", str(sweep)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):\n")
    assert "\nValueError: operands could not be broadcast together" in err
    assert "in broken\n" in err  # it says where
    assert "error:" not in err  # not the one line of bad input
    assert err.endswith(
        "caviar sample: failed with ValueError (not a problem with the input; the traceback "
        "above shows where)\n"
    )


def test_the_same_internal_error_from_python_is_not_a_caviar_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: RandomSampler, n: int, *args: object) -> np.ndarray:
        return np.zeros((n, 2)) + np.zeros(3)

    monkeypatch.setattr(RandomSampler, "points", broken)
    sweep = tmp_path / "s.yaml"
    sweep.write_text(GOOD)
    with pytest.raises(ValueError, match="broadcast") as info:
        caviar.sample(sweep)
    assert not isinstance(info.value, caviar.CaviarError)


def test_a_caviar_error_that_is_not_bad_input_exits_1_with_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ray start` failing (ClusterError) is Caviar's own error, but not the input's fault."""
    from orchestrator.cli import validate

    def fails(args: object) -> int:
        raise ClusterError("`ray start` failed (exit 1); its last lines:\n  no room")

    monkeypatch.setattr(validate, "_validate", fails)
    assert main(["validate", str(tmp_path / "s.yaml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and "ClusterError: `ray start` failed" in err


def test_a_results_directory_without_a_sweep_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A StoreError is the user's input too: the path names no sweep."""
    assert main(["show", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("caviar show: error: run: no sweep in") and "Traceback" not in err

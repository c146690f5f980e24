"""The sweep file: examples load, and every mistake names its path, rule and value."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import pytest
import yaml

from orchestrator.cli import main
from orchestrator.execution.runner import builtin_sweep
from orchestrator.search.space import LogUniform, OneMinusLogUniform, PowerOfTwo
from orchestrator.sweepfile.parse import SweepError, load_sweep, parse_sweep
from tests.orchestrator.conftest import MIXED

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
COURSE = builtin_sweep()  # the course's digits sweep, packaged; `caviar run` without a file
# The mixed sweep's learning rate, optimizer and momentum-only beta: a conditional space
# small enough to count its grid by hand.
BASE = {
    "name": "t",
    "dataset": "digits",
    "space": {k: MIXED["space"][k] for k in ("learning_rate", "optimizer", "beta")},
    "budget": {"trials": 8, "max_epochs": 10},
}


def _with(path: str, value: object) -> dict:
    """BASE with one entry (dotted path) replaced; value None deletes it."""
    raw = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node.setdefault(key, {})
    if value is None:
        del node[last]
    else:
        node[last] = value
    return raw


def test_the_packaged_sweep_and_the_examples_load_as_written():
    course = load_sweep(COURSE)
    assert isinstance(course.space.params["learning_rate"], LogUniform)
    assert isinstance(course.space.params["beta"], OneMinusLogUniform)
    assert isinstance(course.space.params["batch_size"], PowerOfTwo)
    assert course.space.conditions["beta2"] == {"optimizer": ("adam",)}
    assert course.scheduler.name == "hyperband" and course.max_epochs == 30
    assert course.scheduler.settings["mode"] == "promote"
    assert [(s.trials, s.sampler) for s in course.stages] == [(8, "sobol"), (24, "tpe")]
    assert course.run_dir == Path("runs/digits")
    fine = load_sweep(EXAMPLES / "coarse_to_fine.yaml")
    assert [s.trials for s in fine.stages] == [24, 16]
    assert fine.stages[1].zoom_top_k == 5 and fine.stages[0].sampler == "sobol"
    other = load_sweep(EXAMPLES / "breast_cancer.yaml")  # the course's space elsewhere
    assert other.space.params == course.space.params
    assert other.space.conditions == course.space.conditions
    assert (other.dataset, other.metric, other.direction) == (
        "breast_cancer",
        "val_accuracy",
        "maximize",
    )
    assert other.scheduler.name == "hyperband" and other.total_trials == 16


def test_every_example_is_a_valid_sweep():
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert len(files) >= 2
    for f in files:
        assert main(["validate", str(f)]) == 0, f


def test_defaults():
    spec = parse_sweep(BASE)
    assert (spec.metric, spec.direction, spec.sign) == ("val_cost", "minimize", 1.0)
    assert spec.scheduler.name == "fifo" and spec.seed == 0 and spec.cpus_per_trial == 1.0
    assert [s.trials for s in spec.stages] == [8] and spec.stages[0].sampler == "random"
    accuracy = parse_sweep(_with("metric", "val_accuracy"))
    assert (accuracy.direction, accuracy.sign) == ("maximize", -1.0)


def test_scientific_notation_without_a_dot_is_a_number(tmp_path):
    # PyYAML alone reads 1e-4 as the string "1e-4"
    assert isinstance(yaml.safe_load("x: 1e-4")["x"], str)
    f = tmp_path / "s.yaml"
    f.write_text(
        textwrap.dedent("""\
        name: t
        space:
          learning_rate: {type: log_uniform, low: 1e-4, high: 1}
        """)
    )
    assert load_sweep(f).space.params["learning_rate"] == LogUniform(1e-4, 1.0)


def test_a_relative_dataset_path_is_taken_from_the_sweep_file(tmp_path):
    (tmp_path / "data").mkdir()
    # six rows: at the default val_fraction 0.2, ceil(1.2) = 2 validation and 4 training rows
    (tmp_path / "data" / "d.csv").write_text("a,y\n1,0\n2,1\n3,0\n4,1\n5,0\n6,1\n")
    f = tmp_path / "s.yaml"
    f.write_text("name: t\ndataset: {path: data/d.csv, label: y}\nspace: {learning_rate: 0.1}\n")
    assert load_sweep(f).dataset["path"] == str(tmp_path / "data" / "d.csv")


@pytest.mark.parametrize(
    ("path", "value", "where", "says"),
    [
        # unknown keys, with a suggestion
        ("budjet", {"trials": 3}, "budjet", "unknown key (did you mean 'budget'?)"),
        ("budget.max_epoch", 3, "budget.max_epoch", "(did you mean 'max_epochs'?)"),
        (
            "space.learning_rat",
            0.1,
            "space.learning_rat",
            "unknown model setting (did you mean 'learning_rate'?)",
        ),
        (
            "space.learning_rate.hihg",
            1,
            "space.learning_rate.hihg",
            "unknown field (did you mean 'high'?)",
        ),
        # wrong types
        (
            "budget.max_epochs",
            "ten",
            "budget.max_epochs",
            "must be an integer from 1 to 100000, got 'ten'",
        ),
        ("space.learning_rate.low", "small", "space.learning_rate.low", "must be a number"),
        ("seed", -1, "seed", "must be an integer >= 0, got -1"),
        ("space", ["learning_rate"], "space", "must be a mapping"),
        ("name", "my sweep", "name", "a directory name"),
        # bounds
        ("space.learning_rate.high", 1e-5, "space.learning_rate.low", "low < high must hold"),
        ("space.learning_rate.low", 0, "space.learning_rate.low", "log_uniform needs 0 < low"),
        (
            "space.beta.high",
            1.0,
            "space.beta.high",
            "one_minus_log_uniform needs 0 <= low < high < 1",
        ),
        ("space.beta.low", -0.1, "space.beta.low", "got low=-0.1"),
        ("space.optimizer", [], "space.optimizer.values", "must hold at least one value"),
        # unknown names
        ("sampler", "tpe2", "sampler", "must be one of random, sobol, grid, tpe, got 'tpe2'"),
        (
            "sampler",
            {"name": "random", "warmup": 5},
            "sampler.warmup",
            "only the tpe sampler takes warmup, and this one is random",
        ),
        (
            "sampler",
            {"name": "tpe", "points": 5},
            "sampler.points",
            "only the grid sampler takes points, and this one is tpe",
        ),
        ("sampler", {"name": "tpe", "warmup": -1}, "sampler.warmup", "an integer >= 0, got -1"),
        ("scheduler", "ashha", "scheduler", "(did you mean 'asha'?)"),
        ("dataset", "mnist", "dataset", "unknown name 'mnist'"),
        ("metric", "accuracy", "metric", "(did you mean 'val_accuracy'?)"),
        (
            "space.learning_rate.type",
            "loguniform",
            "space.learning_rate.type",
            "(did you mean 'log_uniform'?)",
        ),
        # what the worker does not accept
        ("model.hidden_units", 0, "model.hidden_units", "must be an integer >= 1, got 0"),
        ("model.optimiser", "adam", "model.optimiser", "(did you mean 'optimizer'?)"),
        (
            "space.optimizer",
            ["adam", "sgd"],
            "space.optimizer.values[1]",
            "must be one of ['gd', 'momentum', 'rmsprop', 'adam'], got 'sgd'",
        ),
        (
            "space.hidden_units",
            {"type": "int_uniform", "low": 0, "high": 8},
            "space.hidden_units.low",
            "must be an integer >= 1, got 0",
        ),
        (
            "space.hidden_units",
            {"type": "uniform", "low": 10, "high": 80},
            "space.hidden_units.type",
            "use int_uniform, log_int or power_of_two",
        ),
        (
            "space.batch_size",
            {"type": "power_of_two", "low": 32, "high": 100},
            "space.batch_size.high",
            "power_of_two needs a power of two, got high=100",
        ),
        (
            "space.beta.when",
            {"optimizer": "rmsprop"},
            "space.beta.when.optimizer",
            "is not among space.optimizer.values",
        ),
        ("model.optimizer", "adam", "space.optimizer", "is also fixed under model.optimizer"),
        # stages and scheduler
        (
            "stages",
            [{"trials": 4, "zoom": {"top_k": 2}}],
            "stages[0].zoom",
            "the first stage has no stage before it",
        ),
        (
            "stages",
            [{"trials": 4}, {"trials": 4, "zoom": {"shrink": 2}}],
            "stages[1].zoom.shrink",
            "must be a number in (0, 1], got 2",
        ),
        (
            "scheduler",
            {"name": "asha", "grace_period": 20},
            "scheduler.grace_period",
            "must be at most budget.max_epochs (10), got 20",
        ),
        (
            "scheduler",
            {"name": "asha", "reduction_factor": 1},
            "scheduler.reduction_factor",
            "must be a number > 1",
        ),
        (
            "scheduler",
            {"name": "median", "grace": 2},
            "scheduler.grace",
            "(did you mean 'grace_period'?)",
        ),
        (
            "scheduler",
            {"name": "asha", "mode": "promot"},
            "scheduler.mode",
            "or promote (it pauses there and may be promoted later), got 'promot'",
        ),
        ("scheduler", {"name": "hyperband", "mode": 1}, "scheduler.mode", "got 1"),
        (
            "scheduler",
            {"name": "median", "mode": "promote"},
            "scheduler.mode",
            "unknown setting for median",
        ),
        ("resources.cpus_per_trial", 0, "resources.cpus_per_trial", "must be a number > 0"),
        # budgets that could never end
        (
            "budget.max_epochs",
            10**12,
            "budget.max_epochs",
            "must be an integer from 1 to 100000, got 1000000000000",
        ),
        (
            "budget.trials",
            10**12,
            "budget.trials",
            "must be an integer from 1 to 1000000, got 1000000000000",
        ),
        (
            "stages",
            [{"trials": 4}, {"trials": 10**7}],
            "stages[1].trials",
            "must be an integer from 1 to 1000000, got 10000000",
        ),
        (
            "stages",
            [{"trials": 600_000}, {"trials": 500_000}],
            "stages",
            "the stages' trials add up to 1100000; a sweep runs at most 1000000 trials",
        ),
        ("budget.time_limit", float("inf"), "budget.time_limit", "seconds > 0, got inf"),
        ("budget.time_limit", 0, "budget.time_limit", "seconds > 0, got 0"),
        (
            "sampler",
            {"name": "grid", "points": 10**12},
            "sampler.points",
            "must be an integer from 1 to 1000000, got 1000000000000",
        ),
        # learning_rate and beta take 1000 levels each, optimizer its 2 values
        (
            "sampler",
            {"name": "grid", "points": 1000},
            "sampler",
            "has up to 1000 x 2 x 1000 = 2000000 points; a sweep runs at most 1000000 trials",
        ),
    ],
)
def test_each_mistake_names_its_path(path, value, where, says):
    with pytest.raises(SweepError) as info:
        parse_sweep(_with(path, value))
    assert info.value.path == where
    assert str(info.value).startswith(f"{where}: ")
    assert says in str(info.value)


def test_trials_a_stage_takes_from_the_budget_are_named_there() -> None:
    raw = _with("stages", [{"trials": 4}, {"sampler": "sobol"}])
    raw["budget"]["trials"] = 10**12
    with pytest.raises(SweepError, match=r"^budget\.trials: must be an integer from 1 to 1000000"):
        parse_sweep(raw)


def test_the_largest_budgets_are_allowed() -> None:
    raw = _with("budget", {"trials": 1_000_000, "max_epochs": 100_000, "time_limit": 1e9})
    spec = parse_sweep(raw)
    assert (spec.total_trials, spec.max_epochs, spec.time_limit) == (1_000_000, 100_000, 1e9)
    grid = parse_sweep(_with("sampler", {"name": "grid", "points": 700}))  # 700 x 2 x 700
    assert grid.stages[0].grid_points == 700


def test_settings_that_only_clash_together_are_found_by_sampling():
    raw = _with("model.lr_decay", "exponential")
    raw["space"]["decay_rate"] = {"type": "uniform", "low": 0.5, "high": 2.0}
    with pytest.raises(
        SweepError,
        match=r"^space\.decay_rate: must be in \(0, 1\] when "
        r"lr_decay='exponential'",
    ):
        parse_sweep(raw)


def test_a_missing_space_and_a_missing_file_are_named(tmp_path):
    with pytest.raises(SweepError, match="^space: is required"):
        parse_sweep(_with("space", None))
    with pytest.raises(SweepError, match="no sweep file at"):
        load_sweep(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SweepError, match="is not valid YAML"):
        load_sweep(bad)


def test_validate_and_sample_commands(tmp_path, capsys):
    assert main(["validate", str(COURSE)]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "stage 1: 8 trials, sobol" in out and "stage 2: 24 trials, tpe" in out
    assert main(["sample", str(COURSE), "-n", "5"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["trial", "stage", "learning_rate"]
    assert len(table) == 7  # header, five configurations and a note on the later stage
    assert (
        table[-1] == "(stage 1 of 2; later stages learn from its results (tpe) when the sweep runs)"
    )


def test_sample_is_reproducible_and_the_seed_matters(tmp_path, capsys):
    files = []
    for seed in (3, 3, 4):
        f = tmp_path / f"s{len(files)}.yaml"
        f.write_text(yaml.safe_dump(_with("seed", seed)))
        files.append(f)
    tables = []
    for f in files:
        assert main(["sample", str(f), "-n", "6"]) == 0
        tables.append(capsys.readouterr().out)
    assert tables[0] == tables[1]
    assert tables[0] != tables[2]


def test_bad_sweep_files_exit_2_from_the_cli(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(_with("space.learning_rate.low", 0)))
    for command in ("validate", "sample"):
        assert main([command, str(f)]) == 2
        assert "space.learning_rate.low: log_uniform needs 0 < low" in capsys.readouterr().err


def test_a_grid_warns_how_many_trials_it_implies(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    raw = _with("sampler", {"name": "grid", "points": 2})
    f.write_text(yaml.safe_dump(raw))
    assert main(["validate", str(f)]) == 0
    # learning_rate 2 x optimizer 2 x beta 2, less the 2 momentum-free duplicates: 6
    assert "warning: sampler: the grid of stage 1 implies 6 trials" in capsys.readouterr().out


def test_caviar_sample_of_a_tpe_sweep_prints_its_random_warm_up(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(_with("sampler", {"name": "tpe", "warmup": 3})))
    assert main(["sample", str(f), "-n", "5"]) == 0
    out = capsys.readouterr().out
    assert "(the first 3 of 5: the tpe sampler's random warm-up" in out
    spec = parse_sweep(_with("sampler", {"name": "tpe", "warmup": 3}))
    assert spec.stages[0].sampler == "tpe" and spec.stages[0].warmup == 3

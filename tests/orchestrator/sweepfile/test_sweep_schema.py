"""`caviar schema`: the committed schema is the generated one, a valid draft-07 schema that
accepts every sweep the validator accepts and refuses what a schema can express of what
the validator refuses."""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from caviar_common.bounds import Bound
from orchestrator.cli import main
from orchestrator.schedulers.settings import SCHEDULERS, SETTINGS
from orchestrator.search.samplers import SAMPLERS
from orchestrator.search.space import PARAM_TYPES
from orchestrator.sweepfile.fields import (
    BUDGET,
    PARAM_HELP,
    RESOURCES,
    SAMPLER,
    SAMPLER_HELP,
    SCHEDULER_HELP,
    STAGE,
    TOP,
    ZOOM,
    FieldError,
)
from orchestrator.sweepfile.json_schema import _setting, _value, field_schema, schema_text
from orchestrator.sweepfile.parse import SweepError, _Loader, parse_sweep
from tests.orchestrator.conftest import MIXED, diverging, promoting
from tests.orchestrator.sweepfile.test_sweepfile import BASE, _with
from tests.orchestrator.sweepfile.test_trainer_key import FREE, MODULES
from workers.mlp.config import RULES, check_setting

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "schema" / "sweep.schema.json"
SWEEP_FILES = sorted(
    [
        *(ROOT / "examples").rglob("*.yaml"),
        *(ROOT / "orchestrator" / "sweepfile" / "sweeps").glob("*.yaml"),
    ]
)
VALIDATOR = Draft7Validator(json.loads(COMMITTED.read_text()))


def _schema_errors(raw: Any) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(raw)]


def test_the_committed_schema_is_what_caviar_schema_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert printed == schema_text()
    assert COMMITTED.read_text() == printed, (
        "schema/sweep.schema.json is out of date with the validator's definitions: "
        "regenerate it with `caviar schema > schema/sweep.schema.json`"
    )


def test_it_is_a_valid_draft_07_schema() -> None:
    schema = json.loads(COMMITTED.read_text())
    Draft7Validator.check_schema(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert list(schema["properties"]) == list(TOP)
    assert schema["properties"]["val_fraction"]["default"] == 0.2
    assert schema["properties"]["budget"]["properties"]["max_epochs"]["maximum"] == 100_000


def test_every_sweep_file_points_at_the_schema_and_passes_it() -> None:
    assert len(SWEEP_FILES) >= 3
    for path in SWEEP_FILES:
        text = path.read_text()
        hint = text.splitlines()[0]
        assert hint.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / hint.split("$schema=", 1)[1]).resolve()
        assert target == COMMITTED, path
        raw = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
        parse_sweep(raw, path.parent)  # the validator accepts it ...
        assert _schema_errors(raw) == [], path  # ... and so does the schema


def _valid_sweeps(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Sweeps the test suite parses, as dicts: each one the validator accepts."""
    (tmp_path / "d.csv").write_text(
        "x0,x1,label\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(20))
    )
    (tmp_path / "own.py").write_text(textwrap.dedent(MODULES["good"]))
    return {
        "base": BASE,
        "accuracy": _with("metric", "val_accuracy"),
        "grid": _with("sampler", {"name": "grid", "points": 700}),
        "tpe": _with("sampler", {"name": "tpe", "warmup": 3}),
        "largest budgets": _with(
            "budget", {"trials": 1_000_000, "max_epochs": 100_000, "time_limit": 1e9}
        ),
        "stages": _with("stages", [{"trials": 4}, {"sampler": "sobol"}]),
        "mixed": MIXED,
        "diverging": diverging(),
        "promoting": promoting(),
        "csv": {
            "name": "early",
            "dataset": {"path": "d.csv", "label": "label"},
            "space": {"learning_rate": {"type": "log_uniform", "low": 0.01, "high": 0.1}},
            "budget": {"trials": 2, "max_epochs": 2},
            "val_fraction": 0.25,
            "resources": {"cpus_per_trial": 0.5},
            "results": "elsewhere",
        },
        "built-in with options": {
            "name": "s",
            "dataset": "synthetic:rows=500,features=4",
            "space": {"learning_rate": 0.1, "optimizer": {"type": "constant", "value": "adam"}},
            "scheduler": {"name": "hyperband", "grace_period": 1, "mode": "promote"},
        },
        "own trainer": {
            "name": "own",
            "trainer": "own:MyTrainer",
            **copy.deepcopy(FREE),
            "metric": "val_loss",
            "direction": "minimize",
        },
        "no time limit": {**BASE, "budget": {"trials": 8, "time_limit": None}},
        "no condition": {
            "name": "t",
            "space": {"beta": {"type": "uniform", "low": 0.9, "high": 0.99, "when": None}},
        },
        "an open upper end as the high": _with(
            "space.beta", {"type": "uniform", "low": 0.3, "high": 1}
        ),
        "the built-in trainer by name": {
            **copy.deepcopy(BASE),
            "trainer": "workers.mlp.trainer:Trainer",
        },
    }


def test_every_sweep_the_validator_accepts_passes_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for case, raw in _valid_sweeps(tmp_path).items():
        parse_sweep(copy.deepcopy(raw), tmp_path)
        assert _schema_errors(raw) == [], case


# Sweeps the validator refuses for a reason a schema can state, each refused by the schema
# too. What a schema cannot state, and this test does not claim: low < high; rules that tie
# settings together (decay_rate in (0, 1] when lr_decay is exponential); a grace period
# within budget.max_epochs, and no more brackets than start within it; the stages' trials
# adding up to at most 1000000 and a grid's size; power_of_two bounds being powers of two;
# a condition's value being among the choice's values; a setting both fixed and sampled; a
# built-in dataset's name (read without regard to case) and its rows being enough for its
# split; a dataset file, its label column or a trainer module existing.
REFUSED: dict[str, dict[str, Any]] = {
    "unknown top-level key": _with("budjet", {"trials": 3}),
    "misspelt scheduler": _with("scheduler", "ashha"),
    "wrong type": _with("budget.max_epochs", "ten"),
    "out of bounds": _with("val_fraction", 1.5),
    "unknown parameter type": _with("space.learning_rate.type", "loguniform"),
    "missing type": _with("space.learning_rate", {"low": 0.1, "high": 1}),
    "missing name": _with("name", None),
    "negative trials": _with("budget.trials", -1),
    "bad sampler": _with("sampler", "tpe2"),
    "unknown model setting in space": _with("space.learning_rat", 0.1),
    "unknown model setting": _with("model.optimiser", "adam"),
    "a value the MLP refuses": _with("space.optimizer", ["adam", "sgd"]),
    "fractions for an integer": _with(
        "space.hidden_units", {"type": "uniform", "low": 10, "high": 80}
    ),
    "log_uniform from 0": _with("space.learning_rate.low", 0),
    "zoom on the first stage": _with("stages", [{"trials": 4, "zoom": {"top_k": 2}}]),
    "points for tpe": _with("sampler", {"name": "tpe", "points": 5}),
    "a setting median lacks": _with("scheduler", {"name": "median", "mode": "promote"}),
    "a bad scheduler setting": _with("scheduler", {"name": "asha", "reduction_factor": 1}),
    "a bad trainer name": _with("trainer", "mymodule.MyTrainer"),
    "a condition on a value the MLP refuses": _with("space.beta.when", {"optimizer": "sgd"}),
    "a metric of its own with no direction": {
        "name": "own",
        "trainer": "own:MyTrainer",
        **copy.deepcopy(FREE),
        "metric": "val_loss",
    },
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_sweep_the_validator_refuses_the_schema_refuses(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "own.py").write_text(textwrap.dedent(MODULES["good"]))
    raw = REFUSED[case]
    with pytest.raises(SweepError):
        parse_sweep(copy.deepcopy(raw), tmp_path)
    assert _schema_errors(raw), case


def test_a_trainer_of_ones_own_has_free_settings_in_the_schema() -> None:
    own = {"name": "own", "trainer": "own:MyTrainer", **copy.deepcopy(FREE)}
    assert _schema_errors(own) == []
    assert _schema_errors({**own, "model": {"anything": {"nested": [1, 2]}}}) == []
    assert _schema_errors({**own, "trainer": "workers.mlp.trainer:Trainer"})  # the MLP's again


# -- the definitions the two read ---------------------------------------------------------

PROBES: list[Any] = [-1, 0, 1e-9, 0.2, 0.5, 1, 1.5, 2, 3, 100_000, 100_001, 10**6, 10**6 + 1]
PROBES += [2.0, "x", "adam", "promote", "top", True, None, [1]]


def _schema_accepts(schema: dict[str, Any], value: Any) -> bool:
    return Draft7Validator(schema).is_valid(value)


@pytest.mark.parametrize(
    ("where", "table"),
    [("top", TOP), ("budget", BUDGET), ("resources", RESOURCES), ("sampler", SAMPLER)]
    + [("stage", STAGE), ("zoom", ZOOM)],
)
def test_each_fields_check_and_its_schema_agree(where: str, table: dict[str, Any]) -> None:
    for key, field in table.items():
        if field.kind not in ("integer", "number", "string") or field.pattern:
            continue
        for probe in PROBES:
            try:
                field.check(probe)
                accepted = True
            except FieldError:
                accepted = probe is None and field.nullable  # null: not given
            assert _schema_accepts(field_schema(field), probe) == accepted, (where, key, probe)


def test_each_mlp_setting_and_scheduler_setting_agrees_with_its_schema() -> None:
    for key, rule in RULES.items():
        assert isinstance(rule.check, Bound), key  # so that the schema can state it
        for probe in PROBES:
            try:
                check_setting(key, probe)
                accepted = True
            except ValueError:
                accepted = False
            assert _schema_accepts(_value(rule), probe) == accepted, (key, probe)
    for name, settings in SETTINGS.items():
        for key, setting in settings.items():
            assert isinstance(setting.check, Bound), (name, key)
            schema = _setting(setting)
            for probe in PROBES:
                if key == "grace_period" and probe in (100_001, 10**6, 10**6 + 1):
                    continue  # above budget.max_epochs: a rule a schema cannot state
                if key == "brackets" and probe in (100_000, 100_001, 10**6, 10**6 + 1):
                    # more than the 11 that start within 10**5 epochs (3**10 <= 10**5 <
                    # 3**11): a rule a schema cannot state either
                    continue
                raw = {"name": "t", "space": {"learning_rate": 0.1}}
                raw["scheduler"] = {"name": name, key: probe}
                raw["budget"] = {"max_epochs": 10**5}
                try:
                    parse_sweep(raw)
                    accepted = True
                except SweepError:
                    accepted = False
                assert _schema_accepts(schema, probe) == accepted, (name, key, probe)


def test_every_name_has_its_description() -> None:
    assert tuple(SAMPLER_HELP) == SAMPLERS
    assert tuple(SCHEDULER_HELP) == SCHEDULERS
    assert tuple(PARAM_HELP) == PARAM_TYPES

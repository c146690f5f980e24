"""Property-based checks of the sweep file (hypothesis), generated from the field table.

- A sweep with one value that breaks its field's rule, wherever it sits (even where another
  key leaves it unused), is refused by `caviar validate` with exit code 2, one message that
  names its path, and no traceback.
- A key given twice in any mapping of a good sweep file is refused, naming its path and
  both lines.
- Every sweep built from valid values, which the JSON Schema accepts, also validates.
- A built-in dataset passes the validator exactly when the worker can split it.

Bad values are made from each field's declared kind, limits, options and pattern (the
table is the specification), never by asking the validator. The runs are derandomized and
bounded, so they take seconds and never flake.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from caviar_common.bounds import Bound
from orchestrator.cli import main
from orchestrator.core.spec import DIRECTIONS, METRICS
from orchestrator.schedulers.settings import SETTINGS
from orchestrator.search.samplers import SAMPLERS
from orchestrator.sweepfile.fields import (
    BUDGET,
    NAME_PATTERN,
    RESOURCES,
    SAMPLER,
    STAGE,
    TOP,
    ZOOM,
    Field,
)
from orchestrator.sweepfile.parse import SweepErrors, parse_sweep
from workers.data.datasets import load_dataset

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = Draft7Validator(json.loads((ROOT / "schema" / "sweep.schema.json").read_text()))
PROPERTY = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI never flakes
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SPACE = {"learning_rate": {"type": "log_uniform", "low": 0.01, "high": 0.1}}


# -- writing and validating a sweep file ------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Quotes a string the sweep file's loader would read as a number ("1e5"), so every
    value reaches the validator as generated."""


_Dumper.add_implicit_resolver(  # the loader's own extra rule (parse._Loader)
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


@dataclass(frozen=True)
class Validated:
    code: int
    out: str
    err: str


def _validate_text(text: str, folder: Path) -> Validated:
    sweep = folder / "sweep.yaml"
    sweep.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(sweep)])
    return Validated(code, out.getvalue(), err.getvalue())


def _validate(raw: dict[str, Any], folder: Path) -> Validated:
    return _validate_text(yaml.dump(raw, Dumper=_Dumper, sort_keys=False), folder)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


# -- values that break a field's rule, from its kind, limits, options and pattern -------------

TEXT = st.text(alphabet=string.printable.strip() + " ", max_size=12)  # YAML-safe characters
SMALL_INT = st.integers(-(10**7), 10**7)
OTHER_SHAPES = st.one_of(
    st.booleans(), st.lists(SMALL_INT, max_size=2), st.dictionaries(TEXT, SMALL_INT, max_size=1)
)


def _out_of_bounds(bound: Bound, integer: bool) -> list[st.SearchStrategy[Any]]:
    """Numbers on the wrong side of each limit (integers only, for an integer field)."""
    numbers: Any = SMALL_INT if integer else st.floats(-1e9, 1e9)
    out = []
    if bound.minimum is not None:
        out.append(numbers.filter(lambda v: v < bound.minimum))
    if bound.maximum is not None:
        out.append(numbers.filter(lambda v: v > bound.maximum) | st.just(bound.maximum + 1))
    if bound.exclusive_minimum is not None:
        out.append(numbers.filter(lambda v: v <= bound.exclusive_minimum))
        out.append(st.just(bound.exclusive_minimum))
    if bound.exclusive_maximum is not None:
        out.append(numbers.filter(lambda v: v >= bound.exclusive_maximum))
        out.append(st.just(bound.exclusive_maximum))
    return out


def bad_values(
    kind: str, bound: Bound, pattern: str | None = None, nullable: bool = False
) -> st.SearchStrategy[Any]:
    """Values a field of this kind, bound and pattern must refuse."""
    wrong_type: list[st.SearchStrategy[Any]] = [OTHER_SHAPES]
    if not nullable:
        wrong_type.append(st.none())
    if kind == "integer":
        fractions = st.floats(-1e6, 1e6).filter(lambda v: not v.is_integer())
        choices = [TEXT, fractions, *wrong_type, *_out_of_bounds(bound, integer=True)]
    elif kind == "number":
        not_finite = st.sampled_from([math.nan, math.inf, -math.inf])
        choices = [TEXT, not_finite, *wrong_type, *_out_of_bounds(bound, integer=False)]
    else:  # a string: another type, a name not among the options, or one off the pattern
        choices = [SMALL_INT, st.floats(-1e6, 1e6), *wrong_type]
        if bound.options:
            choices.append(TEXT.filter(lambda s: s not in bound.options))
        if pattern is not None:
            choices.append(TEXT.filter(lambda s: not re.search(pattern, s)))
    return st.one_of(choices)


def field_bad_values(field: Field) -> st.SearchStrategy[Any]:
    return bad_values(field.kind, field.bound, field.pattern, field.nullable)


def _scalar(table: dict[str, Field]) -> list[str]:
    return [k for k, f in table.items() if f.kind in ("integer", "number", "string")]


# A place for a bad value: (path in the file, how to put the value there). Every place is in
# a sweep whose stages each give their own trials and sampler, so that budget.trials and the
# top-level sampler are left unused: a bad value there must still be refused.
def _base() -> dict[str, Any]:
    return {
        "name": "props",
        "space": {
            "learning_rate": {"type": "log_uniform", "low": 0.01, "high": 0.1},
            "optimizer": ["momentum", "adam"],
        },
        "stages": [
            {"trials": 2, "sampler": "random"},
            {"trials": 2, "sampler": "sobol", "zoom": {"top_k": 1}},
        ],
        "budget": {"max_epochs": 9},
    }


@dataclass(frozen=True)
class Place:
    path: str
    values: st.SearchStrategy[Any]

    def put(self, raw: dict[str, Any], value: Any) -> dict[str, Any]:
        """`raw` with `value` at this place's path (a.b, a[i].b)."""
        keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", self.path)]
        node: Any = raw
        for key in keys[:-1]:
            node = node[key] if isinstance(key, int) else node.setdefault(key, {})
        node[keys[-1]] = value
        return raw


def _places() -> list[tuple[Place, dict[str, Any]]]:
    """Every scalar field of the table, and every scheduler setting, at its place; with the
    context (other keys) it needs to be read at all."""
    places: list[tuple[Place, dict[str, Any]]] = []
    for key in _scalar(TOP):
        places.append((Place(key, field_bad_values(TOP[key])), {}))
    for key in _scalar(BUDGET):
        places.append((Place(f"budget.{key}", field_bad_values(BUDGET[key])), {}))
    for key in _scalar(RESOURCES):
        places.append((Place(f"resources.{key}", field_bad_values(RESOURCES[key])), {}))
    for key in _scalar(SAMPLER):  # the top-level sampler, which no stage uses
        owner = SAMPLER[key].only_for or "random"
        context = {} if key == "name" else {"sampler": {"name": owner}}
        places.append((Place(f"sampler.{key}", field_bad_values(SAMPLER[key])), context))
    places.append((Place("sampler", field_bad_values(SAMPLER["name"])), {}))
    for key in _scalar(STAGE):
        places.append((Place(f"stages[0].{key}", field_bad_values(STAGE[key])), {}))
    places.append((Place("stages[1].sampler", field_bad_values(SAMPLER["name"])), {}))
    for key in _scalar(ZOOM):
        places.append((Place(f"stages[1].zoom.{key}", field_bad_values(ZOOM[key])), {}))
    for name, rules in SETTINGS.items():
        for key, rule in rules.items():
            kind = {int: "integer", float: "number", str: "string"}[rule.kind]
            assert isinstance(rule.check, Bound)
            values = bad_values(kind, rule.check)
            places.append((Place(f"scheduler.{key}", values), {"scheduler": {"name": name}}))
    return places


PLACES = _places()


@st.composite
def malformed(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A good sweep with one value that breaks its rule: (its path, the sweep)."""
    place, context = draw(st.sampled_from(PLACES))
    raw = _base()
    for key, value in context.items():
        raw[key] = dict(value)
    return place.path, place.put(raw, draw(place.values))


def test_the_base_sweep_and_each_context_are_valid(folder: Path) -> None:
    """Whatever is refused below is refused for the bad value, not for its surroundings."""
    contexts = {json.dumps(c, sort_keys=True): c for _, c in PLACES}
    assert len(PLACES) > 25
    for context in contexts.values():
        raw = {**_base(), **context}
        assert _validate(raw, folder).code == 0, context
        assert list(SCHEMA.iter_errors(raw)) == []


@PROPERTY
@given(case=malformed())
def test_a_value_that_breaks_its_rule_is_refused_naming_its_path(
    case: tuple[str, dict[str, Any]], folder: Path
) -> None:
    path, raw = case
    done = _validate(raw, folder)
    assert done.code == 2, (path, raw, done.out)
    assert done.err.startswith("caviar validate: error: ")
    lines = done.err.splitlines()
    named = [ln.strip() for ln in lines[1:]] if len(lines) > 1 else [lines[0][24:]]
    # the path itself, or an entry under it (a mapping given for a sampler's name is read
    # as the mapping form, which then lacks its name: sampler.name)
    under = (f"{path}: ", f"{path}.", f"{path}[")
    assert any(ln.startswith(under) for ln in named), (path, done.err)
    assert "Traceback" not in done.err


# -- a key given twice --------------------------------------------------------------------------


def _emit(node: Any, indent: int, lines: list[str], twice: tuple[int, str] | None) -> None:
    """`node` as block-style YAML into `lines`; `twice` (a mapping's id, a key) is written
    twice in that mapping, the second time with the same value."""
    pad = "  " * indent
    if isinstance(node, dict):
        for key, value in node.items():
            times = 2 if twice == (id(node), key) else 1
            for _ in range(times):
                _emit_pair(pad + f"{key}:", value, indent, lines, twice)
    else:
        for item in node:
            _emit_pair(pad + "-", item, indent, lines, twice)


def _emit_pair(head: str, value: Any, indent: int, lines: list[str], twice: Any) -> None:
    if isinstance(value, dict | list) and value:
        lines.append(head)
        _emit(value, indent + 1, lines, twice)
    else:
        scalar = yaml.dump(value, Dumper=_Dumper, default_flow_style=True).strip()
        lines.append(f"{head} {scalar.removesuffix('...').strip()}")


def _mappings(node: Any, path: str) -> list[tuple[dict[str, Any], str]]:
    """Every mapping in `node` with its path."""
    found: list[tuple[dict[str, Any], str]] = []
    if isinstance(node, dict):
        found.append((node, path))
        for key, value in node.items():
            found += _mappings(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += _mappings(item, f"{path}[{i}]")
    return found


@st.composite
def doubled(draw: st.DrawFn) -> tuple[str, str]:
    """A good sweep file in which one key of one mapping is written twice: (its path, text)."""
    raw = _base()
    mapping, where = draw(st.sampled_from(_mappings(raw, "")))
    key = draw(st.sampled_from(sorted(mapping)))
    lines: list[str] = []
    _emit(raw, 0, lines, (id(mapping), key))
    return (f"{where}.{key}" if where else key), "\n".join(lines) + "\n"


def test_the_emitter_writes_the_sweep_it_was_given(folder: Path) -> None:
    lines: list[str] = []
    _emit(_base(), 0, lines, None)
    assert yaml.safe_load("\n".join(lines)) == _base()
    assert _validate_text("\n".join(lines), folder).code == 0


@settings(PROPERTY, max_examples=40)
@given(case=doubled())
def test_a_key_given_twice_anywhere_is_refused_naming_its_path_and_lines(
    case: tuple[str, str], folder: Path
) -> None:
    path, text = case
    done = _validate_text(text, folder)
    assert done.code == 2 and "Traceback" not in done.err
    key_line = path.rsplit(".", 1)[-1].split("[")[0] + ":"
    # the two lines that write the key, as the file numbers them (the second right after
    # the first, or after the first's nested block)
    numbers = [
        i + 1
        for i, line in enumerate(text.splitlines())
        if line.strip().removeprefix("- ").startswith(key_line)
    ]
    said = re.search(
        rf"{re.escape(path)}: is given twice in one mapping, on lines (\d+) and (\d+)", done.err
    )
    assert said is not None, (path, done.err)
    first, second = int(said.group(1)), int(said.group(2))
    assert first < second and {first, second} <= set(numbers), (path, numbers, done.err)


# -- every sweep made of valid values validates -------------------------------------------------


def _valid_scheduler(max_epochs: int) -> st.SearchStrategy[Any]:
    @st.composite
    def make(draw: st.DrawFn) -> Any:
        name = draw(st.sampled_from(sorted(SETTINGS)))
        if name == "fifo" or draw(st.booleans()):
            return name if name == "fifo" or draw(st.booleans()) else {"name": name}
        out: dict[str, Any] = {"name": name}
        grace = draw(st.integers(1, max_epochs))
        eta = draw(st.sampled_from([1.5, 2, 2.5, 3, 4]))
        # brackets starting within max_epochs: grace * eta**b <= max_epochs, counted here
        room = 1
        while grace * eta**room <= max_epochs:
            room += 1
        values = {
            "grace_period": grace,
            "reduction_factor": eta,
            "brackets": draw(st.integers(1, room)),
            "mode": draw(st.sampled_from(["stop", "promote"])),
            "rule": draw(st.sampled_from(["percentile", "top"])),
            "min_trials": draw(st.integers(1, 10)),
        }
        for key in SETTINGS[name]:
            if draw(st.booleans()):
                out[key] = values[key]
        return out

    return make()


SAMPLER_VALUES = st.one_of(
    st.sampled_from([s for s in SAMPLERS]),
    st.builds(lambda n: {"name": "grid", "points": n}, st.integers(1, 4)),
    st.builds(lambda n: {"name": "tpe", "warmup": n}, st.integers(0, 4)),
    st.builds(lambda s: {"name": s}, st.sampled_from(["random", "sobol"])),
)
PARAMS: dict[str, st.SearchStrategy[Any]] = {
    "learning_rate": st.tuples(st.floats(1e-5, 0.5), st.floats(1.01, 100)).map(
        lambda t: {"type": "log_uniform", "low": t[0], "high": min(1.0, t[0] * t[1])}
    ),
    "batch_size": st.sampled_from([{"type": "power_of_two", "low": 16, "high": 128}, [32, 64]]),
    "optimizer": st.sampled_from(
        [["momentum", "adam"], "adam", {"type": "constant", "value": "rmsprop"}]
    ),
    "hidden_units": st.integers(8, 64).map(lambda h: {"type": "int_uniform", "low": 4, "high": h}),
}


@st.composite
def valid_sweeps(draw: st.DrawFn) -> dict[str, Any]:
    """A sweep of valid values only, the rules a schema cannot state kept as well."""
    raw: dict[str, Any] = {
        "name": draw(st.from_regex(NAME_PATTERN, fullmatch=True).filter(lambda s: len(s) < 30))
    }
    keys = draw(st.lists(st.sampled_from(sorted(PARAMS)), min_size=1, max_size=3, unique=True))
    raw["space"] = {k: draw(PARAMS[k]) for k in keys}
    if raw["space"].get("learning_rate", {}).get("low", 0) >= raw["space"].get(
        "learning_rate", {}
    ).get("high", 1):
        raw["space"]["learning_rate"] = SPACE["learning_rate"]
    if draw(st.booleans()):
        raw["dataset"] = draw(st.sampled_from(["digits", "breast_cancer", "moons:rows=200"]))
    if draw(st.booleans()):
        raw["val_fraction"] = draw(st.floats(0.05, 0.95))
    if draw(st.booleans()):
        raw["seed"] = draw(st.integers(0, 2**40))
    if draw(st.booleans()):
        raw["metric"] = draw(st.sampled_from(sorted(METRICS)))
    if draw(st.booleans()):
        raw["direction"] = draw(st.sampled_from(DIRECTIONS))
    if draw(st.booleans()):
        raw["sampler"] = draw(SAMPLER_VALUES)
    max_epochs = draw(st.integers(1, 60))
    budget: dict[str, Any] = {"max_epochs": max_epochs}
    if draw(st.booleans()):
        budget["trials"] = draw(st.integers(1, 12))
    if draw(st.booleans()):
        budget["time_limit"] = draw(st.one_of(st.none(), st.floats(0.5, 1e6)))
    raw["budget"] = budget
    if draw(st.booleans()):
        count = draw(st.integers(1, 3))
        stages = []
        for i in range(count):
            stage: dict[str, Any] = {}
            if draw(st.booleans()):
                stage["trials"] = draw(st.integers(1, 12))
            if draw(st.booleans()):
                stage["sampler"] = draw(SAMPLER_VALUES)
            if i > 0 and draw(st.booleans()):
                stage["zoom"] = {
                    "top_k": draw(st.integers(1, 5)),
                    "shrink": draw(st.floats(0.05, 1.0)),
                }
            stages.append(stage)
        raw["stages"] = stages
    raw["scheduler"] = draw(_valid_scheduler(max_epochs))
    if draw(st.booleans()):
        raw["resources"] = {"cpus_per_trial": draw(st.floats(0.1, 8))}
    if draw(st.booleans()):
        raw["results"] = draw(st.from_regex(r"[A-Za-z0-9_./-]{1,12}", fullmatch=True))
    return raw


@settings(PROPERTY, max_examples=60)
@given(raw=valid_sweeps())
def test_every_valid_sweep_the_schema_accepts_also_validates(
    raw: dict[str, Any], folder: Path
) -> None:
    assert [e.message for e in SCHEMA.iter_errors(raw)] == []
    done = _validate(raw, folder)
    assert done.code == 0, (raw, done.err)
    assert done.out.startswith(f"{folder / 'sweep.yaml'}: ok\n")


# -- a built-in dataset validates exactly when the worker can split it ------------------------


@st.composite
def builtins(draw: st.DrawFn) -> tuple[str, float]:
    name = draw(st.sampled_from(["moons", "spirals", "synthetic"]))
    options = [f"rows={draw(st.integers(2, 24))}"]
    if name != "moons":
        options.append(f"classes={draw(st.integers(2, 5))}")
    if name == "synthetic":
        options.append("features=2")
    return f"{name}:{','.join(options)}", draw(st.floats(0.02, 0.98))


@settings(PROPERTY, max_examples=150)
@given(case=builtins())
def test_a_builtin_dataset_validates_exactly_when_the_worker_can_split_it(
    case: tuple[str, float],
) -> None:
    dataset, val_fraction = case
    raw = {"name": "t", "dataset": dataset, "val_fraction": val_fraction, "space": SPACE}
    try:
        load_dataset(dataset, val_fraction=val_fraction)
        loads = True
    except ValueError:
        loads = False
    try:
        parse_sweep(raw)
        validates = True
    except SweepErrors as err:
        validates = False
        assert {p.path for p in err.problems} <= {"dataset", "val_fraction"}, str(err)
    assert validates == loads, (dataset, val_fraction)

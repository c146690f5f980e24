"""The YAML sweep file: read with `yaml.safe_load`, checked strictly, turned into a SweepSpec.

Every mistake is a SweepError whose message starts with the path of the offending entry in
the file (``space.learning_rate.low``), then the rule and the value. What a SweepSpec
holds, and the metrics a sweep may name, are defined in orchestrator/spec.py.

Everything that can be checked before Ray starts is checked here: a dataset file's header
and length (read without reading its rows, by the rules the worker's loader applies) and
a budget that could ever end.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from caviar_common.errors import ConfigError, suggest
from orchestrator.samplers import SAMPLERS
from orchestrator.schedulers.spec import SCHEDULERS, SchedulerSpec, check_scheduler
from orchestrator.space import Choice, Constant, Param, Space, SpaceError, make_param
from orchestrator.spec import DIRECTIONS, METRICS, Stage, SweepSpec
from orchestrator.tpe import WARMUP
from workers.config import RULES, ModelConfig, check_setting
from workers.datafiles import peek_file
from workers.datasets import FILE_SUFFIXES, check_dataset_spec, split_sizes


class SweepError(ValueError):
    """A sweep file that breaks a rule; `path` names the entry (``budget.max_epochs``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


TOP_KEYS = (
    "name",
    "dataset",
    "val_fraction",
    "seed",
    "metric",
    "direction",
    "model",
    "space",
    "sampler",
    "stages",
    "scheduler",
    "budget",
    "resources",
    "results",
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_EPOCHS = 100_000  # per trial
MAX_TRIALS = 1_000_000  # per stage, in all stages together, and in a grid
# Each part of the split needs a row of every class, and a dataset has at least 2 classes
# (workers/datasets.py: stratified_split).
MIN_SPLIT_PART = 2


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads 1e-4 as a number (YAML 1.1 insists on 1.0e-4)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and check a sweep file; a relative dataset path is taken from the file's folder.

    The results directory, like any command-line path, is relative to the working directory.
    """
    path = Path(path)
    if not path.is_file():
        raise SweepError("", f"no sweep file at {str(path)!r}")
    try:
        raw = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as err:
        raise SweepError("", f"{path} is not valid YAML: {err}") from None
    return parse_sweep(raw, base_dir=path.parent)


def parse_sweep(raw: Any, base_dir: Path = Path(".")) -> SweepSpec:
    """Check a sweep read from YAML (a mapping) and build its SweepSpec."""
    top = _mapping("", raw, "the sweep file")
    _known_keys("", top, TOP_KEYS)
    name = _required(top, "name", "")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SweepError(
            "name", f"must be letters, digits, '_', '.' or '-' (a directory name), got {name!r}"
        )
    val_fraction = _num(
        "val_fraction", top.get("val_fraction", 0.2), lambda v: 0 < v < 1, "a number in (0, 1)"
    )
    dataset = _dataset(top.get("dataset", "digits"), base_dir, val_fraction)
    seed = _int("seed", top.get("seed", 0), lambda v: v >= 0, "an integer >= 0")
    metric = _one_of("metric", top.get("metric", "val_cost"), tuple(METRICS))
    direction = _one_of("direction", top.get("direction", METRICS[metric]), DIRECTIONS)
    model = _model(top.get("model", {}))
    space = _space(top.get("space"), model)
    default_sampler = _sampler("sampler", top.get("sampler", "random"))
    budget = _mapping("budget", top.get("budget", {}), "a mapping")
    _known_keys("budget", budget, ("trials", "max_epochs", "time_limit"))
    stages = _stages(top.get("stages"), budget, default_sampler, space)
    max_epochs = _int(
        "budget.max_epochs",
        budget.get("max_epochs", 30),
        lambda v: 1 <= v <= MAX_EPOCHS,
        f"an integer from 1 to {MAX_EPOCHS}",
    )
    limit = budget.get("time_limit")
    time_limit = (
        None
        if limit is None
        else _num("budget.time_limit", limit, lambda v: v > 0, "a number of seconds > 0")
    )
    scheduler = _scheduler(top.get("scheduler", "fifo"), max_epochs)
    resources = _mapping("resources", top.get("resources", {}), "a mapping")
    _known_keys("resources", resources, ("cpus_per_trial",))
    cpus = _num(
        "resources.cpus_per_trial",
        resources.get("cpus_per_trial", 1),
        lambda v: v > 0,
        "a number > 0",
    )
    results = top.get("results", "runs")
    if not isinstance(results, str) or not results.strip():
        raise SweepError("results", f"must be a directory path, got {results!r}")
    _check_sampled_configs(space, model, seed)
    return SweepSpec(
        name=name,
        dataset=dataset,
        val_fraction=val_fraction,
        seed=seed,
        metric=metric,
        direction=direction,
        model=model,
        space=space,
        stages=stages,
        scheduler=scheduler,
        max_epochs=max_epochs,
        time_limit=time_limit,
        cpus_per_trial=cpus,
        results=Path(results).expanduser(),
        source=top,
    )


# -- sections -----------------------------------------------------------------------------


def _dataset(raw: Any, base_dir: Path, val_fraction: float) -> str | Mapping[str, Any]:
    spec = raw
    if isinstance(spec, str) and spec.lower().endswith(FILE_SUFFIXES):
        spec = str(_resolve(spec, base_dir))
    elif isinstance(spec, Mapping) and "path" in spec:
        spec = {**spec, "path": str(_resolve(spec["path"], base_dir))}
    try:
        check_dataset_spec(spec)
    except ValueError as err:
        raise SweepError("dataset", str(err)) from None
    if isinstance(spec, str) and spec.lower().endswith(FILE_SUFFIXES):
        _check_data_file(Path(spec), None, "dataset", val_fraction, raw)
    elif isinstance(spec, Mapping) and "path" in spec:
        _check_data_file(Path(spec["path"]), spec.get("label"), "dataset.label", val_fraction)
    return spec


def _check_data_file(
    path: Path, label: Any, label_key: str, val_fraction: float, written: str | None = None
) -> None:
    """The worker's rules for a dataset file that its header and length decide, reading no row.

    `written` is a bare file name as the sweep file gives it, for the hint to name its label.
    """
    needed = rows_needed(val_fraction)
    try:
        rows = peek_file(path, label, needed)
    except ConfigError as err:
        if err.key != "label":  # a problem with the file, which the message names
            raise SweepError("dataset", str(err)) from None
        hint = f"; write dataset: {{path: {written}, label: COLUMN}}" if written else ""
        raise SweepError(label_key, err.reason + hint) from None
    except ValueError as err:
        raise SweepError("dataset", str(err)) from None
    if rows >= needed:
        return
    n_train, n_val = split_sizes(rows, val_fraction)
    each = (
        f"each part needs at least {MIN_SPLIT_PART} rows (a row of every class, and a dataset "
        f"has at least {MIN_SPLIT_PART} classes)"
    )
    if rows < 2 * MIN_SPLIT_PART:
        raise SweepError(
            "dataset", f"{path} has at most {rows} data row(s), too few to split: {each}"
        )
    raise SweepError(
        "val_fraction",
        f"{val_fraction} of the {rows} rows in {path} gives {n_val} validation and {n_train} "
        f"training rows; {each}, so at this val_fraction the file needs at least {needed} rows",
    )


def rows_needed(val_fraction: float) -> int:
    """The fewest rows whose split at `val_fraction` leaves MIN_SPLIT_PART rows in each part.

    Both parts only grow with the rows, so every larger dataset splits too.
    """

    def splits(rows: int) -> bool:
        return min(split_sizes(rows, val_fraction)) >= MIN_SPLIT_PART

    low, high = 2 * MIN_SPLIT_PART - 1, 2 * MIN_SPLIT_PART  # low fails, high is to be found
    while not splits(high):
        if high >= 2**62:  # a val_fraction so small that no file splits
            return high
        low, high = high, 2 * high
    while high - low > 1:  # bisect: low fails, high splits
        mid = (low + high) // 2
        low, high = (low, mid) if splits(mid) else (mid, high)
    return high


def _resolve(path: Any, base_dir: Path) -> Path | Any:
    if not isinstance(path, str):
        return path
    p = Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p


def _model(raw: Any) -> dict[str, Any]:
    model = _mapping("model", raw, "a mapping of model settings")
    try:
        ModelConfig.from_dict(model, where="model.")
    except ConfigError as err:
        raise SweepError(err.key, err.reason) from None
    return {k: check_setting(k, v) for k, v in model.items()}


def _space(raw: Any, model: Mapping[str, Any]) -> Space:
    if raw is None:
        raise SweepError("space", "is required: the hyperparameters to sample")
    entries = _mapping("space", raw, "a mapping of setting name to parameter")
    if not entries:
        raise SweepError("space", "must name at least one hyperparameter to sample")
    params: dict[str, Param] = {}
    conditions: dict[str, dict[str, tuple[Any, ...]]] = {}
    for key, spec in entries.items():
        path = f"space.{key}"
        if key not in RULES:
            raise SweepError(
                path,
                f"unknown model setting{suggest(str(key), list(RULES))}; "
                f"settings are {', '.join(RULES)}",
            )
        if key in model:
            raise SweepError(path, f"is also fixed under model.{key}; keep one of the two")
        param, when = _param(path, spec)
        _check_param_values(key, path, param)
        params[key] = param
        if when is not None:
            conditions[key] = when
    for key, when in conditions.items():
        for other, values in when.items():
            _check_condition(f"space.{key}.when.{other}", other, values, params, model)
    return Space(params, conditions)


def _param(path: str, spec: Any) -> tuple[Param, dict[str, tuple[Any, ...]] | None]:
    """A parameter and its condition; a bare value is a constant and a list a choice."""
    if isinstance(spec, list):
        return _make(path, "choice", {"values": spec}), None
    if not isinstance(spec, Mapping):
        return _make(path, "constant", {"value": spec}), None
    fields = {str(k): v for k, v in spec.items()}
    if "type" not in fields:
        raise SweepError(
            f"{path}.type",
            "is required (uniform, log_uniform, one_minus_log_uniform, int_uniform, "
            "log_int, power_of_two, choice or constant)",
        )
    kind = str(fields.pop("type"))
    when_raw = fields.pop("when", None)
    when = None if when_raw is None else _when(f"{path}.when", when_raw)
    return _make(path, kind, fields), when


def _make(path: str, kind: str, fields: Mapping[str, Any]) -> Param:
    try:
        return make_param(path, kind, fields)
    except SpaceError as err:
        raise SweepError(err.path, err.reason) from None


def _when(path: str, raw: Any) -> dict[str, tuple[Any, ...]]:
    when = _mapping(path, raw, "a mapping such as {optimizer: adam}")
    if not when:
        raise SweepError(path, "must name at least one setting, e.g. {optimizer: adam}")
    return {k: tuple(v) if isinstance(v, list) else (v,) for k, v in when.items()}


def _check_param_values(key: str, path: str, param: Param) -> None:
    """The worker must accept every value the parameter can take."""
    rule = RULES[key]
    numeric = not isinstance(param, Choice | Constant)
    if numeric and rule.kind is str:
        raise SweepError(f"{path}.type", f"{key} takes {rule.says}: use a choice, got {param.kind}")
    if rule.kind is int and param.kind in ("uniform", "log_uniform", "one_minus_log_uniform"):
        raise SweepError(
            f"{path}.type",
            f"{key} must be {rule.says}, but {param.kind} gives fractions; use int_uniform, "
            "log_int or power_of_two",
        )
    if isinstance(param, Choice):
        checks = [(f"{path}.values[{i}]", v) for i, v in enumerate(param.values)]
    elif isinstance(param, Constant):
        checks = [(f"{path}.value", param.value)]
    else:
        checks = [
            (f"{path}.low", param.from_unit(0.0)),
            (f"{path}.high", param.from_unit(math.nextafter(1.0, 0.0))),
        ]
    for where, value in checks:
        try:
            check_setting(key, value)
        except ConfigError as err:
            raise SweepError(where, err.reason) from None


def _check_condition(
    path: str,
    other: str,
    values: tuple[Any, ...],
    params: Mapping[str, Param],
    model: Mapping[str, Any],
) -> None:
    if other not in params and other not in model and other not in RULES:
        raise SweepError(path, f"names no setting{suggest(other, list(params))}")
    for v in values:
        try:
            check_setting(other, v)
        except ConfigError as err:
            raise SweepError(path, err.reason) from None
        param = params.get(other)
        if isinstance(param, Choice) and v not in param.values:
            raise SweepError(
                path,
                f"{v!r} is not among space.{other}.values "
                f"{list(param.values)!r}, so the condition never holds",
            )


def _sampler(path: str, raw: Any) -> tuple[str, int, int]:
    """(name, grid points, tpe warm-up) of `sampler: NAME` or `sampler: {name: NAME, ...}`."""
    if not isinstance(raw, Mapping):
        return _one_of(path, raw, SAMPLERS), 3, WARMUP
    _known_keys(path, raw, ("name", "points", "warmup"))
    name = _one_of(f"{path}.name", _required(raw, "name", path), SAMPLERS)
    for key, owner in (("points", "grid"), ("warmup", "tpe")):
        if key in raw and name != owner:
            raise SweepError(
                f"{path}.{key}", f"only the {owner} sampler takes {key}, and this one is {name}"
            )
    points = _int(
        f"{path}.points",
        raw.get("points", 3),
        lambda v: 1 <= v <= MAX_TRIALS,
        f"an integer from 1 to {MAX_TRIALS}",
    )
    warmup = _int(f"{path}.warmup", raw.get("warmup", WARMUP), lambda v: v >= 0, "an integer >= 0")
    return name, points, warmup


def _stages(
    raw: Any, budget: Mapping[str, Any], default: tuple[str, int, int], space: Space
) -> tuple[Stage, ...]:
    if raw is None:
        trials = _trials("budget.trials", budget.get("trials", 20))
        _check_grid("sampler", default[0], default[1], space)
        return (Stage(trials, default[0], default[1], warmup=default[2]),)
    if not isinstance(raw, list) or not raw:
        raise SweepError("stages", f"must be a non-empty list of stages, got {raw!r}")
    stages = []
    for i, entry in enumerate(raw):
        path = f"stages[{i}]"
        stage = _mapping(path, entry, "a mapping")
        _known_keys(path, stage, ("trials", "sampler", "zoom"))
        where = f"{path}.trials" if "trials" in stage else "budget.trials"
        trials = _trials(where, stage.get("trials", budget.get("trials", 20)))
        sampler, points, warmup = (
            _sampler(f"{path}.sampler", stage["sampler"]) if "sampler" in stage else default
        )
        _check_grid(f"{path}.sampler" if "sampler" in stage else "sampler", sampler, points, space)
        top_k, shrink = None, 0.5
        if "zoom" in stage:
            if i == 0:
                raise SweepError(
                    f"{path}.zoom",
                    "the first stage has no stage before it to "
                    "zoom into; put zoom on a later stage",
                )
            zoom = _mapping(f"{path}.zoom", stage["zoom"], "a mapping {top_k, shrink}")
            _known_keys(f"{path}.zoom", zoom, ("top_k", "shrink"))
            top_k = _int(
                f"{path}.zoom.top_k", zoom.get("top_k", 5), lambda v: v >= 1, "an integer >= 1"
            )
            shrink = _num(
                f"{path}.zoom.shrink",
                zoom.get("shrink", 0.5),
                lambda v: 0 < v <= 1,
                "a number in (0, 1]",
            )
        stages.append(Stage(trials, sampler, points, top_k, shrink, warmup))
    total = sum(s.trials for s in stages)
    if total > MAX_TRIALS:
        raise SweepError(
            "stages",
            f"the stages' trials add up to {total}; a sweep runs at most {MAX_TRIALS} trials",
        )
    return tuple(stages)


def _trials(path: str, value: Any) -> int:
    return _int(path, value, lambda v: 1 <= v <= MAX_TRIALS, f"an integer from 1 to {MAX_TRIALS}")


def _check_grid(path: str, sampler: str, points: int, space: Space) -> None:
    """A grid stage tries every combination: refuse one with more than MAX_TRIALS of them.

    Each dimension has at most `points` levels, or its values when it has no more than
    that (a choice: all its values), so the product bounds the grid before duplicates
    that a condition switched off are dropped.
    """
    if sampler != "grid":
        return
    levels = []
    for key in space.dims:
        every = space.params[key].discrete(points)
        levels.append(points if every is None else len(every))
    size = math.prod(levels)
    if size > MAX_TRIALS:
        raise SweepError(
            path,
            f"a grid of {points} points per dimension over {', '.join(space.dims)} has up to "
            f"{' x '.join(map(str, levels))} = {size} points; a sweep runs at most "
            f"{MAX_TRIALS} trials, so use fewer points, or random or sobol sampling",
        )


def _scheduler(raw: Any, max_epochs: int) -> SchedulerSpec:
    if isinstance(raw, Mapping):
        fields = dict(raw)
        name = _one_of("scheduler.name", _required(fields, "name", "scheduler"), SCHEDULERS)
        fields.pop("name")
    else:
        name, fields = _one_of("scheduler", raw, SCHEDULERS), {}
    try:
        return check_scheduler(name, fields, max_epochs)
    except ConfigError as err:
        raise SweepError("scheduler." + err.key, err.reason) from None


def _check_sampled_configs(space: Space, model: Mapping[str, Any], seed: int) -> None:
    """Rules that tie settings together (decay_rate with lr_decay, say) on sample points:
    64 Latin-hypercube points (each parameter's range cut in 64 strips, one point in each;
    numpy alone, so that reading a sweep file stays quick) and two corners."""
    d = len(space.dims)
    rng = np.random.default_rng(seed)
    points: list[Any] = [[]]  # no sampled parameter: the model settings alone
    if d:
        strata = np.stack([rng.permutation(64) for _ in range(d)], axis=1)
        points = list((strata + rng.random((64, d))) / 64)
    corners = [np.zeros(d), np.full(d, math.nextafter(1.0, 0.0))]
    for point in [*corners, *points]:
        config = space.decode(point, model)
        try:
            ModelConfig.from_dict(config)
        except ConfigError as err:
            raise SweepError(
                f"space.{err.key}" if err.key in space.params else f"model.{err.key}",
                f"{err.reason} (with {_short(config)})",
            ) from None


def _short(config: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in config.items()
    )


# -- small checks -------------------------------------------------------------------------


def _mapping(path: str, raw: Any, says: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        where = path or "the sweep file"
        raise SweepError(path, f"{where} must be {says}, got {raw!r} ({type(raw).__name__})")
    return {str(k): v for k, v in raw.items()}


def _known_keys(path: str, raw: Mapping[str, Any], known: Sequence[str]) -> None:
    for key in raw:
        if key not in known:
            where = f"{path}.{key}" if path else str(key)
            raise SweepError(
                where,
                f"unknown key{suggest(str(key), list(known))}; "
                f"{'keys here are' if path else 'top-level keys are'} {', '.join(known)}",
            )


def _required(raw: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in raw:
        raise SweepError(f"{path}.{key}" if path else key, "is required")
    return raw[key]


def _num(path: str, value: Any, check: Callable[[float], bool], says: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SweepError(path, f"must be {says}, got {value!r}")
    if not check(value):
        raise SweepError(path, f"must be {says}, got {value!r}")
    return float(value)


def _int(path: str, value: Any, check: Callable[[int], bool], says: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not check(value):
        raise SweepError(path, f"must be {says}, got {value!r}")
    return value


def _one_of(path: str, value: Any, options: Sequence[str]) -> str:
    if value not in options:
        raise SweepError(
            path,
            f"must be one of {', '.join(options)}, got {value!r}"
            f"{suggest(str(value), list(options))}",
        )
    return str(value)

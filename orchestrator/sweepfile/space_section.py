"""The sweep file's `model:` and `space:`: fixed settings and the parameters to sample.

With the built-in trainer every setting must be one the MLP accepts (workers/mlp/config.py:
RULES), and every value a parameter can take one it accepts; a trainer of one's own reads
settings of its own, so then only the parameters' own rules apply (types, low < high).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from caviar_common.errors import ConfigError, suggest
from orchestrator.search.space import (
    FLOAT_TYPES,
    PARAM_TYPES,
    Choice,
    Constant,
    Param,
    Space,
    SpaceError,
    make_param,
)
from orchestrator.sweepfile.checks import Problems, SweepError, mapping, raise_all
from workers.mlp.config import RULES, ModelConfig, check_setting


def check_model(raw: Any, custom: bool) -> dict[str, Any]:
    """Fixed settings: the MLP's, each checked, or (`custom`) any a trainer reads."""
    model = mapping("model", raw, "a mapping of model settings")
    if custom:
        raise_all(
            [
                SweepError(
                    f"model.{key}", f"a setting's name must be a string, got {type(key).__name__}"
                )
                for key in raw
                if not isinstance(key, str)
            ]
        )
        return dict(raw)
    problems = Problems()
    clean = {k: problems.attempt(_setting, f"model.{k}", k, v) for k, v in model.items()}
    if problems.found:
        raise_all(problems.found)
    try:
        ModelConfig.from_dict(model, where="model.")  # the rules that tie settings together
    except ConfigError as err:
        raise SweepError(err.key, err.reason) from None
    return clean


def _setting(path: str, key: str, value: Any) -> Any:
    try:
        return check_setting(key, value)
    except ConfigError as err:
        raise SweepError(path, err.reason) from None


def check_space(raw: Any, model: Collection[str], custom: bool) -> Space:
    """The parameters, each checked on its own; `model` names the fixed settings."""
    if raw is None:
        raise SweepError("space", "is required: the hyperparameters to sample")
    entries = mapping("space", raw, "a mapping of setting name to parameter")
    if not entries:
        raise SweepError("space", "must name at least one hyperparameter to sample")
    problems = Problems()
    params: dict[str, Param] = {}
    conditions: dict[str, dict[str, tuple[Any, ...]]] = {}
    for key, spec in entries.items():
        checked = problems.attempt(_entry, key, spec, model, custom)
        if checked is not None:
            params[key], when = checked
            if when is not None:
                conditions[key] = when
    for key, when in conditions.items():
        for other, values in when.items():
            problems.attempt(
                _check_condition,
                f"space.{key}.when.{other}",
                other,
                values,
                params,
                set(entries) | set(model),
                custom,
            )
    raise_all(problems.found)
    return Space(params, conditions)


def _entry(
    key: str, spec: Any, model: Collection[str], custom: bool
) -> tuple[Param, dict[str, tuple[Any, ...]] | None]:
    path = f"space.{key}"
    if not custom and key not in RULES:
        raise SweepError(
            path,
            f"unknown model setting{suggest(str(key), list(RULES))}; "
            f"settings are {', '.join(RULES)}",
        )
    if key in model:
        raise SweepError(path, f"is also fixed under model.{key}; keep one of the two")
    param, when = _param(path, spec)
    if not custom:
        _check_param_values(key, path, param)
    return param, when


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
            f"is required ({', '.join(PARAM_TYPES[:-1])} or {PARAM_TYPES[-1]})",
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
    when = mapping(path, raw, "a mapping such as {optimizer: adam}")
    if not when:
        raise SweepError(path, "must name at least one setting, e.g. {optimizer: adam}")
    return {k: tuple(v) if isinstance(v, list) else (v,) for k, v in when.items()}


def _check_param_values(key: str, path: str, param: Param) -> None:
    """The worker must accept every value the parameter can take."""
    rule = RULES[key]
    numeric = not isinstance(param, Choice | Constant)
    if numeric and rule.kind is str:
        raise SweepError(f"{path}.type", f"{key} takes {rule.says}: use a choice, got {param.kind}")
    if rule.kind is int and param.kind in FLOAT_TYPES:
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
    raise_all([SweepError(where, err) for where, err in _refusals(key, checks)])


def _refusals(key: str, checks: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    refused = []
    for where, v in checks:
        try:
            check_setting(key, v)
        except ConfigError as err:
            refused.append((where, err.reason))
    return refused


def _check_condition(
    path: str,
    other: str,
    values: tuple[Any, ...],
    params: Mapping[str, Param],
    names: Collection[str],
    custom: bool,
) -> None:
    """`other` is a setting of the space or the model (or, with the built-in trainer, any
    of the MLP's), and each value one it can take."""
    if custom and other not in names:
        raise SweepError(path, f"names no key of space or model{suggest(other, list(names))}")
    if not custom and other not in names and other not in RULES:
        raise SweepError(path, f"names no setting{suggest(other, list(RULES))}")
    for v in values:
        if not custom and other in RULES:
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


def check_sampled_configs(space: Space, model: Mapping[str, Any], seed: int) -> None:
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

"""Caviar's configurations as TPE's coordinates and back: an ordered parameter is a float in
its box's range of the unit interval, a choice is the index of its value, and a conditional
parameter is suggested only where its condition holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.search.space import Box, Choice, Param, Space


def distributions(space: Space, box: Box) -> dict[str, Any]:
    """Each dimension's Optuna distribution inside `box`: a float range of unit coordinates
    for an ordered parameter, the indices of the values still allowed for a choice."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    out: dict[str, Any] = {}
    for j, name in enumerate(space.dims):
        param = space.params[name]
        if isinstance(param, Choice):
            allowed = box.allowed[j] or param.values
            out[name] = CategoricalDistribution(tuple(param.values.index(v) for v in allowed))
        else:
            out[name] = FloatDistribution(box.lows[j], box.highs[j])
    return out


def to_params(space: Space, config: Mapping[str, Any]) -> dict[str, float | int]:
    """A configuration's coordinates as TPE sees them (active parameters only)."""
    return {
        name: _coordinate(space.params[name], config[name]) for name in space.dims if name in config
    }


def from_params(
    space: Space, params: Mapping[str, float | int], fixed: Mapping[str, Any]
) -> dict[str, Any]:
    """The configuration at TPE's coordinates; parameters absent from `params` are
    inactive and must be so under the conditions, which `Space.decode` checks again."""
    unit = [_unit(space.params[n], params[n]) if n in params else 0.5 for n in space.dims]
    return space.decode(unit, fixed)


def _unit(param: Param, coordinate: float | int) -> float:
    """A TPE coordinate back on the unit interval (a choice's index to its bin centre)."""
    if isinstance(param, Choice):
        return param.to_unit(param.values[int(coordinate)])
    return float(coordinate)


def _coordinate(param: Param, value: Any) -> float | int:
    if isinstance(param, Choice):
        return param.values.index(value)
    return float(param.to_unit(value))


def inside(params: dict[str, float | int], dists: Mapping[str, Any]) -> bool:
    """Whether the point lies in the distributions' box; a coordinate a rounding error
    outside an edge is moved onto it."""
    for name, v in params.items():
        dist = dists[name]
        if hasattr(dist, "choices"):
            if v not in dist.choices:
                return False
        elif dist.low - 1e-9 <= v <= dist.high + 1e-9:
            params[name] = min(max(float(v), dist.low), dist.high)
        else:
            return False
    return True


def suggest_all(
    space: Space, fixed: Mapping[str, Any], trial: Any, dists: Mapping[str, Any]
) -> dict[str, float | int]:
    """Suggest the active parameters on an Optuna trial, each after the ones its condition
    depends on."""
    decided: dict[str, Any] = dict(fixed)
    decided.update({n: p.from_unit(0.5) for n, p in space.params.items() if n not in dists})
    params: dict[str, float | int] = {}
    todo = list(space.dims)
    while todo:
        ready = [n for n in todo if not _waits_for(space, n, todo)]
        if not ready:  # a cycle in the conditions: the sweep file's check forbids it
            raise ValueError(f"space: conditions of {', '.join(todo)} depend on each other")
        for name in ready:
            todo.remove(name)
            if not space.active(name, decided):
                continue
            dist = dists[name]
            if hasattr(dist, "choices"):
                index = trial.suggest_categorical(name, dist.choices)
                params[name] = index
                decided[name] = space.params[name].values[index]  # type: ignore[attr-defined]
            else:
                u = trial.suggest_float(name, dist.low, dist.high)
                params[name] = u
                decided[name] = space.params[name].from_unit(u)
    return params


def _waits_for(space: Space, name: str, todo: Sequence[str]) -> bool:
    return any(parent in todo and parent != name for parent in space.conditions.get(name, {}))

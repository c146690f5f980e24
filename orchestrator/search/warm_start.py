"""Starting a sweep from an earlier one: which of its trials lie in the new space, each as
the new sweep would train it, and which of them it trains first.

Pure: the sweep file's check (orchestrator/sweepfile/warm_start.py) reads the earlier store
and hands its trial rows here. A trial lies in the new space when every parameter the new
space searches, and its conditions make active, has a value there that the parameter can
take (a listed choice; a number in the range, an integer for an integer range, a power of
two for power_of_two). What the new sweep holds fixed (its model settings and constants)
replaces the earlier trial's own: that is the new sweep's choice, not part of the evidence.
A parameter the earlier sweep searched that the new one neither searches nor fixes is
dropped, so its trials train with the trainer's default.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from caviar_common.curves import diverged
from orchestrator.search.space import INT_TYPES, Choice, Constant, Param, Space
from orchestrator.search.tpe import Stored

_EDGE = 1e-9  # a unit coordinate this far past an end is a rounding error, not outside

R = TypeVar("R", bound=Stored)


def within(param: Param, value: Any) -> bool:
    """Whether `param` can take `value`: a listed choice, or a number in its range (an
    integer for an integer range, a power of two for power_of_two), by its own scale."""
    if isinstance(param, Constant):
        return bool(value == param.value)
    if isinstance(param, Choice):
        return value in param.values
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    if param.kind in INT_TYPES:
        if not float(value).is_integer():
            return False
        value = int(value)
    try:
        u = param.to_unit(value)
    except (ValueError, ArithmeticError):  # the log of 0, a power of two out of the range
        return False
    if not -_EDGE <= u <= 1 + _EDGE:
        return False
    # a whole-number parameter's values come back from their own coordinate unchanged
    return param.kind not in INT_TYPES or bool(param.from_unit(min(u, 1.0)) == value)


def _canonical(param: Param, value: Any) -> Any:
    """A value `within` the parameter as the parameter gives it (16.0 of an integer range
    as 16, a choice as its listed value)."""
    if isinstance(param, Choice):
        return param.values[param.values.index(value)]
    if param.kind in INT_TYPES:
        return int(value)
    return value


def placed(
    space: Space, fixed: Mapping[str, Any], config: Mapping[str, Any]
) -> dict[str, Any] | None:
    """An earlier trial's configuration as this sweep trains it (its fixed settings and
    constants, the earlier values of what it searches, inactive parameters left out, as
    `Space.decode` builds a configuration), or None where it lies outside the space."""
    out = dict(fixed)
    for name, param in space.params.items():
        if isinstance(param, Constant):
            out[name] = param.value
        elif name in config:
            out[name] = config[name]
    changed = True
    while changed:  # as Space.decode: what depends on an inactive parameter drops out too
        inactive = [n for n in space.conditions if n in out and not space.active(n, out)]
        for name in inactive:
            del out[name]
        changed = bool(inactive)
    for name in space.dims:
        param = space.params[name]
        if name not in out:
            if space.active(name, out):  # searched here, never set there
                return None
        elif within(param, out[name]):
            out[name] = _canonical(param, out[name])
        else:
            return None
    return out


def ranked(
    rows: Iterable[R], sign: float, reached: Mapping[int, tuple[float, float]] | None = None
) -> list[R]:
    """The rows with a usable best value, best first, as `Run.best` ranks trials: by the
    value in minimise terms (`sign` folded in), then the epoch at which the trial first
    recorded it and when (`reached`, by trial number; only ties need it, a trial missing
    from it ranks after one in it), then the number. NaN and absurd values never rank."""
    known = reached or {}
    never = (math.inf, math.inf)

    def key(r: R) -> tuple[float, float, float, int]:
        return (sign * float(r.best or 0.0), *known.get(r.number, never), r.number)

    return sorted((r for r in rows if r.best is not None and not diverged(r.best)), key=key)


def first_configs(
    rows: Iterable[R],
    top_k: int,
    sign: float,
    reached: Mapping[int, tuple[float, float]] | None = None,
) -> list[dict[str, Any]]:
    """The `top_k` best distinct configurations of `rows` (placed in the new space), best
    first: two earlier trials that the new space makes the same configuration are one."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in ranked(rows, sign, reached):
        if len(out) >= top_k:
            break
        key = repr(sorted(row.config.items()))
        if key not in seen:
            seen.add(key)
            out.append(dict(row.config))
    return out

"""Search-space parameter types, each mapping its values to and from the unit interval.

Every sampler (random, Sobol, grid) and the coarse-to-fine zoom work in one unit cube;
a parameter's scale (log for the learning rate, 1-beta on a log scale for momentum, powers
of two for batch sizes) lives in its `from_unit`/`to_unit` pair and nowhere else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from caviar_common.bounds import Bound
from caviar_common.errors import InputError, suggest

SpaceError = InputError  # a parameter definition that breaks a rule; `path` names it


def _number(path: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpaceError(path, f"must be a number, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value):
        raise SpaceError(path, f"must be a finite number, got {value!r}")
    return float(value)


def _integer(path: str, value: Any) -> int:
    number = _number(path, value)
    if not number.is_integer():
        raise SpaceError(path, f"must be an integer, got {value!r}")
    return int(number)


def _ordered(path: str, low: float, high: float) -> None:
    if not low < high:
        raise SpaceError(f"{path}.low", f"low < high must hold, got low={low!r}, high={high!r}")


class Param:
    """One searchable dimension: `from_unit(u)` for u in [0, 1) and its inverse `to_unit`."""

    kind = ""
    ordered = True  # False: a categorical, whose zoom narrows a set instead of a range

    def from_unit(self, u: float) -> Any:
        raise NotImplementedError

    def to_unit(self, value: Any) -> float:
        raise NotImplementedError

    def discrete(self, limit: int) -> list[Any] | None:
        """Every value, for a discrete parameter with at most `limit` of them; else None."""
        return None

    def grid(self, points: int) -> list[Any]:
        """Evenly spaced values on the parameter's own scale (all values, if fewer)."""
        every = self.discrete(points)
        if every is not None:
            return every
        return list(dict.fromkeys(self.from_unit((i + 0.5) / points) for i in range(points)))


@dataclass(frozen=True)
class Uniform(Param):
    low: float
    high: float
    kind = "uniform"

    def from_unit(self, u: float) -> float:
        return self.low + u * (self.high - self.low)

    def to_unit(self, value: float) -> float:
        return (value - self.low) / (self.high - self.low)

    def grid(self, points: int) -> list[Any]:
        return [float(v) for v in np.linspace(self.low, self.high, points)]


@dataclass(frozen=True)
class LogUniform(Param):
    """log(value) uniform: as many samples in 1e-4..1e-3 as in 0.1..1."""

    low: float
    high: float
    kind = "log_uniform"

    def from_unit(self, u: float) -> float:
        return math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))

    def to_unit(self, value: float) -> float:
        return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))

    def grid(self, points: int) -> list[Any]:
        return [float(v) for v in np.geomspace(self.low, self.high, points)]


@dataclass(frozen=True)
class OneMinusLogUniform(Param):
    """log(1 - value) uniform: beta in 0.9..0.999 puts half the samples in 0.99..0.999."""

    low: float
    high: float
    kind = "one_minus_log_uniform"

    def from_unit(self, u: float) -> float:
        a, b = math.log1p(-self.low), math.log1p(-self.high)
        return -math.expm1(a + u * (b - a))

    def to_unit(self, value: float) -> float:
        a, b = math.log1p(-self.low), math.log1p(-self.high)
        return (math.log1p(-value) - a) / (b - a)

    def grid(self, points: int) -> list[Any]:
        return [1 - float(v) for v in np.geomspace(1 - self.low, 1 - self.high, points)]


@dataclass(frozen=True)
class IntUniform(Param):
    """Every integer in [low, high] equally likely."""

    low: int
    high: int
    kind = "int_uniform"

    def from_unit(self, u: float) -> int:
        return min(self.high, self.low + int(u * (self.high - self.low + 1)))

    def to_unit(self, value: int) -> float:
        return (value - self.low + 0.5) / (self.high - self.low + 1)

    def discrete(self, limit: int) -> list[Any] | None:
        return list(range(self.low, self.high + 1)) if self.high - self.low < limit else None


@dataclass(frozen=True)
class LogInt(Param):
    """Integers whose log is uniform, for a width that spans orders of magnitude."""

    low: int
    high: int
    kind = "log_int"

    def from_unit(self, u: float) -> int:
        lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
        return min(self.high, max(self.low, round(math.exp(lo + u * (hi - lo)))))

    def to_unit(self, value: int) -> float:
        lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
        return (math.log(value) - lo) / (hi - lo)

    def discrete(self, limit: int) -> list[Any] | None:
        return list(range(self.low, self.high + 1)) if self.high - self.low < limit else None


@dataclass(frozen=True)
class PowerOfTwo(Param):
    """2**k for every k from log2(low) to log2(high), equally likely: 32, 64, 128, ..."""

    low: int
    high: int
    kind = "power_of_two"

    @property
    def exponents(self) -> range:
        return range(self.low.bit_length() - 1, self.high.bit_length())

    def from_unit(self, u: float) -> int:
        ks = self.exponents
        return 2 ** ks[min(len(ks) - 1, int(u * len(ks)))]

    def to_unit(self, value: int) -> float:
        ks = self.exponents
        return (ks.index(value.bit_length() - 1) + 0.5) / len(ks)

    def discrete(self, limit: int) -> list[Any] | None:
        return [2**k for k in self.exponents] if len(self.exponents) <= limit else None


@dataclass(frozen=True)
class Choice(Param):
    """One of a list of values, each equally likely; unordered."""

    values: tuple[Any, ...]
    kind = "choice"
    ordered = False

    def from_unit(self, u: float) -> Any:
        return self.values[min(len(self.values) - 1, int(u * len(self.values)))]

    def to_unit(self, value: Any) -> float:
        return (self.values.index(value) + 0.5) / len(self.values)

    def discrete(self, limit: int) -> list[Any] | None:
        return list(self.values)

    def grid(self, points: int) -> list[Any]:
        return list(self.values)


@dataclass(frozen=True)
class Constant(Param):
    """A fixed value; it takes no dimension of the unit cube."""

    value: Any
    kind = "constant"

    def from_unit(self, u: float) -> Any:
        return self.value

    def to_unit(self, value: Any) -> float:
        return 0.5

    def grid(self, points: int) -> list[Any]:
        return [self.value]


# Each parameter type and the fields it takes besides `type` (and `when`).
PARAM_FIELDS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "log_uniform": ("low", "high"),
    "one_minus_log_uniform": ("low", "high"),
    "int_uniform": ("low", "high"),
    "log_int": ("low", "high"),
    "power_of_two": ("low", "high"),
    "choice": ("values",),
    "constant": ("value",),
}
PARAM_TYPES = tuple(PARAM_FIELDS)
FLOAT_TYPES = ("uniform", "log_uniform", "one_minus_log_uniform")  # ranges of numbers
INT_TYPES = ("int_uniform", "log_int", "power_of_two")  # ranges of integers
# The limits a range's low and high keep besides low < high, by type (none: no limits);
# make_param checks them and the sweep file's schema states them.
RANGE_LIMITS: dict[str, tuple[Bound, Bound]] = {
    "log_uniform": (Bound(exclusive_minimum=0), Bound(exclusive_minimum=0)),
    "one_minus_log_uniform": (
        Bound(minimum=0, exclusive_maximum=1),
        Bound(exclusive_minimum=0, exclusive_maximum=1),
    ),
    "log_int": (Bound(minimum=1), Bound(minimum=1)),
    "power_of_two": (Bound(minimum=1), Bound(minimum=1)),
}
_NO_LIMITS = (Bound(), Bound())


def make_param(path: str, kind: str, spec: Mapping[str, Any]) -> Param:
    """Build and validate one parameter from its sweep-file fields (without `type`/`when`)."""
    if kind in FLOAT_TYPES:
        _only(path, spec, PARAM_FIELDS[kind])
        low, high = _number(f"{path}.low", spec["low"]), _number(f"{path}.high", spec["high"])
        _ordered(path, low, high)
        low_ok, high_ok = RANGE_LIMITS.get(kind, _NO_LIMITS)
        if kind == "log_uniform" and not low_ok(low):
            raise SpaceError(
                f"{path}.low",
                f"log_uniform needs 0 < low, got low={low!r} (a log scale has no zero; "
                "for values near zero use a small positive low such as 1e-6)",
            )
        if kind == "one_minus_log_uniform" and not (low_ok(low) and high_ok(high)):
            bad, value = ("low", low) if low < 0 else ("high", high)
            raise SpaceError(
                f"{path}.{bad}",
                f"one_minus_log_uniform needs 0 <= low < high < 1 (1-beta is log-uniform), "
                f"got {bad}={value!r}",
            )
        cls = {"uniform": Uniform, "log_uniform": LogUniform}.get(kind, OneMinusLogUniform)
        return cls(low, high)
    if kind in INT_TYPES:
        _only(path, spec, PARAM_FIELDS[kind])
        low, high = _integer(f"{path}.low", spec["low"]), _integer(f"{path}.high", spec["high"])
        _ordered(path, low, high)
        low_ok, high_ok = RANGE_LIMITS.get(kind, _NO_LIMITS)
        if kind == "log_int" and not low_ok(low):
            raise SpaceError(f"{path}.low", f"log_int needs low >= 1, got low={low!r}")
        if kind == "power_of_two":
            for name, v, ok in (("low", low, low_ok), ("high", high, high_ok)):
                if not ok(v) or v & (v - 1):
                    raise SpaceError(
                        f"{path}.{name}", f"power_of_two needs a power of two, got {name}={v!r}"
                    )
        cls2 = {"int_uniform": IntUniform, "log_int": LogInt}.get(kind, PowerOfTwo)
        return cls2(low, high)
    if kind == "choice":
        _only(path, spec, PARAM_FIELDS[kind])
        values = spec["values"]
        if not isinstance(values, Sequence) or isinstance(values, str):
            raise SpaceError(f"{path}.values", f"must be a list, got {values!r}")
        if not values:
            raise SpaceError(f"{path}.values", "must hold at least one value, got []")
        # equal values (1 and 1.0, 1 and true) could not be told apart in a configuration
        if any(a == b for i, a in enumerate(values) for b in values[i + 1 :]):
            raise SpaceError(f"{path}.values", f"must not repeat a value, got {list(values)!r}")
        return Choice(tuple(values))
    if kind == "constant":
        _only(path, spec, PARAM_FIELDS[kind])
        return Constant(spec["value"])
    raise SpaceError(
        f"{path}.type",
        f"unknown parameter type {kind!r}{suggest(kind, list(PARAM_TYPES))}; types are "
        f"{', '.join(PARAM_TYPES)}",
    )


def _only(path: str, spec: Mapping[str, Any], needed: tuple[str, ...]) -> None:
    for key in spec:
        if key not in needed:
            raise SpaceError(
                f"{path}.{key}",
                f"unknown field{suggest(str(key), list(needed))}; this type takes "
                f"{', '.join(needed)}",
            )
    for key in needed:
        if key not in spec:
            raise SpaceError(f"{path}.{key}", "is required")


@dataclass(frozen=True)
class Box:
    """A region of the unit cube: per dimension a [low, high) range, and for categoricals
    the values still allowed. Coarse-to-fine stages sample inside ever smaller boxes."""

    lows: tuple[float, ...]
    highs: tuple[float, ...]
    allowed: tuple[tuple[Any, ...] | None, ...]  # per dimension; None: every value

    @classmethod
    def full(cls, dims: int) -> Box:
        return cls((0.0,) * dims, (1.0,) * dims, (None,) * dims)

    def widths(self) -> np.ndarray:
        return np.subtract(self.highs, self.lows)

    def to_dict(self, names: Sequence[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, lo, hi, allowed in zip(names, self.lows, self.highs, self.allowed, strict=True):
            out[name] = list(allowed) if allowed is not None else [lo, hi]
        return out


@dataclass(frozen=True)
class Space:
    """Named parameters, some only active when another parameter takes given values.

    `dims` are the non-constant parameters, in order: a point of the unit cube has one
    coordinate per dimension. A conditional parameter keeps its dimension; `decode` just
    leaves it out of configurations whose condition does not hold.
    """

    params: Mapping[str, Param]
    conditions: Mapping[str, Mapping[str, tuple[Any, ...]]] = field(default_factory=dict)

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(k for k, p in self.params.items() if not isinstance(p, Constant))

    def decode(
        self,
        unit: Sequence[float],
        fixed: Mapping[str, Any] | None = None,
        box: Box | None = None,
    ) -> dict[str, Any]:
        """The configuration at a point of the unit cube (inactive parameters left out).

        With a `box` whose categorical dimensions are narrowed, such a coordinate picks
        among the allowed values, spread evenly over the box's range.
        """
        coords = dict(zip(self.dims, unit, strict=True))
        narrowed = {}
        if box is not None:
            narrowed = {
                n: (allowed, lo, hi)
                for n, lo, hi, allowed in zip(
                    self.dims, box.lows, box.highs, box.allowed, strict=True
                )
                if allowed is not None
            }
        config = dict(fixed or {})
        for name, param in self.params.items():
            u = coords.get(name, 0.5)
            if name in narrowed:
                allowed, lo, hi = narrowed[name]
                position = (u - lo) / (hi - lo) if hi > lo else 0.0
                config[name] = allowed[min(len(allowed) - 1, int(position * len(allowed)))]
            else:
                config[name] = param.from_unit(u)
        # A parameter is inactive when a condition fails, and so is every parameter that
        # depends on an inactive one: repeat until nothing more drops out.
        changed = True
        while changed:
            inactive = [n for n in self.conditions if n in config and not self.active(n, config)]
            for name in inactive:
                del config[name]
            changed = bool(inactive)
        return config

    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """Unit coordinates of a configuration; NaN where a parameter is inactive."""
        return np.array(
            [self.params[n].to_unit(config[n]) if n in config else math.nan for n in self.dims]
        )

    def box_values(self, box: Box) -> dict[str, Any]:
        """A box on each parameter's own scale: [low, high] values, or the allowed choices."""
        out: dict[str, Any] = {}
        for name, lo, hi, allowed in zip(self.dims, box.lows, box.highs, box.allowed, strict=True):
            param = self.params[name]
            if allowed is not None or not param.ordered:
                out[name] = list(allowed if allowed is not None else param.values)  # type: ignore[attr-defined]
            else:
                out[name] = [
                    param.from_unit(lo),
                    param.from_unit(min(hi, math.nextafter(1.0, 0.0))),
                ]
        return out

    def active(self, name: str, config: Mapping[str, Any]) -> bool:
        return all(config.get(k) in allowed for k, allowed in self.conditions.get(name, {}).items())

    def __repr__(self) -> str:
        parts = [f"{n}: {type(p).__name__}" for n, p in self.params.items()]
        return f"Space({', '.join(parts)})"

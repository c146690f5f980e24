"""Samplers: where in the unit cube (or in a box of it) the next trials go.

Each returns unit points, one row per trial; `Space.decode` turns a row into a
configuration, so a log or 1-beta scale needs nothing here.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from orchestrator.search.proposed_by import is_sequential
from orchestrator.search.space import Box, Param, Space


class SweepWarning(UserWarning):
    """Something legal but probably unintended in a sweep (a large grid, say)."""


class Sampler(Protocol):
    name: str

    def points(self, n: int, box: Box, space: Space, rng: np.random.Generator) -> np.ndarray:
        """(m, len(space.dims)) unit points inside `box`; m == n except for the grid."""
        ...


@dataclass(frozen=True)
class RandomSampler:
    """Independent uniform draws: the course's default, never a plain grid."""

    name = "random"

    def points(self, n: int, box: Box, space: Space, rng: np.random.Generator) -> np.ndarray:
        u = rng.random((n, len(space.dims)))  # (n, d)
        return np.asarray(box.lows) + u * box.widths()


@dataclass(frozen=True)
class SobolSampler:
    """Scrambled Sobol' points: they cover the cube more evenly than random draws."""

    name = "sobol"

    def points(self, n: int, box: Box, space: Space, rng: np.random.Generator) -> np.ndarray:
        from scipy.stats import qmc

        d = len(space.dims)
        if d == 0:
            return np.zeros((n, 0))
        sobol = qmc.Sobol(d, scramble=True, seed=rng)
        with warnings.catch_warnings():  # n need not be a power of two for a sweep
            warnings.filterwarnings("ignore", message=".*balance properties.*")
            u = sobol.random(n)  # (n, d)
        return np.asarray(box.lows) + u * box.widths()


@dataclass(frozen=True)
class GridSampler:
    """Every combination of `points` values per dimension; for comparison only."""

    points_per_dim: int = 3
    name = "grid"

    def points(self, n: int, box: Box, space: Space, rng: np.random.Generator) -> np.ndarray:
        axes = [
            self._axis(space.params[name], box.lows[j], box.highs[j], box.allowed[j])
            for j, name in enumerate(space.dims)
        ]
        grid = np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, len(axes))
        return grid

    def _axis(self, param: Param, lo: float, hi: float, allowed: tuple | None) -> list[float]:
        """Unit coordinates of one dimension's levels inside [lo, hi]."""
        if allowed is not None:  # narrowed categories: one level each, spread over the box
            return [lo + (i + 0.5) / len(allowed) * (hi - lo) for i in range(len(allowed))]
        # a discrete parameter with no more values than points gets each value once, at its
        # own coordinate (a log_int's values are not evenly spaced on the unit interval)
        every = param.discrete(self.points_per_dim)
        if every is not None:
            inside = [u for u in map(param.to_unit, every) if lo <= u <= hi]
            if inside:
                return inside
        k = self.points_per_dim
        levels = [lo + (i + 0.5) / k * (hi - lo) for i in range(k)]
        first: dict[Any, float] = {}
        for u in levels:
            first.setdefault(param.from_unit(u), u)
        return list(first.values())


SAMPLERS = ("random", "sobol", "grid", "tpe")


def make_sampler(name: str, points_per_dim: int = 3) -> Sampler:
    if name == "random":
        return RandomSampler()
    if name == "sobol":
        return SobolSampler()
    if name == "grid":
        return GridSampler(points_per_dim)
    if is_sequential(name):
        raise ValueError(f"sampler: {name} proposes one trial at a time (orchestrator/search/tpe/)")
    raise ValueError(f"sampler: unknown sampler {name!r}; samplers are {', '.join(SAMPLERS)}")

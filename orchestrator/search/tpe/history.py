"""Which of a long sweep's trials TPE sees, so a proposal costs the same at 10,000 trials as
at 300.

How Optuna's TPE uses the trials (optuna/samplers/_tpe/sampler.py) says what can go:

- l(x), the density of good configurations, comes from the best γ(n) = min(⌈n/10⌉, 25)
  finished trials alone. Keep those 25, and 241 finished trials in all (the fewest for
  which γ is 25 too), and l(x) is exactly the one the whole history gives.
- Grouped TPE splits the parameters into groups by the sets of active parameters finished
  trials have, in the order each set first occurred, and draws the groups' candidates in
  that order: the oldest trial with each set is kept, so the groups and their order are
  the same. With l(x) and the seed, that makes the 24 candidates the same too.
- g(x), the density of the others, is a Parzen mixture over every other trial, weighted by
  age: the newest 25 weigh 1, older ones ramp down linearly with their rank. Past ~100
  kernels the floor on its bandwidths stops falling (1/100 of the range) and most sit on
  it, so more trials make g(x) smoother, not sharper. A uniform sample of the older trials,
  kept in order, gets the same ramp from its own ranks, so it estimates the same g(x); the
  newest RECENT finished trials are kept whole, so the 25 that weigh 1 are exactly the
  whole history's. Only g(x), at those candidates, is an estimate.
- The constant liar needs every running trial: they are all kept (as many as workers).

Up to `KEEP` finished trials TPE sees them all, so proposals are exactly those of the whole
history. Beyond, the sample is drawn anew at each proposal from the proposal's own seed:
the same seed and results give the same proposal, and no one sample's quirks last.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from orchestrator.search.tpe.evidence import Evidence

BEST = 25  # the largest "below" set: Optuna's default γ(n) = min(ceil(0.1 n), 25)
RECENT = 50  # newest finished trials kept whole: they hold the 25 newest of the "above" set
KEEP = 241  # finished trials kept: the fewest for which γ is 25, as it is for the whole

RUNNING, COMPLETE, PRUNED = "running", "complete", "pruned"

Rank = tuple[float, float, float]


@dataclass(frozen=True)
class Standing:
    """A trial as TPE sees it at the epoch trials are compared at: running, complete with a
    value, or pruned at its last step with its value there (no step: it ranks last)."""

    state: str  # RUNNING, COMPLETE or PRUNED
    value: float = math.inf
    step: int | None = None

    @property
    def rank(self) -> Rank:
        """Its place in TPE's split into good and bad (lower is better): complete trials
        by value, then pruned ones by how far they got, then by their value there."""
        if self.state == COMPLETE:
            return (0.0, self.value, 0.0)
        if self.step is None:
            return (2.0, 0.0, 0.0)
        return (1.0, -float(self.step), self.value)


def standing(item: Evidence, at: int | None) -> Standing:
    """How TPE sees `item` when trials are compared at epoch `at`: one that reached it
    counts as complete with its best value up to there; without milestones, a complete
    trial by its best value; any other by the last epoch it reported (Optuna's own rule
    for pruned trials), and one with no finite value at all (diverged) below every other."""
    if item.kind == "running":
        return Standing(RUNNING)
    there = item.at.get(at, math.nan) if at is not None else math.nan
    if math.isfinite(there):
        return Standing(COMPLETE, there)
    if (at is None or not item.at) and item.kind == "complete" and math.isfinite(item.value):
        return Standing(COMPLETE, item.value)
    if math.isfinite(item.value):
        return Standing(PRUNED, item.value, item.epochs)
    return Standing(PRUNED)


class Standings:
    """The trials TPE may see, the finished ones kept sorted by rank, by number and by set
    of active parameters as trials come, change and go, so choosing which to keep takes no
    pass over the whole history."""

    def __init__(self) -> None:
        self._entry: dict[int, tuple[Rank | None, frozenset[str]]] = {}  # None: running
        self._running: set[int] = set()
        self._ranked: list[tuple[Rank, int]] = []  # finished, best first
        self._numbers: list[int] = []  # finished, oldest first
        self._groups: dict[frozenset[str], list[int]] = {}  # finished, by active parameters

    def __repr__(self) -> str:
        return f"Standings({len(self._numbers)} finished, {len(self._running)} running)"

    def put(self, number: int, standing: Standing, names: Iterable[str]) -> None:
        """Trial `number` stands so, with those parameters active (replacing any entry)."""
        self.drop(number)
        group = frozenset(names)
        if standing.state == RUNNING:
            self._entry[number] = (None, group)
            self._running.add(number)
            return
        rank = standing.rank
        self._entry[number] = (rank, group)
        insort(self._ranked, (rank, number))
        insort(self._numbers, number)
        insort(self._groups.setdefault(group, []), number)

    def drop(self, number: int) -> None:
        entry = self._entry.pop(number, None)
        if entry is None:
            return
        rank, group = entry
        if rank is None:
            self._running.discard(number)
            return
        _remove(self._ranked, (rank, number))
        _remove(self._numbers, number)
        _remove(self._groups[group], number)
        if not self._groups[group]:
            del self._groups[group]

    def kept(self, limit: int | None, rng: np.random.Generator) -> list[int]:
        """The numbers of the trials TPE sees, in order. Every trial while at most `limit`
        are finished (None: no limit); beyond, every running trial, the BEST best and the
        RECENT newest finished ones, the oldest with each set of active parameters, and a
        uniform sample of the other finished ones (drawn with `rng`) up to `limit` finished
        trials in all."""
        if limit is None or len(self._numbers) <= limit:
            return sorted([*self._numbers, *self._running])
        chosen = {number for _, number in self._ranked[:BEST]}
        chosen.update(self._numbers[-RECENT:])
        chosen.update(numbers[0] for numbers in self._groups.values())
        older = self._numbers[:-RECENT]
        need = limit - len(chosen)
        for i in rng.permutation(len(older)):  # a uniform order of the older ones
            if need <= 0:
                break
            if (number := older[i]) not in chosen:
                chosen.add(number)
                need -= 1
        return sorted([*chosen, *self._running])


def _remove(items: list[Any], item: Any) -> None:
    """Take `item` out of the sorted list `items`."""
    del items[bisect_left(items, item)]

"""TPE's model of a sweep, kept between proposals: each trial's coordinates, how it stands
and its Optuna trial are worked out once and again only when the trial changes, and a
proposal hands Optuna a bounded history (orchestrator/search/tpe/history.py), so it costs
about the same at 10,000 trials as at 300.

A proposal is a function of the evidence, the box, the seed and the warm-up alone: a model
fed the same evidence in any order, or built afresh (`suggest`), proposes the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from orchestrator.search.proposed_by import MODEL, WARM_UP, WARMUP
from orchestrator.search.space import Box, Space
from orchestrator.search.tpe.coordinates import distributions, from_params, inside, to_params
from orchestrator.search.tpe.evidence import Evidence, highest_reached
from orchestrator.search.tpe.history import KEEP, Standing, Standings, standing

Params = dict[str, float | int]


@dataclass(frozen=True)
class Suggestion:
    config: dict[str, Any]
    proposed_by: str  # MODEL or WARM_UP


class TpeModel:
    """What TPE knows of a sweep's trials, one evidence per trial number. `keep`: how many
    finished trials TPE sees at most (None: all of them)."""

    def __init__(self, space: Space, fixed: Mapping[str, Any], keep: int | None = KEEP) -> None:
        self.space = space
        self.fixed = dict(fixed)
        self.keep = keep
        self._evidence: dict[int, Evidence] = {}
        self._box: Box | None = None  # what the caches below hold: the last box proposed in
        self._dists: dict[str, Any] = {}
        self._params: dict[int, Params | None] = {}  # coordinates; None: outside the box
        self._used: dict[tuple[str, ...], dict[str, Any]] = {}  # active parameters' dists
        self._counts: Counter[int] = Counter()  # milestone -> finished trials that reached it
        self._counted = 0  # finished (ended or paused) trials inside the box
        self._at: int | None = None  # the epoch the standings compare trials at
        self._stale = True  # the standings are to be worked out again
        self._standings = Standings()
        # the Optuna trials of the last proposal, each as it stood then
        self._trials: dict[int, tuple[Standing, Any]] = {}

    def __len__(self) -> int:
        return len(self._evidence)

    def __repr__(self) -> str:
        return f"TpeModel({len(self)} trials, keep={self.keep}, {self._standings!r})"

    def update(self, changed: Iterable[Evidence], dropped: Iterable[int] = ()) -> None:
        """Learn the evidence of new or changed trials; forget the trials numbered `dropped`."""
        for number in dropped:
            if number in self._evidence:
                self._leave(number)
                del self._evidence[number]
                self._forget(number)
        for item in changed:
            old = self._evidence.get(item.number)
            if old == item:
                continue
            if old is not None:
                self._leave(item.number)
                if old.config != item.config:
                    self._forget(item.number)
            self._evidence[item.number] = item
            self._enter(item.number)

    def replace(self, history: Iterable[Evidence]) -> None:
        """Learn `history` as all there is: trials not in it are forgotten."""
        items = list(history)
        numbers = {item.number for item in items}
        self.update(items, [n for n in self._evidence if n not in numbers])

    def suggest(self, box: Box, number: int, seed: int, warmup: int = WARMUP) -> Suggestion:
        """Trial `number`'s configuration inside `box`, from the evidence so far.

        Evidence outside the box (earlier trials of a coarser stage) is left out: TPE models
        where good configurations lie inside the region it samples. Random until `warmup`
        trials inside it have ended or paused.
        """
        from orchestrator.search.tpe.trials import ask

        numbers = self._kept(box, seed, warmup)
        trials = [self._trial(n) for n in numbers]
        self._trials = {n: self._trials[n] for n in numbers}  # the sample's others may go
        params = ask(self.space, self.fixed, trials, self._dists, seed, warmup)
        config = from_params(self.space, params, self.fixed)
        return Suggestion(config, MODEL if self._counted >= warmup else WARM_UP)

    def history(self) -> list[Evidence]:
        """Every trial's evidence, oldest first."""
        return [self._evidence[n] for n in sorted(self._evidence)]

    def seen(self, box: Box, seed: int, warmup: int = WARMUP) -> list[Evidence]:
        """The evidence TPE sees when it proposes with `seed` inside `box`, oldest first."""
        return [self._evidence[n] for n in self._kept(box, seed, warmup)]

    # -- the caches ---------------------------------------------------------------------

    def _kept(self, box: Box, seed: int, warmup: int) -> list[int]:
        if box != self._box:
            self._rebox(box)
        at = highest_reached(self._counts, min(warmup, self._counted) or 1)
        if self._stale or at != self._at:
            self._at = at
            self._restand()
        limit = None if self.keep is None else max(self.keep, warmup)  # never random for it
        return self._standings.kept(limit, np.random.default_rng(seed))

    def _rebox(self, box: Box) -> None:
        """Every trial's coordinates in a new box, and which lie inside it."""
        self._box, self._dists = box, distributions(self.space, box)
        self._params.clear()
        self._used.clear()
        self._trials.clear()
        self._counts.clear()
        self._counted = 0
        self._stale = True
        for number in self._evidence:
            self._enter(number)

    def _restand(self) -> None:
        """How every trial inside the box stands at the epoch trials are compared at now."""
        self._standings = Standings()
        self._stale = False
        for number, params in self._params.items():
            if params is not None:
                item = self._evidence[number]
                self._standings.put(number, standing(item, self._at), params.keys())

    def _enter(self, number: int) -> None:
        if self._box is None or (params := self._coordinates(number)) is None:
            return
        item = self._evidence[number]
        if item.kind != "running":
            self._counted += 1
            self._counts.update(item.at.keys())
        if not self._stale:
            self._standings.put(number, standing(item, self._at), params.keys())

    def _leave(self, number: int) -> None:
        if self._box is None or self._params.get(number) is None:
            return
        item = self._evidence[number]
        if item.kind != "running":
            self._counted -= 1
            self._counts.subtract(item.at.keys())
        if not self._stale:
            self._standings.drop(number)

    def _forget(self, number: int) -> None:
        self._params.pop(number, None)
        self._trials.pop(number, None)

    def _coordinates(self, number: int) -> Params | None:
        if number not in self._params:
            params = to_params(self.space, self._evidence[number].config)
            self._params[number] = params if inside(params, self._dists) else None
        return self._params[number]

    def _trial(self, number: int) -> Any:
        """Trial `number` as TPE's study holds it, made again only when it stands anew."""
        from orchestrator.search.tpe.trials import frozen

        now = standing(self._evidence[number], self._at)
        made = self._trials.get(number)
        if made is None or made[0] != now:
            params = self._params[number]
            assert params is not None  # only trials inside the box are kept
            names = tuple(params)  # one dict of distributions per set of active parameters
            used = self._used.get(names)
            if used is None:
                used = self._used[names] = {n: self._dists[n] for n in names}
            made = self._trials[number] = (now, frozen(now, params, used))
        return made[1]


def suggest(
    space: Space,
    fixed: Mapping[str, Any],
    box: Box,
    history: Sequence[Evidence],
    number: int,
    seed: int,
    warmup: int = WARMUP,
    keep: int | None = KEEP,
) -> Suggestion:
    """Trial `number`'s configuration inside `box`, from the evidence so far (one per trial
    number), as a model fed `history` proposes it (see TpeModel.suggest)."""
    model = TpeModel(space, fixed, keep)
    model.update(history)
    return model.suggest(box, number, seed, warmup)

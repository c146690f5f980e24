"""What TPE learns from a sweep's trials: each trial's evidence (where it was, how far it
got, its best values), and the milestone epoch at which trials are compared (BOHB's rule).
Pure: no Optuna here."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from caviar_common.states import TrialState

_KINDS = {
    TrialState.COMPLETED: "complete",
    TrialState.PENDING: "running",
    TrialState.RUNNING: "running",
}  # every other state that reached this far (paused, pruned, stopped, diverged): partial


class Stored(Protocol):
    """What the model reads of a stored trial (a storage.TrialRow has it)."""

    @property
    def number(self) -> int: ...
    @property
    def config(self) -> Mapping[str, Any]: ...
    @property
    def state(self) -> TrialState: ...
    @property
    def epochs(self) -> int: ...
    @property
    def best(self) -> float | None: ...


@dataclass(frozen=True)
class Evidence:
    """What the model learns from one trial: where it was and how far it got."""

    number: int
    config: Mapping[str, Any]
    kind: str  # "complete", "partial" (paused, pruned, stopped, diverged) or "running"
    epochs: int  # epochs it reached
    value: float  # its best value so far in minimise terms; NaN if it never had one
    # its best value (minimised) up to each milestone epoch it reached: rungs and the last
    at: Mapping[int, float] = field(default_factory=dict)


def evidence(
    rows: Iterable[Stored],
    sign: float,
    earlier: Iterable[Stored] = (),
    milestones: Mapping[int, Mapping[int, float]] | None = None,
) -> list[Evidence]:
    """The evidence in the store's trial rows, after that of an earlier sweep's (`earlier`:
    a warm start's trials, their configurations already placed in this sweep's space, see
    orchestrator/search/warm_start.py); failed trials (a crash, not the configuration's
    fault) tell nothing.

    An earlier trial is numbered below 1 (its number less the earlier sweep's highest), so
    TPE takes them first, in their own order; one the earlier sweep left running (it was
    interrupted) counts as partial, since it will never report again. `milestones`: trial
    number -> its best value (minimised) up to each milestone epoch it reached.
    """
    before = list(earlier)
    last = max((int(r.number) for r in before), default=0)
    found = [_evidence(r, sign, int(r.number) - last, ended=True) for r in before]
    at = milestones or {}
    found += [_evidence(r, sign, int(r.number), at=at.get(int(r.number), {})) for r in rows]
    return [e for e in found if e is not None]


def _evidence(
    r: Stored,
    sign: float,
    number: int,
    ended: bool = False,
    at: Mapping[int, float] | None = None,
) -> Evidence | None:
    """One trial's evidence, numbered `number`; None for a failed one. With `ended`, a
    trial stored as still running is partial."""
    state = r.state
    if state == TrialState.FAILED:
        return None
    value = math.nan if r.best is None else sign * float(r.best)
    if state == TrialState.DIVERGED:
        value, at = math.nan, {}  # the worst evidence, whatever it reported before diverging
    kind = _KINDS.get(state, "partial")
    if ended and kind == "running":
        kind = "partial"
    return Evidence(number, r.config, kind, int(r.epochs), value, dict(at or {}))


def fidelity(history: Sequence[Evidence], enough: int) -> int | None:
    """The epoch the model compares trials at: the highest milestone that at least `enough`
    ended or paused trials reached (BOHB's rule); None when no milestone has that many."""
    counts: dict[int, int] = {}
    for item in history:
        if item.kind != "running":
            for epoch in item.at:
                counts[epoch] = counts.get(epoch, 0) + 1
    return highest_reached(counts, enough)


def highest_reached(counts: Mapping[int, int], enough: int) -> int | None:
    """The highest milestone epoch that at least `enough` trials reached (`counts`: epoch ->
    how many ended or paused trials reached it); None when none has that many."""
    return max((epoch for epoch, n in counts.items() if n >= max(enough, 1)), default=None)

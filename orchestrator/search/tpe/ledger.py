"""A running sweep's evidence for TPE, kept from the loop's own view of its trials instead of
read back from the store at every proposal (at 10,000 trials that read alone took longer
than a proposal may).

The store is read once, at the first proposal of a run. After that, what changes between two
proposals is known without it: the trials the loop runs or waits to restart change as they
report; a paused one waits at its rung unchanged, unless the loop's notes
(orchestrator/core/status.py) say it was promoted or paused since; one that is neither live
nor paused any more has ended, and the notes say how. Should they not say (more came than
their log keeps), the store is read again: the evidence is always what
`evidence(store.trial_rows(), ...)` would give.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from caviar_common.states import ENDED, TrialState
from orchestrator.search.tpe.evidence import Stored, evidence
from orchestrator.search.tpe.model import TpeModel


class Live(Protocol):
    """A trial the loop runs, waits to restart or has paused (orchestrator.core.loop's
    Running): its epochs and best value (minimised; inf while it has none) so far."""

    @property
    def trial_id(self) -> str: ...
    @property
    def number(self) -> int: ...
    @property
    def config(self) -> Mapping[str, Any]: ...
    @property
    def reported(self) -> int: ...
    @property
    def best(self) -> float: ...


class Note(Protocol):
    @property
    def trial_id(self) -> str: ...
    @property
    def state(self) -> TrialState | None: ...


class Notes(Protocol):
    """The loop's log of what happened (orchestrator.core.status.Status): `notes` counts
    every note ever added, `since(seen)` gives those after the first `seen` it still keeps."""

    @property
    def notes(self) -> int: ...
    def since(self, seen: int) -> Sequence[Note]: ...


@dataclass(frozen=True)
class _Row:
    """A live trial as the store would hold it (a `Stored`)."""

    number: int
    config: Mapping[str, Any]
    state: TrialState
    epochs: int
    best: float | None


class Ledger:
    """Keeps `model` up to date with a running sweep's trials, after an earlier sweep's
    (`earlier`, a warm start's), values in the sweep's direction (`sign`)."""

    def __init__(self, model: TpeModel, sign: float, earlier: Iterable[Stored] = ()) -> None:
        self.model = model
        self.sign = sign
        self._earlier = list(earlier)
        self._loaded = False
        self._seen = 0  # notes read so far
        self._live: dict[str, Live] = {}  # running or waiting to restart at the last look
        self._paused: dict[str, Live] = {}

    def __repr__(self) -> str:
        return f"Ledger({len(self._live)} live, {len(self._paused)} paused, {self.model!r})"

    def started(self, trial: Live) -> None:
        """The loop has started a new trial: follow it from now on (it may end before the
        next proposal)."""
        if self._loaded:
            self._live[trial.trial_id] = trial

    def refresh(
        self,
        live: Iterable[Live],
        paused: Mapping[str, Live],
        at: Mapping[int, Mapping[int, float]],
        notes: Notes,
        read: Callable[[], Iterable[Stored]],
    ) -> TpeModel:
        """The model, told what changed since the last refresh. `live`: the trials running
        or waiting to restart; `paused`: the paused ones by id; `at`: each trial's best up to
        each milestone it reached; `read`: the store's trial rows, read only when needed."""
        running = {t.trial_id: t for t in live}
        if not (self._loaded and self._follow(running, paused, at, notes)):
            self._load(read(), at)
            self._seen = notes.notes
        self._live = running
        if paused.keys() != self._paused.keys():  # (thousands, under Hyperband)
            self._paused = dict(paused)
        self._loaded = True
        return self.model

    def _load(self, rows: Iterable[Stored], at: Mapping[int, Mapping[int, float]]) -> None:
        history = evidence(rows, self.sign, self._earlier, at)
        self.model.replace(history)

    def _follow(
        self,
        running: Mapping[str, Live],
        paused: Mapping[str, Live],
        at: Mapping[int, Mapping[int, float]],
        notes: Notes,
    ) -> bool:
        """Tell the model what changed from the loop's view alone; False when the notes do
        not say how a trial ended."""
        fresh = notes.since(self._seen)
        if notes.notes - self._seen > len(fresh):
            return False  # more notes came than the log keeps
        how = {n.trial_id: n.state for n in fresh if n.state in ENDED}
        rows = [self._row(t, TrialState.RUNNING) for t in running.values()]
        # paused since, or promoted and paused again: either leaves a note
        moved = {n.trial_id for n in fresh}
        gone = [t for tid, t in self._live.items() if tid not in running and tid not in paused]
        if paused.keys() != self._paused.keys():
            moved |= paused.keys() - self._paused.keys()
            left = self._paused.keys() - paused.keys() - running.keys()
            gone += [self._paused[tid] for tid in left]
        rows += [self._row(paused[tid], TrialState.PAUSED) for tid in moved if tid in paused]
        for trial in gone:
            state = how.get(trial.trial_id)
            if state is None:
                return False
            rows.append(self._row(trial, state))
        self._seen = notes.notes
        found = evidence(rows, self.sign, milestones=at)
        failed = {r.number for r in rows} - {e.number for e in found}
        self.model.update(found, failed)
        return True

    def _row(self, trial: Live, state: TrialState) -> _Row:
        best = None if math.isinf(trial.best) else self.sign * trial.best
        return _Row(trial.number, trial.config, state, trial.reported, best)

"""What every scheduler shares: the decision it answers, divergence, and the direction.

A scheduler sees trial ids and numbers, never an executor (Syne Tune's shape, not Ray
Tune's): `on_start`, then `on_result(trial_id, epoch, value)` after every epoch, then one
of `on_complete` / `on_failed`. The metric's direction is folded in once, so every rule
below only minimises.

A trial is over once the scheduler stops it (STOP or DIVERGED) or hears that it completed
or failed; no new epoch comes for it. The scheduler then forgets all it kept for judging
that trial, keeping the values it recorded for judging later ones and a mark that makes any
late result of the trial a replay (CONTINUE, nothing recorded). So what it holds per ended
trial stays small in a sweep of many thousands.
"""

from __future__ import annotations

import enum
import sys

from caviar_common.curves import diverged

ENDED = sys.maxsize  # the last epoch of an ended trial: any later result of it is a replay


class Decision(enum.Enum):
    CONTINUE = "continue"
    STOP = "stop"  # pruned: the scheduler judged it weak
    PAUSE = "pause"  # keep its checkpoint: `promote()` may resume it later
    DIVERGED = "diverged"  # NaN, infinite or absurd value: stopped at once


class Scheduler:
    """Base class: divergence and replays handled here; subclasses implement `_decide`.

    `sign` is +1 to minimise the metric and -1 to maximise it. A result for an epoch the
    trial already reported (a trial restarted from a checkpoint replays epochs) gets
    CONTINUE and leaves the statistics alone: the trial was judged there already.
    """

    name = "base"

    def __init__(self, sign: float = 1.0) -> None:
        if sign not in (1.0, -1.0):
            raise ValueError(f"sign: must be +1 (minimise) or -1 (maximise), got {sign!r}")
        self.sign = sign
        self._last_epoch: dict[str, int] = {}
        self.decisions = 0

    def on_start(self, trial_id: str) -> None:
        self._last_epoch.setdefault(trial_id, 0)

    def on_result(self, trial_id: str, epoch: int, value: float) -> Decision:
        self.decisions += 1
        if diverged(value):  # known from the result alone, so a replay knows it too
            self._forget(trial_id)
            return Decision.DIVERGED
        if epoch <= self._last_epoch.get(trial_id, 0):
            return Decision.CONTINUE
        self._last_epoch[trial_id] = epoch
        decision = self._decide(trial_id, epoch, self.sign * value)
        if decision is Decision.STOP:
            self._forget(trial_id)
        return decision

    def may_stop(self, epoch: int) -> bool:
        """Whether a finite result at `epoch` could stop a trial (else the next epoch can
        be queued before this one's result arrives)."""
        return True

    @property
    def rung_epochs(self) -> frozenset[int]:
        """Epochs where decisions are made, worth a checkpoint."""
        return frozenset()

    def promote(self, finishing: bool = False) -> str | None:
        """A paused trial to resume now that a worker is free (the scheduler counts it as
        promoted), or None. Only schedulers that answer PAUSE ever return one.

        `finishing`: no new trial is left to start, so a worker that gets nothing idles.
        """
        return None

    def promotable(self) -> set[str]:
        """The paused trials more trials or a larger budget would promote first: in each
        rung, its best paused ones, as many as its top 1/eta counts. Their checkpoints
        outlive the sweep."""
        return set()

    def resumed(self, trial_id: str) -> None:
        """The trial runs again although this scheduler has it paused: a resume found it
        promoted and running in the store before its next result. It counts as promoted."""

    def on_complete(self, trial_id: str) -> None:
        """The trial ran to its epoch budget."""
        self._forget(trial_id)

    def on_failed(self, trial_id: str) -> None:
        """The trial raised, lost its worker for good, or diverged."""
        self._forget(trial_id)

    def _decide(self, trial_id: str, epoch: int, value: float) -> Decision:
        raise NotImplementedError

    def _ended(self, trial_id: str) -> bool:
        return self._last_epoch.get(trial_id) == ENDED

    def _forget(self, trial_id: str) -> None:
        """The trial is over: drop what was kept to judge it (subclasses drop theirs)."""
        self._last_epoch[trial_id] = ENDED

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sign={self.sign:+.0f})"


class Fifo(Scheduler):
    """Every trial runs to its epoch budget."""

    name = "fifo"

    def may_stop(self, epoch: int) -> bool:
        return False

    def _decide(self, trial_id: str, epoch: int, value: float) -> Decision:
        return Decision.CONTINUE

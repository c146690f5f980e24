"""What every scheduler shares: the decision it answers, divergence, and the direction.

A scheduler sees trial ids and numbers, never an executor (Syne Tune's shape, not Ray
Tune's): `on_start`, then `on_result(trial_id, epoch, value)` after every epoch, then one
of `on_complete` / `on_failed`. The metric's direction is folded in once, so every rule
below only minimises.
"""

from __future__ import annotations

import enum

from caviar_common.curves import diverged


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
        if diverged(value):
            self._last_epoch[trial_id] = max(epoch, self._last_epoch.get(trial_id, 0))
            return Decision.DIVERGED
        if epoch <= self._last_epoch.get(trial_id, 0):
            return Decision.CONTINUE
        self._last_epoch[trial_id] = epoch
        return self._decide(trial_id, epoch, self.sign * value)

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

    def resumed(self, trial_id: str) -> None:
        """The trial runs again although this scheduler has it paused: a resume found it
        promoted and running in the store before its next result. It counts as promoted."""

    def on_complete(self, trial_id: str) -> None:
        """The trial ran to its epoch budget."""

    def on_failed(self, trial_id: str) -> None:
        """The trial raised, lost its worker for good, or diverged."""

    def _decide(self, trial_id: str, epoch: int, value: float) -> Decision:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sign={self.sign:+.0f})"


class Fifo(Scheduler):
    """Every trial runs to its epoch budget."""

    name = "fifo"

    def may_stop(self, epoch: int) -> bool:
        return False

    def _decide(self, trial_id: str, epoch: int, value: float) -> Decision:
        return Decision.CONTINUE

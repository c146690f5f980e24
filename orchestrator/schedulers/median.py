"""Median stopping (Golovin et al. 2017, Google Vizier).

After `grace_period` epochs, and once `min_trials` trials have ended, a trial stops when its
best value so far is worse than the median of the other trials' running averages at the
same epoch. Running averages per epoch are kept in sorted lists, so the median is an index.
"""

from __future__ import annotations

from sortedcontainers import SortedList

from orchestrator.schedulers.base import Decision, Scheduler


class MedianStopping(Scheduler):
    name = "median"

    def __init__(self, grace_period: int = 1, min_trials: int = 3, sign: float = 1.0) -> None:
        super().__init__(sign)
        self.grace_period = grace_period
        self.min_trials = min_trials
        self.ended = 0
        self._averages: dict[int, SortedList] = {}  # epoch -> running averages there
        self._sum: dict[str, float] = {}
        self._best: dict[str, float] = {}

    def may_stop(self, epoch: int) -> bool:
        return epoch >= self.grace_period

    def _decide(self, trial_id: str, epoch: int, value: float) -> Decision:
        total = self._sum.get(trial_id, 0.0) + value
        self._sum[trial_id] = total
        best = min(value, self._best.get(trial_id, value))
        self._best[trial_id] = best
        others = self._averages.setdefault(epoch, SortedList())
        stop = (
            epoch >= self.grace_period
            and self.ended >= self.min_trials
            and len(others) > 0
            and best > median(others)
        )
        others.add(total / epoch)
        if stop:
            self.ended += 1
            return Decision.STOP
        return Decision.CONTINUE

    def on_complete(self, trial_id: str) -> None:
        self.ended += 1
        super().on_complete(trial_id)

    def _forget(self, trial_id: str) -> None:
        super()._forget(trial_id)  # its running averages stay: later trials are judged on them
        self._sum.pop(trial_id, None)
        self._best.pop(trial_id, None)

    def __repr__(self) -> str:
        return (
            f"MedianStopping(grace_period={self.grace_period}, min_trials={self.min_trials}, "
            f"sign={self.sign:+.0f})"
        )


def median(values: SortedList) -> float:
    n = len(values)
    mid = n // 2
    return float(values[mid]) if n % 2 else (values[mid - 1] + values[mid]) / 2.0

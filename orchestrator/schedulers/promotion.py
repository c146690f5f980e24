"""ASHA as its paper has it (Li et al., MLSys 2020, Algorithm 2): trials are paused at a
rung, never stopped, and promoted later.

A trial that reaches a rung is paused there with its checkpoint. Whenever a worker is
free, the scheduler promotes the best paused trial that is in the top floor(n / eta) of
its rung's n results, scanning rungs from the top; only if none is promotable does a new
trial start. A slow starter thus waits at its rung instead of being thrown away, and goes
on as soon as enough weaker results arrive behind it. Each rung keeps its results and its
paused trials in sorted lists, so a decision costs O(log n).
"""

from __future__ import annotations

import math

from sortedcontainers import SortedList

from orchestrator.schedulers.base import Decision


def top_share(n: int, eta: float) -> int:
    """How many of a rung's n results are in its top 1/eta: floor(n / eta)."""
    return math.floor(n / eta + 1e-9)  # 33 / 1.1 is 29.999...96 in floating point


class PromotingBracket:
    """One set of rungs whose trials pause at each rung until they are promoted."""

    def __init__(self, grace: int, eta: float, epochs: list[int]) -> None:
        self.grace = grace
        self.eta = eta
        self.epochs = epochs
        self.rungs: dict[int, SortedList] = {e: SortedList() for e in epochs}  # (value, id)
        self.paused: dict[int, SortedList] = {e: SortedList() for e in epochs}  # (value, id)
        self._paused_at: dict[str, tuple[int, float]] = {}  # trial -> (rung epoch, value)

    def decide(self, trial_id: str, epoch: int, value: float) -> Decision:
        """Record a result; a result at a rung pauses the trial there."""
        if trial_id in self._paused_at and self._paused_at[trial_id][0] < epoch:
            self._take(trial_id)  # it went on past its rung: it was promoted (a replay)
        if epoch not in self.rungs:
            return Decision.CONTINUE
        entry = (value, trial_id)  # one tuple in both lists: a paused trial costs no more
        self.rungs[epoch].add(entry)
        self.paused[epoch].add(entry)
        self._paused_at[trial_id] = (epoch, value)
        return Decision.PAUSE

    def promote(self, finishing: bool = False) -> str | None:
        """The paused trial to resume now, taken off the paused list; None if there is none.

        Rungs are scanned from the top: a trial close to the budget is the cheapest to
        finish. In a rung, the best paused trial goes on if it is in the top share.

        `finishing`: no new trial will come, so no rung will fill any further. Each rung
        then lets its best result go on even when fewer than eta results reached it, as
        synchronous successive halving keeps at least one trial per rung: otherwise the
        top rung of a short sweep (one trial at epoch 27 of 30, say) never lets anyone
        finish, and the best trial found waits a few epochs short of the budget.
        """
        for epoch in reversed(self.epochs):
            paused = self.paused[epoch]
            if not paused:
                continue
            best = paused[0]
            share = top_share(len(self.rungs[epoch]), self.eta)
            if self.rungs[epoch].bisect_left(best) < (max(1, share) if finishing else share):
                return self._take(best[1])
        return None

    def promotable(self) -> set[str]:
        """The paused trials next in line in each rung: its best paused ones, as many as its
        top 1/eta counts (floor(n / eta) of its n results, at least one). When the sweep
        ends the rungs' shares are used up; more trials (or a larger budget) would promote
        these first."""
        found: set[str] = set()
        for epoch in self.epochs:
            share = max(1, top_share(len(self.rungs[epoch]), self.eta))
            found.update(tid for _, tid in self.paused[epoch].islice(0, share))
        return found

    def forget(self, trial_id: str) -> None:
        """Take a trial off the paused list: it failed, or it runs again already."""
        if trial_id in self._paused_at:
            self._take(trial_id)

    def is_paused(self, trial_id: str) -> bool:
        return trial_id in self._paused_at

    def _take(self, trial_id: str) -> str:
        epoch, value = self._paused_at.pop(trial_id)
        self.paused[epoch].remove((value, trial_id))
        return trial_id

    def __repr__(self) -> str:
        waiting = {e: len(p) for e, p in self.paused.items() if p}
        return f"PromotingBracket(grace={self.grace}, rungs={self.epochs}, paused={waiting})"

"""Asynchronous successive halving (Li et al. 2020) and Hyperband as brackets of it.

Rungs sit at grace * eta**k epochs below the epoch budget. A rung judges each trial's best
value so far. With `mode: stop` a trial reaching a rung goes on if its value is no worse
than the 1/eta quantile of the results recorded there before it (`rule: percentile`, Ray
Tune's and Syne Tune's rule; the first result always goes on), or, with `rule: top`, if
it is among the best floor(n / eta) of the n results, its own counted (the best so far
while fewer than eta exist). benchmarks/stop_rules.py compares the two: the percentile
rule loses less. Decisions are made at once, never waiting for a rung to fill; each rung
keeps its values in a sorted list, so a decision costs O(log n).

With `mode: promote` a trial is paused at each rung instead and promoted later
(promotion.py), as in the paper's Algorithm 2.
"""

from __future__ import annotations

import math

import numpy as np
from sortedcontainers import SortedList

from orchestrator.schedulers.base import Decision, Scheduler
from orchestrator.schedulers.promotion import PromotingBracket

MODES = ("stop", "promote")


def rung_epochs(grace: int, eta: float, max_epochs: int) -> list[int]:
    """Milestones grace, grace*eta, grace*eta**2, ... strictly below max_epochs."""
    rungs: list[int] = []
    k = 0
    while True:
        epoch = int(round(grace * eta**k))
        if epoch >= max_epochs:
            return rungs
        if not rungs or epoch > rungs[-1]:
            rungs.append(epoch)
        k += 1


def bracket_rungs(max_epochs: int, grace: int, eta: float, brackets: int) -> list[list[int]]:
    """Each bracket's rung epochs; bracket b's grace period is grace * eta**b."""
    return [rung_epochs(bracket_grace(grace, eta, b), eta, max_epochs) for b in range(brackets)]


def bracket_grace(grace: int, eta: float, bracket: int) -> int:
    return int(round(grace * eta**bracket))


def promotable(value: float, recorded: SortedList, eta: float) -> bool:
    """Whether `value` is in the top 1/eta of `recorded` plus itself (smaller is better)."""
    n = len(recorded) + 1
    keep = max(1, math.floor(n / eta + 1e-9))  # 33 / 1.1 is 29.999...96 in floating point
    return recorded.bisect_left(value) < keep  # ties go to the newcomer


def within_percentile(value: float, recorded: SortedList, eta: float) -> bool:
    """Ray Tune's and Syne Tune's rule: whether `value` is no worse than the 1/eta quantile
    (linearly interpolated) of the results recorded before it, the newcomer excluded; the
    first result at a rung always goes on."""
    n = len(recorded)
    if n == 0:
        return True
    position = (n - 1) / eta  # np.quantile's linear method, on the sorted values
    low = math.floor(position)
    high = min(low + 1, n - 1)
    cutoff = recorded[low] + (recorded[high] - recorded[low]) * (position - low)
    return value <= cutoff


STOP_RULES = {"top": promotable, "percentile": within_percentile}


class Bracket:
    """One set of rungs with its own grace period."""

    def __init__(self, grace: int, eta: float, max_epochs: int, rule: str = "percentile") -> None:
        self.grace = grace
        self.eta = eta
        self.epochs = rung_epochs(grace, eta, max_epochs)
        self.rungs = {epoch: SortedList() for epoch in self.epochs}
        self.keeps = STOP_RULES[rule]

    def decide(self, epoch: int, value: float) -> Decision:
        rung = self.rungs.get(epoch)
        if rung is None:
            return Decision.CONTINUE
        go_on = self.keeps(value, rung, self.eta)
        rung.add(value)
        return Decision.CONTINUE if go_on else Decision.STOP

    def __repr__(self) -> str:
        return f"Bracket(grace={self.grace}, rungs={self.epochs})"


def hyperband_weights(brackets: int, eta: float) -> np.ndarray:
    """Share of trials per bracket, as many as synchronous Hyperband would start in each.

    Bracket 0 is the most aggressive (first rung at grace); bracket b starts at
    grace * eta**b. Hyperband's bracket s = S-1-b starts ceil(S/(s+1) * eta**s) trials.
    """
    s = np.arange(brackets)[::-1]  # bracket b -> s
    counts = np.ceil(brackets / (s + 1) * float(eta) ** s)
    return counts / counts.sum()


class Asha(Scheduler):
    """ASHA with optional brackets; with more than one it is asynchronous Hyperband."""

    name = "asha"

    def __init__(
        self,
        max_epochs: int,
        grace_period: int = 1,
        reduction_factor: float = 3.0,
        brackets: int = 1,
        sign: float = 1.0,
        rng: np.random.Generator | None = None,
        mode: str = "stop",
        stop_rule: str = "percentile",
        judge: str = "best",
    ) -> None:
        super().__init__(sign)
        if brackets > 1 and rng is None:
            raise ValueError("rng: brackets > 1 assign trials at random and need a generator")
        if mode not in MODES:
            raise ValueError(f"mode: must be one of {', '.join(MODES)}, got {mode!r}")
        if judge not in ("best", "last"):
            raise ValueError(f"judge: must be best or last, got {judge!r}")
        self.mode = mode
        self.judge = judge  # "last": the value at the rung epoch (benchmarks compare them)
        graces = [bracket_grace(grace_period, reduction_factor, b) for b in range(brackets)]
        self.brackets: list[Bracket | PromotingBracket] = [
            Bracket(g, reduction_factor, max_epochs, stop_rule)
            if mode == "stop"
            else PromotingBracket(g, reduction_factor, rung_epochs(g, reduction_factor, max_epochs))
            for g in graces
        ]
        self._rung_epochs = frozenset(e for bracket in self.brackets for e in bracket.epochs)
        self.weights = hyperband_weights(brackets, reduction_factor)
        self._rng = rng
        self.bracket_of: dict[str, int] = {}
        self._best: dict[str, float] = {}  # each trial's best value so far (minimised)

    @property
    def rung_epochs(self) -> frozenset[int]:
        return self._rung_epochs

    def may_stop(self, epoch: int) -> bool:
        return epoch in self._rung_epochs

    def on_start(self, trial_id: str) -> None:
        super().on_start(trial_id)
        if trial_id not in self.bracket_of and not self._ended(trial_id):
            b = 0
            if len(self.brackets) > 1 and self._rng is not None:
                b = int(self._rng.choice(len(self.brackets), p=self.weights))
            self.bracket_of[trial_id] = b

    def _decide(self, trial_id: str, epoch: int, value: float) -> Decision:
        if trial_id not in self.bracket_of:
            self.on_start(trial_id)
        # A rung judges the trial's best value so far, not its latest: a validation cost
        # that jumps up for one epoch must not end a trial that was doing well.
        if self.judge == "best":
            value = min(value, self._best.get(trial_id, value))
            self._best[trial_id] = value
        bracket = self.brackets[self.bracket_of[trial_id]]
        if isinstance(bracket, PromotingBracket):
            return bracket.decide(trial_id, epoch, value)
        return bracket.decide(epoch, value)

    def promote(self, finishing: bool = False) -> str | None:
        for bracket in self.brackets:
            if isinstance(bracket, PromotingBracket):
                trial_id = bracket.promote(finishing)
                if trial_id is not None:
                    return trial_id
        return None

    def promotable(self) -> set[str]:
        found: set[str] = set()
        for bracket in self.brackets:
            if isinstance(bracket, PromotingBracket):
                found |= bracket.promotable()
        return found

    def resumed(self, trial_id: str) -> None:
        self._unpause(trial_id)

    def _forget(self, trial_id: str) -> None:
        self._unpause(trial_id)  # a paused trial that failed is never promoted
        super()._forget(trial_id)
        self.bracket_of.pop(trial_id, None)
        self._best.pop(trial_id, None)

    def _unpause(self, trial_id: str) -> None:
        b = self.bracket_of.get(trial_id)
        bracket = None if b is None else self.brackets[b]
        if isinstance(bracket, PromotingBracket):
            bracket.forget(trial_id)

    def __repr__(self) -> str:
        mode = ", mode=promote" if self.mode == "promote" else ""
        return (
            f"{type(self).__name__}({', '.join(map(repr, self.brackets))}, "
            f"sign={self.sign:+.0f}{mode})"
        )


class Hyperband(Asha):
    """Several ASHA brackets with growing grace periods; trials drawn into them at random."""

    name = "hyperband"

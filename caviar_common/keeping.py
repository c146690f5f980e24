"""Which epochs' weights a worker sends back, so that a sweep keeps its best models.

A sweep keeps the weights of its best `keep` trials, each at the epoch where it reached its
best value. The driver cannot ask for that epoch's state afterwards (the worker has moved
on), so every run of epochs it asks for carries a `KeepBar`: the worker attaches the
trainer's state to each epoch whose value beats the bar, and lowers the bar to that value
for the epochs after it. The driver sets the bar to the better of the trial's own best so
far and the `keep`-th best of the other trials: an epoch that beats neither can never be
the best epoch of a kept trial, since bests only improve. A bar from before the latest
results is looser, never tighter, so it only sends a state the driver then drops.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace

from caviar_common.curves import diverged


@dataclass(frozen=True)
class KeepBar:
    """What a trial's epochs must beat for their weights to come back (`sign` +1 when
    smaller is better, -1 when larger is; values below are minimised): the trial's own
    best so far (`own`) and the `keep`-th best of the other trials (`others`). The default
    bar sends nothing.

    `last`, the trial's last epoch: its state comes back there too (as a checkpoint) if the
    trial's best beats `others`, so that a kept trial can go on under a larger budget."""

    sign: float = 1.0
    own: float = math.inf
    others: float = -math.inf
    last: int = 0

    def takes(self, value: float) -> bool:
        """Whether an epoch of this value is a new best worth keeping."""
        return not diverged(value) and self.sign * value < min(self.own, self.others)

    def seen(self, value: float) -> KeepBar:
        """The bar for the epochs after one of this value: the trial's best includes it."""
        if diverged(value):
            return self
        return replace(self, own=min(self.own, self.sign * value))

    def keeps_last(self, epoch: int) -> bool:
        """Whether `epoch` (its value `seen` already) is the trial's last and the trial
        ranks among the kept ones: its state is then worth a checkpoint."""
        return epoch == self.last and self.own < self.others


NO_KEEP = KeepBar()


class BestTrials:
    """The `keep + 1` best values (minimised) among a sweep's trials, and the bar each trial's
    next epochs must beat. Bests only improve, so the top `keep + 1` stay exact."""

    def __init__(self, keep: int, sign: float = 1.0) -> None:
        if keep < 0:
            raise ValueError(f"keep: must be an integer >= 0, got {keep}")
        self.keep = keep
        self.sign = sign
        self._top: list[tuple[float, str]] = []  # (best minimised, trial), sorted

    def update(self, trial_id: str, best: float) -> None:
        """The trial's best so far (minimised, finite)."""
        if not math.isfinite(best):
            return
        self._top = [entry for entry in self._top if entry[1] != trial_id]
        bisect.insort(self._top, (best, trial_id))
        del self._top[self.keep + 1 :]

    def bar(self, trial_id: str, own_best: float, last: int = 0) -> KeepBar:
        """What the trial's next epochs must beat to be worth keeping: its own best so far
        (minimised; inf before any) and the `keep`-th best of the other trials; `last`,
        its last epoch, whose state comes back where the trial ranks among the kept."""
        if self.keep == 0:
            return KeepBar(self.sign)
        others = [best for best, tid in self._top if tid != trial_id]
        kth = others[self.keep - 1] if len(others) >= self.keep else math.inf
        # equal to the keep-th best may still rank above it (an earlier epoch): send it
        return KeepBar(self.sign, own_best, math.nextafter(kth, math.inf), last)

    def __repr__(self) -> str:
        return f"BestTrials(keep={self.keep}, top={self._top})"

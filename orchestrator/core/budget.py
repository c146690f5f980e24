"""A budget by compute: epochs over all trials, seconds over all runs of a sweep, and how
far a sweep has got through it, as one share that stages with a `share` are cut by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.core.spec import Stage


@dataclass(frozen=True)
class Budget:
    """What a sweep may spend: `epochs` (all trials together) and `seconds` (every run of
    it together); None where the sweep file sets no such limit."""

    epochs: int | None = None
    seconds: float | None = None

    def spent(self, epochs: int, seconds: float) -> float:
        """The share spent after `epochs` epochs and `seconds` seconds: the further along
        of the two limits (0 with neither)."""
        shares = [0.0]
        if self.epochs is not None:
            shares.append(epochs / self.epochs)
        if self.seconds is not None:
            shares.append(seconds / self.seconds)
        return max(shares)


def share_ends(stages: Sequence[Stage]) -> list[float | None]:
    """For each stage with a share, the share of the budget spent at which it starts no new
    trial: its share added to those of the stages before it; None for the others."""
    ends: list[float | None] = []
    total = 0.0
    for stage in stages:
        if stage.share is None:
            ends.append(None)
            continue
        total += stage.share
        ends.append(min(total, 1.0))
    return ends

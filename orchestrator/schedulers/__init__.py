"""Schedulers that prune weak trials: a pure core with no Ray, deterministic given its rng."""

from __future__ import annotations

import numpy as np

from orchestrator.schedulers.asha import Asha, Hyperband, bracket_rungs
from orchestrator.schedulers.base import Decision, Fifo, Scheduler, diverged
from orchestrator.schedulers.median import MedianStopping
from orchestrator.schedulers.settings import SCHEDULERS, SchedulerSpec, check_scheduler

__all__ = [
    "SCHEDULERS",
    "Asha",
    "Decision",
    "Fifo",
    "Hyperband",
    "MedianStopping",
    "Scheduler",
    "SchedulerSpec",
    "check_scheduler",
    "decision_epochs",
    "diverged",
    "make_scheduler",
]


def make_scheduler(
    spec: SchedulerSpec, max_epochs: int, sign: float, rng: np.random.Generator
) -> Scheduler:
    """The scheduler a checked spec (from `check_scheduler`) describes."""
    s = spec.settings
    if spec.name == "fifo":
        return Fifo(sign)
    if spec.name == "median":
        return MedianStopping(s["grace_period"], s["min_trials"], sign)
    cls = Asha if spec.name == "asha" else Hyperband
    return cls(
        max_epochs,
        s["grace_period"],
        s["reduction_factor"],
        s["brackets"],
        sign=sign,
        rng=rng,
        mode=s["mode"],
        stop_rule=s["rule"],
    )


def decision_epochs(spec: SchedulerSpec, max_epochs: int) -> tuple[int, ...]:
    """The rung epochs, sorted, where the scheduler `spec` describes judges trials (none
    for FIFO and median stopping, which judge every epoch or none)."""
    if spec.name not in ("asha", "hyperband"):
        return ()
    s = spec.settings
    rungs = bracket_rungs(max_epochs, s["grace_period"], s["reduction_factor"], s["brackets"])
    return tuple(sorted({epoch for bracket in rungs for epoch in bracket}))

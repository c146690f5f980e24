"""Schedulers that prune weak trials: a pure core with no Ray, deterministic given its rng."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from orchestrator.schedulers.asha import Asha, Hyperband
from orchestrator.schedulers.base import Decision, Fifo, Scheduler, diverged
from orchestrator.schedulers.median import MedianStopping
from orchestrator.schedulers.spec import SCHEDULERS, check_scheduler

__all__ = [
    "SCHEDULERS",
    "Asha",
    "Decision",
    "Fifo",
    "Hyperband",
    "MedianStopping",
    "Scheduler",
    "diverged",
    "make_scheduler",
]


def make_scheduler(
    name: str,
    settings: Mapping[str, Any],
    max_epochs: int,
    sign: float,
    rng: np.random.Generator,
) -> Scheduler:
    """A scheduler from a sweep's `scheduler` name and settings (checked, defaults filled)."""
    if name not in SCHEDULERS:
        raise ValueError(
            f"scheduler: unknown scheduler {name!r}; schedulers are {', '.join(SCHEDULERS)}"
        )
    s = check_scheduler(name, settings, max_epochs)
    if name == "fifo":
        return Fifo(sign)
    if name == "median":
        return MedianStopping(s["grace_period"], s["min_trials"], sign)
    cls = Asha if name == "asha" else Hyperband
    return cls(
        max_epochs, s["grace_period"], s["reduction_factor"], s["brackets"], sign=sign, rng=rng
    )

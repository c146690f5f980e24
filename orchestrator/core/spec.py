"""A checked sweep: the metrics it can optimise, its stages, its scheduler, its budget.

`SweepSpec` is what the YAML parser (orchestrator/sweepfile/parse.py) builds and every other
part of the driver reads; nothing in it is left to validate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.schedulers.settings import SchedulerSpec
from orchestrator.search.proposed_by import WARMUP, is_sequential
from orchestrator.search.space import Space
from workers.protocol import DEFAULT_TRAINER

# The metrics a sweep may optimise (curve columns of caviar_common.curves) and the
# direction each is optimised in unless the sweep file says otherwise.
METRICS: dict[str, str] = {
    "val_cost": "minimize",
    "val_accuracy": "maximize",
    "train_cost": "minimize",
}
DIRECTIONS = ("minimize", "maximize")


def default_direction(metric: str) -> str:
    """The direction `metric` is optimised in by default (minimize for an unknown one)."""
    return METRICS.get(metric, "minimize")


def sign_of(direction: str) -> float:
    """+1 when smaller is better: multiply a metric by it and every rule minimises."""
    return 1.0 if direction == "minimize" else -1.0


@dataclass(frozen=True)
class Stage:
    """One stage of a sweep: how many trials, how they are sampled, and how it zooms."""

    trials: int
    sampler: str = "random"
    grid_points: int = 3
    zoom_top_k: int | None = None  # None: sample the parent box as it is
    zoom_shrink: float = 0.5
    warmup: int = WARMUP  # tpe: random proposals until this many trials have results

    @property
    def sequential(self) -> bool:
        """True when its trials are proposed one at a time from results (tpe), not planned."""
        return is_sequential(self.sampler)


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep: everything the tuning loop needs, nothing left to validate."""

    name: str
    dataset: str | Mapping[str, Any]
    val_fraction: float
    seed: int
    metric: str
    direction: str
    model: Mapping[str, Any]  # fixed settings, checked by the worker's rules
    space: Space
    stages: tuple[Stage, ...]
    scheduler: SchedulerSpec
    max_epochs: int
    time_limit: float | None  # seconds, or None for no limit
    cpus_per_trial: float
    results: Path  # the sweep's results go to results / name (relative: to the cwd)
    source: Mapping[str, Any]  # the file as read, for the record
    trainer: str = DEFAULT_TRAINER  # "module:Class" of the class each trial trains

    @property
    def sign(self) -> float:
        """+1 when smaller is better: multiply a metric by it and every rule minimises."""
        return sign_of(self.direction)

    @property
    def data(self) -> dict[str, Any]:
        """What a worker needs to load the dataset: spec, split seed, validation share."""
        return {"spec": self.dataset, "seed": self.seed, "val_fraction": self.val_fraction}

    @property
    def total_trials(self) -> int:
        return sum(s.trials for s in self.stages)

    @property
    def run_dir(self) -> Path:
        return self.results / self.name

    def __repr__(self) -> str:
        return (
            f"SweepSpec({self.name!r}, dataset={self.dataset!r}, {len(self.space.dims)} "
            f"dimensions, stages={[s.trials for s in self.stages]}, "
            f"scheduler={self.scheduler.name}, {self.metric} {self.direction})"
        )

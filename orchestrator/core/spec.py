"""A checked sweep: the metrics it can optimise, its stages, its scheduler, its budget.

`SweepSpec` is what the YAML parser (orchestrator/sweepfile/parse.py) builds and every other
part of the driver reads; nothing in it is left to validate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.core.resources import TrialResources
from orchestrator.schedulers.settings import SchedulerSpec
from orchestrator.search.proposed_by import WARMUP, is_sequential
from orchestrator.search.space import Space
from workers.protocol import DEFAULT_TRAINER

if TYPE_CHECKING:
    from orchestrator.storage.rows import TrialRow

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

    trials: int | None  # None: open, proposed until the budget (or its share) is spent
    sampler: str = "random"
    grid_points: int = 3
    zoom_top_k: int | None = None  # None: sample the parent box as it is
    zoom_shrink: float = 0.5
    warmup: int = WARMUP  # tpe: random proposals until this many trials have results
    share: float | None = None  # of a budget by compute: no new trial once it is spent

    @property
    def open(self) -> bool:
        """True when its trials are not counted: it proposes until its share, or the
        budget, is spent."""
        return self.trials is None

    @property
    def sequential(self) -> bool:
        """True when its trials are proposed one at a time from results (tpe), not planned."""
        return is_sequential(self.sampler)


@dataclass(frozen=True)
class WarmStart:
    """An earlier sweep this one starts from (`warm_start:`), its store read when the sweep
    file was checked: its trials that lie in this sweep's space, their configurations as
    this sweep trains them (orchestrator/search/warm_start.py), are evidence for TPE, and
    the best of them are the first stage's first trials, besides the stage's own."""

    source: str  # the run directory as the sweep file gives it (runs/OLD)
    path: Path  # that directory, taken from the sweep file's folder
    top_k: int
    evidence: tuple[TrialRow, ...] = ()  # its trials in this space but failed ones, as placed
    first: tuple[dict[str, Any], ...] = ()  # the best top_k distinct configurations of them
    outside: int = 0  # its trials left out for lying outside this space
    failed: int = 0  # its trials in this space that failed: they tell nothing


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
    resources: TrialResources  # what each trial reserves on the cluster
    results: Path  # the sweep's results go to results / name (relative: to the cwd)
    source: Mapping[str, Any]  # the file as read, for the record
    trainer: str = DEFAULT_TRAINER  # "module:Class" of the class each trial trains
    test_fraction: float = 0.0  # share of all rows held out from every trial, for the end
    keep: int = 3  # models kept: the best trials' weights at their best epochs
    warm_start: WarmStart | None = None  # an earlier sweep it starts from
    epoch_budget: int | None = None  # budget.epochs: epochs all trials together train at most

    @property
    def cpus_per_trial(self) -> float:
        return self.resources.cpus

    @property
    def sign(self) -> float:
        """+1 when smaller is better: multiply a metric by it and every rule minimises."""
        return sign_of(self.direction)

    @property
    def data(self) -> dict[str, Any]:
        """What a worker needs to load the dataset: spec, split seed, validation share, and
        the test share only when there is one, so that a sweep without a test part has the
        data (and the workers' dataset cache keys) it always had."""
        data = {"spec": self.dataset, "seed": self.seed, "val_fraction": self.val_fraction}
        if self.test_fraction > 0:
            data["test_fraction"] = self.test_fraction
        return data

    @property
    def total_trials(self) -> int | None:
        """Every trial it runs: the stages', and a warm start's, trained first, besides;
        None when trials are open (proposed until the budget is spent)."""
        if any(s.trials is None for s in self.stages):
            return None
        warm = len(self.warm_start.first) if self.warm_start is not None else 0
        return warm + sum(s.trials or 0 for s in self.stages)

    @property
    def by_compute(self) -> bool:
        """Whether the budget says how much to spend: epochs, time or both."""
        return self.epoch_budget is not None or self.time_limit is not None

    @property
    def run_dir(self) -> Path:
        return self.results / self.name

    def __repr__(self) -> str:
        return (
            f"SweepSpec({self.name!r}, dataset={self.dataset!r}, {len(self.space.dims)} "
            f"dimensions, stages={[s.trials for s in self.stages]}, "
            f"scheduler={self.scheduler.name}, {self.metric} {self.direction})"
        )

"""Tuning methods on a simulated clock with the real worker: Caviar's own loop, store and
schedulers on the simulated executor (`orchestrator.execution.simulated`), and an Optuna
study driven the same way, each epoch costing its measured seconds (`EpochCache`)."""

from __future__ import annotations

import heapq
import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.tuning.epoch_cache import EpochCache, Record

if TYPE_CHECKING:
    from caviar_common.seeds import SeedKey
    from orchestrator.core.spec import SweepSpec


def trial_count(spec: SweepSpec) -> int:
    """The trials `spec` may start outside Caviar: its count, or with trials open (a time
    budget, --equal-time) as many as the time allows."""
    from benchmarks.tuning.methods import OPEN_TRIALS

    trials = spec.total_trials
    if trials is None and spec.time_limit is None:
        raise ValueError(f"{spec.name}: give budget.trials or budget.time_limit")
    return OPEN_TRIALS if trials is None else trials


@dataclass(frozen=True)
class Point:
    """One epoch as a method received it: its end on the simulated clock and its value."""

    time: float
    val_cost: float  # NaN if it diverged
    trial: int
    epoch: int


def run_caviar(spec: SweepSpec, cache: EpochCache, run_dir: Path, workers: int = 4) -> list[Point]:
    """Caviar's own loop (`orchestrator.core.loop.Sweep`) and store, on `workers` simulated
    workers; returns the epochs from the store, in the order they arrived."""
    from orchestrator.execution.simulated import run_simulated

    run = run_simulated(spec, cache, workers, run_dir=run_dir)
    numbers = {t.trial_id: t.number for t in run.trials}
    return [
        Point(time, math.nan if p.diverged else p.value("val_cost"), numbers[p.trial_id], p.epoch)
        for p, time in zip(run.points, run.times, strict=True)
    ]


@dataclass
class _OptunaTrial:
    trial: Any  # optuna.Trial
    number: int
    config: dict[str, Any]
    seed: SeedKey
    epoch: int = 0
    best: float = math.inf


Suggest = Callable[[Any, Any, dict[str, Any]], dict[str, Any]]


class _OptunaOnClock:
    """An Optuna study whose trials train on `workers` simulated workers: each worker runs
    one trial's epochs back to back, and takes a new trial when its trial ends."""

    def __init__(self, spec: SweepSpec, cache: EpochCache, study: Any, suggest: Suggest) -> None:
        self.spec, self.cache, self.study, self.suggest = spec, cache, study, suggest
        self.heap: list[tuple[float, int, int]] = []  # (end time, order, worker)
        self.running: dict[int, _OptunaTrial] = {}
        self.records: dict[int, Record] = {}
        self.order = itertools.count()
        self.asked = 0

    def next_epoch(self, worker: int, at: float) -> None:
        run = self.running[worker]
        record = self.cache.epoch(self.spec.data, run.seed, run.config, run.epoch + 1)
        if record is None:  # cannot happen: a diverged epoch ends the trial
            raise RuntimeError(f"trial {run.number}: no epoch {run.epoch + 1}")
        self.records[worker] = record
        heapq.heappush(self.heap, (at + float(record["seconds"]), next(self.order), worker))

    def start(self, worker: int, at: float) -> None:
        from caviar_common.seeds import trial_seed

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # multivariate TPE on a conditional space
            trial = self.study.ask()
            config = self.suggest(trial, self.spec.space, dict(self.spec.model))
        number = trial.number + 1
        self.asked += 1
        self.running[worker] = _OptunaTrial(
            trial, number, config, trial_seed(self.spec.seed, number)
        )
        self.next_epoch(worker, at)

    def tell(self, run: _OptunaTrial, value: float) -> bool:
        """Report an epoch's value; whether the trial ended there (failed, done or pruned)."""
        from optuna.trial import TrialState

        if math.isnan(value):
            self.study.tell(run.trial, state=TrialState.FAIL)
            return True
        run.best = min(run.best, value)
        run.trial.report(value, run.epoch)
        if run.epoch >= self.spec.max_epochs:
            self.study.tell(run.trial, run.best)
            return True
        if run.trial.should_prune():
            self.study.tell(run.trial, state=TrialState.PRUNED)
            return True
        return False

    def run(self, workers: int, time_limit: float | None) -> list[Point]:
        trials = trial_count(self.spec)
        points: list[Point] = []
        for worker in range(min(workers, trials)):
            self.start(worker, 0.0)
        while self.heap:
            now, _, worker = heapq.heappop(self.heap)
            if time_limit is not None and now > time_limit:
                break  # every epoch still in the heap ends later still
            run, record = self.running[worker], self.records.pop(worker)
            run.epoch = int(record["epoch"])
            value = math.nan if record["diverged"] else float(record["val_cost"])
            points.append(Point(now, value, run.number, run.epoch))
            if not self.tell(run, value):
                self.next_epoch(worker, now)
                continue
            del self.running[worker]
            if self.asked < trials:
                self.start(worker, now)
        return points


def run_optuna(
    spec: SweepSpec,
    cache: EpochCache,
    pruner: Any,
    sampler_seed: int,
    suggest: Suggest,
    workers: int = 4,
    time_limit: float | None = None,
) -> list[Point]:
    """Optuna TPE (multivariate, constant liar) with `pruner`, `workers` trials at a time on
    the simulated clock: the budget is `spec`'s trials and max_epochs, the space `spec`'s,
    suggested through `suggest(trial, space, fixed)`; Optuna trial k trains with Caviar's
    seed key of trial k+1. With `time_limit` (simulated seconds), no epoch ends later, as
    under Caviar's `budget.time_limit`. Returns the epochs in the order they ended."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            multivariate=True, constant_liar=True, seed=sampler_seed
        )
    study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner)
    return _OptunaOnClock(spec, cache, study, suggest).run(workers, time_limit)

"""A whole sweep on simulated workers: the real tuning loop (`orchestrator.core.loop.Sweep`)
and store, the simulated executor and its clock; and `simulate`, a scheduler over made-up
or recorded curves at thousands of trials, summed up in a `SimulationResult`.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from caviar_common.states import TrialState
from orchestrator.core.loop import Sweep
from orchestrator.core.resources import TrialResources
from orchestrator.core.spec import Stage, SweepSpec
from orchestrator.core.status import Status
from orchestrator.execution.simulated.clocked_executor import (
    EpochSource,
    SimulatedClock,
    SimulatedExecutor,
)
from orchestrator.execution.simulated.curve_sources import Curves, CurveSource, make_curves
from orchestrator.schedulers import Scheduler, check_scheduler
from orchestrator.search.space import Space, Uniform
from orchestrator.storage import PointRow, Store, TrialRow


@dataclass(frozen=True)
class SimulatedRun:
    """What a simulated sweep left: its trials and curve points as the store holds them,
    and when each point's epoch ended on the simulated clock."""

    status: Status
    trials: list[TrialRow]  # by number
    points: list[PointRow]  # in the order they arrived
    times: list[float]  # points[i]'s epoch ended at times[i], simulated seconds

    def __repr__(self) -> str:
        return f"SimulatedRun({len(self.trials)} trials, {len(self.points)} epochs)"


def run_simulated(
    spec: SweepSpec,
    source: EpochSource,
    workers: int,
    *,
    scheduler: Scheduler | None = None,
    run_dir: Path | None = None,
) -> SimulatedRun:
    """Run `spec` with Caviar's own loop and store on `workers` simulated workers whose
    epochs come from `source`; `scheduler` (default: the spec's) serves every stage. The
    store goes to `run_dir`, or to a temporary directory removed afterwards."""
    if run_dir is None:
        with tempfile.TemporaryDirectory(prefix="caviar-sim-", dir=_scratch()) as tmp:
            return run_simulated(spec, source, workers, scheduler=scheduler, run_dir=Path(tmp))
    clock = SimulatedClock()
    executor = SimulatedExecutor(source, workers, clock, spec.metric)
    store = Store.create(run_dir, spec.source, clock=clock)
    try:
        status = Sweep(spec, store, executor, scheduler=scheduler, clock=clock).run()
        trials = store.trial_rows()
        points = list(store.points())
    finally:
        store.close()
    if len(points) != len(executor.delivered):
        raise RuntimeError(
            f"{spec.name}: the store holds {len(points)} epochs, the executor delivered "
            f"{len(executor.delivered)} (a point replaced or lost)"
        )
    times = [executor.delivered[(p.trial_id, p.epoch)] for p in points]
    return SimulatedRun(status, trials, points, times)


def _scratch() -> str | None:
    """Where a throw-away store goes: memory-backed /dev/shm where there is one (the loop
    commits once per event; here those commits took half as long there as on disk), else
    the system's temporary folder."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def simulation_spec(trials: int, max_epochs: int, seed: int, sign: float = 1.0) -> SweepSpec:
    """A sweep of `trials` trials of `max_epochs` epochs whose configurations do not matter
    (a curve source picks each trial's curve by its number): one random stage over a
    dummy parameter, `val_cost` minimised (maximised with `sign` -1)."""
    direction = "minimize" if sign > 0 else "maximize"
    source = {"name": "simulated", "trials": trials, "max_epochs": max_epochs, "seed": seed}
    return SweepSpec(
        name="simulated",
        dataset="simulated",
        val_fraction=0.0,
        seed=seed,
        metric="val_cost",
        direction=direction,
        model={},
        space=Space({"x": Uniform(0.0, 1.0)}),
        stages=(Stage(trials),),
        scheduler=check_scheduler("fifo", {}, max_epochs),
        max_epochs=max_epochs,
        time_limit=None,
        resources=TrialResources(),
        results=Path("."),
        source=source,
    )


@dataclass(frozen=True)
class SimulationResult:
    epochs: int  # epochs trained over all trials
    best_final: float  # best last value among trials that ran to max_epochs (noisy)
    best_true: float  # that trial's noiseless final value: the configuration's real worth
    best_trial: int  # its curve, from 0 (trial number - 1)
    time_to_best: float  # simulated seconds until that value was reported
    makespan: float  # simulated seconds until the last trial ended
    completed: int
    stopped: int  # pruned or diverged
    decisions: int  # on_result calls
    paused: int = 0  # paused at a rung and never promoted

    def __repr__(self) -> str:
        return (
            f"SimulationResult(epochs={self.epochs}, best_final={self.best_final:.4f} "
            f"(true {self.best_true:.4f}, trial {self.best_trial}, t={self.time_to_best:.1f}s), "
            f"completed={self.completed}, stopped={self.stopped}, paused={self.paused}, "
            f"makespan={self.makespan:.1f}s)"
        )


def _check(trials: int, workers: int, max_epochs: int, curves: Curves) -> None:
    for key, n in (("trials", trials), ("workers", workers), ("max_epochs", max_epochs)):
        if n < 1:
            raise ValueError(f"{key}: must be >= 1, got {n}")
    have_trials, have_epochs = curves.shape
    if have_trials < trials or have_epochs < max_epochs:
        raise ValueError(
            f"curves: need at least {trials} trials x {max_epochs} epochs, got "
            f"{have_trials} x {have_epochs}; build them with "
            f"make_curves(trials, max_epochs, seed)"
        )


def simulate(
    scheduler: Scheduler,
    trials: int,
    workers: int,
    max_epochs: int,
    seed: int,
    curves: Curves | None = None,
) -> SimulationResult:
    """Run `scheduler` over `trials` simulated trials on `workers` simulated workers, in the
    real tuning loop; trial k (from 0) follows curve k. Curves are costs; a maximising
    scheduler is fed their negation, so every direction sees the same ranking.

    `curves` (default: make_curves(trials, max_epochs, seed)) lets several schedulers
    share one set without building it again.
    """
    if curves is None:
        curves = make_curves(trials, max_epochs, seed)
    _check(trials, workers, max_epochs, curves)
    spec = simulation_spec(trials, max_epochs, seed, scheduler.sign)
    run = run_simulated(spec, CurveSource(curves, scheduler.sign), workers, scheduler=scheduler)
    return summarize(run, curves, max_epochs, scheduler.decisions)


def summarize(
    run: SimulatedRun, curves: Curves, max_epochs: int, decisions: int
) -> SimulationResult:
    """The result of a simulated sweep over `curves`, from its store."""
    states = [t.state for t in run.trials]
    index = {t.trial_id: t.number - 1 for t in run.trials}  # the curve each trial followed
    completed = {t.trial_id for t in run.trials if t.state is TrialState.COMPLETED}
    best = (math.inf, -1, math.nan)  # value, trial, time
    for point, time in zip(run.points, run.times, strict=True):
        if point.trial_id in completed and point.epoch == max_epochs:
            trial = index[point.trial_id]
            best = min(best, (curves.value(trial, max_epochs), trial, time))
    ended = [t.ended for t in run.trials if t.ended is not None]
    return SimulationResult(
        epochs=len(run.points),
        best_final=best[0],
        best_true=float(curves.final[best[1]]) if best[1] >= 0 else math.nan,
        best_trial=best[1],
        time_to_best=best[2],
        makespan=max(ended, default=0.0),
        completed=len(completed),
        stopped=states.count(TrialState.PRUNED) + states.count(TrialState.DIVERGED),
        decisions=decisions,
        paused=states.count(TrialState.PAUSED),
    )

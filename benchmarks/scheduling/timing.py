"""Scheduler calls timed one by one inside simulated sweeps: the real tuning loop and store
on the simulated executor (`orchestrator.execution.simulated`), so the scheduler is called
exactly as in a sweep, and only its own calls are timed, not the loop's or the store's."""

from __future__ import annotations

import gc
import statistics
import time

import numpy as np

from orchestrator.execution.simulated import RecordedCurves, Relay, make_curves, simulate
from orchestrator.schedulers import Decision, Scheduler, check_scheduler, make_scheduler

EPOCHS, WORKERS = 81, 100
WINDOW = 1_000  # calls compared at the start and at the end
SCHEDULERS: dict[str, tuple[str, dict[str, object]]] = {
    "fifo": ("fifo", {}),
    "asha": ("asha", {"grace_period": 1, "reduction_factor": 3}),
    "asha top": ("asha", {"grace_period": 1, "reduction_factor": 3, "rule": "top"}),
    "median": ("median", {"grace_period": 1, "min_trials": 3}),
    "hyperband": ("hyperband", {"grace_period": 1, "reduction_factor": 3}),
    "asha promote": ("asha", {"grace_period": 1, "reduction_factor": 3, "mode": "promote"}),
    "hyperband promote": (
        "hyperband",
        {"grace_period": 1, "reduction_factor": 3, "mode": "promote"},
    ),
}


def build(label: str, max_epochs: int, seed: int) -> Scheduler:
    name, settings = SCHEDULERS[label]
    spec = check_scheduler(name, settings, max_epochs)
    return make_scheduler(spec, max_epochs, 1.0, np.random.default_rng(seed))


class Stopwatch(Relay):
    """Decides as the scheduler it wraps, and keeps the nanoseconds of each of its
    `on_result` calls (those at a rung epoch also apart) and `promote` calls."""

    def __init__(self, inner: Scheduler) -> None:
        super().__init__(inner)
        self.calls: dict[str, list[int]] = {
            "on_result": [],
            "on_result at a rung": [],
            "promote": [],
        }
        self._rungs = inner.rung_epochs

    def on_result(self, trial_id: str, epoch: int, value: float) -> Decision:
        start = time.perf_counter_ns()
        decision = self.inner.on_result(trial_id, epoch, value)
        spent = time.perf_counter_ns() - start
        self.calls["on_result"].append(spent)
        if epoch in self._rungs:
            self.calls["on_result at a rung"].append(spent)
        return decision

    def promote(self, finishing: bool = False) -> str | None:
        start = time.perf_counter_ns()
        trial_id = self.inner.promote(finishing)
        self.calls["promote"].append(time.perf_counter_ns() - start)
        return trial_id

    @property
    def seconds(self) -> float:
        """The scheduler's time in `on_result` and `promote`, all calls."""
        return (sum(self.calls["on_result"]) + sum(self.calls["promote"])) / 1e9


def micros_per_result(label: str, trials: int, seed: int) -> tuple[float, int]:
    """Mean µs of scheduler time per result over one simulated sweep, and the results."""
    curves = make_curves(trials, EPOCHS, seed)  # built before the clock could see it
    timed = Stopwatch(build(label, EPOCHS, seed))
    simulate(timed, trials, WORKERS, EPOCHS, seed, curves)
    return timed.seconds / timed.decisions * 1e6, timed.decisions


def timed_calls(scheduler: Scheduler, trials: int, epochs: int, seed: int) -> dict[str, list[int]]:
    """Nanoseconds of each `on_result` and each `promote()` call over one simulated sweep of
    uniform random values, each trial with its own seconds per epoch, so that results
    arrive, and rungs fill, in a shuffled order."""
    rng = np.random.default_rng(seed)
    values = rng.random((trials, epochs))  # (n, epochs)
    seconds = rng.lognormal(0.0, 0.5, trials)  # (n,)
    timed = Stopwatch(scheduler)
    simulate(timed, trials, WORKERS, epochs, seed, RecordedCurves.of(values, seconds))
    return timed.calls


def window_stats(calls: list[int]) -> tuple[float, float, float]:
    """Median, mean and max of a window of call times, in µs."""
    return statistics.median(calls) / 1e3, statistics.fmean(calls) / 1e3, max(calls) / 1e3


def growth_cells(label: str, trials: int, epochs: int, seeds: int) -> dict[str, list[float]]:
    """For each kind of call: its count, window, and the first and last window's median,
    mean and max (the median of each over `seeds` sweeps)."""
    per_seed: dict[str, list[list[float]]] = {}
    for seed in range(seeds):
        gc.collect()
        calls = timed_calls(build(label, epochs, seed), trials, epochs, seed)
        for kind, times in calls.items():
            if kind == "promote" and not label.endswith("promote"):
                continue  # a stopping scheduler answers None at once: nothing to see
            if len(times) < 2:
                continue  # no rungs (FIFO, median stopping)
            window = min(WINDOW, len(times) // 2)
            first, last = window_stats(times[:window]), window_stats(times[-window:])
            per_seed.setdefault(kind, []).append([len(times), window, *first, *last])
    return {
        kind: [statistics.median(column) for column in zip(*rows, strict=True)]
        for kind, rows in per_seed.items()
    }

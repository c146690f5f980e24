"""Microseconds per scheduler decision, and whether one decision grows with the trials.

Run from the repository root (not part of the test suite):

    .venv/bin/python benchmarks/bench_scheduler.py [--quick] [--repeat N] [--growth-only]

Two tables. The first runs each scheduler inside the simulator (`orchestrator.schedulers.simulator`,
81 epochs, 100 workers) at 100, 1,000 and 10,000 trials; only the scheduler's own calls
are timed (`on_result`, and `promote()` where it promotes), not the curves or the event
heap, and a cell is that time over the number of results.

The second times every call on its own over a long random sweep (uniform random values,
100 workers, a running trial picked at random for each result, so rungs fill in a shuffled
order): 10,000 trials of 3 epochs and 1,000 of 30. It compares the first 1,000 calls,
made while the rungs are nearly empty, with the last 1,000, made against everything
recorded: a decision that cost O(n) would show a ratio near the growth of n, tens to
hundreds; O(log n) shows about 1. For ASHA and Hyperband, whose results between rungs
cost next to nothing, the results at rung epochs are also compared alone ("at a rung"):
the last 1,000 of those are judged against rungs of thousands. The median over a window
stands up to a loaded machine; the microseconds themselves do not, and `max` (one call)
catches a garbage collection or a preemption as easily as the scheduler.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # benchmark the working tree, installed or not

from orchestrator.schedulers import (  # noqa: E402
    Decision,
    Scheduler,
    check_scheduler,
    make_scheduler,
)
from orchestrator.schedulers.simulator import make_curves, simulate  # noqa: E402

EPOCHS, WORKERS, TARGET_US = 81, 100, 50.0
SIZES = (100, 1_000, 10_000)
GROWTH_SIZES = ((10_000, 3), (1_000, 30))  # (trials, epochs)
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


class Timed(Scheduler):
    """Forwards to a scheduler and adds up the time its decisions take."""

    def __init__(self, inner: Scheduler) -> None:
        super().__init__(inner.sign)
        self.inner = inner
        self.seconds = 0.0

    def on_start(self, trial_id: str) -> None:
        self.inner.on_start(trial_id)

    def on_result(self, trial_id: str, epoch: int, value: float) -> Decision:
        start = time.perf_counter()
        decision = self.inner.on_result(trial_id, epoch, value)
        self.seconds += time.perf_counter() - start
        self.decisions += 1
        return decision

    def promote(self, finishing: bool = False) -> str | None:
        start = time.perf_counter()
        trial_id = self.inner.promote(finishing)
        self.seconds += time.perf_counter() - start
        return trial_id

    def on_complete(self, trial_id: str) -> None:
        self.inner.on_complete(trial_id)

    def on_failed(self, trial_id: str) -> None:
        self.inner.on_failed(trial_id)


def micros_per_result(label: str, trials: int, seed: int) -> tuple[float, int]:
    """Mean µs of scheduler time per result over one simulated sweep, and the results."""
    curves = make_curves(trials, EPOCHS, seed)  # built before the clock could see it
    timed = Timed(build(label, EPOCHS, seed))
    simulate(timed, trials, WORKERS, EPOCHS, seed, curves)
    return timed.seconds / timed.decisions * 1e6, timed.decisions


def timed_calls(scheduler: Scheduler, trials: int, epochs: int, seed: int) -> dict[str, list[int]]:
    """Nanoseconds of each `on_result` and each `promote()` call over one random sweep."""
    values = np.random.default_rng(seed).random((trials, epochs)).tolist()
    pick = random.Random(seed)
    clock = time.perf_counter_ns
    results: list[int] = []
    at_rungs: list[int] = []  # the results at a rung epoch, where ASHA judges
    promotions: list[int] = []
    rungs = scheduler.rung_epochs
    running: list[tuple[int, int]] = []  # (trial, next epoch)
    paused: dict[str, tuple[int, int]] = {}
    started = 0

    def fill() -> None:
        nonlocal started
        while len(running) < WORKERS:
            start = clock()
            tid = scheduler.promote(finishing=started >= trials)
            promotions.append(clock() - start)
            if tid is not None:
                running.append(paused.pop(tid))
            elif started < trials:
                scheduler.on_start(f"t{started}")
                running.append((started, 1))
                started += 1
            else:
                return

    fill()
    while running:
        i = pick.randrange(len(running))
        trial, epoch = running[i]
        tid = f"t{trial}"
        value = values[trial][epoch - 1]
        start = clock()
        decision = scheduler.on_result(tid, epoch, value)
        results.append(clock() - start)
        if epoch in rungs:
            at_rungs.append(results[-1])
        if decision is Decision.CONTINUE and epoch < epochs:
            running[i] = (trial, epoch + 1)
            continue
        running[i] = running[-1]
        running.pop()
        if decision is Decision.CONTINUE:
            scheduler.on_complete(tid)
        elif decision is Decision.PAUSE:
            paused[tid] = (trial, epoch + 1)
        fill()
    return {"on_result": results, "on_result at a rung": at_rungs, "promote": promotions}


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
            if not times:
                continue  # no rungs (FIFO, median stopping)
            window = min(WINDOW, len(times) // 2)
            first, last = window_stats(times[:window]), window_stats(times[-window:])
            per_seed.setdefault(kind, []).append([len(times), window, *first, *last])
    return {
        kind: [statistics.median(column) for column in zip(*rows, strict=True)]
        for kind, rows in per_seed.items()
    }


def simulated_table(repeat: int, only: Callable[[str], bool]) -> None:
    print(
        f"µs of scheduler time per result (on_result, and promote() where it promotes), "
        f"median of {repeat} run(s); {EPOCHS} epochs, {WORKERS} workers"
    )
    print()
    sizes = " | ".join(f"{n:,} trials" for n in SIZES)
    print(f"| scheduler | {sizes} | results at {SIZES[-1]:,} | target at {SIZES[-1]:,} | |")
    print("| --- | " + " | ".join("---:" for _ in SIZES) + " | ---: | ---: | --- |")
    for label in filter(only, SCHEDULERS):
        cells, calls = [], 0
        for n in SIZES:
            runs = [micros_per_result(label, n, seed) for seed in range(repeat)]
            cells.append(statistics.median(r[0] for r in runs))
            calls = runs[0][1]
        verdict = "OK" if cells[-1] <= TARGET_US else "MISS"
        micros = " | ".join(f"{c:.2f}" for c in cells)
        print(f"| {label} | {micros} | {calls:,} | ≤ {TARGET_US:g} µs | {verdict} |")


def growth_table(seeds: int, only: Callable[[str], bool]) -> None:
    print(
        f"µs per call, the first {WINDOW:,} calls against the last {WINDOW:,} (or half the "
        f"calls where fewer) of a random sweep with {WORKERS} workers; median over {seeds} "
        f"sweep(s); ratio = last / first"
    )
    print()
    print(
        "| scheduler | call | trials x epochs | calls | window | median first | median last "
        "| ratio | mean first | mean last | ratio | max first | max last |"
    )
    print("| --- | --- | --- | " + " | ".join(["---:"] * 10) + " |")
    for label in filter(only, SCHEDULERS):
        for trials, epochs in GROWTH_SIZES:
            for kind, cells in growth_cells(label, trials, epochs, seeds).items():
                calls, window, d0, m0, x0, d1, m1, x1 = cells
                print(
                    f"| {label} | {kind} | {trials:,} x {epochs} | {calls:,.0f} | {window:,.0f} "
                    f"| {d0:.2f} | {d1:.2f} | **{d1 / d0:.2f}** | {m0:.2f} | {m1:.2f} "
                    f"| **{m1 / m0:.2f}** | {x0:.0f} | {x1:.0f} |",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions (median reported)")
    parser.add_argument("--growth-only", action="store_true", help="only the second table")
    parser.add_argument("--only", help="only schedulers whose label contains this")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    if repeat < 1:
        parser.error(f"--repeat: must be >= 1, got {repeat}")
    only: Callable[[str], bool] = lambda label: args.only is None or args.only in label  # noqa: E731
    if not args.growth_only:
        simulated_table(repeat, only)
        print()
    growth_table(repeat, only)


if __name__ == "__main__":
    main()

"""Microseconds per scheduler decision at 100, 1,000 and 10,000 simulated trials.

Run from the repository root (not part of the test suite):

    .venv/bin/python benchmarks/bench_scheduler.py [--quick] [--repeat N]

Each scheduler runs inside the simulator (orchestrator/simulator.py, 81 epochs, 100
workers); only its own `on_result` calls are timed, not the curves or the event heap.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
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
from orchestrator.simulator import make_curves, simulate  # noqa: E402

EPOCHS, WORKERS, TARGET_US = 81, 100, 50.0
SIZES = (100, 1_000, 10_000)
SCHEDULERS = {
    "fifo": {},
    "asha": {"grace_period": 1, "reduction_factor": 3},
    "median": {"grace_period": 1, "min_trials": 3},
    "hyperband": {"grace_period": 1, "reduction_factor": 3},
}


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

    def on_complete(self, trial_id: str) -> None:
        self.inner.on_complete(trial_id)

    def on_failed(self, trial_id: str) -> None:
        self.inner.on_failed(trial_id)


def micros_per_decision(name: str, trials: int, seed: int) -> tuple[float, int]:
    """Mean µs per `on_result` over one simulated sweep, and how many calls it made."""
    curves = make_curves(trials, EPOCHS, seed)  # built before the clock could see it
    rng = np.random.default_rng(seed)
    spec = check_scheduler(name, SCHEDULERS[name], EPOCHS)
    timed = Timed(make_scheduler(spec, EPOCHS, 1.0, rng))
    simulate(timed, trials, WORKERS, EPOCHS, seed, curves)
    return timed.seconds / timed.decisions * 1e6, timed.decisions


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition (~4 s)")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions (median reported)")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    if repeat < 1:
        parser.error(f"--repeat: must be >= 1, got {repeat}")
    print(
        f"µs per decision (perf_counter around each on_result), median of {repeat} run(s); "
        f"{EPOCHS} epochs, {WORKERS} workers"
    )
    print()
    sizes = " | ".join(f"{n:,} trials" for n in SIZES)
    print(f"| scheduler | {sizes} | decisions at {SIZES[-1]:,} | target at {SIZES[-1]:,} | |")
    print("| --- | " + " | ".join("---:" for _ in SIZES) + " | ---: | ---: | --- |")
    for name in SCHEDULERS:
        cells, calls = [], 0
        for n in SIZES:
            runs = [micros_per_decision(name, n, seed) for seed in range(repeat)]
            cells.append(statistics.median(r[0] for r in runs))
            calls = runs[0][1]
        verdict = "OK" if cells[-1] <= TARGET_US else "MISS"
        micros = " | ".join(f"{c:.2f}" for c in cells)
        print(f"| {name} | {micros} | {calls:,} | ≤ {TARGET_US:g} µs | {verdict} |")


if __name__ == "__main__":
    main()

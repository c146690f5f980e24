"""Microseconds per scheduler decision at 100, 1,000 and 10,000 simulated trials.

Each scheduler runs inside the simulator (orchestrator/simulator.py, 81 epochs, 100
workers); only its own `on_result` calls are timed, the curves and the event heap are not.
Usage: python benchmarks/bench_scheduler.py [--quick] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from orchestrator.schedulers import Decision, Scheduler, make_scheduler
from orchestrator.simulator import make_curves, simulate

EPOCHS, WORKERS, TARGET_US = 81, 100, 50.0
SCHEDULERS = {
    "fifo": {},
    "asha": {"grace_period": 1, "reduction_factor": 3},
    "median": {"grace_period": 1, "min_trials": 3},
    "hyperband": {"grace_period": 1, "reduction_factor": 3},
}


class Timed:
    """Forwards to a scheduler and adds up the time its decisions take."""

    def __init__(self, inner: Scheduler) -> None:
        self.inner = inner
        self.sign = inner.sign
        self.seconds = 0.0
        self.calls = 0

    def on_start(self, trial_id: str) -> None:
        self.inner.on_start(trial_id)

    def on_result(self, trial_id: str, epoch: int, value: float) -> Decision:
        start = time.perf_counter()
        decision = self.inner.on_result(trial_id, epoch, value)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return decision

    def on_complete(self, trial_id: str) -> None:
        self.inner.on_complete(trial_id)

    @property
    def decisions(self) -> int:
        return self.calls


def micros_per_decision(name: str, trials: int, seed: int) -> tuple[float, int]:
    curves = make_curves(trials, EPOCHS, seed)
    timed = Timed(make_scheduler(name, SCHEDULERS[name], EPOCHS, 1.0, np.random.default_rng(seed)))
    simulate(timed, trials, WORKERS, EPOCHS, seed, curves)  # type: ignore[arg-type]
    return timed.seconds / timed.calls * 1e6, timed.calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions (median reported)")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    sizes = (100, 1_000, 10_000)
    print(f"µs per decision, median of {repeat} run(s); {EPOCHS} epochs, {WORKERS} workers")
    print()
    print(
        "| scheduler | " + " | ".join(f"{n:,} trials" for n in sizes) + " | decisions at 10,000 | "
        f"≤ {TARGET_US:g} µs at 10,000 |"
    )
    print("| --- | " + " | ".join("---:" for _ in sizes) + " | ---: | --- |")
    for name in SCHEDULERS:
        cells, calls = [], 0
        for n in sizes:
            runs = [micros_per_decision(name, n, seed) for seed in range(repeat)]
            cells.append(statistics.median(r[0] for r in runs))
            calls = runs[0][1]
        verdict = "OK" if cells[-1] <= TARGET_US else "MISS"
        print(
            f"| {name} | " + " | ".join(f"{c:.2f}" for c in cells) + f" | {calls:,} | {verdict} |"
        )


if __name__ == "__main__":
    main()

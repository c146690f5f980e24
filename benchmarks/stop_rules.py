"""Which rung rule loses least: ASHA's stop rules and the value a rung judges, compared on
a simulated clock (orchestrator/schedulers/simulator.py) over many seeds, and on the recorded digits
seed-2 curves (tests/data/digits-seed2.json).

    .venv/bin/python benchmarks/stop_rules.py [--seeds 200]

Rules: `top` (Caviar's: the newcomer goes on if it is among the best floor(n/eta) of the n
results, itself counted, or the best so far while fewer than eta exist) and `percentile`
(Ray Tune's and Syne Tune's: no worse than the 1/eta quantile of the results recorded
before it). Value judged: the metric at the rung epoch (`last`) or the trial's best so far
(`best`). Regret: the true final value of the best completed trial minus the best true
final value of all trials; epochs: the share of a full FIFO search's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # noqa: E402

from benchmarks import harness  # noqa: E402  (before numpy: one BLAS thread)
from orchestrator.schedulers import Asha  # noqa: E402
from orchestrator.schedulers.simulator import Curves, RecordedCurves, make_curves, simulate  # noqa: E402

RECORDED = harness.ROOT / "tests" / "data" / "digits-seed2.json"
SETTINGS = {"small": (32, 30, 2), "large": (256, 81, 8)}  # trials, epochs, workers


def run(rule: str, value: str, curves: Curves, trials: int, epochs: int, workers: int):
    scheduler = Asha(epochs, 1, 3.0, stop_rule=rule, judge=value)
    return simulate(scheduler, trials, workers, epochs, 0, curves)


def regret(result, curves: Curves, trials: int) -> float:
    best = float(np.nanmin(curves.final[:trials]))
    return (result.best_true if result.completed else float(np.nanmax(curves.final))) - best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    args = parser.parse_args(argv)
    variants = [(r, v) for r in ("top", "percentile") for v in ("last", "best")]
    print(f"ASHA grace 1, eta 3, mode stop; {args.seeds} seeds; load {harness.load_average()}")
    print("| setting | rule | value judged | mean regret | median regret | epochs / FIFO |")
    print("|---|---|---|---|---|---|")
    for name, (trials, epochs, workers) in SETTINGS.items():
        rows = {v: ([], []) for v in variants}
        for seed in range(args.seeds):
            curves = make_curves(trials, epochs, seed)
            for v in variants:
                result = run(*v, curves, trials, epochs, workers)
                rows[v][0].append(regret(result, curves, trials))
                rows[v][1].append(result.epochs / (trials * epochs))
        for (rule, value), (regrets, share) in rows.items():
            print(
                f"| simulated {name} ({trials}x{epochs}, {workers} workers) | {rule} | {value} "
                f"| {statistics.mean(regrets):.4f} | {statistics.median(regrets):.4f} "
                f"| {statistics.mean(share):.2f} |"
            )
    data = json.loads(RECORDED.read_text())
    values = np.array([[np.nan if x is None else x for x in c] for c in data["val_cost"]])
    recorded = RecordedCurves.of(values, np.array(data["seconds_per_epoch"]))
    best = np.nanmin(values, axis=1)
    trials, epochs = values.shape
    for rule, value in variants:
        result = run(rule, value, recorded, trials, epochs, 2)
        found = best[result.best_trial] if result.completed else float("nan")
        print(
            f"| recorded digits seed 2 (32x30, 2 workers) | {rule} | {value} "
            f"| {found - best.min():.4f} | (best trial t{result.best_trial}) "
            f"| {result.epochs / (trials * epochs):.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

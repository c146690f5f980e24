"""Which rung rule loses least: ASHA's stop rules and the value a rung judges, compared on a
simulated clock (orchestrator.execution.simulated: the real tuning loop on simulated
workers) over many seeds, and on the recorded digits seed-2 curves
(tests/data/digits-seed2.json).

    .venv/bin/python benchmarks/stop_rules.py [--seeds 200] [--smoke]
    .venv/bin/python -m benchmarks.stop_rules ...      (the same)

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
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if not __package__:  # run as a script: the benchmarks package of this working tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common.entry import ROOT, one_blas_thread
from benchmarks.common.text import load_average

if TYPE_CHECKING:
    from orchestrator.execution.simulated import Curves, RecordedCurves, SimulationResult

RECORDED = ROOT / "tests" / "data" / "digits-seed2.json"
SETTINGS = {"small": (32, 30, 2), "large": (256, 81, 8)}  # trials, epochs, workers
VARIANTS = [(r, v) for r in ("top", "percentile") for v in ("last", "best")]


def run(
    rule: str, value: str, curves: Curves, trials: int, epochs: int, workers: int
) -> SimulationResult:
    from orchestrator.execution.simulated import simulate
    from orchestrator.schedulers import Asha

    scheduler = Asha(epochs, 1, 3.0, stop_rule=rule, judge=value)
    return simulate(scheduler, trials, workers, epochs, 0, curves)


def regret(result: SimulationResult, curves: Curves, trials: int) -> float:
    import numpy as np

    best = float(np.nanmin(curves.final[:trials]))
    return (result.best_true if result.completed else float(np.nanmax(curves.final))) - best


def simulated_rows(seeds: int) -> list[str]:
    """A table line per setting and variant: mean and median regret over `seeds` seeds."""
    from orchestrator.execution.simulated import make_curves

    lines = []
    for name, (trials, epochs, workers) in SETTINGS.items():
        rows: dict[tuple[str, str], tuple[list[float], list[float]]] = {
            v: ([], []) for v in VARIANTS
        }
        for seed in range(seeds):
            curves = make_curves(trials, epochs, seed)
            for v in VARIANTS:
                result = run(*v, curves, trials, epochs, workers)
                rows[v][0].append(regret(result, curves, trials))
                rows[v][1].append(result.epochs / (trials * epochs))
        for (rule, value), (regrets, share) in rows.items():
            lines.append(
                f"| simulated {name} ({trials}x{epochs}, {workers} workers) | {rule} | {value} "
                f"| {statistics.mean(regrets):.4f} | {statistics.median(regrets):.4f} "
                f"| {statistics.mean(share):.2f} |"
            )
    return lines


def recorded() -> RecordedCurves:
    import numpy as np

    from orchestrator.execution.simulated import RecordedCurves

    data = json.loads(RECORDED.read_text())
    values = np.array([[np.nan if x is None else x for x in c] for c in data["val_cost"]])
    return RecordedCurves.of(values, np.array(data["seconds_per_epoch"]))


def recorded_rows() -> list[str]:
    """A table line per variant on the recorded curves: regret of the trial it picks."""
    import numpy as np

    curves = recorded()
    best = np.nanmin(curves.values, axis=1)
    trials, epochs = curves.values.shape
    lines = []
    for rule, value in VARIANTS:
        result = run(rule, value, curves, trials, epochs, 2)
        found = best[result.best_trial] if result.completed else float("nan")
        lines.append(
            f"| recorded digits seed 2 (32x30, 2 workers) | {rule} | {value} "
            f"| {found - best.min():.4f} | (best trial t{result.best_trial}) "
            f"| {result.epochs / (trials * epochs):.2f} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    one_blas_thread()  # before numpy loads
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="2 seeds")
    args = parser.parse_args(argv)
    seeds = 2 if args.smoke else args.seeds
    print(f"ASHA grace 1, eta 3, mode stop; {seeds} seeds; load {load_average()}")
    print("| setting | rule | value judged | mean regret | median regret | epochs / FIFO |")
    print("|---|---|---|---|---|---|")
    print("\n".join(simulated_rows(seeds)), flush=True)
    print("\n".join(recorded_rows()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

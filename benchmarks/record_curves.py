"""Record the full learning curves of a sweep's first stage, every trial trained to the end.

    .venv/bin/python benchmarks/record_curves.py --seed 2 --out tests/data/digits-seed2.json

The trials are exactly those `caviar run` samples for the built-in digits sweep with that
seed (same configurations, same trial seeds), each trained in this process for the whole
epoch budget with no scheduler. A scheduler can then be replayed over the curves on a
simulated clock (orchestrator.schedulers.simulator.RecordedCurves) to see what it would have kept.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import harness  # noqa: E402  (before numpy: one BLAS thread)


def record(seed: int, trials: int, epochs: int) -> dict[str, object]:
    from orchestrator.execution.runner import builtin_sweep
    from orchestrator.sweepfile.parse import load_sweep, parse_sweep

    source = dict(load_sweep(builtin_sweep()).source)
    source.pop("stages", None)  # compare.py's random sample of the built-in space
    source.update(sampler="random", seed=seed, budget={"trials": trials, "max_epochs": epochs})
    spec = parse_sweep(source)
    plan = harness.FixedTrials.plan(spec)
    dataset = harness.load_data(plan.data)
    values, seconds = [], []
    for number, config in sorted(plan.configs.items()):
        trainer = harness.make_trainer(plan.seed, number, config, dataset)
        curve, spent = [], 0.0
        for _ in range(epochs):
            record = trainer.step()
            spent += record.seconds
            curve.append(None if record.diverged else record.val_cost)
            if record.diverged:
                break
        curve += [None] * (epochs - len(curve))  # a diverged trial reports nothing more
        values.append(curve)
        seconds.append(spent / max(1, trainer.epoch))
        best = min((v for v in curve if v is not None), default=math.nan)
        print(f"trial {number:2d}: best val_cost {best:.4f} after {trainer.epoch} epochs")
    return {
        "sweep": "orchestrator/sweepfile/sweeps/digits.yaml",
        "seed": seed,
        "metric": "val_cost",
        "configs": [plan.configs[n] for n in sorted(plan.configs)],
        "val_cost": values,  # (trials, epochs); null after a divergence
        "seconds_per_epoch": seconds,  # measured on the machine that recorded them
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    data = record(args.seed, args.trials, args.epochs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

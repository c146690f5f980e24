"""Record the full learning curves of a sweep's first stage, every trial trained to the end.

    .venv/bin/python benchmarks/record_curves.py --seed 2 --out tests/data/digits-seed2.json
    .venv/bin/python -m benchmarks.record_curves --smoke    # 2 trials x 2 epochs, not kept

The trials are exactly those `caviar run` samples for the built-in digits sweep with that
seed (same configurations, same trial seeds), each trained in this process for the whole
epoch budget with no scheduler. A scheduler can then be replayed over the curves on a
simulated clock (orchestrator.execution.simulated.RecordedCurves) to see what it would
have kept.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: the benchmarks package of this working tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common.entry import one_blas_thread
from benchmarks.common.trials import FixedTrials, load_data, make_trainer


def curve(trainer: Any, epochs: int) -> tuple[list[float | None], float]:
    """A trainer's val_cost for `epochs` epochs (None after it diverged), and its mean
    seconds per epoch trained."""
    values: list[float | None] = []
    spent = 0.0
    for _ in range(epochs):
        record = trainer.step()
        spent += record.seconds
        values.append(None if record.diverged else record.val_cost)
        if record.diverged:
            break
    values += [None] * (epochs - len(values))  # a diverged trial reports nothing more
    return values, spent / max(1, trainer.epoch)


def record(seed: int, trials: int, epochs: int) -> dict[str, object]:
    from orchestrator.execution.runner import builtin_sweep
    from orchestrator.sweepfile.parse import load_sweep, parse_sweep

    source = dict(load_sweep(builtin_sweep()).source)
    source.pop("stages", None)  # compare.py's random sample of the built-in space
    source.update(sampler="random", seed=seed, budget={"trials": trials, "max_epochs": epochs})
    plan = FixedTrials.plan(parse_sweep(source))
    dataset = load_data(plan.data)
    values, seconds = [], []
    for number, config in sorted(plan.configs.items()):
        trainer = make_trainer(plan.seed, number, config, dataset)
        values_of_trial, per_epoch = curve(trainer, epochs)
        values.append(values_of_trial)
        seconds.append(per_epoch)
        best = min((v for v in values_of_trial if v is not None), default=math.nan)
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
    one_blas_thread()  # before numpy loads
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", type=Path, help="the JSON file to write (required)")
    parser.add_argument(
        "--smoke", action="store_true", help="2 trials x 2 epochs, to a temporary file"
    )
    args = parser.parse_args(argv)
    if args.out is None and not args.smoke:
        parser.error("--out: required (the JSON file to write), unless --smoke")
    trials, epochs = (2, 2) if args.smoke else (args.trials, args.epochs)
    data = record(args.seed, trials, epochs)
    with tempfile.TemporaryDirectory(prefix="record-curves-") as tmp:
        out: Path = args.out or Path(tmp) / "curves.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

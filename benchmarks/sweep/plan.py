"""What bench_sweep.py runs: the digits sweep (and its null and scaling variants) at a size
per mode, and one measurement's times."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common.entry import ROOT
from benchmarks.common.trials import FixedTrials

SCALING_DATASET = "synthetic:rows=60000,features=784,classes=10"
NULL_DATASET = "synthetic:rows=40,features=2,classes=2"
ASHA: dict[str, Any] = {"name": "asha", "grace_period": 1, "reduction_factor": 3}

# Reported in the issue, before Caviar existed, on this machine (seconds).
REPORTED = {
    "pool FIFO": "13.5-20",
    "Tune FIFO default": "128-175",
    "Tune FIFO reuse": "24-31",
    "Tune ASHA default": "99-102",
    "Tune ASHA reuse": "7.8-8.0",
    "Tune null default": "1270 ms",
    "Tune null reuse": "93 ms",
}

SWEEP_ROWS = (
    "Caviar FIFO",
    "Caviar FIFO no dashboard",
    "Caviar FIFO attached",
    "Tune FIFO default",
    "Tune FIFO reuse",
    "pool FIFO",
    "Caviar ASHA",
    "Tune ASHA default",
    "Tune ASHA reuse",
)


@dataclass(frozen=True)
class Plan:
    """How big each measurement is; --quick shrinks everything, --smoke to almost nothing."""

    name: str
    trials: int
    epochs: int
    null_trials: int
    null_epochs: int
    scaling_trials: int
    scaling_epochs: int


FULL = Plan("full", 64, 30, null_trials=200, null_epochs=10, scaling_trials=4, scaling_epochs=4)
QUICK = Plan("quick", 16, 10, null_trials=40, null_epochs=10, scaling_trials=2, scaling_epochs=2)
SMOKE = Plan("smoke", 2, 2, null_trials=4, null_epochs=2, scaling_trials=0, scaling_epochs=0)


@dataclass
class Timing:
    """One measurement: the child process's wall time and what it reported."""

    wall: float
    span: tuple[float, float] | None = None  # time.time() of first trial start, last end
    epochs: int = 0  # epochs trained, over all trials
    extra: dict[str, Any] = field(default_factory=dict)
    process: tuple[float, float] = (math.nan, math.nan)  # time.time() at launch and exit

    @property
    def fit(self) -> float | None:
        """The fit phase: first trial start to last trial end."""
        return None if self.span is None else self.span[1] - self.span[0]

    @property
    def startup(self) -> float | None:
        """Process launch to first trial start (imports, Ray, workers)."""
        return None if self.span is None else self.span[0] - self.process[0]

    @property
    def teardown(self) -> float | None:
        """Last trial end to process exit (Ray shutdown, summary)."""
        return None if self.span is None else self.process[1] - self.span[1]


Runs = dict[str, list[Timing]]  # by row label


def digits_space() -> dict[str, Any]:
    """The course's digits space, read from the built-in sweep `caviar run` uses.

    Read when asked, not at import: the pool's children import this module, and the
    sweep-file parser's imports must not land in the ideal pool's timings.
    """
    from orchestrator.sweepfile.parse import load_sweep

    digits = ROOT / "orchestrator" / "sweepfile" / "sweeps" / "digits.yaml"
    return dict(load_sweep(digits).source["space"])


def sweep_source(name: str, scheduler: Any, plan: Plan, results: Path) -> dict[str, Any]:
    return {
        "name": name,
        "dataset": "digits",
        "seed": 0,
        "metric": "val_cost",
        "direction": "minimize",
        "model": {"lr_decay": "inverse_time"},
        "space": digits_space(),
        "sampler": "random",
        "scheduler": scheduler,
        "budget": {"trials": plan.trials, "max_epochs": plan.epochs},
        "results": str(results),
    }


def null_source(trials: int, epochs: int, results: Path) -> dict[str, Any]:
    return {
        "name": "null",
        "dataset": NULL_DATASET,
        "model": {"hidden_layers": 1, "hidden_units": 2, "batch_size": 64},  # one batch
        "space": {"learning_rate": {"type": "log_uniform", "low": 1e-3, "high": 1e-2}},
        "scheduler": "fifo",
        "budget": {"trials": trials, "max_epochs": epochs},
        "results": str(results),
    }


def scaling_source(name: str, plan: Plan, results: Path) -> dict[str, Any]:
    return {
        "name": name,
        "dataset": SCALING_DATASET,
        "model": {"hidden_layers": 2, "hidden_units": 256, "batch_size": 128, "optimizer": "adam"},
        "space": {"learning_rate": {"type": "log_uniform", "low": 1e-4, "high": 1e-2}},
        "scheduler": "fifo",
        "budget": {"trials": plan.scaling_trials, "max_epochs": plan.scaling_epochs},
        "results": str(results),
    }


def fixed_trials(source: dict[str, Any]) -> FixedTrials:
    """The sweep's first-stage configurations and their trial seeds, as Caviar plans them."""
    from orchestrator.sweepfile.parse import parse_sweep

    return FixedTrials.plan(parse_sweep(source))

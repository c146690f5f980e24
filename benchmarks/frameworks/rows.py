"""What compare.py runs: one sweep definition on each dataset at a budget per mode, each row
a way of running it (Caviar's samplers and schedulers, Ray Tune, Optuna), and one run's
measure."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common.entry import ROOT

SWEEP_FILE = ROOT / "orchestrator" / "sweepfile" / "sweeps" / "digits.yaml"


@dataclass(frozen=True)
class Budget:
    """One dataset's sweep: trials and epochs per trial, the same for every framework."""

    name: str
    dataset: str
    trials: int
    epochs: int
    tune_default_runs: int | None = None  # repetitions that run Ray Tune default; None: all
    note: str = ""


@dataclass(frozen=True)
class Plan:
    """The datasets a run covers (repetitions: --repeat, 3 by default, 1 with --quick)."""

    budgets: tuple[Budget, ...]
    suffix: str  # of the output files


LARGE = "synthetic:rows=60000,features=784,classes=10"
FULL = Plan(
    (
        Budget("digits", "digits", 32, 30),  # digits.yaml's own budget
        Budget(
            "large synthetic",
            LARGE,
            16,
            6,
            note="A smaller budget than digits': an epoch here takes 0.2-0.7 s on one core "
            "(about 0.01 s on digits).",
        ),
    ),
    suffix="",
)
QUICK = Plan((Budget("digits", "digits", 16, 10, tune_default_runs=1),), suffix="-quick")

SMOKE = Plan((Budget("digits", "digits", 4, 2, tune_default_runs=0),), suffix="-smoke")
# The rows a smoke run measures (the Caviar rows' sweep files are all parsed besides)
SMOKE_ROWS = (
    "Caviar random + ASHA",
    "Ray Tune random + ASHA, reuse_actors",
    "Optuna TPE + successive halving",
)


@dataclass(frozen=True)
class Row:
    """One way of running the sweep."""

    label: str
    kind: str  # caviar, tune or optuna
    sampler: str = "random"
    scheduler: str = "asha"
    two_stage: bool = False
    reuse: bool = False  # Ray Tune's reuse_actors
    mode: str = "stop"  # ASHA's: stop, or pause and promote


ROWS = (
    Row("Caviar random + ASHA", "caviar"),
    Row("Caviar random + median", "caviar", scheduler="median"),
    Row("Caviar Sobol + ASHA", "caviar", sampler="sobol"),
    Row("Caviar coarse-to-fine + ASHA", "caviar", two_stage=True),
    Row("Caviar TPE + ASHA promote", "caviar", sampler="tpe", mode="promote"),
    Row(
        "Caviar default: Sobol, TPE + Hyperband promote",
        "caviar",
        sampler="sobol+tpe",
        scheduler="hyperband",
        mode="promote",
    ),
    Row("Ray Tune random + ASHA, default", "tune"),
    Row("Ray Tune random + ASHA, reuse_actors", "tune", reuse=True),
    Row("Optuna TPE + successive halving", "optuna"),
)
TUNE_DEFAULT = "Ray Tune random + ASHA, default"
TUNE_REUSE = "Ray Tune random + ASHA, reuse_actors"


@dataclass
class Measure:
    """One run: its process wall time and every epoch it trained."""

    budget: str
    row: str
    rep: int
    wall: float = math.nan
    # (seconds since the process was launched, val_cost, val_accuracy), in time order
    points: list[tuple[float, float, float]] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return math.isfinite(self.wall)

    @property
    def epochs(self) -> int:
        return len(self.points)

    def best(self, column: int, sign: float) -> float:
        values = [sign * p[column] for p in self.points if math.isfinite(p[column])]
        return sign * min(values) if values else math.nan


# -- the sweep file, as each Caviar row runs it -------------------------------------------


def sweep_source(budget: Budget, row: Row, seed: int, results: Path) -> dict[str, Any]:
    """digits.yaml with this row's sampler, scheduler, stages, dataset, budget and seed."""
    from orchestrator.sweepfile.parse import load_sweep

    source = dict(load_sweep(SWEEP_FILE).source)
    source.pop("stages", None)  # each row sets its own
    slug = "-".join(re.sub(r"[^a-z0-9 ]", " ", row.label.lower()).split())  # a directory name
    grace, eta = 1, 3
    scheduler: dict[str, Any] = {
        "name": "asha",
        "grace_period": grace,
        "reduction_factor": eta,
        "mode": row.mode,
    }
    if row.scheduler == "median":
        scheduler = {"name": "median", "grace_period": grace}
    if row.scheduler == "hyperband":
        scheduler = {**scheduler, "name": "hyperband"}
    source.update(
        name=f"{budget.name.split()[-1]}-{slug}-{seed}",
        dataset=budget.dataset,
        seed=seed,
        sampler=row.sampler,
        scheduler=scheduler,
        budget={"trials": budget.trials, "max_epochs": budget.epochs},
        results=str(results),
    )
    if row.sampler == "sobol+tpe":  # the built-in sweep's: a quarter Sobol, then TPE
        first = budget.trials // 4
        source.pop("sampler")
        source["stages"] = [
            {"trials": first, "sampler": "sobol"},
            {"trials": budget.trials - first, "sampler": "tpe"},
        ]
    if row.two_stage:  # half the trials coarse, half zoomed around the best eighth
        first = budget.trials // 2
        source["stages"] = [
            {"trials": first},
            {"trials": budget.trials - first, "zoom": {"top_k": max(2, first // 4)}},
        ]
    return source

"""What quality.py compares: the tasks, the course's space, and each method, as the sweep
file it runs (Caviar's), the study it drives (Optuna's) or the library it runs in a process
of its own (the anchors')."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_METHOD = "tpe+hyperband-promote"  # the built-in sweep's, chosen by this benchmark
REFERENCE = "random+fifo"  # regret 1 is its median first epoch; every target compares to it
RIVAL = "optuna-tpe+sha"  # the default method's targets are set against it
OPTUNA_STREAM = 7  # the child of the master seed Optuna's sampler is seeded from
ANCHOR_STREAM = 8  # the child of the master seed each anchor's library is seeded from
CSV_LABEL = "quality"

# Built-in tasks by name; "csv" is a make_classification set written to a CSV file.
TASKS: dict[str, str | None] = {
    "synthetic": "synthetic:rows=5000,features=40,classes=5",
    "digits": "digits",
    "csv": None,
    "breast_cancer": "breast_cancer",
    "spirals": "spirals",
    "moons": "moons:noise=0.3",
}

# The course's space (orchestrator/sweepfile/sweeps/digits.yaml, plus L2): scales as taught.
MODEL = {"lr_decay": "inverse_time"}
SPACE: dict[str, Any] = {
    "learning_rate": {"type": "log_uniform", "low": 1e-4, "high": 1},
    "hidden_units": {"type": "int_uniform", "low": 50, "high": 100},
    "hidden_layers": {"type": "int_uniform", "low": 2, "high": 4},
    "batch_size": {"type": "power_of_two", "low": 32, "high": 256},
    "optimizer": ["momentum", "adam"],
    "beta": {
        "type": "one_minus_log_uniform",
        "low": 0.9,
        "high": 0.999,
        "when": {"optimizer": "momentum"},
    },
    "beta1": {
        "type": "one_minus_log_uniform",
        "low": 0.8,
        "high": 0.95,
        "when": {"optimizer": "adam"},
    },
    "beta2": {
        "type": "one_minus_log_uniform",
        "low": 0.99,
        "high": 0.9999,
        "when": {"optimizer": "adam"},
    },
    "decay_rate": {"type": "log_uniform", "low": 1e-3, "high": 1},
    "l2": {"type": "log_uniform", "low": 1e-5, "high": 1},  # lambda/(2m) * sum W^2, m = batch
}


def _asha(mode: str, name: str = "asha", rule: str | None = None) -> dict[str, Any]:
    rules = {"rule": rule} if rule else {}
    return {"name": name, "grace_period": 1, "reduction_factor": 3, "mode": mode, **rules}


FIRST_SHARE = 0.25  # the first stage's part of a budget by compute (--equal-time)


def _split(trials: int, share: float = FIRST_SHARE) -> tuple[int, int]:
    """`share` of the trials (a quarter) in a first stage, the rest in the second."""
    first = max(1, int(trials * share))
    return first, trials - first


def _zoom(trials: int | None) -> dict[str, Any]:
    if trials is None:  # a budget by compute: the first stage until a quarter is spent
        return {"stages": [{"share": FIRST_SHARE}, {"zoom": {"top_k": 4}}]}
    first, rest = _split(trials)
    zoom = {"top_k": max(2, first // 4)}  # around the best quarter of the first stage
    return {"stages": [{"trials": first}, {"trials": rest, "zoom": zoom}]}


def _tpe(trials: int | None, share: float = FIRST_SHARE) -> dict[str, Any]:
    if trials is None:  # a budget by compute: Sobol until `share` is spent, then TPE
        return {"stages": [{"share": share, "sampler": "sobol"}, {"sampler": "tpe"}]}
    first, rest = _split(trials, share)
    return {"stages": [{"trials": first, "sampler": "sobol"}, {"trials": rest, "sampler": "tpe"}]}


# What each Caviar method sets in its sweep file, given the trials (None: open, a budget by
# compute); Optuna's and the anchors' take none.
CAVIAR: dict[str, Callable[[int | None], dict[str, Any]]] = {
    REFERENCE: lambda n: {"sampler": "random", "scheduler": "fifo"},
    "random+asha-stop": lambda n: {"sampler": "random", "scheduler": _asha("stop")},
    "random+asha-promote": lambda n: {"sampler": "random", "scheduler": _asha("promote")},
    "sobol+asha-promote": lambda n: {"sampler": "sobol", "scheduler": _asha("promote")},
    "c2f+asha-promote": lambda n: {**_zoom(n), "scheduler": _asha("promote")},
    "tpe+asha-promote": lambda n: {**_tpe(n), "scheduler": _asha("promote")},
    "tpe+hyperband-promote": lambda n: {**_tpe(n), "scheduler": _asha("promote", "hyperband")},
    # a shorter Sobol stage (a tenth): TPE takes over sooner
    "tpe10+asha-promote": lambda n: {**_tpe(n, 0.1), "scheduler": _asha("promote")},
    "tpe10+hyperband-promote": lambda n: {
        **_tpe(n, 0.1),
        "scheduler": _asha("promote", "hyperband"),
    },
    # ASHA that stops poor trials rather than pausing every trial at a rung (BOHB's way)
    "tpe+asha-stop": lambda n: {**_tpe(n), "scheduler": _asha("stop")},
    "tpe10+asha-stop": lambda n: {**_tpe(n, 0.1), "scheduler": _asha("stop")},
    "random+asha-stop-top": lambda n: {"sampler": "random", "scheduler": _asha("stop", rule="top")},
    "tpe10+asha-stop-top": lambda n: {**_tpe(n, 0.1), "scheduler": _asha("stop", rule="top")},
}
OPTUNA = ("optuna-tpe+sha", "optuna-tpe+hyperband")
# Run by their own libraries in their own environment (benchmarks/anchors/): Syne Tune's
# baselines ASHA, BOHB (ASHA with TPE-like kernel density) and ASHACQR (ASHA with conformal
# quantile regression), and DEHB; each takes the space and budget as Optuna's rows do.
ANCHORS = ("synetune-asha", "synetune-bohb", "synetune-ashacqr", "dehb")
METHODS = (*CAVIAR, *OPTUNA, *ANCHORS)


OPEN_TRIALS = 1_000_000  # --equal-time: Optuna's and the anchors' cap, never reached


@dataclass(frozen=True)
class Settings:
    trials: int = 64
    epochs: int = 40
    workers: int = 4
    equal_time: bool = False  # every method runs for random + FIFO's simulated makespan
    strict: bool = False  # a method that fails raises, instead of being skipped (--smoke)

    @property
    def budget(self) -> int:
        """Random + FIFO's epochs: every trial to the end."""
        return self.trials * self.epochs


def write_csv(folder: Path) -> dict[str, str]:
    """A 4-class make_classification set as a CSV file with a text label column; the same
    file for every seed (each seed splits it differently), loaded as {path, label}."""
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=3000,
        n_features=20,
        n_informative=8,
        n_redundant=4,
        n_classes=4,
        flip_y=0.03,
        random_state=0,
    )
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame[CSV_LABEL] = [("poor", "fair", "good", "fine")[k] for k in y]
    path = folder / "quality.csv"
    frame.to_csv(path, index=False)
    return {"path": str(path), "label": CSV_LABEL}


def sweep_source(
    task: str,
    dataset: Any,
    method: str,
    seed: int,
    settings: Settings,
    time_limit: float | None = None,
) -> dict[str, Any]:
    """The sweep file of a method, as a dict; Optuna's and the anchors' take its space and
    budget. With a `time_limit`, every method but the reference has a budget by compute:
    trials open, started until that time is up."""
    trials: int | None = settings.trials
    if time_limit is not None and method != REFERENCE:
        trials = None
    source: dict[str, Any] = {
        "name": f"{task}-{method.replace('+', '_')}-{seed}",
        "dataset": dataset,
        "seed": seed,
        "metric": "val_cost",
        "model": dict(MODEL),
        "space": json.loads(json.dumps(SPACE)),
        "budget": {"max_epochs": settings.epochs},
    }
    if trials is not None:
        source["budget"]["trials"] = trials
    else:
        source["budget"]["time_limit"] = time_limit
    source.update(CAVIAR[method](trials) if method in CAVIAR else {})
    return source

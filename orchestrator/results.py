"""A sweep's results as pandas DataFrames: `load_run("runs/NAME")`.

Reads the sweep's SQLite store read-only, so it is safe while the sweep still runs.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from orchestrator.store import DB_NAME, StoreError

_METRIC_DIRECTION = {"val_cost": "minimize", "val_accuracy": "maximize", "train_cost": "minimize"}
TRIAL_COLUMNS = (
    "number",
    "stage",
    "state",
    "best",
    "epochs",
    "worker",
    "node",
    "attempts",
    "started",
    "ended",
    "seconds",
    "error",
)
CURVE_COLUMNS = (
    "trial_id",
    "epoch",
    "train_cost",
    "val_cost",
    "val_accuracy",
    "learning_rate",
    "seconds",
    "diverged",
)


@dataclass(frozen=True)
class Run:
    """One sweep's trials and curves."""

    path: Path
    name: str
    metric: str
    direction: str
    state: str
    trials: pd.DataFrame  # index trial_id; one column per hyperparameter after the fixed ones
    curves: pd.DataFrame
    params: tuple[str, ...]

    def best(self, n: int = 1) -> pd.DataFrame:
        """The `n` best trials with a finite value, best first."""
        finite = self.trials[self.trials["best"].map(_finite)]
        ascending = self.direction == "minimize"
        return finite.sort_values(["best", "number"], ascending=[ascending, True]).head(n)

    def leaderboard(self, n: int = 10) -> pd.DataFrame:
        """A table to print: rank, trial, state, best value, epochs, hyperparameters."""
        top = self.best(n).reset_index()
        board = pd.DataFrame(
            {
                "rank": range(1, len(top) + 1),
                "trial": top["trial_id"],
                "state": top["state"],
                self.metric: top["best"],
                "epochs": top["epochs"],
            }
        )
        for name in self.params:
            board[name] = top[name].map(_short)
        return board

    def counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.trials["state"].value_counts().items()}

    def __repr__(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts().items()))
        return f"Run({self.name!r}, {self.state}, {len(self.trials)} trials: {counts})"


def load_run(path: str | Path) -> Run:
    path = Path(path)
    db = path / DB_NAME if path.suffix != ".db" else path
    if not db.exists():
        raise StoreError(f"run: no sweep in {path} (no {DB_NAME} there)")
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        meta = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM sweep")}
        rows = pd.read_sql_query("SELECT * FROM trials ORDER BY number", conn)
        curves = pd.read_sql_query(
            f"SELECT {', '.join(CURVE_COLUMNS)} FROM curves ORDER BY trial_id, epoch", conn
        )
    finally:
        conn.close()
    source = meta.get("source", {})
    metric = source.get("metric", "val_cost")
    configs = [json.loads(c) for c in rows["config"]]
    params = tuple(dict.fromkeys(k for c in configs for k in c))
    trials = rows.assign(seconds=rows["ended"] - rows["started"])[["trial_id", *TRIAL_COLUMNS]]
    trials = trials.set_index("trial_id")
    for name in params:
        trials[name] = [c.get(name) for c in configs]
    curves["diverged"] = curves["diverged"].astype(bool)
    return Run(
        path=db.parent,
        name=str(source.get("name", db.parent.name)),
        metric=metric,
        direction=source.get("direction", _METRIC_DIRECTION.get(metric, "minimize")),
        state=str(meta.get("state", "unknown")),
        trials=trials,
        curves=curves.reset_index(drop=True),
        params=params,
    )


def _finite(value: Any) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


def _short(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""  # inactive in this trial
    return f"{value:.4g}" if isinstance(value, float) else value

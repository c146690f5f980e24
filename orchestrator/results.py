"""A sweep's results as pandas DataFrames (`load_run("runs/NAME")`), summed up or exported.

Reads the sweep's SQLite store read-only and in one snapshot, so it is safe, and
consistent, while the sweep still runs.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from caviar_common import curves
from caviar_common.curves import DIVERGED_ABOVE
from orchestrator.spec import default_direction
from orchestrator.store import DB_NAME, StoreError

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
    "proposed_by",  # the sampler; for tpe, "tpe" (the model) or "warm-up"
    "pauses",  # the epochs a promoting scheduler paused the trial at
)
CURVE_COLUMNS = ("trial_id", *curves.CURVE_COLUMNS)
EXPORT_FORMATS = ("csv", "parquet")


@dataclass(frozen=True, eq=False)  # eq=False: DataFrames have no single truth value
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
    boxes: dict[int, dict[str, Any]]  # stage -> its sampling box on each parameter's scale
    source: dict[str, Any] = field(default_factory=dict)  # the sweep file as read

    @property
    def searched(self) -> tuple[str, ...]:
        """The hyperparameters the sweep samples (the rest of `params` are fixed settings)."""
        space = self.source.get("space")
        if not isinstance(space, dict):
            return self.params
        return tuple(p for p in self.params if p in space)

    def best(self, n: int = 1) -> pd.DataFrame:
        """The `n` best trials by the sweep's metric, best first; NaN or absurd never rank."""
        value = pd.to_numeric(self.trials["best"], errors="coerce").astype(float)
        usable = np.isfinite(value) & (value.abs() < DIVERGED_ABOVE)
        ascending = self.direction == "minimize"
        ranked = self.trials[usable].sort_values(["best", "number"], ascending=[ascending, True])
        return ranked.head(n)

    def leaderboard(self, n: int = 10) -> pd.DataFrame:
        """A table to print: rank, trial, state, best value, epochs, searched hyperparameters."""
        top = self.best(n).reset_index()
        board = pd.DataFrame(
            {
                "rank": range(1, len(top) + 1),
                "trial": top["trial_id"],
                "state": top["state"],
                "best": top["best"],
                "epochs": top["epochs"],
            }
        )
        for name in self.searched:
            board[name] = top[name].map(_short)
        return board

    def counts(self) -> dict[str, int]:
        """Trials by state."""
        return {str(k): int(v) for k, v in self.trials["state"].value_counts().items()}

    def summary(self, n: int = 10) -> str:
        """What `caviar run` prints at the end and `caviar show` prints: counts, the top `n`."""
        board = self.leaderboard(n)
        epochs = int(self.trials["epochs"].sum())
        return "\n".join(
            [
                f"sweep {self.name} ({self.state}): {len(self.trials):,} trials "
                f"({self._counted()}), {epochs:,} epochs",
                f"leaderboard ({self.metric}, {self.direction}):",
                board.to_string(index=False) if len(board) else "  no trial has a finite value yet",
                f"results: {self.path} (caviar show {self.path}; orchestrator.load_run in Python)",
            ]
        )

    def export(self, out: Path | None = None, fmt: str = "csv", force: bool = False) -> list[Path]:
        """Write trials.FMT and curves.FMT (csv or parquet) into `out`, by default the run's
        own directory; returns their paths.

        Earlier exports are overwritten only with `force`: otherwise nothing is written.
        """
        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"format: must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
        out = self.path if out is None else out
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out: must be a directory, got the file {str(out)!r}")
        paths = {name: out / f"{name}.{fmt}" for name in ("trials", "curves")}
        clash = [str(p) for p in paths.values() if p.exists()]
        if clash and not force:
            raise ValueError(
                f"{' and '.join(clash)} already exist{'s' if len(clash) == 1 else ''}; "
                "nothing was written. Pass --force to overwrite, or --out DIR to write elsewhere"
            )
        out.mkdir(parents=True, exist_ok=True)
        for name, path in paths.items():
            frame = self.trials.reset_index() if name == "trials" else self.curves
            if fmt == "csv":
                frame.to_csv(path, index=False)
            else:
                frame.to_parquet(path, index=False)
        return list(paths.values())

    def _counted(self) -> str:
        """Trials by state as a phrase: 'completed 2, pruned 1'."""
        return ", ".join(f"{k} {v:,}" for k, v in sorted(self.counts().items()))

    def __repr__(self) -> str:
        counts = self._counted()
        return (
            f"Run({self.name!r}, {self.state}, {self.metric} {self.direction}, "
            f"{len(self.trials):,} trials" + (f": {counts})" if counts else ")")
        )


def load_run(path: str | Path) -> Run:
    """The sweep in `path`: a run directory (runs/NAME) or its sweep.db."""
    path = Path(path)
    db = path if path.suffix == ".db" and not path.is_dir() else path / DB_NAME
    if not db.is_file():
        raise StoreError(f"run: no sweep in {path} (no {db.name} there)")
    try:
        meta, rows, curves = _read(db)
    except sqlite3.DatabaseError as err:
        raise StoreError(f"run: {db} is not a readable sweep database ({err})") from None
    source = meta.get("source") or {}
    metric = str(source.get("metric", "val_cost"))
    configs = [json.loads(c) for c in rows["config"]]
    params = tuple(dict.fromkeys(k for c in configs for k in c))
    for column in ("best", "started", "ended"):  # a column of NULLs alone comes back as None
        rows[column] = pd.to_numeric(rows[column]).astype(float)
    if "pauses" not in rows:  # a store written before these columns, opened read-only
        rows = rows.assign(proposed_by="", pauses="[]")
    rows["pauses"] = [[] if p == "[]" else json.loads(p) for p in rows["pauses"]]
    trials = rows.assign(seconds=rows["ended"] - rows["started"])[["trial_id", *TRIAL_COLUMNS]]
    trials = trials.set_index("trial_id")
    for name in params:
        trials[name] = [c.get(name) for c in configs]
    curves["diverged"] = curves["diverged"].astype(bool)
    firsts = rows.drop_duplicates("stage")  # every trial of a stage has the stage's box
    boxes = {int(s): json.loads(b) for s, b in zip(firsts["stage"], firsts["box"], strict=True)}
    return Run(
        path=db.parent,
        name=str(source.get("name", db.parent.name)),
        metric=metric,
        direction=str(source.get("direction", default_direction(metric))),
        state=str(meta.get("state", "unknown")),
        trials=trials,
        curves=curves.reset_index(drop=True),
        params=params,
        boxes=boxes,
        source=source,
    )


def _read(db: Path) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """The sweep's keys, trials and curves from one read transaction (one WAL snapshot)."""
    conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("BEGIN")  # trials and curves from the same moment of a running sweep
        meta = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM sweep")}
        rows = pd.read_sql_query("SELECT * FROM trials ORDER BY number", conn)
        curves = pd.read_sql_query(
            f"SELECT {', '.join(CURVE_COLUMNS)} FROM curves ORDER BY trial_id, epoch", conn
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return meta, rows, curves


def _short(value: Any) -> Any:
    """A hyperparameter as the leaderboard prints it; blank where inactive in the trial."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return f"{value:.4g}" if isinstance(value, float) else value

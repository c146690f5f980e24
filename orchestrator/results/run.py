"""A sweep's results as pandas DataFrames (`load_run("runs/NAME")`), summed up or exported.

Reads the sweep's SQLite store read-only and in one snapshot, so it is safe, and
consistent, while the sweep still runs.
"""

from __future__ import annotations

import importlib
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np
import pandas as pd

from caviar_common import curves
from caviar_common.curves import DIVERGED_ABOVE
from orchestrator.core.spec import default_direction
from orchestrator.storage.store import DB_NAME, StoreError
from workers.protocol import DEFAULT_TRAINER, canonical_trainer

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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
# "time": seconds from the sweep's creation (the store's `created`) to the point's record
# (its `at`), both by the store's clock; NaN for points of a store from before `at`.
CURVE_COLUMNS = ("trial_id", *curves.CURVE_COLUMNS, "time")
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
        """The `n` best trials by the sweep's metric, best first; NaN or absurd never rank.

        Among equal values the trial that reached its value at the earlier epoch ranks
        first, then the one that reached it sooner in the sweep, then the lower number.
        """
        value = pd.to_numeric(self.trials["best"], errors="coerce").astype(float)
        usable = self.trials[np.isfinite(value) & (value.abs() < DIVERGED_ABOVE)]
        sign = 1.0 if self.direction == "minimize" else -1.0
        tied = value[usable.index]
        tied = tied[tied.duplicated(keep=False)]  # only ties need the curves read
        reached = _reached(self.curves, self.metric, tied).reindex(usable.index)
        order = np.lexsort(  # the last key sorts first; NaN sorts last
            (
                usable["number"].to_numpy(),
                reached["time"].to_numpy(),
                reached["epoch"].to_numpy(),
                sign * value[usable.index].to_numpy(),
            )
        )
        return usable.iloc[order].head(n)

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
                f"results: {self.path} (caviar show {self.path}; caviar.load_run in Python)",
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

    @property
    def curve_column(self) -> str:
        """The column the report's curve chart draws: the validation cost of the built-in
        MLP, or the metric of a trainer of your own (which reports no cost)."""
        trainer = canonical_trainer(self.source.get("trainer", DEFAULT_TRAINER))
        return "val_cost" if trainer == DEFAULT_TRAINER else self.metric

    def plot_curves(self) -> Figure:
        """The report's chart of every trial's validation cost curve (a line per trial,
        gid: its id; the best drawn again in black, gid `best`)."""
        return plotting().plot_curves(self)

    def plot_params(self) -> Figure:
        """The report's chart of the metric against each searched hyperparameter, the most
        telling (|Spearman rho|) first."""
        return plotting().plot_params(self)

    def report(self, path: str | Path | None = None) -> Path:
        """Write the HTML report (`caviar report`) to `path`, a file or a directory (default:
        the run's own report.html); returns the file written."""
        out = None if path is None else Path(path)
        if out is not None and out.is_dir():
            out = out / "report.html"
        return plotting().report(self, out)


class Plotting(Protocol):
    """What draws a run: the report package's `run_plots` module by default."""

    def plot_curves(self, run: Run) -> Figure: ...

    def plot_params(self, run: Run) -> Figure: ...

    def report(self, run: Run, out: Path | None) -> Path: ...


# The module that draws a Run, imported on first use as pandas imports its plotting
# backend: the report sits above the results, which never import it.
PLOTTING_BACKEND = "orchestrator.report.run_plots"


def plotting() -> Plotting:
    """The plotting backend, imported when a run is first drawn."""
    return cast(Plotting, importlib.import_module(PLOTTING_BACKEND))


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
    curves["time"] = pd.to_numeric(curves.pop("at")).astype(float) - _start(meta, rows)
    extra = [c for c in curves.columns if c not in CURVE_COLUMNS]  # a trainer's own fields
    curves = curves[[*CURVE_COLUMNS, *extra]]
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
        stored = {row[1] for row in conn.execute("PRAGMA table_info(curves)")}
        at = "at" if "at" in stored else "NULL AS at"  # a store from before `at`
        extra = "extra" if "extra" in stored else "NULL AS extra"
        columns = ", ".join(CURVE_COLUMNS[:-1])
        curves = pd.read_sql_query(
            f"SELECT {columns}, {at}, {extra} FROM curves ORDER BY trial_id, epoch", conn
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return meta, rows, _with_extra(curves)


def _with_extra(curves: pd.DataFrame) -> pd.DataFrame:
    """The curves with a column per extra field a trainer reported (NaN where it did not);
    the JSON column they are stored in is dropped."""
    stored = curves.pop("extra")
    if not stored.notna().any():
        return curves
    parsed = pd.DataFrame.from_records(
        [json.loads(e) if isinstance(e, str) else {} for e in stored], index=curves.index
    )
    parsed = parsed.drop(columns=[c for c in parsed.columns if c in curves.columns])
    return pd.concat([curves, parsed.astype(float)], axis=1)


def _start(meta: dict[str, Any], rows: pd.DataFrame) -> float:
    """When the sweep started by the store's clock: its creation (`created`, set by
    `Store.create`), else its first trial's start; NaN if neither is known."""
    created = meta.get("created")
    if isinstance(created, int | float):
        return float(created)
    started = pd.to_numeric(rows["started"]).astype(float)
    return float(started.min()) if started.notna().any() else float("nan")


def _reached(curves: pd.DataFrame, metric: str, best: pd.Series) -> pd.DataFrame:
    """The first epoch at which each trial of `best` (trial_id -> its best value) recorded
    that value, and its time; NaN where none did (the metric not a curve column, say)."""
    columns = ["epoch", "time"]
    if metric not in curves.columns or not len(best):
        return pd.DataFrame(np.nan, index=best.index, columns=columns)
    points = curves[curves["trial_id"].isin(best.index)]
    hits = points[points[metric].to_numpy() == best.reindex(points["trial_id"]).to_numpy()]
    first = hits.sort_values(["trial_id", "epoch"]).drop_duplicates("trial_id")
    return first.set_index("trial_id")[columns].reindex(best.index).astype(float)


def _short(value: Any) -> Any:
    """A hyperparameter as the leaderboard prints it; blank where inactive in the trial."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return f"{value:.4g}" if isinstance(value, float) else value

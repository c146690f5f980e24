"""A sweep's results as pandas DataFrames (`load_run("runs/NAME")`), summed up or exported.

Reads the sweep's store through `orchestrator.storage.read_run`: read-only and in one
snapshot, so it is safe, and consistent, while the sweep still runs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np
import pandas as pd

from caviar_common import curves
from caviar_common.curves import DIVERGED_ABOVE
from caviar_common.errors import InputError
from caviar_common.seeds import trial_seed
from orchestrator.core.spec import default_direction
from orchestrator.results.overwrite import refuse_clash
from orchestrator.storage import (
    CurveColumns,
    ModelRow,
    Reader,
    SweepMeta,
    TrialColumns,
    read_run,
)
from orchestrator.sweepfile.parse import parse_sweep
from workers.data.datasets import Dataset, load_dataset
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
    "devices",  # the GPUs its worker saw (CUDA_VISIBLE_DEVICES), "" for none
    "starts",  # times it was started on a worker: promotions and resumes included
    "restarts",  # of those, restarts after a lost worker
    "started",
    "ended",
    "seconds",
    "error",
    "proposed_by",  # the sampler; for tpe, "tpe" (the model) or "warm-up"
    "pauses",  # the epochs a promoting scheduler paused the trial at
)
MODEL_COLUMNS = ("epoch", "value", "test_cost", "test_accuracy")
IMPORTANCE_TRIALS = 500  # Run.importance's sample of a bigger sweep (and the report's)
TEST_COLUMNS = ("test_cost", "test_accuracy")  # in `trials` of a sweep with a test split
# "time": seconds from the sweep's creation (the store's `created`) to the point's record
# (its `at`), both by the store's clock; NaN for points of a store from before `at`.
CURVE_COLUMNS = ("trial_id", *curves.CURVE_COLUMNS, "time")
EXPORT_FORMATS = ("csv", "parquet")


@dataclass(frozen=True, eq=False)  # eq=False: DataFrames have no single truth value
class Run:
    """One sweep's trials and curves, as `load_run` read them from its store.

    Attributes:
        path: The run directory (runs/NAME).
        name: The sweep's name.
        metric: The metric it ranks trials by (`val_cost` unless its file says otherwise).
        direction: `minimize` or `maximize`.
        state: The sweep's state: created, running, interrupted or finished.
        trials: One row per trial, index `trial_id`: number, stage, state, best, epochs,
            worker, node, devices (the GPUs its worker saw, as CUDA_VISIBLE_DEVICES: "0",
            "0,1"; "" for none), starts (every start on a worker, promotions and resumes
            included), restarts (after a lost worker), started, ended, seconds, error,
            proposed_by, pauses, then one column per hyperparameter (`learning_rate` is
            the configured α₀).
        curves: One row per trial and epoch, sorted by trial then epoch: trial_id, epoch,
            train_cost, val_cost, val_accuracy, decayed_learning_rate (α that epoch),
            seconds, diverged, time (seconds since the sweep was created), then a
            trainer's own fields.
        params: Every hyperparameter of any trial, in the order first seen.
        boxes: Each stage's sampling box, on each parameter's scale.
        source: The sweep file as read.
        base_dir: The folder a relative dataset path in `source` is resolved from.
        models: The models the sweep kept (its best `keep` trials), best first, index
            `trial_id`: epoch (of the trial's best value, whose weights these are),
            value (that best value), test_cost and test_accuracy (on the test split,
            once the sweep has ended; NaN without one).
    """

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
    base_dir: Path = Path(".")  # where the sweep file's relative dataset path is resolved
    # the kept models, best first: index trial_id; epoch, value, test_cost, test_accuracy
    models: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MODEL_COLUMNS))

    def data(self) -> Dataset:
        """The dataset split exactly as the sweep's trials saw it.

        The same file or built-in set, split with the sweep's seed, validation share and
        test share (if any) and standardised with the training split's statistics, so a
        model of the sweep can be scored on `X_val`, `y_val`, and on the held-out `X_test`,
        `y_test`, without deriving the split again.

        Returns:
            A `Dataset` with `X_train`, `y_train`, `X_val`, `y_val`, `X_test`, `y_test`
            (empty without a test share), `classes`, `feature_names`, the standardisation's
            `mean` and `scale`, and each part's row indices.

        Raises:
            InputError: The sweep file kept in the store no longer reads back, or its dataset
                file is gone.
        """
        spec = parse_sweep(self.source, self.base_dir, import_trainer=False)
        return load_dataset(
            spec.dataset,
            seed=spec.seed,
            val_fraction=spec.val_fraction,
            test_fraction=spec.test_fraction,
        )

    @property
    def test_fraction(self) -> float:
        """The share of rows held out as the test split (0: none)."""
        value = self.source.get("test_fraction", 0)
        return float(value) if isinstance(value, int | float) else 0.0

    def model(self, trial: str | int = "best") -> Any:
        """A model the sweep kept, trained: its weights at the trial's best epoch.

        For the built-in MLP, a `FittedMLP`: `predict(X)` and `predict_proba(X)` take raw
        rows as in the dataset (it applies the training split's standardisation and batch
        norm's running statistics). For a trainer of one's own, a fresh instance built as
        the trial built it, with its `load_state_dict` applied.

        Args:
            trial: "best", a trial id ("trial-0007") or its number (7).

        Returns:
            The trained model (a `workers.mlp.fitted.FittedMLP` for the built-in trainer).

        Raises:
            InputError: No model of that trial was kept (only the best `keep` trials' are).
        """
        from orchestrator.results.models import pick, rebuild

        spec = parse_sweep(self.source, self.base_dir, import_trainer=False)
        tid = pick(list(self.models.index), list(self.best(len(self.trials)).index), trial)
        with Reader.open(self.path) as reader:
            data = reader.model_data(tid)
        if data is None:  # dropped since this Run was read: the sweep went on
            raise InputError("model", f"{tid}'s model is no longer kept; load the run again")
        row = self.trials.loc[tid]
        config = {name: _native(row[name]) for name in self.params if _active(row[name])}
        return rebuild(spec, self.data(), config, int(row["number"]), data, self.base_dir)

    def best_model(self) -> Any:
        """The model of the best trial the sweep kept: the network the leaderboard ranks
        first, at the epoch of its best value.

        Returns:
            The trained model, as `model("best")` gives it.

        Raises:
            InputError: The sweep kept no model (`keep: 0`, or a store from before models
                were kept).
        """
        return self.model("best")

    def export_model(
        self, trial: str | int = "best", out: str | Path | None = None, force: bool = False
    ) -> list[Path]:
        """Write a kept model as `caviar export --model` does: weights.npz (numbers only,
        no pickle) and model.json (configuration, seed, epoch, validation and test
        figures).

        Args:
            trial: "best", a trial id or its number.
            out: The directory; by default RUN/models/TRIAL.
            force: Overwrite files written there before.

        Returns:
            The two files written.

        Raises:
            InputError: No such kept model, or files there already and not `force`.
        """
        from orchestrator.results.models import pick, write_export

        tid = pick(list(self.models.index), list(self.best(len(self.trials)).index), trial)
        model = self.model(tid)
        with Reader.open(self.path) as reader:
            data = reader.model_data(tid) or b""
        where = Path(out) if out is not None else self.path / "models" / tid
        return write_export(where, model, self._model_info(tid), data, force)

    def _model_info(self, tid: str) -> dict[str, Any]:
        row, kept = self.trials.loc[tid], self.models.loc[tid]
        epoch = int(kept["epoch"])
        point = self.curves[(self.curves["trial_id"] == tid) & (self.curves["epoch"] == epoch)]
        figures = point.iloc[0] if len(point) else {}
        seed = self.source.get("seed", 0)
        return {
            "sweep": self.name,
            "trial": tid,
            "number": int(row["number"]),
            "stage": int(row["stage"]),
            "config": {n: _native(row[n]) for n in self.params if _active(row[n])},
            "trainer": str(self.source.get("trainer", DEFAULT_TRAINER)),
            "dataset": self.source.get("dataset", "digits"),
            "seed": {"sweep": seed, "trial": list(trial_seed(int(seed), int(row["number"])))},
            "epoch": epoch,
            "metric": self.metric,
            "direction": self.direction,
            "value": float(kept["value"]),
            "val_cost": _float(figures, "val_cost"),
            "val_accuracy": _float(figures, "val_accuracy"),
            "test_cost": _float(kept, "test_cost"),
            "test_accuracy": _float(kept, "test_accuracy"),
        }

    def importance(self, seed: int = 0, most: int = IMPORTANCE_TRIALS) -> pd.DataFrame:
        """Which hyperparameters mattered: each searched one's share of the variation in the
        sweep's results (Optuna's fANOVA on the trials, on the scales they were sampled
        on: `orchestrator.search.importance`). Pruned and paused trials count: every trial
        is compared at the highest epoch that at least half of the trials reached, by its
        best value up to that epoch. `caviar show --importance` prints it and the report
        shows it, so both say the same.

        Args:
            seed: The seed of fANOVA's random forest, and of the sample below.
            most: At most this many trials (a seeded sample of a bigger sweep's): fANOVA's
                cost grows with the trials, and a sample this size ranks as well.

        Returns:
            One row per hyperparameter, largest share first: parameter, importance (shares
            add up to 1), trials and epoch (what the shares rest on), reached (the trials
            that reached that epoch, of which `trials` were sampled) and line (the same in
            words). Parameters inactive in some of those trials are left out. Empty when
            fewer than two trials have different results.
        """
        from orchestrator.search.importance import importances

        columns = ["parameter", "importance", "trials", "epoch", "reached", "line"]
        points = self.curves[np.isfinite(self.curves[self.metric].to_numpy(dtype=float))]
        points = points[~points["diverged"].to_numpy(dtype=bool)]
        if points.empty:
            return pd.DataFrame(columns=columns)
        reached = points.groupby("trial_id")["epoch"].max()
        epoch = int(np.sort(reached.to_numpy())[::-1][(len(reached) - 1) // 2])
        upto = points[points["epoch"] <= epoch]
        best = (
            upto.groupby("trial_id")[self.metric].min()
            if self.direction == "minimize"
            else upto.groupby("trial_id")[self.metric].max()
        )
        best = best[reached.reindex(best.index) >= epoch]
        count = len(best)
        of = f" of {count:,}" if count > most else ""
        if count > most:
            best = best.iloc[np.sort(np.random.default_rng(seed).choice(count, most, False))]
        spec = parse_sweep(self.source, self.base_dir, import_trainer=False)
        rows = self.trials.loc[best.index, list(self.params)].to_dict("records")
        results = [
            ({n: _native(v) for n, v in row.items() if _active(v)}, float(value))
            for row, value in zip(rows, best.to_numpy(dtype=float), strict=True)
        ]
        shares = importances(spec.space, results, seed)
        n = len(results)
        return pd.DataFrame(
            [
                (
                    name,
                    share,
                    n,
                    epoch,
                    count,
                    f"{name} explains {share:.0%} of the variation in {self.metric} at epoch "
                    f"{epoch} ({n:,}{of} trials)",
                )
                for name, share in shares.items()
            ],
            columns=columns,
        )

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

        Args:
            n: How many trials at most.

        Returns:
            Their rows of `trials`, best first.
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
        """A table to print: rank, trial, state, best value, epochs, (with a test split) the
        kept models' test_cost and test_accuracy, and the searched hyperparameters.

        Args:
            n: How many trials at most, ranked as `best` ranks them.

        Returns:
            One row per trial; an inactive hyperparameter is blank.
        """
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
        for name in TEST_COLUMNS:  # a sweep with a test split: its kept models' figures
            if name in top:
                board[name] = top[name]
        for name in self.searched:
            board[name] = top[name].map(_short)
        return board

    def counts(self) -> dict[str, int]:
        """Trials by state.

        Returns:
            State -> how many trials are in it (states no trial is in are left out).
        """
        return {str(k): int(v) for k, v in self.trials["state"].value_counts().items()}

    def summary(self, n: int = 10) -> str:
        """What `caviar run` prints at the end and `caviar show` prints: counts, the top `n`.

        Args:
            n: How many trials the leaderboard shows.

        Returns:
            The lines, joined by newlines.
        """
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
        """Write trials.FMT and curves.FMT (csv or parquet) into `out`.

        Earlier exports are overwritten only with `force`: otherwise nothing is written.

        Args:
            out: The directory to write to (made as needed); by default the run's own.
            fmt: `csv` or `parquet`.
            force: Overwrite files an earlier export left.

        Returns:
            The two files written.

        Raises:
            InputError: An unknown format, `out` a file, or an earlier export in the way
                without `force`.
        """
        if fmt not in EXPORT_FORMATS:
            raise InputError("format", f"must be one of {', '.join(EXPORT_FORMATS)}", fmt)
        out = self.path if out is None else out
        if out.exists() and not out.is_dir():
            raise InputError("--out", f"must be a directory, got the file {str(out)!r}")
        paths = {name: out / f"{name}.{fmt}" for name in ("trials", "curves")}
        refuse_clash(list(paths.values()), force)
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
        """The report's chart of every trial's validation cost curve.

        A line per trial (gid: its id), the best drawn again in black (gid `best`), the
        scheduler's rung epochs dashed; with a trainer of one's own, its metric instead.

        Returns:
            The matplotlib Figure.
        """
        return plotting().plot_curves(self)

    def plot_params(self) -> Figure:
        """The report's chart of the metric against each searched hyperparameter.

        The most telling (|Spearman rho|) first, each on its own scale.

        Returns:
            The matplotlib Figure.

        Raises:
            InputError: The sweep file kept in the store no longer reads back, so its
                space is unknown.
        """
        return plotting().plot_params(self)

    def report(self, path: str | Path | None = None) -> Path:
        """Write the HTML report, as `caviar report` does.

        Args:
            path: The HTML file, or a directory to write report.html in; by default the
                run's own report.html.

        Returns:
            The file written.
        """
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
    """The sweep in `path`, read in one snapshot without changing anything (safe while the
    sweep runs; a store of an earlier Caviar is migrated in memory).

    Args:
        path: A run directory (runs/NAME) or its sweep.db.

    Returns:
        Its trials, curves and settings.

    Raises:
        StoreError: No sweep there, a file that is not a sweep database, or a store written
            by a newer Caviar.
    """
    snapshot = read_run(path)
    meta, stored = snapshot.meta, snapshot.trials
    source = meta.source
    metric = str(source.get("metric", "val_cost"))
    params = tuple(dict.fromkeys(k for c in stored.configs for k in c))
    trials = _trials(stored)
    direction = str(source.get("direction", default_direction(metric)))
    models = _models(snapshot.models, 1.0 if direction == "minimize" else -1.0)
    if isinstance(source.get("test_fraction"), int | float) and source["test_fraction"] > 0:
        for name in TEST_COLUMNS:  # scored once the sweep ended; NaN for trials not kept
            trials[name] = models[name].reindex(trials.index).astype(float)
    for name in params:
        trials[name] = [c.get(name) for c in stored.configs]
    return Run(
        path=snapshot.path.parent,
        name=str(source.get("name", snapshot.path.parent.name)),
        metric=metric,
        direction=direction,
        state=meta.state,
        trials=trials,
        curves=_curves(snapshot.curves, _start(meta, stored)),
        params=params,
        boxes=stored.boxes,
        source=source,
        base_dir=Path(meta.base_dir or "."),
        models=models,
    )


def _models(rows: tuple[ModelRow, ...], sign: float) -> pd.DataFrame:
    """`Run.models`: the kept models, best first (by value, then the earlier epoch)."""
    ranked = sorted(rows, key=lambda m: (sign * m.value, m.epoch, m.trial_id))
    frame = pd.DataFrame(
        {
            "epoch": np.array([m.epoch for m in ranked], dtype=np.int64),
            "value": np.array([m.value for m in ranked], dtype=float),
            "test_cost": np.array([m.test_cost for m in ranked], dtype=float),
            "test_accuracy": np.array([m.test_accuracy for m in ranked], dtype=float),
        },
        index=pd.Index([m.trial_id for m in ranked], name="trial_id"),
    )
    return frame[list(MODEL_COLUMNS)]


def _native(value: Any) -> Any:
    """A DataFrame cell as the plain Python value a configuration holds (numpy's int64 as
    an int, and so on)."""
    return value.item() if isinstance(value, np.generic) else value


def _active(value: Any) -> bool:
    """Whether a trial's hyperparameter column holds a value (not an inactive blank)."""
    return value is not None and not (isinstance(value, float) and np.isnan(value))


def _float(row: Any, name: str) -> float | None:
    """A figure of a row, None where it has none (JSON has no NaN)."""
    value = row.get(name, None)
    return None if value is None or not np.isfinite(value) else float(value)


def _trials(stored: TrialColumns) -> pd.DataFrame:
    """The fixed columns of `Run.trials`, indexed by trial id."""
    columns: dict[str, Any] = dict(stored.columns)
    for name in ("best", "started", "ended"):  # None where unknown: NaN
        columns[name] = np.array(columns[name], dtype=float)
    for name in ("number", "stage", "epochs", "starts", "restarts"):
        columns[name] = np.array(columns[name], dtype=np.int64)
    columns["seconds"] = columns["ended"] - columns["started"]
    columns["pauses"] = [list(p) for p in columns["pauses"]]  # exported as JSON: "[1, 3]"
    index = pd.Index(columns.pop("trial_id"), name="trial_id")
    return pd.DataFrame(columns, index=index)[list(TRIAL_COLUMNS)]


def _curves(stored: CurveColumns, start: float) -> pd.DataFrame:
    """`Run.curves`: the stored columns, `time` from each point's `at`, then a column per
    extra field a trainer reported (NaN where it did not)."""
    columns: dict[str, Any] = dict(stored.columns)
    for name in curves.VALUE_COLUMNS:
        columns[name] = np.array(columns[name], dtype=float)
    columns["epoch"] = np.array(columns["epoch"], dtype=np.int64)
    columns["diverged"] = np.array(columns["diverged"], dtype=bool)
    columns["time"] = np.array(columns.pop("at"), dtype=float) - start
    frame = pd.DataFrame(columns)[list(CURVE_COLUMNS)]
    if not any(stored.extra):
        return frame
    parsed = pd.DataFrame.from_records([e or {} for e in stored.extra], index=frame.index)
    parsed = parsed.drop(columns=[c for c in parsed.columns if c in frame.columns])
    return pd.concat([frame, parsed.astype(float)], axis=1)


def _start(meta: SweepMeta, stored: TrialColumns) -> float:
    """When the sweep started by the store's clock: its creation (`created`, set by
    `Store.create`), else its first trial's start; NaN if neither is known."""
    if meta.created is not None:
        return meta.created
    started = [s for s in stored.columns["started"] if s is not None]
    return min(started) if started else float("nan")


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

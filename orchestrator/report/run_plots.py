"""What `Run.plot_curves()`, `Run.plot_params()` and `Run.report()` draw: the report's own
figures for one run, as the plotting backend of `orchestrator.results` (pandas' `df.plot`
finds its matplotlib backend the same way), so results never import the report."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from caviar_common.errors import InputError
from caviar_common.states import TrialState
from orchestrator.report.curve_chart import curves_figure
from orchestrator.report.page import searched, sweep_shape, write_report
from orchestrator.report.params import parameter_figure, rank_correlations
from orchestrator.results.run import Run


def plot_curves(run: Run) -> Figure:
    """Every trial's validation cost curve (a line per trial, gid: its id; the best drawn
    again in black, gid `best`)."""
    minimize = run.direction == "minimize"
    ranked = run.best(len(run.trials))  # as the leaderboard ranks them, ties too
    usable = ranked.index[ranked["state"] != TrialState.DIVERGED]
    best = str(usable[0]) if len(usable) else None
    rungs = sweep_shape(run).rungs
    column = run.curve_column
    return curves_figure(run.trials, run.curves, best, rungs, minimize, column=column)


def plot_params(run: Run) -> Figure:
    """The metric against each searched hyperparameter, the most telling (|Spearman rho|)
    first."""
    shape = sweep_shape(run)
    if shape.space is None:
        raise InputError(
            "source",
            f"the sweep file kept in {run.path} does not read back ({shape.problem}), "
            "so its space is unknown",
        )
    names = searched(run, shape.space)
    ranks = rank_correlations(run.trials, shape.space, names)
    names = [*ranks, *(n for n in names if n not in ranks)]
    minimize = run.direction == "minimize"
    return parameter_figure(run.trials, shape.space, run.metric, names, minimize)


def report(run: Run, out: Path | None) -> Path:
    """Write the run's HTML report to `out` (a file; None: the run's own report.html)."""
    return write_report(run.path, out)

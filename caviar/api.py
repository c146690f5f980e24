"""The Python entry points: the `caviar run`, `resume`, `validate` and `sample` commands as
functions that return what they found (a `Run`, a `SweepSpec`, a DataFrame).

Each raises what the command line reports with exit code 2 as an exception: an
`InputError` (a `SweepErrors` for a sweep) or a `StoreError`, both `CaviarError`s.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from orchestrator.core.spec import SweepSpec
from orchestrator.results.run import Run, load_run
from orchestrator.storage.store import Store

SweepSource = str | os.PathLike[str] | Mapping[str, Any]  # a sweep file, or the same structure


def run(
    sweep: SweepSource,
    *,
    address: str | None = None,
    workers: int | None = None,
    results: str | os.PathLike[str] | None = None,
    report: bool = False,
    dashboard: bool = True,
) -> Run:
    """Run a sweep on Ray as `caviar run` does and return its finished `Run`.

    The sweep is checked whole before anything starts; then Ray is started (or the local
    cluster of `caviar up` joined), progress is printed as `caviar run` prints it, and the
    connection is shut down at the end, so call it from a process that has not called
    `ray.init()`.

    Args:
        sweep: A sweep file's path, or the same structure as a dict (whose relative dataset
            paths are taken from the current directory).
        address: An existing Ray cluster to run on ("auto", "ray://HOST:10001",
            "HOST:6379"); by default the local cluster of `caviar up` if it is up, else a
            private Ray on this machine.
        workers: Trials at a time; by default as many as the cluster's nodes hold of the
            sweep's resources per trial, shared equally with other Caviar sweeps on it.
        results: The folder the run's directory (RESULTS/NAME) goes in; by default
            $CAVIAR_RESULTS, else the sweep's own `results`.
        report: Keep RESULTS/NAME/report.html up to date while the sweep runs.
        dashboard: Start a private Ray with its dashboard (a cluster joined keeps its own).

    Returns:
        The finished sweep's `Run`: its trials and curves as DataFrames.

    Raises:
        SweepErrors: The sweep file is missing or breaks a rule: one `InputError` listing
            every problem, each with its `path`; nothing was created.
        StoreError: The results directory already holds a sweep.
        RuntimeError: Ray is already initialised in this process.
        KeyboardInterrupt: On Ctrl-C (or a notebook's interrupt), once everything recorded
            so far is kept; `caviar.resume(run_dir)` finishes the sweep.
    """
    from orchestrator.execution.runner import default_results, new_run, new_run_from_source

    _refuse_own_ray()
    where = default_results(results)
    if isinstance(sweep, Mapping):
        spec, run_dir, store = new_run_from_source(dict(sweep), Path.cwd(), where)
    else:
        spec, run_dir, store = new_run(Path(sweep), where)
    return _drive(spec, run_dir, store, address, workers, report, dashboard)


def resume(
    path: str | os.PathLike[str],
    *,
    address: str | None = None,
    workers: int | None = None,
    report: bool = False,
    dashboard: bool = True,
) -> Run:
    """Finish an interrupted sweep as `caviar resume` does and return its finished `Run`.

    Finished trials stay, trials that were running continue from their checkpoints, and
    the rest of the budget is run, as the sweep would have run it without the interruption.

    Args:
        path: The sweep's results directory (runs/NAME).
        address: An existing Ray cluster to run on, as for `run`.
        workers: Trials at a time; by default as many as the cluster's nodes hold of the
            sweep's resources per trial, shared equally with other Caviar sweeps on it.
        report: Keep PATH/report.html up to date while the sweep runs.
        dashboard: Start a private Ray with its dashboard (a cluster joined keeps its own).

    Returns:
        The finished sweep's `Run`.

    Raises:
        StoreError: `path` holds no sweep, holds a finished one, or another process runs it.
        SweepErrors: The sweep kept in `path` no longer checks out (its dataset file or its
            trainer's module has gone, say).
        RuntimeError: Ray is already initialised in this process.
        KeyboardInterrupt: On Ctrl-C, once everything recorded so far is kept.
    """
    from orchestrator.execution.runner import reopen_run

    _refuse_own_ray()
    run_dir = Path(path)
    spec, store = reopen_run(run_dir)
    return _drive(spec, run_dir, store, address, workers, report, dashboard)


def extend(
    run: str | os.PathLike[str] | Run,
    *,
    trials: int | None = None,
    max_epochs: int | None = None,
    sampler: str | None = None,
    epochs: int | None = None,
    time_limit: float | None = None,
    address: str | None = None,
    workers: int | None = None,
    report: bool = False,
    dashboard: bool = True,
) -> Run:
    """Grow a sweep as `caviar extend` does, run what was added, and return the `Run`.

    With `trials`, a stage of that many trials is added, sampled by `sampler` (by default
    the last stage's); a TPE stage proposes from every result so far. With `max_epochs`,
    the epoch budget grows: paused trials can be promoted further, and the kept trials that
    completed go on from their checkpoints, under the same scheduler. `load_run(...)`
    shows each trial's stage; an extended sweep resumes like any other.

    Args:
        run: The sweep's results directory (runs/NAME), or its `Run`.
        trials: Trials in the new stage.
        max_epochs: The new epoch budget per trial; never smaller than the sweep's.
        sampler: The new stage's sampler (random, sobol, grid or tpe).
        epochs: The new budget.epochs (all trials together); never smaller. A sweep
            whose trials are open grows this way, or by `time_limit`.
        time_limit: The new budget.time_limit in seconds, over all runs of the sweep;
            never smaller.
        address: An existing Ray cluster to run on, as for `run`.
        workers: Trials at a time; by default as many as the cluster's nodes hold of the
            sweep's resources per trial, shared equally with other Caviar sweeps on it.
        report: Keep RUN/report.html up to date while the sweep runs.
        dashboard: Start a private Ray with its dashboard (a cluster joined keeps its own).

    Returns:
        The grown sweep's `Run`, once it has finished.

    Raises:
        InputError: Nothing to grow given, a value out of range, `trials` for a sweep
            whose trials are open, or the grown sweep file does not check out (nothing is
            changed then).
        StoreError: `run` holds no sweep, or another process runs it.
        RuntimeError: Ray is already initialised in this process.
        KeyboardInterrupt: On Ctrl-C, once everything recorded so far is kept;
            `caviar.resume(run)` finishes it.
    """
    from orchestrator.execution.runner import extend_run

    _refuse_own_ray()
    run_dir = run.path if isinstance(run, Run) else Path(run)
    spec, store = extend_run(
        run_dir,
        trials=trials,
        max_epochs=max_epochs,
        sampler=sampler,
        epochs=epochs,
        time_limit=time_limit,
    )
    return _drive(spec, run_dir, store, address, workers, report, dashboard)


def load_model(path: str | os.PathLike[str], trial: str | int = "best") -> Any:
    """A trained model a sweep kept, as `load_run(path).model(trial)` gives it.

    For the built-in MLP, an object with `predict(X)` and `predict_proba(X)` on raw rows
    (it standardises them as the training split was); for a trainer of one's own, a fresh
    instance with the kept state loaded.

    Args:
        path: The sweep's results directory (runs/NAME).
        trial: "best" (the best trial whose model was kept), a trial id or its number.

    Returns:
        The trained model.

    Raises:
        StoreError: No sweep in `path`.
        InputError: No model of that trial was kept.
    """
    return load_run(Path(path)).model(trial)


def validate(sweep: SweepSource) -> SweepSpec:
    """Check a sweep as `caviar validate` does, the whole sweep before anything is reported.

    A trainer the sweep names is imported (its module's code runs), and the first stage
    is planned, which finds some problems too (a grid implies its own number of trials).

    Args:
        sweep: A sweep file's path, or the same structure as a dict.

    Returns:
        The checked sweep, every default filled in.

    Raises:
        SweepErrors: The sweep file is missing or breaks a rule: one `InputError` (and
            ValueError) whose message lists every problem, one per line, each naming the
            entry, the rule and the value; its `problems` holds them, each an `InputError`
            with its `path`.
    """
    from orchestrator.core.planner import first_stage

    spec = _spec(sweep)
    first_stage(spec)  # planning finds some problems too (a grid implies its trials)
    return spec


def sample(sweep: SweepSource, n: int | None = None) -> pd.DataFrame:
    """The configurations the sweep's first stage would try, as `caviar sample` prints them.

    Later stages zoom around results or learn from them, so only the first is known before
    the sweep runs; of a tpe stage, only its random warm-up.

    Args:
        sweep: A sweep file's path, or the same structure as a dict.
        n: How many configurations; by default the first stage's trials.

    Returns:
        One row per configuration: columns trial, stage and one per sampled setting (None
        where a condition leaves it inactive).

    Raises:
        SweepErrors: The sweep breaks a rule, as for `validate`.
        InputError: `n` is below 1.
    """
    from orchestrator.core.planner import first_stage

    spec = _spec(sweep)
    names = list(spec.space.dims)
    rows = [
        {"trial": i + 1, "stage": p.stage + 1, **{k: p.config.get(k) for k in names}}
        for i, p in enumerate(first_stage(spec, n))
    ]
    return pd.DataFrame(rows, columns=["trial", "stage", *names])


def _spec(sweep: SweepSource) -> SweepSpec:
    from orchestrator.sweepfile.parse import load_sweep, parse_sweep

    if isinstance(sweep, Mapping):
        return parse_sweep(dict(sweep), Path.cwd())
    return load_sweep(Path(sweep))


def _refuse_own_ray() -> None:
    """A sweep starts Ray and shuts it down at its end: refuse before anything is created
    when this process already joined one, whose shutdown would pull it from under its owner."""
    ray = sys.modules.get("ray")  # not imported: then surely not initialised
    if ray is not None and ray.is_initialized():
        raise RuntimeError(
            "ray: already initialised in this process; a sweep connects to Ray itself and "
            "shuts the connection down at its end, so run it from a process that has not "
            "called ray.init() (call ray.shutdown() first, or pass address= in a fresh process)"
        )


def _drive(
    spec: SweepSpec,
    run_dir: Path,
    store: Store,
    address: str | None,
    workers: int | None,
    report: bool,
    dashboard: bool,
) -> Run:
    """Run the sweep as `caviar run` does (progress as plain lines off a terminal) and load
    its results."""
    from orchestrator.execution.runner import drive

    hint = f"caviar.resume({str(run_dir)!r})"
    drive(
        spec,
        run_dir,
        store,
        hint,
        address=address,
        workers=workers,
        report=report,
        dashboard=dashboard,
    )
    return load_run(run_dir)

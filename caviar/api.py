"""The Python entry points: the `caviar run`, `resume`, `validate` and `sample` commands as
functions that return what they found (a `Run`, a `SweepSpec`, a DataFrame)."""

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

    `sweep` is a sweep file or the same structure as a dict (its relative dataset paths
    taken from the current directory). Ray is started here and shut down at the end, so
    call it from a process that has not called `ray.init()` (it refuses). Ctrl-C leaves
    the sweep resumable with `caviar.resume(run_dir)` and raises KeyboardInterrupt.
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
    """Finish an interrupted sweep in `path` (runs/NAME) as `caviar resume` does."""
    from orchestrator.execution.runner import reopen_run

    _refuse_own_ray()
    run_dir = Path(path)
    spec, store = reopen_run(run_dir)
    return _drive(spec, run_dir, store, address, workers, report, dashboard)


def validate(sweep: SweepSource) -> SweepSpec:
    """The sweep checked as `caviar validate` checks it, the whole sweep before anything is
    reported: mistakes raise one ValueError (a `SweepErrors`) whose message lists every
    problem, one per line, each naming the entry, the rule and the value; its `problems`
    holds them as SweepErrors with a `path` each. A trainer the sweep names is imported."""
    from orchestrator.core.planner import first_stage

    spec = _spec(sweep)
    first_stage(spec)  # planning finds some problems too (a grid implies its trials)
    return spec


def sample(sweep: SweepSource, n: int | None = None) -> pd.DataFrame:
    """The configurations the sweep's first stage would try (`n` of them; default: the
    stage's trials), as `caviar sample` prints them: columns trial, stage and one per
    sampled setting (None where inactive). Of a tpe stage, only its random warm-up."""
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

"""compare.py's parent: each run a fresh process, `caviar run` as a user runs it (its epochs
from its store) or a child (its epochs from the trials' own logs); and waiting for a quiet
machine before a full run."""

from __future__ import annotations

import math
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks.common import processes
from benchmarks.common.processes import Finished
from benchmarks.common.tasks import ChildTask, child_argv
from benchmarks.frameworks.children import MODULE, OptunaStudy, TuneRun, read_epoch_logs
from benchmarks.frameworks.rows import Budget, Measure, Row, sweep_source

OTHER_BENCHMARKS = "benchmarks[/.]bench_"  # a full run waits while one of these runs


def failure(run: Finished) -> str:
    return f"exit {run.code}; log {run.log}: " + " | ".join(processes.tail(run.log, 3))


def measure_caviar(m: Measure, source: dict[str, Any], work: Path) -> None:
    """`caviar run FILE --plain --workers 2`; epochs and their end times from its store."""
    from orchestrator.results.run import load_run

    run = processes.run_caviar(source, work, own_ray_tmp=True)
    m.wall = run.wall
    run_dir = Path(source["results"]) / source["name"]
    sweep = load_run(run_dir) if (run_dir / "sweep.db").exists() else None
    if run.code != 0 or sweep is None or sweep.state != "finished":
        m.wall, m.note = math.nan, failure(run)
        return
    # The store has each trial's end time and each epoch's seconds: an epoch ended when
    # the trial ended minus the seconds of the epochs after it (late by the gaps between
    # epochs, so this never flatters Caviar).
    for trial_id, curve in sweep.curves.groupby("trial_id"):
        curve = curve.sort_values("epoch")
        after = curve["seconds"].fillna(0.0)[::-1].cumsum()[::-1] - curve["seconds"].fillna(0.0)
        ended = float(sweep.trials.loc[trial_id, "ended"])
        for (_, point), later in zip(curve.iterrows(), after, strict=True):
            m.points.append(
                (ended - later - run.launched, point["val_cost"], point["val_accuracy"])
            )
    m.points.sort()


def measure_child(m: Measure, task: ChildTask, work: Path) -> None:
    """A Ray Tune or Optuna run in a child process; epochs from the trials' own logs."""
    log = work / f"{task.name}.log"
    run = processes.run_process(child_argv(MODULE, task), log, own_ray_tmp=True)
    m.wall = run.wall
    if run.code != 0 or run.result is None:
        m.wall, m.note = math.nan, failure(run)
        return
    for e in read_epoch_logs(work / task.name):
        m.points.append((e["t"] - run.launched, e["val_cost"], e["val_accuracy"]))
    states = run.result.get("states")
    if states:
        m.note = ", ".join(f"{k.lower()} {v}" for k, v in sorted(states.items()))


def measure(budget: Budget, row: Row, rep: int, work: Path) -> Measure:
    m = Measure(budget.name, row.label, rep)
    source = sweep_source(budget, row, seed=rep, results=work / "runs")
    if row.kind == "caviar":
        measure_caviar(m, source, work)
        return m
    name = source["name"]
    folder = work / name  # the child's epoch logs (and Optuna's journal)
    folder.mkdir()
    task: ChildTask = (
        TuneRun(name, source, str(folder), row.reuse)
        if row.kind == "tune"
        else OptunaStudy(name, source, str(folder))
    )
    measure_child(m, task, work)
    return m


def other_benchmarks() -> list[str]:
    found = subprocess.run(["pgrep", "-af", OTHER_BENCHMARKS], capture_output=True, text=True)
    return [ln for ln in found.stdout.splitlines() if "pgrep" not in ln]


def wait_for_quiet_machine(poll: float = 60.0, load: float = 1.0) -> None:
    """Wait while another benchmark runs, then until the 1-minute load is below `load`:
    a figure measured under load is void."""
    while others := other_benchmarks():
        print(f"waiting: another benchmark runs ({others[0]})", flush=True)
        time.sleep(poll)
    while os.getloadavg()[0] >= load:
        print(f"waiting: load average {os.getloadavg()[0]:.2f} >= {load}", flush=True)
        time.sleep(15)

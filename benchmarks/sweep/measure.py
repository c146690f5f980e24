"""bench_sweep.py's parent: each row measured as a whole process, `caviar run` as a user runs
it (its fit phase from its store) or a child task (its times from its RESULT line)."""

from __future__ import annotations

import json
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import processes
from benchmarks.common.processes import WORKERS, Finished
from benchmarks.common.sweep_db import read_store, trial_span
from benchmarks.common.tasks import ChildTask, child_argv
from benchmarks.common.trials import FixedTrials
from benchmarks.sweep.children import CaviarNull, IdealPool, TuneNull, TuneSweep
from benchmarks.sweep.plan import Plan, Runs, Timing, null_source

MODULE = "benchmarks.bench_sweep"  # the children run as `python -m MODULE --child TASK`


@dataclass
class Session:
    """One invocation's measurements: its size, its work folder, the fixed trials (written
    to `trials_file` for the children) and every row's timings so far."""

    plan: Plan
    tmp: Path
    trials: FixedTrials
    trials_file: Path
    runs: Runs = field(default_factory=dict)

    @property
    def results(self) -> Path:
        return self.tmp / "runs"

    def measure(self, label: str, fn: Callable[..., Timing], *args: Any) -> None:
        """Run one row and print its times as they come."""
        t0 = time.perf_counter()
        timing = fn(*args)
        self.runs.setdefault(label, []).append(timing)
        fit = f", fit phase {timing.fit:.1f} s" if timing.fit is not None else ""
        print(f"  {label}: {timing.wall:.1f} s{fit} [{time.perf_counter() - t0:.0f} s]", flush=True)

    def caviar(
        self,
        source: dict[str, Any],
        workers: int = WORKERS,
        expected: Any = None,
        extra_env: dict[str, str] | None = None,
        options: Sequence[str] = (),
    ) -> Timing:
        return caviar_run(source, workers, self.tmp, expected, extra_env, options)

    def child(self, task: ChildTask) -> Timing:
        return child_run(task, self.tmp)

    def tune(self, label: str, scheduler: str, reuse: bool, n: int) -> Timing:
        name = f"{label.replace(' ', '-')}-{n}"
        storage = str(self.tmp / "tune")
        trials = str(self.trials_file)
        return self.child(TuneSweep(name, scheduler, reuse, trials, self.plan.epochs, storage))

    def tune_null(self, label: str, reuse: bool, n: int) -> Timing:
        name = f"{label.replace(' ', '-')}-{n}"
        plan, storage = self.plan, str(self.tmp / "tune")
        return self.child(TuneNull(name, reuse, plan.null_trials, plan.null_epochs, storage))

    def caviar_null(self, n: int) -> Timing:
        source = null_source(self.plan.null_trials, self.plan.null_epochs, self.results)
        return self.child(CaviarNull(f"caviar-null-{n}", {**source, "name": f"null-{n}"}))

    def pool(self, n: int) -> Timing:
        return self.child(IdealPool(f"pool-{n}", str(self.trials_file), self.plan.epochs))


def caviar_run(
    source: dict[str, Any],
    workers: int,
    tmp: Path,
    expected: Any = None,
    extra_env: dict[str, str] | None = None,
    options: Sequence[str] = (),
) -> Timing:
    """`caviar run FILE --plain --workers N` as a user runs it; fit phase from its store."""
    run = processes.run_caviar(source, tmp, workers, extra_env=extra_env, options=options)
    db = Path(source["results"]) / source["name"] / "sweep.db"
    meta, rows, seconds = read_store(db)
    if meta is None or meta.state != "finished":
        state = meta.state if meta else None
        raise failed(f"caviar run exited {run.code}, sweep state {state}", run)
    epochs = sum(r.epochs for r in rows)
    extra: dict[str, Any] = {
        "states": Counter(str(r.state) for r in rows),
        "epoch_seconds": statistics.median(seconds) if seconds else None,
        "driver_ms_per_epoch": (meta.driver or {}).get("cpu_seconds", math.nan) / epochs * 1e3,
        "first_epoch": (meta.first_result or math.nan) - run.launched,
    }
    if run.code != 0:  # the sweep finished; what came after it failed
        last = processes.tail(run.log, 1)
        extra["exit"] = f"exit {run.code} after the sweep finished: {last[0] if last else ''}"
    if expected is not None:
        got = [[r.number, r.config] for r in rows]
        if json.loads(json.dumps(got)) != json.loads(json.dumps(expected)):
            extra["mismatch"] = "Caviar trained other configurations than the fixed list"
    span = trial_span(rows)
    return Timing(run.wall, span, epochs, extra, (run.launched, run.exited))


def child_run(task: ChildTask, tmp: Path) -> Timing:
    """A measurement in a child process; its times and epochs from its RESULT line."""
    run = processes.run_process(child_argv(MODULE, task), tmp / f"{task.name}.log")
    result = run.result
    if run.code != 0 or result is None:
        raise failed(f"child {task.name} exited {run.code}", run)
    span = (result["span"][0], result["span"][1]) if "span" in result else None
    return Timing(run.wall, span, result.get("epochs", 0), result, (run.launched, run.exited))


def failed(what: str, run: Finished) -> RuntimeError:
    return RuntimeError(f"{what}; log {run.log}:\n" + "\n".join(processes.tail(run.log, 25)))

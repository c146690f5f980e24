"""The measurements bench_sweep.py makes in child processes of their own, each a task."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.common import tune
from benchmarks.common.processes import WORKERS
from benchmarks.common.tasks import ChildTask
from benchmarks.common.trials import FixedTrials, load_data, make_trainer
from benchmarks.sweep.plan import ASHA

if TYPE_CHECKING:
    from orchestrator.core.spec import SweepSpec
    from orchestrator.storage import TrialRow


@dataclass(frozen=True)
class TuneSweep(ChildTask):
    """The sweep on Ray Tune: a function trainable, one `tune.report` per epoch."""

    scheduler: str  # fifo or asha
    reuse: bool
    trials: str  # the FixedTrials file
    epochs: int
    storage: str

    def run(self) -> dict[str, Any]:
        trials = FixedTrials.from_json(Path(self.trials).read_text())
        grid, fit_call = tune.tune_trials(
            trials,
            self.epochs,
            ASHA if self.scheduler == "asha" else None,
            reuse=self.reuse,
            storage=Path(self.storage),
            name=self.name,
        )
        metrics = [grid[i].metrics or {} for i in range(len(grid))]
        return {
            "span": [min(m["t_start"] for m in metrics), max(m["t_now"] for m in metrics)],
            "fit_call": fit_call,
            "epochs": sum(m["training_iteration"] for m in metrics),
            "trials": len(metrics),
        }


@dataclass(frozen=True)
class TuneNull(ChildTask):
    """Trials that do nothing but report `reports` times: all Tune's overhead, no work."""

    reuse: bool
    trials: int
    reports: int
    storage: str

    def run(self) -> dict[str, Any]:
        from ray import tune as ray_tune

        reports = self.reports

        def trainable(param: dict[str, Any]) -> None:
            for i in range(reports):
                ray_tune.report({"i": i})

        grid, total = tune.fit_on_tune(
            trainable,
            range(self.trials),
            reuse=self.reuse,
            storage=Path(self.storage),
            name=self.name,
        )
        return {"total": total, "ideal": 0.0, "trials": len(grid), "errors": len(grid.errors)}


_POOL_DATA: dict[str, Any] = {}  # per pool process: the dataset, loaded on first use


def _pool_trial(args: tuple[FixedTrials, int, int]) -> tuple[float, float, int]:
    trials, number, epochs = args
    start = time.time()
    if "dataset" not in _POOL_DATA:
        _POOL_DATA["dataset"] = load_data(trials.data)
    config = trials.configs[number]
    trainer = make_trainer(trials.seed, number, config, _POOL_DATA["dataset"])
    for _ in range(epochs):
        if trainer.step().diverged:
            break
    return start, time.time(), trainer.epoch


@dataclass(frozen=True)
class IdealPool(ChildTask):
    """No framework: Pool(2) over the configurations, each trained to the end."""

    trials: str  # the FixedTrials file
    epochs: int

    def run(self) -> dict[str, Any]:
        trials = FixedTrials.from_json(Path(self.trials).read_text())
        work = [(trials, number, self.epochs) for number in trials.configs]
        with multiprocessing.Pool(WORKERS) as pool:
            spans = list(pool.imap_unordered(_pool_trial, work, chunksize=1))
        return {
            "span": [min(s[0] for s in spans), max(s[1] for s in spans)],
            "epochs": sum(s[2] for s in spans),
            "trials": len(spans),
        }


@dataclass(frozen=True)
class CaviarNull(ChildTask):
    """Caviar's loop and Ray executor on trials too small to cost anything but overhead."""

    source: dict[str, Any]  # the null sweep's file

    def run(self) -> dict[str, Any]:
        from orchestrator.sweepfile.parse import parse_sweep

        spec = parse_sweep(self.source)
        rows, timed = _null_sweep(spec)
        ideal = _own_work(spec, rows) / WORKERS
        # Warm-up: until every worker has ended its first trial (its first dataset load).
        first_end: dict[str | None, float] = {}
        for row in sorted(rows, key=lambda r: r.started or 0.0):
            first_end.setdefault(row.worker, row.ended or 0.0)
        warm_end = max(first_end.values())
        after = sum(1 for r in rows if (r.ended or 0.0) > warm_end)
        steady = (timed["run_end"] - warm_end - ideal * after / len(rows)) / max(after, 1)
        return {
            "total": timed["total"],
            "ideal": ideal,
            "pool_start": timed["pool_start"],
            "trials": len(rows),
            "states": Counter(str(r.state) for r in rows),
            "warm_up": warm_end - timed["run_start"],
            "steady_ms": steady * 1e3,
        }


def _null_sweep(spec: SweepSpec) -> tuple[list[TrialRow], dict[str, float]]:
    """The sweep run as `caviar run` runs it, in this process: its trials, and the times
    of its worker pool's start and of the run itself."""
    import ray

    from orchestrator.core.loop import Sweep
    from orchestrator.execution.ray_executor import RayExecutor
    from orchestrator.execution.runner import start_ray
    from orchestrator.storage import Store

    store = Store.create(spec.run_dir, spec.source)
    start_ray(None, "caviar-bench-null", WORKERS)
    start = time.perf_counter()
    # as `caviar run` does: the dataset is loaded and put in the object store with the pool
    executor = RayExecutor(spec.name, spec.cpus_per_trial, WORKERS, data=spec.data)
    pool_start = time.perf_counter() - start
    run_start, start = time.time(), time.perf_counter()
    Sweep(spec, store, executor).run()
    total = time.perf_counter() - start
    run_end = time.time()
    ray.shutdown()
    rows = store.trial_rows()
    store.close()
    times = {"pool_start": pool_start, "run_start": run_start, "run_end": run_end}
    return rows, {**times, "total": total}


def _own_work(spec: SweepSpec, rows: list[TrialRow]) -> float:
    """Seconds the trials' own work takes in this process, one after another."""
    from caviar_common.seeds import trial_seed
    from workers.host import TrialHost

    host = TrialHost()
    host.dataset(spec.dataset, spec.seed, spec.val_fraction)
    start = time.perf_counter()
    for row in rows:
        host.begin(row.trial_id, row.config, spec.data, trial_seed(spec.seed, row.number))
        for _ in range(spec.max_epochs):
            host.step(row.trial_id)
        host.end(row.trial_id)
    return time.perf_counter() - start


TASKS = (TuneSweep, TuneNull, IdealPool, CaviarNull)

"""Wall time of one digits sweep run by Caviar, by Ray Tune and by a bare process pool.

Run from the repository root (not part of the test suite; ray[tune] comes with
``.venv/bin/pip install -e '.[bench]'``):

    .venv/bin/python benchmarks/bench_sweep.py [--quick] [--repeat N] [--keep] [--scale]

Every framework trains the same fixed list of configurations (Caviar's own random
sample of the course's space, with the trial seeds Caviar gives them), 2 trials at a
time, one BLAS thread per process. Each Ray measurement starts its own Ray in a fresh
child process, except the "attached" row, whose `caviar run` joins a cluster from
`caviar up` started before it (and warmed by one unmeasured sweep). `--scale` adds the
10,000-trial rows (benchmarks/scale.py). It prints Markdown tables of wall times and
ratios next to their targets.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Before numpy: importing the harness holds every BLAS to one thread, here and in children.
from benchmarks import harness, scale  # noqa: E402
from benchmarks.harness import ROOT, WORKERS, FixedTrials, load_average, spread  # noqa: E402

SCALING_DATASET = "synthetic:rows=60000,features=784,classes=10"
NULL_DATASET = "synthetic:rows=40,features=2,classes=2"

ASHA: dict[str, Any] = {"name": "asha", "grace_period": 1, "reduction_factor": 3}

# Reported in the issue, before Caviar existed, on this machine (seconds).
REPORTED = {
    "pool FIFO": "13.5-20",
    "Tune FIFO default": "128-175",
    "Tune FIFO reuse": "24-31",
    "Tune ASHA default": "99-102",
    "Tune ASHA reuse": "7.8-8.0",
    "Tune null default": "1270 ms",
    "Tune null reuse": "93 ms",
}


SWEEP_ROWS = (
    "Caviar FIFO",
    "Caviar FIFO no dashboard",
    "Caviar FIFO attached",
    "Tune FIFO default",
    "Tune FIFO reuse",
    "pool FIFO",
    "Caviar ASHA",
    "Tune ASHA default",
    "Tune ASHA reuse",
)


@dataclass(frozen=True)
class Plan:
    """How big each measurement is; --quick shrinks everything."""

    trials: int
    epochs: int
    null_trials: int
    null_epochs: int
    scaling_trials: int
    scaling_epochs: int


FULL = Plan(
    trials=64, epochs=30, null_trials=200, null_epochs=10, scaling_trials=4, scaling_epochs=4
)
QUICK = Plan(
    trials=16, epochs=10, null_trials=40, null_epochs=10, scaling_trials=2, scaling_epochs=2
)


@dataclass
class Timing:
    """One measurement: the child process's wall time and what it reported."""

    wall: float
    span: tuple[float, float] | None = None  # time.time() of first trial start, last end
    epochs: int = 0  # epochs trained, over all trials
    extra: dict[str, Any] = field(default_factory=dict)
    process: tuple[float, float] = (math.nan, math.nan)  # time.time() at launch and exit

    @property
    def fit(self) -> float | None:
        """The fit phase: first trial start to last trial end."""
        return None if self.span is None else self.span[1] - self.span[0]

    @property
    def startup(self) -> float | None:
        """Process launch to first trial start (imports, Ray, workers)."""
        return None if self.span is None else self.span[0] - self.process[0]

    @property
    def teardown(self) -> float | None:
        """Last trial end to process exit (Ray shutdown, summary)."""
        return None if self.span is None else self.process[1] - self.span[1]


Runs = dict[str, list[Timing]]  # by row label


# -- sweeps and the fixed configurations -------------------------------------------------


def digits_space() -> dict[str, Any]:
    """The course's digits space, read from the built-in sweep `caviar run` uses.

    Read when asked, not at import: the pool's children import this file, and the
    sweep-file parser's imports must not land in the ideal pool's timings.
    """
    from orchestrator.sweepfile.parse import load_sweep

    return dict(load_sweep(ROOT / "orchestrator" / "sweepfile" / "sweeps" / "digits.yaml").source["space"])


def sweep_source(name: str, scheduler: Any, plan: Plan, results: Path) -> dict[str, Any]:
    return {
        "name": name,
        "dataset": "digits",
        "seed": 0,
        "metric": "val_cost",
        "direction": "minimize",
        "model": {"lr_decay": "inverse_time"},
        "space": digits_space(),
        "sampler": "random",
        "scheduler": scheduler,
        "budget": {"trials": plan.trials, "max_epochs": plan.epochs},
        "results": str(results),
    }


def null_source(trials: int, epochs: int, results: Path) -> dict[str, Any]:
    return {
        "name": "null",
        "dataset": NULL_DATASET,
        "model": {"hidden_layers": 1, "hidden_units": 2, "batch_size": 64},  # one batch
        "space": {"learning_rate": {"type": "log_uniform", "low": 1e-3, "high": 1e-2}},
        "scheduler": "fifo",
        "budget": {"trials": trials, "max_epochs": epochs},
        "results": str(results),
    }


def scaling_source(name: str, plan: Plan, results: Path) -> dict[str, Any]:
    return {
        "name": name,
        "dataset": SCALING_DATASET,
        "model": {"hidden_layers": 2, "hidden_units": 256, "batch_size": 128, "optimizer": "adam"},
        "space": {"learning_rate": {"type": "log_uniform", "low": 1e-4, "high": 1e-2}},
        "scheduler": "fifo",
        "budget": {"trials": plan.scaling_trials, "max_epochs": plan.scaling_epochs},
        "results": str(results),
    }


def fixed_trials(source: dict[str, Any]) -> FixedTrials:
    """The sweep's first-stage configurations and their trial seeds, as Caviar plans them."""
    from orchestrator.sweepfile.parse import parse_sweep

    return FixedTrials.plan(parse_sweep(source))


# -- children: each measurement in its own process ----------------------------------------


def tune_sweep(task: dict[str, Any]) -> dict[str, Any]:
    """The sweep on Ray Tune: a function trainable, one `tune.report` per epoch."""
    trials = FixedTrials.from_json(Path(task["trials"]).read_text())
    grid, fit_call = harness.tune_trials(
        trials,
        task["epochs"],
        ASHA if task["scheduler"] == "asha" else None,
        reuse=task["reuse"],
        storage=Path(task["storage"]),
        name=task["name"],
    )
    metrics = [grid[i].metrics or {} for i in range(len(grid))]
    return {
        "span": [min(m["t_start"] for m in metrics), max(m["t_now"] for m in metrics)],
        "fit_call": fit_call,
        "epochs": sum(m["training_iteration"] for m in metrics),
        "trials": len(metrics),
    }


def tune_null(task: dict[str, Any]) -> dict[str, Any]:
    """Trials that do nothing but report `reports` times: all Tune's overhead, no work."""
    from ray import tune

    reports = task["reports"]

    def trainable(param: dict[str, Any]) -> None:
        for i in range(reports):
            tune.report({"i": i})

    grid, total = harness.fit_on_tune(
        trainable,
        range(task["trials"]),
        reuse=task["reuse"],
        storage=Path(task["storage"]),
        name=task["name"],
    )
    return {"total": total, "ideal": 0.0, "trials": len(grid), "errors": len(grid.errors)}


_POOL_DATA: dict[str, Any] = {}  # per pool process: the dataset, loaded on first use


def _pool_trial(args: tuple[FixedTrials, int, int]) -> tuple[float, float, int]:
    trials, number, epochs = args
    start = time.time()
    if "dataset" not in _POOL_DATA:
        _POOL_DATA["dataset"] = harness.load_data(trials.data)
    config = trials.configs[number]
    trainer = harness.make_trainer(trials.seed, number, config, _POOL_DATA["dataset"])
    for _ in range(epochs):
        if trainer.step().diverged:
            break
    return start, time.time(), trainer.epoch


def ideal_pool(task: dict[str, Any]) -> dict[str, Any]:
    """No framework: Pool(2) over the configurations, each trained to the end."""
    trials = FixedTrials.from_json(Path(task["trials"]).read_text())
    work = [(trials, number, task["epochs"]) for number in trials.configs]
    with multiprocessing.Pool(WORKERS) as pool:
        spans = list(pool.imap_unordered(_pool_trial, work, chunksize=1))
    return {
        "span": [min(s[0] for s in spans), max(s[1] for s in spans)],
        "epochs": sum(s[2] for s in spans),
        "trials": len(spans),
    }


def caviar_null(task: dict[str, Any]) -> dict[str, Any]:
    """Caviar's loop and Ray executor on trials too small to cost anything but overhead."""
    import ray

    from caviar_common.seeds import trial_seed
    from orchestrator.core.loop import Sweep
    from orchestrator.execution.ray_executor import RayExecutor
    from orchestrator.execution.runner import start_ray
    from orchestrator.storage.store import Store
    from orchestrator.sweepfile.parse import parse_sweep
    from workers.host import TrialHost

    spec = parse_sweep(task["source"])
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
    # The same trials' own work, in this process, as if spread perfectly over the workers.
    host = TrialHost()
    host.dataset(spec.dataset, spec.seed, spec.val_fraction)
    start = time.perf_counter()
    for row in rows:
        host.begin(row["trial_id"], row["config"], spec.data, trial_seed(spec.seed, row["number"]))
        for _ in range(spec.max_epochs):
            host.step(row["trial_id"])
        host.end(row["trial_id"])
    ideal = (time.perf_counter() - start) / WORKERS
    # Warm-up: until every worker has ended its first trial (its first dataset load).
    first_end: dict[str, float] = {}
    for row in sorted(rows, key=lambda r: r["started"]):
        first_end.setdefault(row["worker"], row["ended"])
    warm_end = max(first_end.values())
    after = sum(1 for r in rows if r["ended"] > warm_end)
    steady = (run_end - warm_end - ideal * after / len(rows)) / max(after, 1)
    return {
        "total": total,
        "ideal": ideal,
        "pool_start": pool_start,
        "trials": len(rows),
        "states": Counter(r["state"] for r in rows),
        "warm_up": warm_end - run_start,
        "steady_ms": steady * 1e3,
    }


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "tune": tune_sweep,
    "tune-null": tune_null,
    "pool": ideal_pool,
    "caviar-null": caviar_null,
}


# -- the parent: Caviar's own command line, and the children above -------------------------


def caviar_run(
    source: dict[str, Any],
    workers: int,
    tmp: Path,
    expected: Any = None,
    extra_env: dict[str, str] | None = None,
    options: Sequence[str] = (),
) -> Timing:
    """`caviar run FILE --plain --workers N` as a user runs it; fit phase from its store."""
    run = harness.run_caviar(source, tmp, workers, extra_env=extra_env, options=options)
    db = Path(source["results"]) / source["name"] / "sweep.db"
    state, rows, seconds = read_store(db) if db.exists() else (None, [], [])
    if state != "finished":
        raise failed(f"caviar run exited {run.code}, sweep state {state}", run)
    keys = read_keys(db, ("driver", "first_result"))
    epochs = sum(r["epochs"] for r in rows)
    extra: dict[str, Any] = {
        "states": Counter(r["state"] for r in rows),
        "epoch_seconds": statistics.median(seconds) if seconds else None,
        "driver_ms_per_epoch": (keys["driver"] or {}).get("cpu_seconds", math.nan) / epochs * 1e3,
        "first_epoch": (keys["first_result"] or math.nan) - run.launched,
    }
    if run.code != 0:  # the sweep finished; what came after it failed
        last = harness.tail(run.log, 1)
        extra["exit"] = f"exit {run.code} after the sweep finished: {last[0] if last else ''}"
    if expected is not None:
        got = [[r["number"], r["config"]] for r in rows]
        if json.loads(json.dumps(got)) != json.loads(json.dumps(expected)):
            extra["mismatch"] = "Caviar trained other configurations than the fixed list"
    span = (min(r["started"] for r in rows), max(r["ended"] for r in rows))
    return Timing(run.wall, span, sum(r["epochs"] for r in rows), extra, process_times(run))


def read_keys(db: Path, keys: Sequence[str]) -> dict[str, Any]:
    """Values of the sweep table (None where a key is missing)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        found = dict(conn.execute("SELECT key, value FROM sweep").fetchall())
    finally:
        conn.close()
    return {k: json.loads(found[k]) if k in found else None for k in keys}


def read_store(db: Path) -> tuple[str | None, list[dict[str, Any]], list[float]]:
    """The sweep's state, its trials and its epochs' seconds, from runs/NAME/sweep.db."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM sweep WHERE key = 'state'").fetchone()
        cur = conn.execute("SELECT number, config, state, started, ended, epochs FROM trials")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, values, strict=True)) for values in cur.fetchall()]
        seconds = [v for (v,) in conn.execute("SELECT seconds FROM curves") if v is not None]
    finally:
        conn.close()
    for r in rows:
        r["config"] = json.loads(r["config"])
    rows.sort(key=lambda r: r["number"])
    return (json.loads(row[0]) if row else None), rows, seconds


def child_run(task: dict[str, Any], tmp: Path) -> Timing:
    """A measurement in a child process; its times and epochs from its RESULT line."""
    run = harness.run_process(harness.child_argv(__file__, task), tmp / f"{task['name']}.log")
    result = run.result
    if run.code != 0 or result is None:
        raise failed(f"child {task['name']} exited {run.code}", run)
    span = (result["span"][0], result["span"][1]) if "span" in result else None
    return Timing(run.wall, span, result.get("epochs", 0), result, process_times(run))


def process_times(run: harness.Finished) -> tuple[float, float]:
    return run.launched, run.exited


def failed(what: str, run: harness.Finished) -> RuntimeError:
    return RuntimeError(f"{what}; log {run.log}:\n" + "\n".join(harness.tail(run.log, 25)))


# -- reporting ----------------------------------------------------------------------------


def med(values: Sequence[float | None]) -> float | None:
    clean = [v for v in values if v is not None]
    return statistics.median(clean) if clean else None


def fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}{unit}"


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("OK" if ok else "MISS")


def median_of(runs: Runs, label: str, key: Callable[[Timing], float | None]) -> float | None:
    return med([key(t) for t in runs.get(label, [])])


def wall(runs: Runs, label: str) -> float | None:
    return median_of(runs, label, lambda t: t.wall)


def fit(runs: Runs, label: str) -> float | None:
    return median_of(runs, label, lambda t: t.fit)


def overhead_ms(runs: Runs, label: str) -> float | None:
    """Null trials' cost per trial beyond their own work: (total - ideal) / trials."""
    return median_of(
        runs, label, lambda t: (t.extra["total"] - t.extra["ideal"]) / t.extra["trials"] * 1e3
    )


def main(argv: Sequence[str] | None = None) -> int:
    return harness.bench_main(parser(), argv, CHILDREN, run)


def parser() -> argparse.ArgumentParser:
    made = harness.bench_parser(
        __doc__.split("\n\n")[0],
        quick=f"{QUICK.trials} trials x {QUICK.epochs} epochs, {QUICK.null_trials} null "
        "trials, one repetition: a few minutes",
        repeat="repetitions of the cheap rows (default 3, or 1 with --quick); Ray Tune "
        "without reuse_actors always runs once",
        keep="keep the results and logs",
    )
    made.add_argument(
        "--null-only",
        action="store_true",
        help="only the null-trial rows (Caviar and Ray Tune with reuse_actors)",
    )
    made.add_argument(
        "--scale",
        action="store_true",
        help="also run the 10,000-trial rows (1,000 with --quick), on one node and on two",
    )
    return made


def run(args: argparse.Namespace) -> int:
    """The measurements, interleaved, then the tables."""
    plan = QUICK if args.quick else FULL
    tmp = Path(tempfile.mkdtemp(prefix="caviar-bench-sweep-"))
    results = tmp / "runs"
    import ray

    print(f"Python {sys.version.split()[0]}, Ray {ray.__version__}, {os.cpu_count()} CPUs")
    print(
        f"Mode {'quick' if args.quick else 'full'}: digits, {plan.trials} trials x "
        f"{plan.epochs} epochs, {WORKERS} at a time; {args.repeat} run(s) of each cheap row, "
        f"1 of each Ray Tune default row; work in {tmp}\n"
    )
    trials = fixed_trials(sweep_source("configs", "fifo", plan, results))
    trials_file = tmp / "trials.json"
    trials_file.write_text(trials.to_json())
    started = time.perf_counter()

    runs: Runs = {}

    def measure(label: str, fn: Callable[..., Timing], *args: Any) -> None:
        t0 = time.perf_counter()
        timing = fn(*args)
        runs.setdefault(label, []).append(timing)
        fit = f", fit phase {timing.fit:.1f} s" if timing.fit is not None else ""
        print(f"  {label}: {timing.wall:.1f} s{fit} [{time.perf_counter() - t0:.0f} s]", flush=True)

    def tune(label: str, scheduler: str, reuse: bool, n: int) -> Callable[[], Timing]:
        name = f"{label.replace(' ', '-')}-{n}"
        task = {
            "kind": "tune",
            "name": name,
            "scheduler": scheduler,
            "reuse": reuse,
            "trials": str(trials_file),
            "epochs": plan.epochs,
            "storage": str(tmp / "tune"),
        }
        return lambda: child_run(task, tmp)

    def null_task(n: int) -> dict[str, Any]:
        return {
            "kind": "caviar-null",
            "name": f"caviar-null-{n}",
            "source": {
                **null_source(plan.null_trials, plan.null_epochs, results),
                "name": f"null-{n}",
            },
        }

    def tune_null_run(label: str, reuse: bool, n: int) -> Callable[[], Timing]:
        task = {
            "kind": "tune-null",
            "name": f"{label.replace(' ', '-')}-{n}",
            "reuse": reuse,
            "trials": plan.null_trials,
            "reports": plan.null_epochs,
            "storage": str(tmp / "tune"),
        }
        return lambda: child_run(task, tmp)

    for n in range(args.repeat):  # interleaved, so the shared machine's load hits every row
        print(f"Repetition {n + 1} of {args.repeat} (load average {load_average()})")
        if args.null_only:
            measure("Caviar null", child_run, null_task(n), tmp)
            measure("Tune null reuse", tune_null_run("Tune null reuse", True, n))
            continue
        for label, scheduler in (("Caviar FIFO", "fifo"), ("Caviar ASHA", ASHA)):
            source = sweep_source(f"{label.split()[1].lower()}-{n}", scheduler, plan, results)
            measure(label, caviar_run, source, WORKERS, tmp, trials.pairs())
        source = sweep_source(f"lean-{n}", "fifo", plan, results)
        options = ("--no-dashboard",)
        measure("Caviar FIFO no dashboard", caviar_run, source, WORKERS, tmp, None, None, options)
        with scale.up_cluster(tmp, WORKERS) as cluster:  # up, a warm-up sweep, the measured one
            warm = {**sweep_source(f"warm-{n}", "fifo", QUICK, results)}
            warm["budget"] = {"trials": 2, "max_epochs": 1}
            caviar_run(warm, WORKERS, tmp, None, cluster.env)
            source = sweep_source(f"attached-{n}", "fifo", plan, results)
            measure("Caviar FIFO attached", caviar_run, source, WORKERS, tmp, None, cluster.env)
        pool_task = {
            "kind": "pool",
            "name": f"pool-{n}",
            "trials": str(trials_file),
            "epochs": plan.epochs,
        }
        measure("pool FIFO", child_run, pool_task, tmp)
        measure("Tune FIFO reuse", tune("Tune FIFO reuse", "fifo", True, n))
        measure("Tune ASHA reuse", tune("Tune ASHA reuse", "asha", True, n))
        measure("Caviar null", child_run, null_task(n), tmp)
        measure("Tune null reuse", tune_null_run("Tune null reuse", True, n))
        for workers in (1, 2):
            source = scaling_source(f"scaling-{workers}w-{n}", plan, results)
            measure(f"scaling {workers}w", caviar_run, source, workers, tmp)
    if not args.null_only:
        print(f"Ray Tune with its defaults, once each (load average {load_average()})")
        measure("Tune FIFO default", tune("Tune FIFO default", "fifo", False, 0))
        measure("Tune ASHA default", tune("Tune ASHA default", "asha", False, 0))
        measure("Tune null default", tune_null_run("Tune null default", False, 0))

    scaled = scale.main_scale(tmp, results, args.quick) if args.scale else {}

    for table in (sweep_table, driver_table, null_table, scaling_table):
        print("\n".join(table(runs, plan)))
    if scaled:
        trials = scale.QUICK_SCALE_TRIALS if args.quick else scale.SCALE_TRIALS
        print("\n".join(scale.scale_table(scaled, trials)))
    print("\n".join(targets_table(runs, scaled)))
    print(
        f"\nLoad average at the end: {load_average()} (other jobs on the machine skew every row)."
    )
    print(f"\nTotal {time.perf_counter() - started:.0f} s.")
    harness.keep_or_remove(tmp, args.keep, "Results and logs")
    return 0


def sweep_table(runs: Runs, plan: Plan) -> list[str]:
    """The digits sweep: a line per row that ran, what the columns mean, what went wrong."""
    notes = {
        f"{label}: {t.extra[key]}"
        for label in runs
        for t in runs[label]
        for key in ("exit", "mismatch")
        if key in t.extra
    }
    return [
        f"\n### Sweep: digits, {plan.trials} trials x {plan.epochs} epochs, {WORKERS} at a time\n",
        "| run | runs | process s | startup s | fit phase s | teardown s | epochs "
        "| process / Tune default | process / Tune reuse | fit / ideal pool | reported before s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(sweep_line(runs, label) for label in SWEEP_ROWS if label in runs),
        "\nprocess = wall time of the whole child process (`caviar run FILE --plain --workers "
        "2` for Caviar;\na Python child that starts Ray, fits and shuts Ray down for Ray Tune; "
        "the Pool(2) child for the ideal)\n= startup (to the first trial's start) + fit phase "
        "(to the last trial's end) + teardown.\nTrial starts and ends: trials.started/ended in "
        "Caviar's sweep.db; time.time() in the trials elsewhere.\nMedians, range in brackets. "
        "Ray Tune without reuse_actors ran once (over 2 minutes per run at full size).",
        *(f"note: {note}" for note in sorted(notes)),
    ]


def sweep_line(runs: Runs, label: str) -> str:
    """A sweep row; Caviar's process time over Tune's, and FIFO fit phases over the pool's."""
    rs, sched = runs[label], label.split()[1]
    caviar = label.startswith("Caviar")
    vs_default = ratio(wall(runs, label), wall(runs, f"Tune {sched} default")) if caviar else None
    vs_reuse = ratio(wall(runs, label), wall(runs, f"Tune {sched} reuse")) if caviar else None
    vs_pool = ratio(fit(runs, label), fit(runs, "pool FIFO")) if sched == "FIFO" else None
    name = "ideal Pool(2), no framework" if label == "pool FIFO" else label
    return (
        f"| {name} | {len(rs)} | {spread([t.wall for t in rs], 1)} "
        f"| {fmt(median_of(runs, label, lambda t: t.startup))} "
        f"| {spread([t.fit for t in rs], 1)} "
        f"| {fmt(median_of(runs, label, lambda t: t.teardown))} | {rs[0].epochs} "
        f"| {fmt(vs_default, 2, 'x')} | {fmt(vs_reuse, 2, 'x')} | {fmt(vs_pool, 2, 'x')} "
        f"| {REPORTED.get(label, '')} |"
    )


DRIVER_ROWS = ("Caviar FIFO", "Caviar FIFO no dashboard", "Caviar FIFO attached", "Caviar ASHA")


def driver_table(runs: Runs, plan: Plan) -> list[str]:
    """What the driver cost, and how long the user waited for a first number."""
    lines = [
        f"\n### Driver: digits, {plan.trials} trials x {plan.epochs} epochs\n",
        "| run | driver CPU ms/epoch | first epoch s after launch | startup s | teardown s |",
        "|---|---|---|---|---|",
    ]
    for label in DRIVER_ROWS:
        if label in runs:
            lines.append(
                f"| {label} "
                f"| {spread([t.extra['driver_ms_per_epoch'] for t in runs[label]], 3)} "
                f"| {spread([t.extra['first_epoch'] for t in runs[label]], 2)} "
                f"| {fmt(median_of(runs, label, lambda t: t.startup))} "
                f"| {fmt(median_of(runs, label, lambda t: t.teardown))} |"
            )
    return [
        *lines,
        "\ndriver CPU = CPU seconds of the `caviar run` process while it drove the sweep (its "
        "Ray client threads included),\nas the sweep records it, over the epochs trained. "
        "first epoch = when the driver recorded the first result,\nfrom the process's launch.",
    ]


def null_table(runs: Runs, plan: Plan) -> list[str]:
    """Trials too small to cost anything but the framework's overhead."""
    return [
        f"\n### Null trials: {plan.null_trials} trials x {plan.null_epochs} reports, "
        f"{WORKERS} at a time\n",
        "| run | runs | total s | ideal s | overhead ms/trial | worker pool start s "
        "| warm-up s | after warm-up ms/trial | reported before |",
        "|---|---|---|---|---|---|---|---|---|",
        *(
            null_line(runs, label)
            for label in ("Caviar null", "Tune null default", "Tune null reuse")
            if label in runs
        ),
        "\nCaviar: orchestrator.core.loop.Sweep + RayExecutor in one process on "
        f"'{NULL_DATASET}' (one mini-batch per epoch);\ntotal = Sweep.run() with the worker "
        "pool already up (its start is the last column), ideal = the same trials' TrialHost "
        f"work in-process / {WORKERS}.\nRay Tune: tuner.fit() of a function trainable that "
        "only reports; ideal 0. overhead = (total - ideal) / trials.\nwarm-up = Sweep.run() "
        "start until every worker has ended its first trial (which loads the dataset);\n"
        "after warm-up = the same overhead over the trials that ended after that.",
    ]


def null_line(runs: Runs, label: str) -> str:
    def extra(key: str, digits: int) -> str:
        return fmt(median_of(runs, label, lambda t: t.extra.get(key)), digits)

    return (
        f"| {label} | {len(runs[label])} | {extra('total', 2)} | {extra('ideal', 2)} "
        f"| {fmt(overhead_ms(runs, label), 1)} | {extra('pool_start', 2)} "
        f"| {extra('warm_up', 2)} | {extra('steady_ms', 1)} | {REPORTED.get(label, '')} |"
    )


def scaling_table(runs: Runs, plan: Plan) -> list[str]:
    """Caviar on a large set with 1 and 2 workers."""
    lines = [
        f"\n### Scaling: Caviar on '{SCALING_DATASET}', 2x256 b128 adam, "
        f"{plan.scaling_trials} trials x {plan.scaling_epochs} epochs\n",
        "| workers | runs | process s | startup s | fit phase s | median s/epoch |",
        "|---|---|---|---|---|---|",
    ]
    for w in (1, 2):
        label = f"scaling {w}w"
        if label in runs:
            lines.append(
                f"| {w} | {len(runs[label])} | {fmt(wall(runs, label))} "
                f"| {fmt(median_of(runs, label, lambda t: t.startup))} "
                f"| {spread([t.fit for t in runs[label]], 1)} "
                f"| {fmt(median_of(runs, label, lambda t: t.extra.get('epoch_seconds')), 2)} |"
            )
    return [*lines, "\nThe fit phase includes each worker loading the dataset on its first trial."]


Target = tuple[str, float | None, float, bool]  # name, measured, goal, goal is a minimum


def targets(runs: Runs, scaled: dict[str, Any] | None = None) -> list[Target]:
    """Each target: its name, the measured value, the goal, and whether it is a minimum."""
    found: list[Target] = []
    for sched in ("FIFO", "ASHA"):
        for kind, goal in (("default", 0.1), ("reuse", 0.6)):
            value = ratio(wall(runs, f"Caviar {sched}"), wall(runs, f"Tune {sched} {kind}"))
            found.append((f"caviar run process / Ray Tune {kind}, {sched}", value, goal, False))
    driver = median_of(runs, "Caviar FIFO", lambda t: t.extra.get("driver_ms_per_epoch"))
    first = median_of(runs, "Caviar FIFO attached", lambda t: t.extra.get("first_epoch"))
    found += [
        (
            "Caviar FIFO fit phase / ideal pool",
            ratio(fit(runs, "Caviar FIFO"), fit(runs, "pool FIFO")),
            1.15,
            False,
        ),
        ("Caviar FIFO driver CPU, ms/epoch", driver, 0.5, False),
        ("Caviar null-trial overhead, ms/trial", overhead_ms(runs, "Caviar null"), 5, False),
        ("attached to caviar up: first epoch after launch, s", first, 1.0, False),
        (
            "scaling: fit phase 1 worker / 2 workers",
            ratio(fit(runs, "scaling 1w"), fit(runs, "scaling 2w")),
            1.8,
            True,
        ),
    ]
    for label, r in (scaled or {}).items():
        for command, seconds in r.commands.items():
            found.append((f"scale, {label}: caviar {command}, s", seconds, 10, False))
    return found


def targets_table(runs: Runs, scaled: dict[str, Any] | None = None) -> list[str]:
    lines = ["\n### Targets\n", "| target | measured | goal | |", "|---|---|---|---|"]
    for name, value, goal, at_least in targets(runs, scaled):
        unit = "" if ("ms" in name or name.endswith(", s")) else "x"
        ok = (
            None
            if value is None or not math.isfinite(value)
            else (value >= goal if at_least else value <= goal)
        )
        lines.append(
            f"| {name} | {fmt(value, 2, unit)} | {'>=' if at_least else '<='} {goal:g}{unit} "
            f"| {verdict(ok)} |"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())

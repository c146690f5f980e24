"""Wall time of one digits sweep run by Caviar, by Ray Tune and by a bare process pool.

Run from the repository root (not part of the test suite; ray[tune] comes with
``.venv/bin/pip install -e '.[bench]'``):

    .venv/bin/python benchmarks/bench_sweep.py [--quick] [--repeat N] [--keep]

Every framework trains the same fixed list of configurations (Caviar's own random
sample of the course's space, with the trial seeds Caviar gives them), 2 trials at a
time, one BLAS thread per process. Each Ray measurement starts its own Ray in a fresh
child process. It prints Markdown tables of wall times and ratios next to their targets.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from workers.threads import BLAS_VARIABLES as THREAD_VARS  # noqa: E402  (imports nothing)

# Before numpy is imported, here and (through the environment) in every child process.
for _var in THREAD_VARS:
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # benchmark the working tree, installed or not

WORKERS = 2  # trials at a time, and the CPUs every Ray is started with
SCALING_DATASET = "synthetic:rows=60000,features=784,classes=10"
NULL_DATASET = "synthetic:rows=40,features=2,classes=2"
RESULT = "RESULT "  # a child's last stdout line: this prefix, then JSON

# The course's digits space, as orchestrator/sweeps/digits.yaml has it.
DIGITS_SPACE: dict[str, Any] = {
    "learning_rate": {"type": "log_uniform", "low": 1e-4, "high": 1},
    "hidden_units": {"type": "int_uniform", "low": 50, "high": 100},
    "hidden_layers": {"type": "int_uniform", "low": 2, "high": 4},
    "batch_size": {"type": "power_of_two", "low": 32, "high": 256},
    "optimizer": ["momentum", "adam"],
    "beta": {
        "type": "one_minus_log_uniform",
        "low": 0.9,
        "high": 0.999,
        "when": {"optimizer": "momentum"},
    },
    "beta1": {
        "type": "one_minus_log_uniform",
        "low": 0.8,
        "high": 0.95,
        "when": {"optimizer": "adam"},
    },
    "beta2": {
        "type": "one_minus_log_uniform",
        "low": 0.99,
        "high": 0.9999,
        "when": {"optimizer": "adam"},
    },
    "epsilon": {"type": "log_uniform", "low": 1e-9, "high": 1e-6, "when": {"optimizer": "adam"}},
    "decay_rate": {"type": "log_uniform", "low": 1e-3, "high": 1},
}
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


# -- sweeps and the fixed configurations -------------------------------------------------


def sweep_source(name: str, scheduler: Any, plan: Plan, results: Path) -> dict[str, Any]:
    return {
        "name": name,
        "dataset": "digits",
        "seed": 0,
        "metric": "val_cost",
        "direction": "minimize",
        "model": {"lr_decay": "inverse_time"},
        "space": DIGITS_SPACE,
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


def fixed_trials(source: dict[str, Any]) -> dict[str, Any]:
    """The sweep's first-stage configurations and their trial seeds, as Caviar plans them."""
    from orchestrator.planner import TRIAL_STREAM, plan_stage
    from orchestrator.sweepfile import parse_sweep

    spec = parse_sweep(source)
    proposals = plan_stage(spec.space, spec.model, spec.stages, 0, [], spec.sign, spec.seed)
    return {
        "data": {"spec": spec.dataset, "seed": spec.seed, "val_fraction": spec.val_fraction},
        "seed": [spec.seed, TRIAL_STREAM],  # + the trial's number, as the loop spawns it
        "trials": [[number, p.config] for number, p in enumerate(proposals, start=1)],
    }


def make_trainer(trials: dict[str, Any], number: int, config: dict[str, Any], dataset: Any) -> Any:
    import numpy as np

    from workers.trainer import Trainer

    seed = np.random.SeedSequence(trials["seed"][0], spawn_key=(*trials["seed"][1:], number))
    return Trainer(config, dataset, seed)


def load_data(trials: dict[str, Any]) -> Any:
    from workers.datasets import load_dataset

    data = trials["data"]
    return load_dataset(data["spec"], seed=data["seed"], val_fraction=data["val_fraction"])


# -- children: each measurement in its own process ----------------------------------------


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({v: "1" for v in THREAD_VARS})
    env["RAY_AUTH_MODE"] = "token"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("RAY_ADDRESS", None)  # every measurement starts its own Ray
    return env


def run_child(argv: list[str], log: Path, expect_result: bool = True) -> tuple[Timing, Any, int]:
    """Run a process to its end; returns its times, its RESULT (or None), its exit code."""
    launched = time.time()
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.run(argv, cwd=ROOT, env=child_env(), stdout=out, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    exited = time.time()
    lines = log.read_text().splitlines()
    result = next(
        (json.loads(ln[len(RESULT) :]) for ln in reversed(lines) if ln.startswith(RESULT)), None
    )
    if expect_result and (proc.returncode != 0 or result is None):
        tail = "\n".join(lines[-25:])
        raise RuntimeError(f"{' '.join(argv[:4])} ... exited {proc.returncode}; log {log}:\n{tail}")
    return Timing(wall, process=(launched, exited)), result, proc.returncode


def child(task: dict[str, Any]) -> dict[str, Any]:
    kinds: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "tune": tune_sweep,
        "tune-null": tune_null,
        "pool": ideal_pool,
        "caviar-null": caviar_null,
    }
    return kinds[task["kind"]](task)


def tune_sweep(task: dict[str, Any]) -> dict[str, Any]:
    """The sweep on Ray Tune: a function trainable, one `tune.report` per epoch."""
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    trials = json.loads(Path(task["trials"]).read_text())
    configs = {number: config for number, config in trials["trials"]}
    epochs = task["epochs"]

    def trainable(param: dict[str, Any], dataset: Any) -> None:
        t_start = time.time()
        number = param["number"]
        trainer = make_trainer(trials, number, configs[number], dataset)
        for _ in range(epochs):
            record = trainer.step()
            tune.report({"val_cost": record.val_cost, "t_start": t_start, "t_now": time.time()})
            if record.diverged:  # Caviar ends a diverged trial there too
                return

    ray.init(num_cpus=WORKERS)
    dataset = load_data(trials)  # shipped once through the object store
    scheduler: Any = FIFOScheduler()
    if task["scheduler"] == "asha":
        scheduler = ASHAScheduler(
            metric="val_cost",
            mode="min",
            grace_period=ASHA["grace_period"],
            reduction_factor=ASHA["reduction_factor"],
            max_t=epochs,
        )
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(trainable, dataset=dataset), {"cpu": 1}),
        param_space={"number": tune.grid_search(sorted(configs))},
        tune_config=tune.TuneConfig(
            scheduler=scheduler, max_concurrent_trials=WORKERS, reuse_actors=task["reuse"]
        ),
        run_config=tune.RunConfig(storage_path=task["storage"], name=task["name"], verbose=0),
    )
    start = time.perf_counter()
    grid = tuner.fit()
    fit_call = time.perf_counter() - start
    ray.shutdown()
    metrics = [grid[i].metrics or {} for i in range(len(grid))]
    if grid.errors:
        raise RuntimeError(f"{len(grid.errors)} Ray Tune trials failed: {grid.errors[0]!r}")
    return {
        "span": [min(m["t_start"] for m in metrics), max(m["t_now"] for m in metrics)],
        "fit_call": fit_call,
        "epochs": sum(m["training_iteration"] for m in metrics),
        "trials": len(metrics),
    }


def tune_null(task: dict[str, Any]) -> dict[str, Any]:
    """Trials that do nothing but report `reports` times: all Tune's overhead, no work."""
    import ray
    from ray import tune

    reports = task["reports"]

    def trainable(param: dict[str, Any]) -> None:
        for i in range(reports):
            tune.report({"i": i})

    ray.init(num_cpus=WORKERS)
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space={"n": tune.grid_search(list(range(task["trials"])))},
        tune_config=tune.TuneConfig(max_concurrent_trials=WORKERS, reuse_actors=task["reuse"]),
        run_config=tune.RunConfig(storage_path=task["storage"], name=task["name"], verbose=0),
    )
    start = time.perf_counter()
    grid = tuner.fit()
    total = time.perf_counter() - start
    ray.shutdown()
    return {"total": total, "ideal": 0.0, "trials": len(grid), "errors": len(grid.errors)}


_POOL_DATA: dict[str, Any] = {}  # per pool process: the dataset, loaded on first use


def _pool_trial(args: tuple[dict[str, Any], int, dict[str, Any], int]) -> tuple[float, float, int]:
    trials, number, config, epochs = args
    start = time.time()
    if "dataset" not in _POOL_DATA:
        _POOL_DATA["dataset"] = load_data(trials)
    trainer = make_trainer(trials, number, config, _POOL_DATA["dataset"])
    for _ in range(epochs):
        if trainer.step().diverged:
            break
    return start, time.time(), trainer.epoch


def ideal_pool(task: dict[str, Any]) -> dict[str, Any]:
    """No framework: Pool(2) over the configurations, each trained to the end."""
    trials = json.loads(Path(task["trials"]).read_text())
    work = [(trials, number, config, task["epochs"]) for number, config in trials["trials"]]
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

    from orchestrator.loop import Sweep
    from orchestrator.planner import TRIAL_STREAM
    from orchestrator.ray_executor import RayExecutor
    from orchestrator.runner import start_ray
    from orchestrator.store import Store
    from orchestrator.sweepfile import parse_sweep
    from workers.host import TrialHost

    spec = parse_sweep(task["source"])
    store = Store.create(spec.run_dir, spec.source)
    start_ray(None, "caviar-bench-null", WORKERS)
    start = time.perf_counter()
    executor = RayExecutor(spec.name, spec.cpus_per_trial, WORKERS)
    pool_start = time.perf_counter() - start
    run_start, start = time.time(), time.perf_counter()
    Sweep(spec, store, executor).run()
    total = time.perf_counter() - start
    run_end = time.time()
    ray.shutdown()
    rows = store.trial_rows()
    # The same trials' own work, in this process, as if spread perfectly over the workers.
    host = TrialHost()
    data = {"spec": spec.dataset, "seed": spec.seed, "val_fraction": spec.val_fraction}
    host.dataset(spec.dataset, spec.seed, spec.val_fraction)
    start = time.perf_counter()
    for row in rows:
        host.begin(row["trial_id"], row["config"], data, (spec.seed, TRIAL_STREAM, row["number"]))
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


# -- the parent: Caviar's own command line, and the children above -------------------------


def caviar_command() -> list[str]:
    script = Path(sys.executable).parent / "caviar"
    return [str(script)] if script.exists() else [sys.executable, "-m", "orchestrator.cli"]


def caviar_run(source: dict[str, Any], workers: int, tmp: Path, expected: Any = None) -> Timing:
    """`caviar run FILE --plain --workers N` as a user runs it; fit phase from its store."""
    import yaml

    path = tmp / f"{source['name']}.yaml"
    path.write_text(yaml.safe_dump(source, sort_keys=False))
    log = tmp / f"{source['name']}.log"
    argv = [*caviar_command(), "run", str(path), "--plain", "--workers", str(workers)]
    timing, _, code = run_child(argv, log, expect_result=False)
    db = Path(source["results"]) / source["name"] / "sweep.db"
    state, rows, seconds = read_store(db) if db.exists() else (None, [], [])
    if state != "finished":
        tail = "\n".join(log.read_text().splitlines()[-25:])
        raise RuntimeError(f"caviar run exited {code}, sweep state {state}; log {log}:\n{tail}")
    extra: dict[str, Any] = {
        "states": Counter(r["state"] for r in rows),
        "epoch_seconds": statistics.median(seconds) if seconds else None,
    }
    if code != 0:  # the sweep finished; what came after it failed
        lines = [ln for ln in log.read_text().splitlines() if ln.strip()]
        extra["exit"] = f"exit {code} after the sweep finished: {lines[-1] if lines else ''}"
    if expected is not None:
        got = [[r["number"], r["config"]] for r in rows]
        if json.loads(json.dumps(got)) != json.loads(json.dumps(expected)):
            extra["mismatch"] = "Caviar trained other configurations than the fixed list"
    timing.span = (min(r["started"] for r in rows), max(r["ended"] for r in rows))
    timing.epochs = sum(r["epochs"] for r in rows)
    timing.extra = extra
    return timing


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
    log = tmp / f"{task['name']}.log"
    timing, result, _ = run_child([sys.executable, __file__, "--child", json.dumps(task)], log)
    timing.span = tuple(result["span"]) if "span" in result else None  # type: ignore[assignment]
    timing.epochs = result.get("epochs", 0)
    timing.extra = result
    return timing


# -- reporting ----------------------------------------------------------------------------


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def med(values: Sequence[float | None]) -> float | None:
    clean = [v for v in values if v is not None]
    return statistics.median(clean) if clean else None


def fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}{unit}"


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("OK" if ok else "MISS")


def spread(runs: Sequence[Timing], key: Callable[[Timing], float | None]) -> str:
    values = [v for v in map(key, runs) if v is not None]
    if len(values) < 2:
        return ""
    return f" ({min(values):.1f}-{max(values):.1f})"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK.trials} trials x {QUICK.epochs} epochs, {QUICK.null_trials} null "
        "trials, one repetition: a few minutes",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="repetitions of the cheap rows (default 3, or 1 with --quick); Ray Tune "
        "without reuse_actors always runs once",
    )
    parser.add_argument("--keep", action="store_true", help="keep the results and logs")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.repeat < 1:
        parser.error(f"--repeat must be an integer >= 1, got {args.repeat}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(RESULT + json.dumps(child(json.loads(args.child))), flush=True)
        return 0
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
    trials_file.write_text(json.dumps(trials))
    started = time.perf_counter()

    runs: dict[str, list[Timing]] = {}

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
        for label, scheduler in (("Caviar FIFO", "fifo"), ("Caviar ASHA", ASHA)):
            source = sweep_source(f"{label.split()[1].lower()}-{n}", scheduler, plan, results)
            measure(label, caviar_run, source, WORKERS, tmp, trials["trials"])
        pool_task = {
            "kind": "pool",
            "name": f"pool-{n}",
            "trials": str(trials_file),
            "epochs": plan.epochs,
        }
        measure("pool FIFO", child_run, pool_task, tmp)
        measure("Tune FIFO reuse", tune("Tune FIFO reuse", "fifo", True, n))
        measure("Tune ASHA reuse", tune("Tune ASHA reuse", "asha", True, n))
        null_task = {
            "kind": "caviar-null",
            "name": f"caviar-null-{n}",
            "source": {
                **null_source(plan.null_trials, plan.null_epochs, results),
                "name": f"null-{n}",
            },
        }
        measure("Caviar null", child_run, null_task, tmp)
        measure("Tune null reuse", tune_null_run("Tune null reuse", True, n))
        for workers in (1, 2):
            source = scaling_source(f"scaling-{workers}w-{n}", plan, results)
            measure(f"scaling {workers}w", caviar_run, source, workers, tmp)
    print(f"Ray Tune with its defaults, once each (load average {load_average()})")
    measure("Tune FIFO default", tune("Tune FIFO default", "fifo", False, 0))
    measure("Tune ASHA default", tune("Tune ASHA default", "asha", False, 0))
    measure("Tune null default", tune_null_run("Tune null default", False, 0))

    print_tables(runs, plan)
    print(
        f"\nLoad average at the end: {load_average()} (other jobs on the machine skew every row)."
    )
    print(f"\nTotal {time.perf_counter() - started:.0f} s.")
    if args.keep:
        print(f"Results and logs kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def print_tables(runs: dict[str, list[Timing]], plan: Plan) -> None:
    def median_of(label: str, key: Callable[[Timing], float | None]) -> float | None:
        return med([key(t) for t in runs.get(label, [])])

    wall = {k: median_of(k, lambda t: t.wall) for k in runs}
    fit = {k: median_of(k, lambda t: t.fit) for k in runs}
    print(
        f"\n### Sweep: digits, {plan.trials} trials x {plan.epochs} epochs, {WORKERS} at a time\n"
    )
    print(
        "| run | runs | process s | startup s | fit phase s | teardown s | epochs "
        "| process / Tune default | process / Tune reuse | fit / ideal pool | reported before s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label in SWEEP_ROWS:
        if label not in runs:
            continue
        rs, sched = runs[label], label.split()[1]
        caviar = label.startswith("Caviar")
        vs_default = ratio(wall[label], wall.get(f"Tune {sched} default")) if caviar else None
        vs_reuse = ratio(wall[label], wall.get(f"Tune {sched} reuse")) if caviar else None
        vs_pool = ratio(fit[label], fit.get("pool FIFO")) if sched == "FIFO" else None
        name = "ideal Pool(2), no framework" if label == "pool FIFO" else label
        print(
            f"| {name} | {len(rs)} | {fmt(wall[label])}{spread(rs, lambda t: t.wall)} "
            f"| {fmt(median_of(label, lambda t: t.startup))} "
            f"| {fmt(fit[label])}{spread(rs, lambda t: t.fit)} "
            f"| {fmt(median_of(label, lambda t: t.teardown))} | {rs[0].epochs} "
            f"| {fmt(vs_default, 2, 'x')} | {fmt(vs_reuse, 2, 'x')} | {fmt(vs_pool, 2, 'x')} "
            f"| {REPORTED.get(label, '')} |"
        )
    print(
        "\nprocess = wall time of the whole child process (`caviar run FILE --plain --workers "
        "2` for Caviar;\na Python child that starts Ray, fits and shuts Ray down for Ray Tune; "
        "the Pool(2) child for the ideal)\n= startup (to the first trial's start) + fit phase "
        "(to the last trial's end) + teardown.\nTrial starts and ends: trials.started/ended in "
        "Caviar's sweep.db; time.time() in the trials elsewhere.\nMedians, range in brackets. "
        "Ray Tune without reuse_actors ran once (over 2 minutes per run at full size)."
    )
    notes = {
        f"{label}: {t.extra[key]}"
        for label in runs
        for t in runs[label]
        for key in ("exit", "mismatch")
        if key in t.extra
    }
    for note in sorted(notes):
        print(f"note: {note}")

    print(
        f"\n### Null trials: {plan.null_trials} trials x {plan.null_epochs} reports, "
        f"{WORKERS} at a time\n"
    )
    print(
        "| run | runs | total s | ideal s | overhead ms/trial | worker pool start s "
        "| warm-up s | after warm-up ms/trial | reported before |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    overhead: dict[str, float | None] = {}
    for label in ("Caviar null", "Tune null default", "Tune null reuse"):
        if label not in runs:
            continue
        rs = runs[label]
        overhead[label] = median_of(
            label, lambda t: (t.extra["total"] - t.extra["ideal"]) / t.extra["trials"] * 1e3
        )
        print(
            f"| {label} | {len(rs)} | {fmt(median_of(label, lambda t: t.extra['total']), 2)} "
            f"| {fmt(median_of(label, lambda t: t.extra['ideal']), 2)} "
            f"| {fmt(overhead[label], 1)} "
            f"| {fmt(median_of(label, lambda t: t.extra.get('pool_start')), 2)} "
            f"| {fmt(median_of(label, lambda t: t.extra.get('warm_up')), 2)} "
            f"| {fmt(median_of(label, lambda t: t.extra.get('steady_ms')), 1)} "
            f"| {REPORTED.get(label, '')} |"
        )
    print(
        "\nCaviar: orchestrator.loop.Sweep + RayExecutor in one process on "
        f"'{NULL_DATASET}' (one mini-batch per epoch);\ntotal = Sweep.run() with the worker "
        "pool already up (its start is the last column), ideal = the same trials' TrialHost "
        f"work in-process / {WORKERS}.\nRay Tune: tuner.fit() of a function trainable that "
        "only reports; ideal 0. overhead = (total - ideal) / trials.\nwarm-up = Sweep.run() "
        "start until every worker has ended its first trial (which loads the dataset);\n"
        "after warm-up = the same overhead over the trials that ended after that."
    )

    print(
        f"\n### Scaling: Caviar on '{SCALING_DATASET}', 2x256 b128 adam, "
        f"{plan.scaling_trials} trials x {plan.scaling_epochs} epochs\n"
    )
    print("| workers | runs | process s | startup s | fit phase s | median s/epoch |")
    print("|---|---|---|---|---|---|")
    for w in (1, 2):
        label = f"scaling {w}w"
        if label in runs:
            print(
                f"| {w} | {len(runs[label])} | {fmt(wall[label])} "
                f"| {fmt(median_of(label, lambda t: t.startup))} "
                f"| {fmt(fit[label])}{spread(runs[label], lambda t: t.fit)} "
                f"| {fmt(median_of(label, lambda t: t.extra.get('epoch_seconds')), 2)} |"
            )
    print("\nThe fit phase includes each worker loading the dataset on its first trial.")

    print("\n### Targets\n")
    print("| target | measured | goal | |")
    print("|---|---|---|---|")
    targets: list[tuple[str, float | None, float, bool]] = []  # name, value, goal, at least?
    for sched in ("FIFO", "ASHA"):
        for kind, goal in (("default", 0.1), ("reuse", 0.6)):
            value = ratio(wall.get(f"Caviar {sched}"), wall.get(f"Tune {sched} {kind}"))
            targets.append((f"caviar run process / Ray Tune {kind}, {sched}", value, goal, False))
    value = ratio(fit.get("Caviar FIFO"), fit.get("pool FIFO"))
    targets.append(("Caviar FIFO fit phase / ideal pool", value, 1.1, False))
    targets.append(("Caviar null-trial overhead, ms/trial", overhead.get("Caviar null"), 5, False))
    value = ratio(fit.get("scaling 1w"), fit.get("scaling 2w"))
    targets.append(("scaling: fit phase 1 worker / 2 workers", value, 1.8, True))
    for name, value, goal, at_least in targets:
        unit = "" if "ms" in name else "x"
        ok = None if value is None else (value >= goal if at_least else value <= goal)
        print(
            f"| {name} | {fmt(value, 2, unit)} | {'>=' if at_least else '<='} {goal:g}{unit} "
            f"| {verdict(ok)} |"
        )


if __name__ == "__main__":
    sys.exit(main())

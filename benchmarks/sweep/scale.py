"""bench_sweep.py's `--scale` rows: one sweep of 10,000 trials (1,000 with --quick), on a
private Ray and on two nodes from `ray start`: its process and fit phase, its overhead per
trial against the same trials' own work, the driver's CPU and peak memory, the store's
size, and how long `caviar show`, `export` and `report` take on the finished store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import processes
from benchmarks.common.processes import WORKERS
from benchmarks.common.sweep_db import read_store, trial_span
from benchmarks.common.text import load_average
from benchmarks.sweep.clusters import two_nodes
from orchestrator.storage.rows import TrialRow

SCALE_DATASET = "synthetic:rows=40,features=2,classes=2"
SCALE_TRIALS, SCALE_EPOCHS = 10_000, 3
QUICK_SCALE_TRIALS = 1_000
RESULTS_COMMANDS = (("show",), ("export", "--force"), ("report",))


def scale_source(name: str, trials: int, results: Path) -> dict[str, Any]:
    """Short trials on a tiny set, ASHA pruning at epoch 1: the machinery, not the work."""
    return {
        "name": name,
        "dataset": SCALE_DATASET,
        "seed": 0,
        "model": {"hidden_layers": 1, "hidden_units": 2, "batch_size": 64},
        "space": {"learning_rate": {"type": "log_uniform", "low": 1e-3, "high": 1e-1}},
        "sampler": "random",
        "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 3},
        "budget": {"trials": trials, "max_epochs": SCALE_EPOCHS},
        "results": str(results),
    }


@dataclass(frozen=True)
class ScaleResult:
    process: float  # the `caviar run` child's wall time, s
    fit: float  # first trial start to last trial end, s
    trials: int
    epochs: int
    ideal: float  # the same trials' own work, spread over the workers, s
    driver_cpu: float  # s, as the sweep recorded it
    peak_rss_mib: float
    store_mib: float
    commands: dict[str, float]  # `caviar show` etc. on the finished store: wall s

    @property
    def overhead_ms(self) -> float:
        return (self.fit - self.ideal) / self.trials * 1e3


def scale_run(
    source: dict[str, Any], work: Path, extra_env: dict[str, str] | None, address: str | None
) -> ScaleResult:
    """`caviar run` of `source` (on the cluster at `address`, if given), then `caviar show`,
    `export` and `report` on its store."""
    options = ("--address", address) if address else ()
    run = processes.run_caviar(source, work, WORKERS, extra_env=extra_env, options=options)
    run_dir = Path(source["results"]) / source["name"]
    db = run_dir / "sweep.db"
    meta, rows, _ = read_store(db)
    state = meta.state if meta else None
    if meta is None or state != "finished":
        raise RuntimeError(f"caviar run exited {run.code}, state {state}; log {run.log}")
    driver = meta.driver or {}
    size = sum(p.stat().st_size for p in run_dir.glob("sweep.db*")) / 2**20
    span = trial_span(rows)
    return ScaleResult(
        run.wall,
        span[1] - span[0],
        len(rows),
        sum(r.epochs for r in rows),
        own_work(source, rows) / WORKERS,
        float(driver.get("cpu_seconds", float("nan"))),
        float(driver.get("peak_rss_mib", float("nan"))),
        size,
        results_commands(run_dir, work, source["name"]),
    )


def results_commands(run_dir: Path, work: Path, name: str) -> dict[str, float]:
    """Wall seconds of `caviar show`, `export` and `report` on the store in `run_dir`."""
    seconds = {}
    for command in RESULTS_COMMANDS:
        argv = [*processes.caviar_command(), command[0], str(run_dir), *command[1:]]
        done = processes.run_process(argv, work / f"{name}-{command[0]}.log")
        if done.code != 0:
            raise RuntimeError(f"caviar {command[0]} exited {done.code}; log {done.log}")
        seconds[command[0]] = done.wall
    return seconds


def own_work(source: dict[str, Any], rows: list[TrialRow], sample: int = 500) -> float:
    """Seconds the trials' own work takes in this process (setup and the epochs each
    trained), from an even sample of `sample` trials scaled to all of them."""
    from caviar_common.seeds import trial_seed
    from orchestrator.sweepfile.parse import parse_sweep
    from workers.host import TrialHost

    spec = parse_sweep(source)
    host = TrialHost()
    host.dataset(spec.dataset, spec.seed, spec.val_fraction)
    picked = rows[:: max(1, len(rows) // sample)]
    start = time.perf_counter()
    for row in picked:
        tid = f"trial-{row.number}"
        host.begin(tid, row.config, spec.data, trial_seed(spec.seed, row.number))
        host.steps(tid, 1, row.epochs, end=True)
    return (time.perf_counter() - start) * len(rows) / len(picked)


def scale_table(results: dict[str, ScaleResult], trials: int) -> list[str]:
    lines = [
        f"\n### Scale: {trials:,} trials x {SCALE_EPOCHS} epochs on '{SCALE_DATASET}', "
        f"ASHA, {WORKERS} workers\n",
        "| run | process s | fit phase s | epochs | overhead ms/trial | driver CPU ms/epoch "
        "| driver peak RSS MiB | store MiB | show s | export s | report s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        lines.append(
            f"| {label} | {r.process:.1f} | {r.fit:.1f} | {r.epochs:,} | {r.overhead_ms:.2f} "
            f"| {r.driver_cpu / r.epochs * 1e3:.3f} | {r.peak_rss_mib:.0f} | {r.store_mib:.1f} "
            f"| {r.commands['show']:.1f} | {r.commands['export']:.1f} "
            f"| {r.commands['report']:.1f} |"
        )
    return [
        *lines,
        "\noverhead = (fit phase - the same trials' own work in one process / "
        f"{WORKERS}) / trials;\nthe own work is measured on an even sample of 500 trials. "
        "show, export and report: wall time of the command\n(`caviar show DIR`, `caviar export "
        "DIR --force`, `caviar report DIR`) on the finished store, Python start-up included.",
    ]


def main_scale(work: Path, results: Path, trials: int) -> dict[str, ScaleResult]:
    """The scale row on a private Ray, then on a two-node cluster from `ray start`."""
    out: dict[str, ScaleResult] = {}
    print(f"Scale rows, {trials:,} trials (load average {load_average()})", flush=True)
    t0 = time.perf_counter()
    source = scale_source("scale-1", trials, results)
    out["private Ray, 1 node x 2 CPUs"] = scale_run(source, work, None, None)
    print(f"  private Ray: {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    with two_nodes(work) as joined:
        source = scale_source("scale-2", trials, results)
        token = {"RAY_AUTH_TOKEN": joined["RAY_AUTH_TOKEN"]}
        out["2 nodes x 1 CPU (ray start)"] = scale_run(source, work, token, joined["address"])
    print(f"  two nodes: {time.perf_counter() - t0:.0f} s", flush=True)
    return out

"""bench_sweep.py's rows on a cluster that stays up, and its 10,000-trial `--scale` rows.

`up_cluster` is `caviar up`, taken down with `caviar down`; `two_nodes` is a head and a
worker node from `ray start` on this machine, as the cluster tests start them, stopped
by the pids of the processes under its temp dir: never `ray stop`. `scale_run` is one
10,000-trial sweep: its process and fit phase, its overhead per trial against the same
trials' own work, the driver's CPU and peak memory, the store's size, and how long
`caviar show`, `export` and `report` take on the finished store.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import harness
from benchmarks.harness import ROOT, WORKERS
from orchestrator.cluster.processes import stop_processes_under

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


# -- a cluster from `caviar up` -----------------------------------------------------------


@dataclass
class UpCluster:
    """`caviar up` in a home of its own (CAVIAR_HOME)."""

    home: Path
    cpus: int

    @property
    def env(self) -> dict[str, str]:
        """A `caviar` command's environment that finds this cluster."""
        return {"CAVIAR_HOME": str(self.home)}

    def record(self) -> Any:
        from orchestrator.cluster import local as local_cluster

        found = local_cluster.load_record(local_cluster.record_path(env=self.env))
        if found is None:
            raise RuntimeError(f"caviar up left no record in {self.home}")
        return found


@contextmanager
def up_cluster(work: Path, cpus: int) -> Iterator[UpCluster]:
    """A cluster from `caviar up --num-cpus CPUS` for the duration of the block."""
    home = Path(tempfile.mkdtemp(prefix="home-", dir=work))
    cluster = UpCluster(home, cpus)
    log = work / f"up-{home.name}.log"
    up = [*harness.caviar_command(), "up", "--num-cpus", str(cpus), "--dashboard-port", "0"]
    done = harness.run_process(up, log, extra_env=cluster.env)
    if done.code != 0:
        raise RuntimeError(f"caviar up exited {done.code}; log {log}")
    try:
        yield cluster
    finally:
        down = [*harness.caviar_command(), "down"]
        harness.run_process(down, work / f"down-{home.name}.log", extra_env=cluster.env)


@contextmanager
def two_nodes(work: Path) -> Iterator[dict[str, str]]:
    """A head (`ray start --head`, 1 CPU, its own temp dir and ports) and a worker node
    (`ray start --address`, 1 CPU) on this machine, as the cluster tests start them;
    yields what a `caviar run` needs to join it (`--address` and the token), and stops
    both by pid afterwards."""
    from orchestrator.cluster import local as local_cluster
    from orchestrator.cluster.control import free_port, ray_executable

    temp = tempfile.mkdtemp(prefix="cvs", dir="/tmp")  # short: Ray's socket paths
    env = harness.child_env(extra={"RAY_AUTH_TOKEN": secrets.token_hex(16)})
    ports = local_cluster.Ports(free_port(), free_port(), free_port(), free_port(), free_port())
    head = local_cluster.start_argv(ray_executable(), ports, 1, temp)
    gcs = f"127.0.0.1:{ports.gcs}"
    worker = [
        ray_executable(),
        "start",
        f"--address={gcs}",
        "--node-ip-address=127.0.0.1",
        "--num-cpus=1",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--metrics-export-port={free_port()}",
    ]
    nodes = []
    try:
        for argv in (head, worker):
            log = (work / "nodes.log").open("ab")
            nodes.append(subprocess.Popen(argv, env=env, stdout=log, stderr=log))
            nodes[-1].wait(120)
        _wait_for_nodes(gcs, env, 2)
        yield {"RAY_AUTH_TOKEN": env["RAY_AUTH_TOKEN"], "address": gcs}
    finally:
        stop_processes_under(temp, grace=2.0)


def _wait_for_nodes(address: str, env: dict[str, str], count: int, timeout: float = 120) -> None:
    probe = (
        f"import ray; ray.init(address={address!r}, log_to_driver=False); "
        "print(sum(n['Alive'] for n in ray.nodes()))"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True)
        if done.stdout.decode().strip().splitlines()[-1:] == [str(count)]:
            return
        time.sleep(1.0)
    raise RuntimeError(f"the cluster at {address} never had {count} live nodes")


# -- the 10,000-trial rows ------------------------------------------------------------------


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
    from benchmarks.bench_sweep import read_store
    from orchestrator.storage.store import Store

    options = ("--address", address) if address else ()
    run = harness.run_caviar(source, work, WORKERS, extra_env=extra_env, options=options)
    run_dir = Path(source["results"]) / source["name"]
    db = run_dir / "sweep.db"
    state, rows, _ = read_store(db) if db.exists() else (None, [], [])
    if state != "finished":
        raise RuntimeError(f"caviar run exited {run.code}, state {state}; log {run.log}")
    store = Store.open(run_dir)
    driver = store.get("driver") or {}
    store.close()
    size = sum(p.stat().st_size for p in run_dir.glob("sweep.db*")) / 2**20
    commands = {}
    for command in RESULTS_COMMANDS:
        argv = [*harness.caviar_command(), command[0], str(run_dir), *command[1:]]
        done = harness.run_process(argv, work / f"{source['name']}-{command[0]}.log")
        if done.code != 0:
            raise RuntimeError(f"caviar {command[0]} exited {done.code}; log {done.log}")
        commands[command[0]] = done.wall
    span = (min(r["started"] for r in rows), max(r["ended"] for r in rows))
    epochs = sum(r["epochs"] for r in rows)
    return ScaleResult(
        run.wall,
        span[1] - span[0],
        len(rows),
        epochs,
        own_work(source, rows) / WORKERS,
        float(driver.get("cpu_seconds", float("nan"))),
        float(driver.get("peak_rss_mib", float("nan"))),
        size,
        commands,
    )


def own_work(source: dict[str, Any], rows: list[dict[str, Any]], sample: int = 500) -> float:
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
        tid = f"trial-{row['number']}"
        host.begin(tid, row["config"], spec.data, trial_seed(spec.seed, row["number"]))
        host.steps(tid, 1, row["epochs"], end=True)
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


def main_scale(work: Path, results: Path, quick: bool) -> dict[str, ScaleResult]:
    """The scale row on a private Ray, then on a two-node cluster from `caviar up`."""
    trials = QUICK_SCALE_TRIALS if quick else SCALE_TRIALS
    out: dict[str, ScaleResult] = {}
    print(f"Scale rows, {trials:,} trials (load average {harness.load_average()})", flush=True)
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


if __name__ == "__main__":  # pragma: no cover - run through bench_sweep.py --scale
    sys.exit("run benchmarks/bench_sweep.py --scale")


__all__ = ["ROOT", "UpCluster", "main_scale", "scale_table", "up_cluster"]

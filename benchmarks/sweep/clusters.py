"""Clusters that stay up for bench_sweep.py's rows: `caviar up` (taken down with `caviar
down`), and a head and a worker node from `ray start` on this machine, as the cluster tests
start them, stopped by the pids of the processes under its temp dir: never `ray stop`.
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

from benchmarks.common import processes
from orchestrator.cluster.processes import stop_processes_under


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
    up = [*processes.caviar_command(), "up", "--num-cpus", str(cpus), "--dashboard-port", "0"]
    done = processes.run_process(up, log, extra_env=cluster.env)
    if done.code != 0:
        raise RuntimeError(f"caviar up exited {done.code}; log {log}")
    try:
        yield cluster
    finally:
        down = [*processes.caviar_command(), "down"]
        processes.run_process(down, work / f"down-{home.name}.log", extra_env=cluster.env)


@contextmanager
def two_nodes(work: Path) -> Iterator[dict[str, str]]:
    """A head (`ray start --head`, 1 CPU, its own temp dir and ports) and a worker node
    (`ray start --address`, 1 CPU) on this machine, as the cluster tests start them;
    yields what a `caviar run` needs to join it (`--address` and the token), and stops
    both by pid afterwards."""
    from orchestrator.cluster import local as local_cluster
    from orchestrator.cluster.control import free_port, ray_executable

    temp = tempfile.mkdtemp(prefix="cvs", dir="/tmp")  # short: Ray's socket paths
    env = processes.child_env(extra={"RAY_AUTH_TOKEN": secrets.token_hex(16)})
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

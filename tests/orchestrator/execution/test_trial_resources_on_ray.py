"""Resources per trial on a real Ray cluster without a GPU: two nodes started with one
declared GPU each (`ray start --num-gpus=1`). Half a GPU per trial runs four trials at
once, two per device, each seeing its device through CUDA_VISIBLE_DEVICES; a trial asking
for two GPUs, or for a resource no node has, is refused before anything starts (exit 2).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.cluster.processes import stop_processes_under
from tests.conftest import free_port, short_temp_dir

pytestmark = pytest.mark.ray
BIN = Path(sys.executable).parent
SLEEPY = Path(__file__).with_name("sleepy.py")  # sleeps through epochs; records when and where


class GpuCluster:
    """A head and a worker node on this machine, 2 CPUs and 1 declared GPU each."""

    def __init__(self) -> None:
        self.temp = short_temp_dir("cvg-")
        self.gcs = free_port()
        self.env = dict(os.environ, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16))
        self.env.pop("RAY_ADDRESS", None)
        self.procs: list[subprocess.Popen[bytes]] = []

    def _node(self) -> list[str]:
        return [
            "--num-cpus=2",
            "--num-gpus=1",
            "--node-ip-address=127.0.0.1",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--metrics-export-port={free_port()}",
            "--block",
        ]

    def start(self) -> None:
        head = [
            "start",
            "--head",
            f"--port={self.gcs}",
            f"--dashboard-port={free_port()}",
            "--dashboard-host=127.0.0.1",
            f"--ray-client-server-port={free_port()}",
            f"--temp-dir={self.temp}",
            *self._node(),
        ]
        worker = ["start", f"--address=127.0.0.1:{self.gcs}", *self._node()]
        for argv in (head, worker):
            self.procs.append(
                subprocess.Popen(
                    [str(BIN / "ray"), *argv],
                    env=self.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
            if argv is head:
                time.sleep(3)  # the worker joins a head that is up
        probe = (
            "import ray; ray.init(address='auto', log_to_driver=False); "
            "print(sum(n['Alive'] for n in ray.nodes()))"
        )
        env = dict(self.env, RAY_ADDRESS=self.address)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True)
            if done.returncode == 0 and done.stdout.split()[-1:] == [b"2"]:
                return
            time.sleep(1)
        raise AssertionError("the two-node cluster never came up")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gcs}"

    def close(self) -> None:
        for proc in self.procs:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        stop_processes_under(self.temp)

    def caviar(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "caviar"), *args, "--address", self.address, "--plain"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture(scope="module")
def gpu_cluster() -> Iterator[GpuCluster]:
    cluster = GpuCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


def _sweep(tmp: Path, name: str, resources: dict[str, Any], trials: int = 6) -> Path:
    shutil.copy(SLEEPY, tmp / "sleepy.py")  # found next to the sweep file, and shipped
    sweep = {
        "name": name,
        "trainer": "sleepy:Sleepy",
        "metric": "score",
        "direction": "minimize",
        "space": {"x": {"type": "uniform", "low": 0, "high": 1}},
        "budget": {"trials": trials, "max_epochs": 6},
        "scheduler": "fifo",
        "resources": resources,
        "results": str(tmp / "runs"),
    }
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(sweep))
    return path


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The most intervals that overlap at one moment (an end before a start at a tie)."""
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def test_half_a_gpu_per_trial_runs_four_at_once_two_per_device(
    tmp_path: Path, gpu_cluster: GpuCluster
) -> None:
    run = gpu_cluster.caviar("run", str(_sweep(tmp_path, "halves", {"gpus_per_trial": 0.5})))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 at a time" in run.stdout  # 2 nodes x 1 GPU x 2 halves, as many CPUs
    with sqlite3.connect(tmp_path / "runs" / "halves" / "sweep.db") as conn:
        nodes = dict(conn.execute("SELECT trial_id, node || '/' || devices FROM trials"))
        points = conn.execute("SELECT trial_id, extra FROM curves").fetchall()
    assert len(nodes) == 6 and len(points) == 6 * 6  # every epoch once
    seen: dict[str, list[dict[str, float]]] = {}
    for trial_id, extra in points:
        seen.setdefault(trial_id, []).append(json.loads(extra))
    # the device the trial itself saw is the one its worker reported: each node's GPU 0
    assert {e["device"] for epochs in seen.values() for e in epochs} == {0.0}
    assert {device.split("/")[1] for device in nodes.values()} == {"0"}
    ran = {t: (min(e["began"] for e in es), max(e["ended"] for e in es)) for t, es in seen.items()}
    assert _most_at_once(list(ran.values())) == 4  # four at once; the fifth waited
    for device in set(nodes.values()):  # each node's one GPU: never more than two on it
        assert _most_at_once([ran[t] for t, d in nodes.items() if d == device]) <= 2
    assert len(set(nodes.values())) == 2  # both nodes' devices were used


@pytest.mark.parametrize(
    ("resources", "key", "said"),
    [
        # 2 GPUs in the cluster, but 1 per node: a trial of 2 can never be placed
        (
            {"gpus_per_trial": 2},
            "resources.gpus_per_trial",
            "asks 2 GPU(s) per trial; the largest node has 1",
        ),
        (
            {"custom": {"tpu_pod": 1}},
            "resources.custom.tpu_pod",
            "asks 1 of 'tpu_pod' per trial; the largest node has 0",
        ),
    ],
)
def test_a_trial_no_node_can_hold_is_refused_before_anything_starts(
    tmp_path: Path, gpu_cluster: GpuCluster, resources: dict[str, Any], key: str, said: str
) -> None:
    began = time.monotonic()
    run = gpu_cluster.caviar("run", str(_sweep(tmp_path, "toobig", resources)))
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"{key}: {said}" in run.stderr
    assert "no trial could ever start" in run.stderr
    assert time.monotonic() - began < 60  # at once, not after a worker start timeout
    db = tmp_path / "runs" / "toobig" / "sweep.db"
    if db.exists():  # only what `caviar resume` needs: the sweep, nothing trained
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT COUNT(*) FROM curves").fetchone() == (0,)
            started = conn.execute("SELECT COUNT(*) FROM trials WHERE started IS NOT NULL")
            assert started.fetchone() == (0,)

"""One real cluster from `caviar up --num-gpus 2 --resources '{"spot": 1}'` (Ray runs with
declared GPUs on a machine without any): `caviar status` lists what it has and what a
sweep's workers hold, and `caviar submit` without --address sends a sweep to it."""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from orchestrator.cluster import control
from orchestrator.cluster import local as lc
from tests.conftest import free_port

pytestmark = pytest.mark.ray

CAVIAR = [sys.executable, "-m", "orchestrator.cli"]
# a sweep's worker as the executor makes one, from a driver of its own: it holds its
# resources until the driver ends
WORKER = """
import ray
ray.init(address={address!r}, namespace="caviar-demo", log_to_driver=False)

@ray.remote
class Worker:
    def ready(self):
        return True

worker = Worker.options(name="caviar-worker-1", num_cpus=1, num_gpus=0.5).remote()
ray.get(worker.ready.remote())
print("ready", flush=True)
input()  # until the test closes stdin
"""


@dataclass(frozen=True)
class Up:
    record: lc.ClusterRecord
    env: dict[str, str]  # a shell with CAVIAR_HOME and no Ray settings of its own
    results: Path


def _caviar(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CAVIAR, *args], env=env, capture_output=True, text=True, timeout=600, cwd=cwd
    )


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    tmp = tmp_path_factory.mktemp("up")
    env = dict(os.environ, CAVIAR_HOME=str(tmp / "home"), CAVIAR_RESULTS=str(tmp / "runs"))
    env["RAY_AUTH_TOKEN"] = secrets.token_hex(16)  # copied next to the record
    env.pop("RAY_ADDRESS", None)
    env.pop("RAY_API_SERVER_ADDRESS", None)
    try:
        started = _caviar(
            "up",
            "--num-cpus",
            "2",
            "--num-gpus",
            "2",
            "--resources",
            '{"spot": 1}',
            "--dashboard-port",
            str(free_port()),
            env=env,
        )
        assert started.returncode == 0, started.stdout + started.stderr
        assert "2 CPUs, 2 GPUs, spot 1; token from RAY_AUTH_TOKEN" in started.stdout
        record = lc.load_record(tmp / "home" / lc.RECORD_NAME)
        assert record is not None
        shell = {k: v for k, v in env.items() if k not in ("RAY_AUTH_TOKEN", "RAY_AUTH_MODE")}
        yield Up(record, shell, tmp / "runs")
    finally:
        record = lc.load_record(tmp / "home" / lc.RECORD_NAME)
        if record is not None:
            control.stop(record)


def _row(out: str, name: str) -> list[str]:
    """The status table's row of resource `name`: [total, available]."""
    match = re.search(rf"^ +{name} +(\S+(?: [GM]iB)?) +(\S+(?: [GM]iB)?)$", out, re.MULTILINE)
    assert match, out
    return [match[1], match[2]]


def test_status_lists_the_declared_resources_and_what_a_sweeps_workers_hold(up: Up) -> None:
    assert (up.record.gpus, up.record.resources) == (2, {"spot": 1.0})
    status = _caviar("status", env=up.env)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "declared:   2 GPUs, spot 1" in status.stdout
    assert f"node {up.record.node_id} (127.0.0.1, head):" in status.stdout
    assert _row(status.stdout, "CPU") == ["2", "2"]
    assert _row(status.stdout, "GPU") == ["2", "2"]
    assert _row(status.stdout, "spot") == ["1", "1"]
    assert "no sweep is running" in status.stdout

    driver_env = dict(os.environ, **lc.client_env(up.record.token_path))
    driver_env.pop("RAY_AUTH_TOKEN", None)
    driver = subprocess.Popen(
        [sys.executable, "-c", WORKER.format(address=up.record.address)],
        env=driver_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert driver.stdout is not None and driver.stdout.readline().strip() == "ready"
        # the state API lists the worker at once; the GCS's view of what is free follows
        # with the node's next report
        deadline = time.monotonic() + 60
        while True:
            status = _caviar("status", env=up.env)
            assert status.returncode == 0, status.stdout + status.stderr
            if _row(status.stdout, "CPU") == ["2", "1"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        driver.communicate("\n", timeout=60)  # the driver ends, and its worker with it
    assert "  sweep demo: 1 worker, 1 CPU, 0.5 GPU\n" in status.stdout
    assert _row(status.stdout, "CPU") == ["2", "1"]
    assert _row(status.stdout, "GPU") == ["2", "1.5"]
    assert _row(status.stdout, "spot") == ["1", "1"]


def test_submit_without_an_address_sends_the_sweep_to_the_up_cluster(
    up: Up, tmp_path: Path
) -> None:
    sweep = {
        "name": "upsub",
        "dataset": "synthetic:rows=60,features=4,classes=2",
        "seed": 1,
        "model": {"optimizer": "adam", "hidden_layers": 1, "hidden_units": 8, "batch_size": 16},
        "space": {"learning_rate": {"type": "log_uniform", "low": 0.003, "high": 0.03}},
        "budget": {"trials": 2, "max_epochs": 2},
    }
    path = tmp_path / "upsub.yaml"
    path.write_text(yaml.safe_dump(sweep))
    done = _caviar("submit", str(path), env=up.env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    said = f"to the local cluster from `caviar up` at {up.record.dashboard}"
    assert said in done.stdout and "SUCCEEDED" in done.stdout
    with sqlite3.connect(up.results / "upsub" / "sweep.db") as conn:  # the cluster's results
        rows = conn.execute("SELECT state, node FROM trials ORDER BY number").fetchall()
    assert rows == [("completed", up.record.node_id)] * 2

    job = done.stdout.split("submitted ", 1)[1].split()[0]
    listed = _caviar("jobs", env=up.env)  # the other job commands find it the same way
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert re.search(rf"^{job} +upsub +SUCCEEDED", listed.stdout, re.MULTILINE), listed.stdout
    logs = _caviar("logs", job, env=up.env)
    assert logs.returncode == 0 and "sweep upsub (finished)" in logs.stdout, logs.stderr

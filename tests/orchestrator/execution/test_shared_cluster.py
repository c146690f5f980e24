"""Two sweeps against one `caviar up` cluster of 2 CPUs share it: the second starts while
the first holds both CPUs, the first gives a worker up as its trial ends, both finish,
every epoch stored once in each, and they trained side by side rather than the second
waiting for the first to end."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from orchestrator.cluster import control
from orchestrator.cluster import local as lc
from tests.conftest import free_port

pytestmark = pytest.mark.ray
BIN = Path(sys.executable).parent
SLEEPY = Path(__file__).with_name("sleepy.py")
TRIALS, EPOCHS = 6, 6


@pytest.fixture
def up(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A `caviar up` cluster of 2 CPUs, its own CAVIAR_HOME and token; stopped by pid."""
    env = dict(os.environ, CAVIAR_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    env["RAY_AUTH_TOKEN"] = secrets.token_hex(16)
    env.pop("RAY_ADDRESS", None)
    try:
        started = subprocess.run(
            [str(BIN / "caviar"), "up", "--num-cpus", "2", "--dashboard-port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert started.returncode == 0, started.stdout + started.stderr
        yield env
    finally:
        record = lc.load_record(tmp_path / "home" / lc.RECORD_NAME)
        if record is not None:
            control.stop(record)


def _sweep(tmp: Path, name: str) -> Path:
    shutil.copy(SLEEPY, tmp / "sleepy.py")
    sweep = {
        "name": name,
        "trainer": "sleepy:Sleepy",
        "metric": "score",
        "direction": "minimize",
        "space": {"x": {"type": "uniform", "low": 0, "high": 1}},
        "budget": {"trials": TRIALS, "max_epochs": EPOCHS},
        "scheduler": "fifo",
        "results": str(tmp / "runs"),
    }
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(sweep))
    return path


def _ran(db: Path) -> tuple[int, int, tuple[float, float]]:
    """Epochs stored, distinct (trial, epoch) pairs, and when the sweep's epochs ran."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT trial_id, epoch, extra FROM curves").fetchall()
    times = [json.loads(extra) for _, _, extra in rows]
    span = (min(t["began"] for t in times), max(t["ended"] for t in times))
    return len(rows), len({(t, e) for t, e, _ in rows}), span


def _stored(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM curves").fetchone()[0])
    except sqlite3.OperationalError:  # the file exists, its tables not yet
        return 0


def _start(tmp: Path, name: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "caviar"), "run", str(_sweep(tmp, name)), "--plain"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_second_sweep_shares_the_cluster_with_a_running_one(
    tmp_path: Path, up: dict[str, str]
) -> None:
    first = _start(tmp_path, "first", up)
    deadline = time.monotonic() + 120
    # the first sweep trains on both CPUs (two trials under way) before the second starts
    while _stored(tmp_path / "runs" / "first" / "sweep.db") < 2 and time.monotonic() < deadline:
        assert first.poll() is None, first.communicate()[0]
        time.sleep(0.05)
    drivers = [first, _start(tmp_path, "second", up)]
    said = []
    for driver in drivers:
        out, _ = driver.communicate(timeout=240)
        said.append(out)
        assert driver.returncode == 0, out
    assert all("attached to the local cluster" in out for out in said)
    spans = []
    for name in ("first", "second"):
        stored, distinct, span = _ran(tmp_path / "runs" / name / "sweep.db")
        assert stored == distinct == TRIALS * EPOCHS  # every epoch once
        spans.append(span)
    # side by side: the first was still training when the second began
    (a0, a1), (b0, b1) = spans
    assert a0 < b1 and b0 < a1

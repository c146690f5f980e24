"""`caviar run` and `caviar resume` as a user runs them: separate processes, each with its
own local Ray (in its own temp dir, so the test can stop every process it started)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import yaml

from orchestrator.cluster.processes import stop_processes_under
from tests.children import child_ray_env, running

pytestmark = pytest.mark.ray

CAVIAR = [sys.executable, "-m", "orchestrator.cli"]


def _sweep_file(
    tmp: Path, name: str, trials: int, epochs: int, scheduler: str, batch_size: int = 32
) -> Path:
    sweep = {
        "name": name,
        "dataset": "digits",
        "seed": 5,
        "model": {"optimizer": "adam", "hidden_layers": 2, "batch_size": batch_size},
        "space": {
            "learning_rate": {"type": "log_uniform", "low": 0.003, "high": 0.03},
            "hidden_units": {"type": "int_uniform", "low": 32, "high": 64},
        },
        "scheduler": scheduler,
        "budget": {"trials": trials, "max_epochs": epochs},
        "results": str(tmp / "runs"),
    }
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(sweep))
    return path


@pytest.fixture
def ray_env() -> Iterator[dict[str, str]]:
    """Environment for a child `caviar`: its Ray lives under a temp dir we clean up."""
    with child_ray_env() as env:
        yield env


def _count(db: Path, table: str) -> int:
    """Rows in a table of a sweep being written; 0 while the file is still being created."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:  # the driver has created the file but not its tables
        return 0


def _caviar(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CAVIAR, *args], env=env, capture_output=True, text=True, timeout=300)


def _resume(db: Path, env: dict[str, str]) -> None:
    resumed = _caviar("resume", str(db.parent), "--plain", "--workers", "2", env=env)
    assert resumed.returncode == 0, resumed.stderr


def _running(
    sweep: Path, env: dict[str, str], ready: Callable[[], bool], before: str, capture: bool
) -> AbstractContextManager[subprocess.Popen[str]]:
    """`caviar run` in the background, handed over once `ready()` holds."""
    argv = [*CAVIAR, "run", str(sweep), "--plain", "--workers", "2"]
    return running(argv, env, ready, before, capture=capture)


def _points(db: Path) -> dict[tuple[str, int], float]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT trial_id, epoch, val_cost FROM curves").fetchall()
    return {(t, e): v for t, e, v in rows}


def test_run_prints_the_dashboard_and_a_leaderboard_and_refuses_a_second_run(tmp_path, ray_env):
    sweep = _sweep_file(tmp_path, "cli", 4, 3, "fifo")
    done = _caviar("run", str(sweep), "--plain", "--workers", "2", env=ray_env)
    assert done.returncode == 0, done.stderr
    assert "Ray dashboard: http://127.0.0.1:" in done.stdout
    assert "leaderboard" in done.stdout and "trial-0001" in done.stdout
    run_dir = tmp_path / "runs" / "cli"
    points = _points(run_dir / "sweep.db")
    assert len(points) == 4 * 3

    again = _caviar("run", str(sweep), "--plain", env=ray_env)
    assert again.returncode == 2
    assert "already holds a sweep (state: finished)" in again.stderr
    assert _points(run_dir / "sweep.db") == points  # nothing overwritten


def test_a_driver_killed_mid_sweep_is_finished_by_resume(tmp_path, ray_env):
    # mini-batches of 4: epochs of tens of ms, so the sweep is still running when killed
    sweep = _sweep_file(tmp_path, "killed", 4, 16, "fifo", batch_size=4)
    db = tmp_path / "runs" / "killed" / "sweep.db"

    def progressed() -> bool:  # checkpoints and some progress to keep
        return _count(db, "checkpoints") >= 2 and _count(db, "curves") >= 12

    with _running(sweep, ray_env, progressed, "it could be killed", capture=False) as driver:
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(30)
    stop_processes_under(ray_env["RAY_TMPDIR"])  # its Ray outlives a SIGKILLed driver
    before = _points(db)
    assert 12 <= len(before) < 4 * 16

    _resume(db, ray_env)
    after = _points(db)
    assert len(after) == 4 * 16  # the whole budget, each point once
    for key, value in before.items():  # every point recorded before the kill is still there
        assert after[key] == pytest.approx(value, rel=1e-6)
    with sqlite3.connect(db) as conn:
        states = [s for (s,) in conn.execute("SELECT state FROM trials ORDER BY number")]
    assert states == ["completed"] * 4


def test_ctrl_c_stops_cleanly_and_resume_finishes(tmp_path, ray_env):
    sweep = _sweep_file(tmp_path, "ctrlc", 4, 16, "fifo", batch_size=4)
    db = tmp_path / "runs" / "ctrlc" / "sweep.db"
    with _running(
        sweep, ray_env, lambda: _count(db, "curves") >= 8, "Ctrl-C", capture=True
    ) as driver:
        driver.send_signal(signal.SIGINT)
        _, err = driver.communicate(timeout=120)
    assert driver.returncode == 130
    assert f"caviar resume {db.parent}" in err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM sweep WHERE key = 'state'").fetchone()[0] == (
            '"interrupted"'
        )
    before = _points(db)
    _resume(db, ray_env)
    after = _points(db)
    assert len(after) == 4 * 16
    assert all(after[k] == pytest.approx(v, rel=1e-6) for k, v in before.items())

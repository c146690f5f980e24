"""Child processes that run Caviar with a Ray of their own: the environment that keeps that
Ray under a temp dir whose processes are stopped afterwards (never `ray stop`), and a
command run in the background until the test is ready to interrupt it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from orchestrator.cluster.processes import stop_processes_under
from tests.conftest import short_temp_dir


@contextmanager
def child_ray_env(prefix: str = "cvc-") -> Iterator[dict[str, str]]:
    """Environment for a child process whose Ray lives under a fresh temp dir; every
    process under it is stopped on the way out."""
    temp = short_temp_dir(prefix)
    env = dict(os.environ, RAY_TMPDIR=temp, RAY_AUTH_MODE="token", PYTHONUNBUFFERED="1")
    env.pop("RAY_ADDRESS", None)
    env.pop("CAVIAR_RESULTS", None)
    try:
        yield env
    finally:
        stop_processes_under(temp)


@contextmanager
def running(
    argv: Sequence[str],
    env: dict[str, str],
    ready: Callable[[], bool],
    before: str,
    *,
    capture: bool = True,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen[str]]:
    """`argv` in the background, handed over once `ready()` holds (or after 240 s); it must
    still run then (`before` says what it ended too early for); killed on the way out if
    the test left it running."""
    output = subprocess.PIPE if capture else subprocess.DEVNULL
    child = subprocess.Popen(argv, env=env, cwd=cwd, stdout=output, stderr=output, text=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not ready():
            assert child.poll() is None, f"the sweep ended before {before}"
            time.sleep(0.05)
        yield child
    finally:
        if child.poll() is None:
            child.kill()


def running_past_a_checkpoint(db: Path) -> bool:
    """Whether a running trial of the sweep being written to `db` has a checkpoint."""
    if not db.exists():
        return False
    try:
        with sqlite3.connect(db) as conn:
            held = conn.execute(
                "SELECT COUNT(*) FROM trials t JOIN checkpoints c ON c.trial_id = t.trial_id "
                "WHERE t.state = 'running'"
            ).fetchone()[0]
    except sqlite3.OperationalError:  # the file is there, its tables not yet
        return False
    return bool(held)


def interrupt_then_resume(
    sweep: Path, results: Path, name: str, cwd: Path, prefix: str, **env_extra: str
) -> None:
    """`caviar run` of `sweep` with two workers on a Ray of its own, Ctrl-C once a running
    trial has a checkpoint, then `caviar resume` of results/name: both as they should end.
    `cwd` should not be the trainer module's folder, so the workers import the shipped copy."""
    cli = [sys.executable, "-m", "orchestrator.cli"]
    flags = ["--results", str(results), "--workers", "2", "--plain", "--no-dashboard"]
    ready = partial(running_past_a_checkpoint, results / name / "sweep.db")
    with child_ray_env(prefix) as env:
        env.update(env_extra)
        with running([*cli, "run", str(sweep), *flags], env, ready, "Ctrl-C", cwd=cwd) as driver:
            driver.send_signal(signal.SIGINT)
            out, err = driver.communicate(timeout=120)
        assert driver.returncode != 0 and "caviar resume" in err, out + err
        resumed = subprocess.run(
            [*cli, "resume", str(results / name), *flags[2:]],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

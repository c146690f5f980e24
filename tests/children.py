"""Child processes that run Caviar with a Ray of their own: the environment that keeps that
Ray under a temp dir whose processes are stopped afterwards (never `ray stop`), and a
command run in the background until the test is ready to interrupt it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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

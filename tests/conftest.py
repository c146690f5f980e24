"""Fixtures shared by the whole suite: one small local Ray per test session, and helpers
that stop every Ray process a test starts (never `ray stop`, which kills them all)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# Token authentication is on for every cluster these tests start; say so explicitly.
os.environ["RAY_AUTH_MODE"] = "token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def processes_under(root: str) -> list[int]:
    """Pids of processes whose command line mentions `root` (a Ray temp dir, say)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if root in cmdline:
            pids.append(int(entry.name))
    return pids


def kill_processes_under(root: str, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL, every process started with `root` in its command line; then
    remove `root` (Ray's logs and sockets) once nothing uses it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in processes_under(root):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while processes_under(root) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not processes_under(root):
            shutil.rmtree(root, ignore_errors=True)
            return


def short_temp_dir(prefix: str) -> str:
    """Ray's socket paths must stay short: a fresh directory directly under /tmp."""
    return tempfile.mkdtemp(prefix=prefix, dir="/tmp")


@pytest.fixture(scope="session")
def ray_local() -> Iterator[dict[str, str]]:
    """One local Ray for the session: 2 CPUs, dashboard on 127.0.0.1, its own temp dir."""
    ray = pytest.importorskip("ray")
    temp_dir = short_temp_dir("cvt-")
    context = ray.init(
        num_cpus=2,
        include_dashboard=True,
        dashboard_host="127.0.0.1",
        dashboard_port=free_port(),
        _node_ip_address="127.0.0.1",
        _temp_dir=temp_dir,
        namespace="caviar-tests",
        log_to_driver=False,
    )
    try:
        yield {"dashboard": f"http://{context.dashboard_url}", "temp_dir": temp_dir}
    finally:
        ray.shutdown()
        kill_processes_under(temp_dir)

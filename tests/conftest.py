"""Fixtures shared by the whole suite: one small local Ray per test session, and helpers
that stop every Ray process a test starts (never `ray stop`, which kills them all)."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator

import pytest

from orchestrator.cluster.processes import stop_processes_under

# Token authentication is on for every cluster these tests start; say so explicitly.
os.environ["RAY_AUTH_MODE"] = "token"
# A cluster from the developer's own `caviar up` must not be attached to by a test's run:
# the tests' record of an up cluster lives in a directory of their own.
os.environ["CAVIAR_HOME"] = tempfile.mkdtemp(prefix="caviar-home-tests-")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        stop_processes_under(temp_dir)

"""Start and stop the local cluster of `caviar up`, and ask its dashboard whether it answers.

Starting runs `ray start --head` in a session of its own, so every process it leaves
behind shares that session id; stopping signals exactly those processes (and any that
name the cluster's temp dir) by pid. Never `ray stop`, which ends every Ray on the machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from caviar_common.errors import CaviarError
from orchestrator.cluster.local import (
    ClusterRecord,
    Ports,
    Process,
    Token,
    choose_ports,
    choose_token,
    cluster_processes,
    process_name,
    start_argv,
    start_env,
    urls,
)
from orchestrator.cluster.processes import processes_under, stop_processes_under
from orchestrator.cluster.sessions import cmdline, session_members, started_ticks

START_TIMEOUT = 120.0  # `ray start` takes 4-8 s on an idle machine
ATTEMPTS = 3
STOP_ORDER = {"raylet": 0, "gcs_server": 2}  # everything else in between
SOCKET_ROOM = 107 - len("/session_2026-12-02_07-47-24_408052_4194304/sockets/plasma_store")


class ClusterError(CaviarError, RuntimeError):
    """`ray start` failed; the message holds the end of its output."""


class PortTaken(ClusterError):
    """A port was taken between choosing it and Ray binding it."""


@contextlib.contextmanager
def locked(state: Path) -> Iterator[None]:
    """Hold the state directory's lock, so two `caviar up` at once start one cluster."""
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (state / "cluster.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("", port))  # every interface: a port taken on any of them is taken
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def ray_executable() -> str:
    """The `ray` beside this Python (the project's venv), else the one on the PATH."""
    beside = Path(sys.executable).parent / "ray"
    found = str(beside) if beside.exists() else shutil.which("ray")
    if found is None:
        raise ClusterError("no `ray` command found beside Python or on the PATH")
    return found


def make_token(token: Token, env: Mapping[str, str]) -> None:
    """Write the token file the cluster and its clients read, when it does not exist yet."""
    if token.make is None:
        return
    value = env["RAY_AUTH_TOKEN"] if token.make == "copy" else secrets.token_hex(32)
    token.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(token.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value)


def start(
    cpus: int,
    state: Path,
    dashboard_port: int | None = None,
    results: Path | None = None,
    env: Mapping[str, str] = os.environ,
    home: Path | None = None,
    timeout: float = START_TIMEOUT,
    gpus: int | None = None,
    resources: Mapping[str, float] | None = None,
) -> ClusterRecord:
    """Start the cluster and return its record (the caller saves it). It offers `cpus`
    CPUs, and `gpus` GPUs and the custom `resources` when they are given (else Ray detects
    the GPUs). Sweeps submitted to it write to `results` (default ./runs) unless
    CAVIAR_RESULTS is set. A port taken between choosing it and Ray binding it (another
    Ray starting) means another try with new ports; whatever a failed try started is
    stopped again, Ctrl-C included."""
    token = choose_token(env, home or Path.home(), state)
    make_token(token, env)
    bin_dir = str(Path(sys.executable).parent)  # `caviar` for submitted sweeps
    ray_env = start_env(env, token.path, bin_dir, (results or Path("runs")).resolve())
    offer = _Offer(cpus, gpus, dict(resources) if resources is not None else None)
    for _ in range(ATTEMPTS - 1):
        with contextlib.suppress(PortTaken):
            ports = choose_ports(port_is_free, free_port, dashboard_port)
            return _start_once(offer, ports, token, ray_env, timeout)
    ports = choose_ports(port_is_free, free_port, dashboard_port)
    return _start_once(offer, ports, token, ray_env, timeout)


@dataclass(frozen=True)
class _Offer:
    """What the node offers: `ray start`'s --num-cpus, --num-gpus and --resources."""

    cpus: int
    gpus: int | None
    resources: dict[str, float] | None


def _start_once(
    offer: _Offer, ports: Ports, token: Token, ray_env: dict[str, str], timeout: float
) -> ClusterRecord:
    temp_dir = tempfile.mkdtemp(prefix="caviar-up-", dir="/tmp")  # Unix socket paths are short
    log = Path(temp_dir) / "caviar-up.log"
    session = 0
    try:
        if len(temp_dir) > SOCKET_ROOM:
            raise ClusterError(f"temp dir: must be at most {SOCKET_ROOM} bytes, got {temp_dir!r}")
        with log.open("wb") as out:
            proc = subprocess.Popen(
                start_argv(
                    ray_executable(), ports, offer.cpus, temp_dir, offer.gpus, offer.resources
                ),
                env=ray_env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # out of the terminal's reach, and one session id
            )
            session = proc.pid
            try:
                code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                code = None
        if code != 0:
            said = log.read_text(errors="replace").strip().splitlines()
            error = PortTaken if any("already in use" in line for line in said) else ClusterError
            raise error(
                f"`ray start` {'timed out' if code is None else f'failed (exit {code})'}; "
                "its last lines:\n  " + "\n  ".join(said[-15:])
            )
        processes = tuple(
            Process(pid, ticks, process_name(cmdline(pid)))
            for pid in sorted(session_members(session))
            if (ticks := started_ticks(pid)) is not None
        )
        address, dashboard, client = urls(ports)
        return ClusterRecord(
            address=address,
            dashboard=dashboard,
            client=client,
            node_id=_node_id(processes),
            cpus=offer.cpus,
            temp_dir=temp_dir,
            session=session,
            processes=processes,
            token_source=token.source,
            token_path=str(token.path),
            started_at=time.time(),
            gpus=offer.gpus,
            resources=offer.resources,
        )
    except BaseException:
        _stop_pids(set(session_members(session)) if session else set(), 5.0)
        stop_processes_under(temp_dir, timeout=5.0)
        raise


def _node_id(processes: tuple[Process, ...]) -> str:
    for p in processes:
        if p.name == "raylet":
            for arg in cmdline(p.pid):
                if arg.startswith("--node_id="):
                    return arg.split("=", 1)[1]
    return ""


def stop(record: ClusterRecord, timeout: float = 5.0) -> int:
    """Stop every process of the cluster and remove its temp dir; returns how many ran.

    In `ray stop`'s order: the raylet (and its workers with it) first, the GCS last; each
    gets SIGTERM, then SIGKILL after `timeout` seconds.
    """
    first = set(cluster_processes(record))
    order = {pid: STOP_ORDER.get(process_name(cmdline(pid)), 1) for pid in first}
    for step in sorted(set(order.values())):
        _stop_pids({pid for pid, n in order.items() if n == step}, timeout)
    # a worker the raylet started while it was being stopped
    late = set(session_members(record.session)) | set(processes_under(record.temp_dir))
    _stop_pids(late - first, timeout)
    stop_processes_under(record.temp_dir, timeout=timeout)  # and the directory
    return len(first | late)


def _stop_pids(pids: set[int], timeout: float) -> None:
    """SIGTERM, `timeout` seconds, SIGKILL, `timeout` more; a pid counts only while it
    names the process it named when this began."""
    targets = {pid: ticks for pid in pids if (ticks := started_ticks(pid)) is not None}

    def running() -> list[int]:
        return [pid for pid, ticks in targets.items() if started_ticks(pid) == ticks]

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        if _wait(lambda: not running(), timeout):
            return


def _wait(done: Callable[[], bool], timeout: float, poll: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
    return True


def dashboard_answers(url: str, timeout: float = 2.0) -> bool:
    """Whether the dashboard says its GCS is healthy (a public endpoint: no token)."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    try:
        with direct.open(f"{url}/api/gcs_healthz", timeout=timeout) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def wait_for_dashboard(url: str, timeout: float = 60.0) -> bool:
    return _wait(lambda: dashboard_answers(url), timeout, poll=0.5)

"""Sweeps as Ray Jobs: `caviar submit`, `caviar jobs`, `caviar logs`, `caviar stop`.

Each command talks to the Jobs API that --address names, else RAY_API_SERVER_ADDRESS, else
the dashboard of the cluster `caviar up` keeps running, else http://127.0.0.1:8265.
A submitted sweep travels as a small working directory: the sweep file, plus the dataset
file it names (if any), rewritten to point at the copy, and the module of the trainer it
names unless that is installed (the module's file, or its whole top-level package). On the
cluster the job runs `caviar run` against the cluster itself; results go to the head
node's results directory (`CAVIAR_RESULTS` there, the mounted volume in docker-compose).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from caviar_common.errors import InputError
from orchestrator.cluster import local
from orchestrator.cluster.local import ClusterRecord
from orchestrator.core.spec import SweepSpec
from orchestrator.sweepfile.parse import load_sweep
from orchestrator.sweepfile.trainers import shipped
from orchestrator.sweepfile.write import write_sweep

DEFAULT_ADDRESS = "http://127.0.0.1:8265"
ADDRESS_VAR = "RAY_API_SERVER_ADDRESS"  # Ray's own tools read it too
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")


class JobsError(InputError):
    """An address that does not answer (`--address`), or a job that does not exist (JOB)."""


@dataclass(frozen=True)
class Target:
    """The Jobs API a command talks to and where its address came from; `token_path`
    is the token file of `caviar up`'s cluster when that is the one."""

    address: str  # http://HOST:PORT
    source: str  # for people: "--address", RAY_API_SERVER_ADDRESS, ...
    token_path: str | None = None


UP = "the local cluster from `caviar up`"


def choose_target(flag: str | None, env: Mapping[str, str], up: ClusterRecord | None) -> Target:
    """--address, else RAY_API_SERVER_ADDRESS, else the dashboard of the cluster `caviar up`
    keeps running (`up`, its record while it is up), else http://127.0.0.1:8265."""
    if flag:
        return Target(_url(flag), "--address")
    if env.get(ADDRESS_VAR):
        return Target(_url(env[ADDRESS_VAR]), ADDRESS_VAR)
    if up is not None:
        return Target(up.dashboard, UP, up.token_path)
    return Target(DEFAULT_ADDRESS, f"the default: no --address, {ADDRESS_VAR} or `caviar up`")


def find_target(
    flag: str | None, env: Mapping[str, str] = os.environ, record: Path | None = None
) -> tuple[Target, str | None]:
    """`choose_target`, reading `caviar up`'s record (default: the state directory's) only
    when neither the flag nor the variable names an address; and what to tell the user
    of a record found stale (then removed) or broken."""
    if flag or env.get(ADDRESS_VAR):
        return choose_target(flag, env, None), None
    found = local.find(record or local.record_path(env))
    return choose_target(flag, env, found.record), found.note


def _url(address: str) -> str:
    return address if "://" in address else f"http://{address}"


def check_reachable(target: Target, timeout: float = 3.0) -> None:
    """Fail in seconds, naming the address and where it came from, when nothing listens."""
    url = urlparse(target.address)
    host, port = url.hostname or "127.0.0.1", url.port or (443 if url.scheme == "https" else 8265)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:
        named = target.source if target.source == ADDRESS_VAR else "--address"
        given = "" if target.source == named else f" ({target.source})"
        raise JobsError(
            named,
            f"no Ray dashboard answers at {target.address}{given}: {err.strerror or err}; is "
            "the cluster up, and is the port forwarded (ssh -L 8265:127.0.0.1:8265 HOST)?",
        ) from None


def client(target: Target) -> Any:
    """A Jobs client of `target`, with the token of `caviar up`'s cluster when it is that."""
    if target.token_path is not None:
        local.use_client_env(target.token_path)  # before Ray is imported
    from ray.job_submission import JobSubmissionClient

    check_reachable(target)
    return JobSubmissionClient(target.address)


@contextmanager
def package(sweep_file: Path) -> Iterator[tuple[SweepSpec, Path]]:
    """A temporary working directory holding the sweep (and its dataset) for upload."""
    spec = load_sweep(sweep_file)  # bad files fail here, before anything is submitted
    raw = dict(spec.source)
    with tempfile.TemporaryDirectory(prefix="caviar-job-") as tmp:
        folder = Path(tmp)
        dataset = spec.dataset
        path = dataset.get("path") if isinstance(dataset, Mapping) else None
        if path is None and isinstance(dataset, str) and Path(dataset).suffix:
            path = dataset
        if path is not None:
            source = Path(path)
            shutil.copy2(source, folder / source.name)
            raw["dataset"] = (
                {**dataset, "path": source.name} if isinstance(dataset, Mapping) else source.name
            )
        code = shipped(spec.trainer)  # workers import it from the job's working directory
        if code is not None and code.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(code, folder / code.name, ignore=ignore)
        elif code is not None:
            shutil.copy2(code, folder / code.name)
        write_sweep(raw, folder / "sweep.yaml")
        yield spec, folder


def submit(sweep_file: Path, target: Target, workers: int | None = None) -> str:
    """Submit the sweep as a Ray Job; returns its submission id."""
    jobs = client(target)
    with package(sweep_file) as (spec, folder):
        job_id = f"caviar-{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        entrypoint = "caviar run sweep.yaml --plain --address auto"
        if workers is not None:
            entrypoint += f" --workers {workers}"
        deadline = time.monotonic() + 120
        while True:
            try:
                return str(
                    jobs.submit_job(
                        entrypoint=entrypoint,
                        submission_id=job_id,
                        runtime_env={"working_dir": str(folder)},
                        metadata={"caviar": "sweep", "sweep": spec.name},
                    )
                )
            except RuntimeError as err:
                # a cluster that has just started has no job agent for a few seconds
                if "No available agent" not in str(err) or time.monotonic() > deadline:
                    raise
                time.sleep(1.0)


def follow(jobs: Any, job_id: str, out: Any) -> str:
    """Print the job's logs as they come; returns its final status."""

    async def tail() -> None:
        async for chunk in jobs.tail_job_logs(job_id):
            out.write(chunk)
            out.flush()

    asyncio.run(tail())
    status = str(jobs.get_job_status(job_id))
    return status.split(".")[-1]


def list_sweeps(jobs: Any) -> list[dict[str, Any]]:
    rows = []
    for job in jobs.list_jobs():
        meta = job.metadata or {}
        if meta.get("caviar") != "sweep":
            continue
        rows.append(
            {
                "job": job.submission_id,
                "sweep": meta.get("sweep", ""),
                "status": str(job.status).split(".")[-1],
                "started": time.strftime(
                    "%Y-%m-%d %H:%M:%S", time.localtime((job.start_time or 0) / 1000)
                ),
            }
        )
    return sorted(rows, key=lambda r: r["started"])


def known_job(jobs: Any, job_id: str) -> None:
    try:
        jobs.get_job_info(job_id)
    except RuntimeError:
        raise JobsError("JOB", f"no job {job_id!r} on this cluster (see `caviar jobs`)") from None

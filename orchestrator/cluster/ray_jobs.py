"""Sweeps as Ray Jobs: `caviar submit`, `caviar jobs`, `caviar logs`, `caviar stop`.

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
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from caviar_common.errors import InputError
from orchestrator.core.spec import SweepSpec
from orchestrator.sweepfile.parse import load_sweep
from orchestrator.sweepfile.trainers import shipped
from orchestrator.sweepfile.write import write_sweep

DEFAULT_ADDRESS = "http://127.0.0.1:8265"
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")


class JobsError(InputError):
    """An address that does not answer (`--address`), or a job that does not exist (JOB)."""


def job_address(address: str | None) -> str:
    """The Jobs API address: the flag, else RAY_API_SERVER_ADDRESS, else the local default."""
    address = address or os.environ.get("RAY_API_SERVER_ADDRESS") or DEFAULT_ADDRESS
    return address if "://" in address else f"http://{address}"


def check_reachable(address: str, timeout: float = 3.0) -> None:
    """Fail in seconds, naming the address, when nothing listens there."""
    url = urlparse(address)
    host, port = url.hostname or "127.0.0.1", url.port or (443 if url.scheme == "https" else 8265)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:
        raise JobsError(
            "--address",
            f"no Ray dashboard answers at {address} ({err.strerror or err}); is the "
            "cluster up, and is the port forwarded (ssh -L 8265:127.0.0.1:8265 HOST)?",
        ) from None


def client(address: str | None) -> Any:
    from ray.job_submission import JobSubmissionClient

    address = job_address(address)
    check_reachable(address)
    return JobSubmissionClient(address)


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


def submit(sweep_file: Path, address: str | None, workers: int | None = None) -> str:
    """Submit the sweep as a Ray Job; returns its submission id."""
    jobs = client(address)
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

"""`caviar submit`, `caviar jobs`, `caviar logs` and `caviar stop`: sweeps as Ray Jobs."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from orchestrator.cli.args import add_command, add_sweep_file, positive_int

if TYPE_CHECKING:
    from orchestrator.cluster.ray_jobs import Target

ADDRESS_HELP = (
    "the cluster's dashboard / Jobs API, e.g. http://127.0.0.1:8265 (default: "
    "$RAY_API_SERVER_ADDRESS, else the dashboard of the cluster `caviar up` started while "
    "it is up, else http://127.0.0.1:8265)"
)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    submit = add_command(
        commands,
        "submit",
        _submit,
        help="submit a sweep to a Ray cluster as a Ray Job and follow its logs",
        description="Upload the sweep file (and the dataset file it names) and run it on the "
        "cluster with `caviar run`; results land in the head node's results directory.",
    )
    add_sweep_file(submit)
    submit.add_argument("--address", help=ADDRESS_HELP)
    submit.add_argument("--workers", type=positive_int, help="trials at a time on the cluster")
    submit.add_argument(
        "--no-wait", action="store_true", help="print the job id and return at once"
    )

    jobs = add_command(commands, "jobs", _jobs, help="list the sweeps submitted to a cluster")
    jobs.add_argument("--address", help=ADDRESS_HELP)

    for name, helps, handler in (
        ("logs", "print a submitted sweep's logs (--follow: until it ends)", _logs),
        ("stop", "stop a submitted sweep", _stop),
    ):
        command = add_command(commands, name, handler, help=helps)
        command.add_argument("job", help="the job id that `caviar submit` printed")
        command.add_argument("--address", help=ADDRESS_HELP)
        if name == "logs":
            command.add_argument("--follow", action="store_true", help="keep following")


def _target(address: str | None) -> Target:
    """The Jobs API to talk to; says so when a record of `caviar up` is stale or broken."""
    from orchestrator.cluster import ray_jobs as jobs

    target, note = jobs.find_target(address)
    if note:
        print(note, flush=True)
    return target


def _submit(args: argparse.Namespace) -> int:
    from orchestrator.cluster import ray_jobs as jobs

    target = _target(args.address)
    job_id = jobs.submit(args.file, target, args.workers)
    to = target.address if target.source != jobs.UP else f"{jobs.UP} at {target.address}"
    print(f"submitted {job_id} to {to}", flush=True)
    if args.no_wait:
        print(f"follow it with `caviar logs {job_id} --follow`")
        return 0
    status = jobs.follow(jobs.client(target), job_id, sys.stdout)
    print(f"job {job_id}: {status}")
    return 0 if status == "SUCCEEDED" else 1


def _jobs(args: argparse.Namespace) -> int:
    from orchestrator.cluster import ray_jobs as jobs

    rows = jobs.list_sweeps(jobs.client(_target(args.address)))
    if not rows:
        print("no Caviar sweeps on this cluster")
        return 0
    print(f"{'job':<40} {'sweep':<20} {'status':<10} started")
    for row in rows:
        print(f"{row['job']:<40} {row['sweep']:<20} {row['status']:<10} {row['started']}")
    return 0


def _logs(args: argparse.Namespace) -> int:
    from orchestrator.cluster import ray_jobs as jobs

    client = jobs.client(_target(args.address))
    jobs.known_job(client, args.job)
    if args.follow:
        status = jobs.follow(client, args.job, sys.stdout)
        print(f"job {args.job}: {status}")
    else:
        sys.stdout.write(client.get_job_logs(args.job))
    return 0


def _stop(args: argparse.Namespace) -> int:
    from orchestrator.cluster import ray_jobs as jobs

    client = jobs.client(_target(args.address))
    jobs.known_job(client, args.job)
    stopped = client.stop_job(args.job)
    print(f"job {args.job}: {'stopping' if stopped else 'already ended'}")
    return 0

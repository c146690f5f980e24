"""`caviar up`, `caviar down` and `caviar status`: a local Ray cluster that stays up
between sweeps, so its dashboard keeps every finished sweep's actors, logs and metrics."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.cli.args import add_command, number, positive_int

if TYPE_CHECKING:
    from orchestrator.cluster.local import ClusterRecord

EXIT_NOT_UP = 1
port = number(int, lambda v: 0 <= v <= 65535, "a port number in 0..65535")
gpu_count = number(int, lambda v: v >= 0, "an integer >= 0")


def custom_resources(text: str) -> dict[str, float]:
    """`--resources`: a JSON object of custom resources (argparse names the option)."""
    from caviar_common.errors import InputError
    from orchestrator.cluster.local import parse_resources

    try:
        return parse_resources(text)
    except InputError as err:
        raise argparse.ArgumentTypeError(err.reason) from None


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = add_command(
        commands,
        "up",
        _up,
        help="start a local Ray cluster that stays up; `caviar run` then attaches to it",
        description="Start a one-node Ray cluster in the background: dashboard, Jobs API and "
        "node on 127.0.0.1 (dashboard on port 8265 when free), token authentication on, one "
        "BLAS thread per worker. `caviar run` and `caviar resume` without --address attach "
        "to it, `caviar submit` without --address sends sweeps to it, and its dashboard keeps "
        "finished sweeps. Stop it with `caviar down`.",
    )
    up.add_argument(
        "--num-cpus",
        type=positive_int,
        help=f"CPUs the cluster offers (default: one per core, {os.cpu_count() or 1} here)",
    )
    up.add_argument(
        "--dashboard-port",
        type=port,
        help="the dashboard's and Jobs API's port (default: 8265 when free, else any free "
        "one; 0: any free one)",
    )
    up.add_argument(
        "--num-gpus",
        type=gpu_count,
        help="GPUs the cluster offers, for a machine whose GPUs Ray does not detect "
        "(default: Ray's count)",
    )
    up.add_argument(
        "--resources",
        type=custom_resources,
        metavar="JSON",
        help="custom resources the cluster offers, as a JSON object of names and amounts, "
        """e.g. '{"spot": 1}'""",
    )
    add_command(
        commands,
        "down",
        _down,
        help="stop the local cluster `caviar up` started (only its processes)",
        description="Stop every process of the cluster `caviar up` started, by process id, "
        "and remove its temp dir. No other Ray on the machine is touched.",
    )
    add_command(
        commands,
        "status",
        _status,
        help="say whether the local cluster from `caviar up` is up (exit 0 if so, else 1), "
        "what each node has and what running sweeps hold",
    )


def _up(args: argparse.Namespace) -> int:
    from orchestrator.cluster import control
    from orchestrator.cluster import local as lc

    state = lc.state_dir()
    path = state / lc.RECORD_NAME
    with control.locked(state):
        found = lc.find(path)
        if found.note:
            print(found.note)
        if found.record is not None:
            print(f"a local cluster is already up at {found.record.address}")
            print(f"Ray dashboard: {found.record.dashboard}")
            print("stop it with `caviar down`")
            return 0
        if found.health is lc.Health.BROKEN:
            return EXIT_NOT_UP
        cpus = args.num_cpus or os.cpu_count() or 1
        offers = ", ".join([f"{cpus} CPUs", *lc.declared(args.num_gpus, args.resources)])
        print(f"starting a local Ray cluster with {offers} ...", flush=True)
        try:
            record = control.start(
                cpus, state, args.dashboard_port, gpus=args.num_gpus, resources=args.resources
            )
        except control.ClusterError as err:
            print(f"caviar up: {err}", file=sys.stderr)
            return EXIT_NOT_UP
        lc.save_record(record, path)
    answering = control.wait_for_dashboard(record.dashboard)
    print(f"local cluster up at {record.address}")
    print(f"Ray dashboard: {record.dashboard}{'' if answering else ' (not answering yet)'}")
    offers = ", ".join([f"{record.cpus} CPUs", *lc.declared(record.gpus, record.resources)])
    print(f"{offers}; token from {record.token_source}; record in {path}")
    print(
        "`caviar run` and `caviar resume` attach to it and `caviar submit` sends sweeps to it; "
        "stop it with `caviar down`"
    )
    return 0


def _down(args: argparse.Namespace) -> int:
    from orchestrator.cluster import control
    from orchestrator.cluster import local as lc

    state = lc.state_dir()
    path = state / lc.RECORD_NAME
    with control.locked(state):
        record = lc.load_record(path)
        if record is None:
            print("no local cluster from `caviar up` is recorded; nothing to stop")
            return 0
        stopped = control.stop(record)
        lc.remove_record(path)
        if record.token_source == "RAY_AUTH_TOKEN":  # the copy `caviar up` made
            Path(record.token_path).unlink(missing_ok=True)
    if stopped:
        print(
            f"stopped the local cluster at {record.address}: {stopped} processes; "
            f"removed {record.temp_dir}"
        )
    else:
        print(f"the local cluster at {record.address} had already stopped; removed its record")
    return 0


def _status(args: argparse.Namespace) -> int:
    from orchestrator.cluster import control
    from orchestrator.cluster import local as lc

    found = lc.find(lc.record_path())
    if found.note:
        print(found.note)
    record = found.record
    if record is None:
        if found.health is None:
            print("no local cluster is up (start one with `caviar up`)")
        return EXIT_NOT_UP
    answering = control.dashboard_answers(record.dashboard)
    print(f"local cluster: up, {len(found.alive)} processes")
    for line in _describe(record):
        print(f"  {line}")
    if not answering:
        print(f"  the dashboard does not answer at {record.dashboard} (yet)")
    for line in _resources(record, answering):
        print(line)
    env = lc.client_env(record.token_path)
    exports = " ".join(f"{k}={v}" for k, v in {"RAY_ADDRESS": record.address, **env}.items())
    print(
        "`caviar run` and `caviar resume` attach to it and `caviar submit` sends sweeps to it; "
        "`caviar down` stops it"
    )
    print(f"Ray's own commands (ray status, ray list actors) need: {exports}")
    return 0


def _resources(record: ClusterRecord, answering: bool) -> list[str]:
    """The nodes' resources (from the GCS) and the sweeps' holdings (from the dashboard),
    or a line saying why not."""
    from orchestrator.cluster import holdings
    from orchestrator.cluster.local import use_client_env

    use_client_env(record.token_path)  # before Ray is imported
    try:
        lines = holdings.nodes_section(holdings.nodes(record.address))
    except holdings.HoldingsError as err:
        lines = [f"resources: unknown; {err}"]
    if not answering:
        return [*lines, "running sweeps: unknown until the dashboard answers"]
    try:
        return lines + holdings.sweeps_section(holdings.sweep_workers(record.dashboard))
    except holdings.HoldingsError as err:
        return [*lines, f"running sweeps: unknown; {err}"]


def _describe(record: ClusterRecord) -> list[str]:
    from orchestrator.cluster.local import declared

    said = declared(record.gpus, record.resources)
    up_for = max(0.0, time.time() - record.started_at)
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.started_at))
    return [
        f"address:    {record.address}  (Ray Client: {record.client})",
        f"dashboard:  {record.dashboard}",
        f"CPUs:       {record.cpus}",
        *([f"declared:   {', '.join(said)}"] if said else []),
        f"node:       {record.node_id}",
        f"started:    {started} ({_duration(up_for)} ago)",
        f"token:      {record.token_source}",
        f"temp dir:   {record.temp_dir}",
    ]


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"

"""What `caviar status` says of the cluster's resources: each alive node's CPUs, GPUs,
memory and custom resources, in total and available now, and what each running sweep's
workers hold.

Only `nodes` and `sweep_workers` talk to Ray: the nodes come from the GCS through Ray's
autoscaler SDK (what `ray status` reads under the v2 autoscaler; the dashboard's
/api/cluster_status renames resources into camelCase, object_store_memory into
objectStoreMemory), the workers from the state API. Everything else is pure and turns
plain records into the lines printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from caviar_common.errors import CaviarError
from orchestrator.core.ray_names import NAMESPACE_PREFIX, WORKER_PREFIX

ALWAYS = ("CPU", "GPU", "memory")  # listed for every node, 0 when it has none
HIDDEN = ("object_store_memory",)  # Ray's, not something a trial asks for
# Ray's markers, as `ray status` hides them: node:<ip>, node:__internal_head__, and the
# accelerator_type:<model> of a detected GPU
HIDDEN_PREFIXES = ("node:", "accelerator_type:")
HEAD_MARK = "node:__internal_head__"
TIMEOUT = 5  # seconds, for each question to the cluster
GIB, MIB = 2**30, 2**20


class HoldingsError(CaviarError, RuntimeError):
    """The cluster did not say what it has (it did not answer, or refused the token)."""


@dataclass(frozen=True)
class Node:
    """An alive node: its resources in total and what of them is free now."""

    node_id: str
    ip: str
    total: Mapping[str, float]
    available: Mapping[str, float]

    @property
    def head(self) -> bool:
        return HEAD_MARK in self.total


@dataclass(frozen=True)
class Worker:
    """An alive actor: its name, its Ray namespace and the resources it was placed with."""

    name: str
    namespace: str
    required: Mapping[str, float]


@dataclass(frozen=True)
class Holding:
    """What one sweep's alive workers hold together."""

    sweep: str
    workers: int
    resources: Mapping[str, float] = field(default_factory=dict)


# -- the lines ----------------------------------------------------------------------------


def shown(names: Iterable[str]) -> list[str]:
    """The resources a person is shown, CPU, GPU and memory first, then the custom ones
    by name; Ray's internal markers and the object store are left out."""
    custom = {n for n in names if n not in (*ALWAYS, *HIDDEN) and not n.startswith(HIDDEN_PREFIXES)}
    return [*ALWAYS, *sorted(custom)]


def amount(name: str, value: float) -> str:
    """One amount as people read it: memory in GiB (MiB below one GiB), else a number."""
    if name == "memory":
        return f"{value / GIB:.1f} GiB" if value >= GIB else f"{value / MIB:.0f} MiB"
    return f"{value:g}"


def node_lines(node: Node) -> list[str]:
    """A node's header and a row per resource: its name, total and available now."""
    role = ", head" if node.head else ""
    rows = [("resource", "total", "available")]
    rows += [
        (name, amount(name, node.total.get(name, 0.0)), amount(name, node.available.get(name, 0.0)))
        for name in shown(node.total)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    table = [f"  {a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows]
    return [f"node {node.node_id} ({node.ip}{role}):", *table]


def sweep_of(worker: Worker) -> str | None:
    """The sweep a worker serves, from its namespace; None for any other actor."""
    if not worker.name.startswith(WORKER_PREFIX):
        return None
    if not worker.namespace.startswith(NAMESPACE_PREFIX):
        return None
    return worker.namespace[len(NAMESPACE_PREFIX) :] or None


def holdings(workers: Iterable[Worker]) -> list[Holding]:
    """Per sweep, by name: how many of its workers are alive and what they hold together."""
    counts: dict[str, int] = {}
    sums: dict[str, dict[str, float]] = {}
    for worker in workers:
        sweep = sweep_of(worker)
        if sweep is None:
            continue
        counts[sweep] = counts.get(sweep, 0) + 1
        held = sums.setdefault(sweep, {})
        for name, value in worker.required.items():
            held[name] = held.get(name, 0.0) + value
    return [Holding(sweep, counts[sweep], sums[sweep]) for sweep in sorted(counts)]


def holding_line(holding: Holding) -> str:
    """`sweep digits: 2 workers, 2 CPU, 1 GPU`: the resources it holds, none at 0."""
    count = f"{holding.workers} worker{'' if holding.workers == 1 else 's'}"
    held = [
        f"{amount(name, holding.resources[name])} {name}"
        for name in shown(holding.resources)
        if holding.resources.get(name, 0.0) > 0
    ]
    return f"sweep {holding.sweep}: {', '.join([count, *held])}"


def nodes_section(nodes: Iterable[Node]) -> list[str]:
    """What `caviar status` prints of the nodes' resources."""
    lines = ["resources of each alive node, in total and available now:"]
    return lines + [f"  {line}" for node in nodes for line in node_lines(node)]


def sweeps_section(workers: Iterable[Worker]) -> list[str]:
    """What `caviar status` prints of the running sweeps' holdings."""
    held = holdings(workers)
    if not held:
        return ["no sweep is running"]
    return ["running sweeps and what their workers hold:"] + [f"  {holding_line(h)}" for h in held]


# -- asking Ray ---------------------------------------------------------------------------


def nodes(address: str) -> list[Node]:
    """The alive nodes of the cluster whose GCS is at `address`, from the GCS."""
    from ray.autoscaler.v2.sdk import get_cluster_status
    from ray.exceptions import RayError

    try:
        status = get_cluster_status(address, timeout=TIMEOUT)
    except RayError as err:
        raise HoldingsError(
            f"the GCS at {address} did not say what its nodes have: {err}"
        ) from None
    return [
        Node(n.node_id or "?", n.ip_address, n.total_resources(), n.available_resources())
        for n in (*status.active_nodes, *status.idle_nodes)  # the rest are dead or pending
    ]


def sweep_workers(dashboard: str) -> list[Worker]:
    """Every alive actor of the cluster, from the state API of its dashboard."""
    from ray.exceptions import RayError  # AuthenticationError: a token refused
    from ray.util.state import list_actors
    from ray.util.state.exception import RayStateApiException

    try:
        actors: list[Any] = list_actors(
            address=dashboard,
            filters=[("state", "=", "ALIVE")],
            detail=True,  # for required_resources
            limit=10_000,  # the API server's most
            timeout=TIMEOUT,
            raise_on_missing_output=False,
        )
    except (RayStateApiException, RayError) as err:
        raise HoldingsError(
            f"the dashboard at {dashboard} did not list the actors: {err}"
        ) from None
    return [
        Worker(a.name or "", a.ray_namespace or "", dict(a.required_resources or {}))
        for a in actors
    ]

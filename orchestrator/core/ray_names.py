"""The names a sweep's Ray objects take, defined once: the executor gives them, and
`caviar status` and a sweep sharing a cluster read them back. Nothing here imports Ray."""

from __future__ import annotations

NAMESPACE_PREFIX = "caviar-"  # a sweep's Ray namespace: caviar-<sweep name>
WORKER_PREFIX = "caviar-worker-"  # its workers' actors: caviar-worker-1, -2, ...


def sweep_namespace(name: str) -> str:
    """The Ray namespace of the sweep `name`."""
    return f"{NAMESPACE_PREFIX}{name}"


def worker_name(number: int) -> str:
    """The actor name of a sweep's `number`-th worker."""
    return f"{WORKER_PREFIX}{number}"

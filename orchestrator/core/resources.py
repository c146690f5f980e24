"""What one trial reserves on a cluster (`resources:` in a sweep file), and how many such
trials a cluster's nodes hold at once.

Amounts are in Ray's own resource names: "CPU", "GPU", "memory" (bytes) and any custom
resource a node declares (`{spot: 1}`, `accelerator_type:A100`). A fraction of a GPU is
taken from one device, as Ray places it: a node with 2 GPUs holds four trials of 0.5 GPU
(two per device) but only two of 0.4, not five. Every other resource is a plain quantity.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from caviar_common.errors import InputError

EPS = 1e-9
UNIT_INSTANCE = frozenset({"GPU"})  # taken from one device when a fraction is asked
RESERVED = frozenset({"CPU", "GPU", "memory", "object_store_memory"})
# bytes per unit: decimal (kB = 1000) and binary (KiB = 1024) prefixes, as Kubernetes
_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "ki": 2**10,
    "kib": 2**10,
    "mi": 2**20,
    "mib": 2**20,
    "gi": 2**30,
    "gib": 2**30,
    "ti": 2**40,
    "tib": 2**40,
}
# a number and a unit of _UNITS, in any case (also the JSON Schema's pattern)
MEMORY_PATTERN = r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*((?:[KkMmGgTt][Ii]?[Bb]?|[Bb])?)\s*$"
_MEMORY = re.compile(MEMORY_PATTERN)
MEMORY_RULE = "a number of bytes, or a number with a unit such as '512MiB', '4GiB' or '2GB'"


def parse_memory(value: Any) -> int:
    """Bytes from an integer or a string with a unit ('4GiB', '512 MB'); a ValueError that
    says the rule and the value otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"must be {MEMORY_RULE}, got {value!r}")
    if isinstance(value, int | float) and math.isfinite(value):
        number, unit = float(value), ""
    elif isinstance(value, str) and (match := _MEMORY.match(value)):
        number, unit = float(match.group(1)), (match.group(2) or "").lower()
    else:
        raise ValueError(f"must be {MEMORY_RULE}, got {value!r}")
    if unit not in _UNITS:
        raise ValueError(f"must be {MEMORY_RULE}, got {value!r} (unknown unit {unit!r})")
    amount = number * _UNITS[unit]
    if amount < 1:
        raise ValueError(f"must be {MEMORY_RULE}, at least 1 byte, got {value!r}")
    return int(amount)


def format_bytes(amount: float) -> str:
    """1073741824 -> '1 GiB'; 1500000 -> '1.43 MiB'."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if amount >= size:
            return f"{amount / size:.3g} {unit}"
    return f"{amount:g} B"


def check_whole_above_one(amount: float) -> None:
    """Ray's rule for an amount of a resource: a fraction below 1, a whole number above."""
    if amount > 1 and not float(amount).is_integer():
        raise ValueError(f"must be a fraction below 1 or a whole number, got {amount:g}")


@dataclass(frozen=True)
class TrialResources:
    """One trial's reservation: CPUs, GPUs, memory in bytes and custom resources."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory: int | None = None
    custom: tuple[tuple[str, float], ...] = ()

    @property
    def asks(self) -> dict[str, float]:
        """Ray's resource names and the amounts asked, the ones asked for only."""
        asks = {"CPU": self.cpus, "GPU": self.gpus, "memory": float(self.memory or 0)}
        asks.update(self.custom)
        return {name: amount for name, amount in asks.items() if amount > 0}

    def ray_options(self) -> dict[str, Any]:
        """The options an actor is created with to reserve this."""
        options: dict[str, Any] = {"num_cpus": self.cpus}
        if self.gpus:
            options["num_gpus"] = self.gpus
        if self.memory:
            options["memory"] = self.memory
        if self.custom:
            options["resources"] = dict(self.custom)
        return options

    def __str__(self) -> str:
        return describe(self.asks)


def describe(amounts: Mapping[str, float]) -> str:
    """{'CPU': 1, 'GPU': 0.5, 'spot': 1} -> '1 CPU, 0.5 GPU, spot: 1'."""
    parts = []
    for name, amount in amounts.items():
        if name == "memory":
            parts.append(f"{format_bytes(amount)} memory")
        elif name in ("CPU", "GPU"):
            parts.append(f"{amount:g} {name}")
        else:
            parts.append(f"{name}: {amount:g}")
    return ", ".join(parts)


def fits(node: Mapping[str, float], name: str, amount: float) -> int:
    """How many times `amount` of resource `name` fits in `node` (its totals or what it
    has free): per device for a fraction of a GPU, by quantity otherwise."""
    have = float(node.get(name, 0.0))
    if name in UNIT_INSTANCE and amount < 1:
        return math.floor(have + EPS) * math.floor(1 / amount + EPS)
    return math.floor(have / amount + EPS)


def node_slots(node: Mapping[str, float], resources: TrialResources) -> int:
    """Trials of `resources` that `node` holds at once."""
    counts = [fits(node, name, amount) for name, amount in resources.asks.items()]
    return min(counts) if counts else 0


def cluster_slots(nodes: Iterable[Mapping[str, float]], resources: TrialResources) -> int:
    """Trials of `resources` the nodes hold at once, each trial on one node."""
    return sum(node_slots(node, resources) for node in nodes)


@dataclass(frozen=True)
class Shortfall:
    """A resource no node has enough of for one trial: the sweep file's key, the amount
    asked and the most any node has."""

    key: str
    asked: float
    largest: float
    name: str
    alone: bool = True  # False: some node has enough of it, but not with the rest

    @property
    def reason(self) -> str:
        def amount(x: float) -> str:
            return format_bytes(x) if self.name == "memory" else f"{x:g}"

        asks = f"asks {amount(self.asked)} {_noun(self.name)} per trial"
        if self.alone:
            return f"{asks}; the largest node has {amount(self.largest)}"
        return (
            f"{asks}; nodes that have it lack the rest of a trial's resources, and the "
            f"node with most of them has {amount(self.largest)}"
        )

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


class ResourcesError(InputError):
    """A trial asks for more than any node of the cluster has: no trial could ever start."""


def refusal(found: Sequence[Shortfall]) -> ResourcesError:
    """The error for a sweep no node can run a trial of, naming each key that asks too
    much (the first as the error's path)."""
    first, rest = found[0], found[1:]
    more = "".join(f"; {s}" for s in rest)
    return ResourcesError(
        first.key,
        f"{first.reason}{more}; no trial could ever start on this cluster, so none was started",
        hint="ask for less, or run on a cluster with a node that has it (`caviar up "
        "--num-gpus N` or `--resources` declares what a local machine has)",
    )


def _noun(name: str) -> str:
    return {"CPU": "CPU(s)", "GPU": "GPU(s)", "memory": "of memory"}.get(name, f"of {name!r}")


KEYS = {
    "CPU": "resources.cpus_per_trial",
    "GPU": "resources.gpus_per_trial",
    "memory": "resources.memory_per_trial",
}


def shortfalls(nodes: Sequence[Mapping[str, float]], resources: TrialResources) -> list[Shortfall]:
    """Why no node can ever hold one trial, given the nodes' totals: each resource no node
    has enough of; or, when each is on some node but never all on one, one Shortfall per
    resource in the best node's terms. Empty when a node holds a trial."""
    if any(node_slots(node, resources) > 0 for node in nodes):
        return []
    found = []
    for name, amount in resources.asks.items():
        if not any(fits(node, name, amount) for node in nodes):
            largest = max((float(node.get(name, 0.0)) for node in nodes), default=0.0)
            found.append(Shortfall(key_of(name), amount, largest, name))
    if found:
        return found
    # every resource is on some node, never all of them on one: say what the node that
    # comes closest lacks
    best = max(nodes, key=lambda n: sum(fits(n, k, a) > 0 for k, a in resources.asks.items()))
    return [
        Shortfall(key_of(name), amount, float(best.get(name, 0.0)), name, alone=False)
        for name, amount in resources.asks.items()
        if not fits(best, name, amount)
    ]


def key_of(name: str) -> str:
    """The sweep file's key for Ray's resource `name`."""
    return KEYS.get(name, f"resources.custom.{name}")


def fair_share(slots: int, sweeps: int) -> int:
    """The trials at a time one of `sweeps` sweeps sharing a cluster of `slots` takes by
    default: an equal part, at least one."""
    return max(1, slots // max(1, sweeps))

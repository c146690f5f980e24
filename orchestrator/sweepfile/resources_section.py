"""The sweep file's `resources:`: what one trial reserves (CPUs, GPUs, memory and a
cluster's own resources), each entry checked by its rule (orchestrator/core/resources.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.core.resources import (
    RESERVED,
    TrialResources,
    check_whole_above_one,
    parse_memory,
)
from orchestrator.sweepfile.checks import (
    Problems,
    SweepError,
    get,
    known_keys,
    mapping,
    raise_all,
)
from orchestrator.sweepfile.fields import RESOURCES

PATH = "resources"


def resources_of(raw: Any) -> TrialResources:
    """The `resources:` section as a TrialResources; every problem in it, as one error."""
    section = mapping(PATH, {} if raw is None else raw, "a mapping")
    problems = Problems()
    problems.attempt(known_keys, PATH, section, tuple(RESOURCES))
    cpus = problems.attempt(get, section, "cpus_per_trial", RESOURCES, PATH)
    gpus = problems.attempt(_gpus, section)
    memory = problems.attempt(_memory, section.get("memory_per_trial"))
    custom = problems.attempt(_custom, section.get("custom"))
    raise_all(problems.found)
    assert cpus is not None and gpus is not None and custom is not None  # raised otherwise
    return TrialResources(cpus, gpus, memory, custom)


def _gpus(section: Mapping[str, Any]) -> float:
    gpus = float(get(section, "gpus_per_trial", RESOURCES, PATH))
    try:
        check_whole_above_one(gpus)
    except ValueError as err:
        raise SweepError(f"{PATH}.gpus_per_trial", str(err), hint=_RAY_RULE) from None
    return gpus


def _memory(raw: Any) -> int | None:
    if raw is None:
        return None
    try:
        return parse_memory(raw)
    except ValueError as err:
        raise SweepError(f"{PATH}.memory_per_trial", str(err)) from None


def _custom(raw: Any) -> tuple[tuple[str, float], ...]:
    if raw is None:
        return ()
    path = f"{PATH}.custom"
    entries = mapping(path, raw, "a mapping of resource names to amounts, such as {spot: 1}")
    found: list[tuple[str, float]] = []
    problems = Problems()
    for name, amount in entries.items():
        problems.attempt(_one_custom, f"{path}.{name}", name, amount, found)
    raise_all(problems.found)
    return tuple(found)


def _one_custom(path: str, name: str, amount: Any, found: list[tuple[str, float]]) -> None:
    if name in RESERVED or not name.strip():
        raise SweepError(
            path,
            "must be the name of a cluster's own resource; CPU, GPU and memory have keys of "
            "their own (cpus_per_trial, gpus_per_trial, memory_per_trial)"
            if name.strip()
            else "must be a resource's name, not blank",
        )
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not amount > 0:
        raise SweepError(path, f"must be an amount > 0, got {amount!r}")
    try:
        check_whole_above_one(float(amount))
    except ValueError as err:
        raise SweepError(path, str(err), hint=_RAY_RULE) from None
    found.append((name, float(amount)))


_RAY_RULE = "Ray reserves a resource in fractions of one unit, or in whole units"

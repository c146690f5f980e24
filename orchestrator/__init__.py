"""Caviar's driver side: a package per concept (core, search, schedulers, storage, sweepfile,
execution, cluster, results, report, display, panda, cli); README.md's "Where things are"
says what each owns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.results.run import Run


def load_run(path: Any) -> Run:
    """A sweep's trials and curves as pandas DataFrames (see orchestrator.results.run)."""
    from orchestrator.results.run import load_run as _load

    return _load(path)


__all__ = ["load_run"]

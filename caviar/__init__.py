"""Caviar from Python: run, resume, extend, validate and sample a sweep, and load its results.

`caviar.run("sweep.yaml")` does what `caviar run sweep.yaml` does and returns the finished
`Run`; a sweep may also be given as the same structure as a dict (a `SweepSource` is
either).

Every error Caviar raises on purpose is a `CaviarError`. Bad input is an `InputError` (a
ValueError too) naming the entry, the rule and the value; a sweep's problems come together
as one `SweepErrors`; a results directory that cannot be used as asked is a `StoreError`.
Anything else that escapes is a bug (or the machine's failure), never bad input.
"""

from __future__ import annotations

from importlib import metadata

from caviar.api import SweepSource, extend, load_model, resume, run, sample, validate
from caviar_common.errors import CaviarError, InputError
from orchestrator.results.run import Run, load_run
from orchestrator.storage.store_error import StoreError
from orchestrator.sweepfile.checks import SweepErrors

DISTRIBUTION = "caviar-tune"  # the name Caviar is installed under


def _version() -> str:
    """The installed distribution's version; "0+unknown" when run from a source tree that
    is not installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


__version__ = _version()

__all__ = [
    "CaviarError",
    "InputError",
    "Run",
    "StoreError",
    "SweepErrors",
    "SweepSource",
    "__version__",
    "extend",
    "load_model",
    "load_run",
    "resume",
    "run",
    "sample",
    "validate",
]

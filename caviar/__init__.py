"""Caviar from Python: run, resume, validate and sample a sweep, and load its results.

`caviar.run("sweep.yaml")` does what `caviar run sweep.yaml` does and returns the finished
`Run`; a sweep may also be given as the same structure as a dict.
"""

from __future__ import annotations

from caviar.api import SweepSource, resume, run, sample, validate
from orchestrator.results.run import Run, load_run

__all__ = ["Run", "SweepSource", "load_run", "resume", "run", "sample", "validate"]

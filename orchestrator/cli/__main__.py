"""`python -m orchestrator.cli`: the `caviar` command without its console script."""

from __future__ import annotations

from orchestrator.cli import entry

entry()

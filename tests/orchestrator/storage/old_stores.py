"""The committed stores of earlier Caviar versions (tests/data/stores/, written by
make_stores.py there), copied into a run directory a test may change."""

from __future__ import annotations

import shutil
from pathlib import Path

STORES = Path(__file__).resolve().parents[2] / "data" / "stores"
VERSIONS = (1, 2, 3, 4, 5)  # v5: the schema of stores written before versions were recorded


def old_store(version: int, run_dir: Path) -> Path:
    """`run_dir` holding the interrupted sweep as the store of schema `version` kept it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(STORES / f"v{version}.db", run_dir / "sweep.db")
    return run_dir

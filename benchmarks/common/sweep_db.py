"""A finished sweep's store, for bench_sweep.py and its scale rows, read through
`orchestrator.storage`'s reader (one read-only snapshot; the benchmarks hold no SQL)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.storage import Reader
from orchestrator.storage.rows import SweepMeta, TrialRow


def read_store(db: Path) -> tuple[SweepMeta | None, list[TrialRow], list[float]]:
    """The sweep's keys (None without a store), its trials by number and its epochs'
    seconds, from runs/NAME/sweep.db."""
    if not db.exists():
        return None, [], []
    with Reader.open(db) as reader:
        meta = reader.meta()
        rows = reader.trials()
        seconds = [s for s in reader.curves().columns["seconds"] if s is not None]
    return meta, rows, seconds


def trial_span(rows: list[TrialRow]) -> tuple[float, float]:
    """From the first trial's start to the last one's end, by the store's clock."""
    starts = [r.started for r in rows if r.started is not None]
    ends = [r.ended for r in rows if r.ended is not None]
    return min(starts), max(ends)

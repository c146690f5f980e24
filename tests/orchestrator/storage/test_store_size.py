"""A store's file follows what it holds: the pages of dropped checkpoints go back to the file
system as the sweep runs, instead of staying in SQLite's free list for good; and what it
holds when the sweep ends is exactly the kept models and the checkpoints worth keeping."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from caviar_common.states import TrialState
from orchestrator.core.loop import Sweep
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import parse_sweep
from tests.orchestrator.kept import best_trials, checkpoints, promotable_paused
from tests.orchestrator.storage.old_stores import old_store

# Many short trials in promote mode: every trial leaves a checkpoint at its rung, and the
# end of the sweep drops those of the trials still paused there but the next in line.
PROMOTING: dict[str, Any] = {
    "name": "many",
    "dataset": "digits",
    "seed": 4,
    "model": {"hidden_layers": 2, "hidden_units": 64, "optimizer": "adam"},
    "space": {"learning_rate": {"type": "log_uniform", "low": 1e-4, "high": 1e-1}},
    "budget": {"trials": 400, "max_epochs": 9},
    "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 3, "mode": "promote"},
}


def _pages(db: Path) -> tuple[int, int, int]:
    """(pages, free pages, page size) as SQLite itself counts them."""
    conn = sqlite3.connect(db)
    try:
        counts = [
            conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("page_count", "freelist_count", "page_size")
        ]
    finally:
        conn.close()
    return counts[0], counts[1], counts[2]


def _run(run_dir: Path) -> Path:
    spec = parse_sweep(PROMOTING)
    store = Store.create(run_dir, spec.source)
    try:
        Sweep(spec, store, InProcessExecutor(2)).run()
        # the sweep ended: its best `keep` models stay, each at its best epoch ...
        kept = best_trials(store, "val_cost", spec.keep)
        assert [(m.trial_id, m.epoch) for m in store.models()] == kept
        # ... and checkpoints only of the paused trials a larger budget promotes first, and
        # of kept trials that completed (a larger epoch budget lets them go on)
        rows = {r.trial_id: r for r in store.trial_rows()}
        completed = {t: rows[t].epochs for t, _ in kept if rows[t].state == TrialState.COMPLETED}
        paused = promotable_paused(store, "val_cost", 3)
        assert paused
        assert checkpoints(store) == {**completed, **{t: rows[t].epochs for t in paused}}
    finally:
        store.close()
    return run_dir / "sweep.db"


@pytest.fixture(scope="module")
def promoted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _run(tmp_path_factory.mktemp("size") / "many")


def test_a_400_trial_promote_sweep_leaves_a_file_of_the_size_it_holds(promoted: Path) -> None:
    pages, free, size = _pages(promoted)
    on_disk = sum(p.stat().st_size for p in promoted.parent.glob("sweep.db*"))  # WAL too
    assert free <= 0.10 * pages
    assert on_disk <= 1.25 * (pages - free) * size


def test_without_giving_pages_back_the_same_sweep_leaves_most_of_its_file_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, promoted: Path
) -> None:
    monkeypatch.setattr(Store, "_reclaim", lambda self: None)
    pages, free, _ = _pages(_run(tmp_path / "many"))
    assert free > 0.4 * pages  # what the test above guards against
    assert pages > 1.5 * _pages(promoted)[0]


def test_an_older_store_is_rebuilt_once_to_give_its_free_pages_back(tmp_path: Path) -> None:
    run_dir = old_store(5, tmp_path / "old")
    conn = sqlite3.connect(run_dir / "sweep.db")
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 0  # as it was written
    conn.close()
    Store.open(run_dir).close()
    conn = sqlite3.connect(run_dir / "sweep.db")
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    conn.close()

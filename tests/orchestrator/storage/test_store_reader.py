"""The reader: the rows the writer stores come back typed and equal, from one snapshot
however the sweep writes meanwhile, and a path names a store the way every command takes it.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from orchestrator.storage import (
    DB_NAME,
    PointRow,
    Reader,
    Store,
    StoreError,
    SweepMeta,
    TrialRow,
    database,
    read_run,
)


def _record(epoch: int, val_cost: float) -> dict[str, float | int | bool]:
    return {
        "epoch": epoch,
        "train_cost": 1.0,
        "val_cost": val_cost,
        "val_accuracy": 0.5,
        "decayed_learning_rate": 0.05,
        "seconds": 2.0,
        "diverged": False,
        "grad_norm": 4.0,  # a trainer's own field
    }


def _store(run_dir: Path) -> Store:
    """Two trials: 0001 with two points, then paused at epoch 2; 0002 pending."""
    store = Store.create(run_dir, {"name": "read", "seed": 3}, clock=lambda: 500.0)
    store.add_trial("trial-0001", 1, 0, {"learning_rate": 0.1}, {"learning_rate": [0.01, 1]}, [0.5])
    store.add_trial("trial-0002", 2, 0, {"learning_rate": 0.2}, {"learning_rate": [0.01, 1]}, [0.7])
    store.start_trial("trial-0001", "local-0", "local", 501.0)
    store.add_point("trial-0001", _record(1, 0.8), 0.8)
    store.add_point("trial-0001", _record(2, 0.6), 0.6)
    store.pause_trial("trial-0001", 503.0, 2)
    return store


def test_the_reader_returns_what_the_writer_stored(tmp_path: Path) -> None:
    store = _store(tmp_path / "run")
    written_rows, written_points = store.trial_rows(), list(store.points())
    store.close()
    with Reader.open(tmp_path / "run") as reader:
        rows, points, meta = reader.trials(), list(reader.points()), reader.meta()
    assert rows == written_rows and points == written_points
    first = rows[0]
    assert isinstance(first, TrialRow) and isinstance(points[0], PointRow)
    assert (first.state, first.epochs, first.best, first.pauses) == ("paused", 2, 0.6, (2,))
    assert (first.starts, first.restarts, first.started, first.ended) == (1, 0, 501.0, 503.0)
    assert first.box == {"learning_rate": [0.01, 1]} and first.unit == (0.5,)
    assert (rows[1].state, rows[1].starts, rows[1].worker, rows[1].best) == (
        "pending",
        0,
        None,
        None,
    )
    assert [p.value("val_cost") for p in points] == [0.8, 0.6]
    assert points[0].values["decayed_learning_rate"] == 0.05
    assert points[0].extra == {"grad_norm": 4.0} and points[0].value("grad_norm") == 4.0
    assert points[0].at == 500.0 and math.isnan(points[0].value("no such field"))
    assert isinstance(meta, SweepMeta)
    assert (meta.state, meta.created, meta.source) == (
        "created",
        500.0,
        {"name": "read", "seed": 3},
    )


def test_the_trials_as_columns_are_the_trials_as_rows(tmp_path: Path) -> None:
    store = _store(tmp_path / "run")
    store.add_trial("trial-0003", 3, 1, {"learning_rate": 0.3}, {"learning_rate": [0.1, 1]}, [])
    store.close()
    with Reader.open(tmp_path / "run") as reader:
        rows, stored = reader.trials(), reader.trial_columns()
    assert len(stored) == 3
    for name, column in stored.columns.items():
        assert column == tuple(getattr(r, name) for r in rows), name
    assert stored.configs == tuple(r.config for r in rows)
    assert stored.boxes == {0: {"learning_rate": [0.01, 1]}, 1: {"learning_rate": [0.1, 1]}}


def test_the_curves_come_as_columns_sorted_by_trial_then_epoch(tmp_path: Path) -> None:
    store = _store(tmp_path / "run")
    store.start_trial("trial-0002", "local-1", "local", 504.0)
    store.add_point("trial-0002", _record(1, 0.9), 0.9)
    store.add_point("trial-0001", _record(3, 0.5), 0.5)
    store.close()
    curves = read_run(tmp_path / "run").curves
    assert len(curves) == 4
    assert curves.columns["trial_id"] == ("trial-0001",) * 3 + ("trial-0002",)
    assert curves.columns["epoch"] == (1, 2, 3, 1)
    assert curves.columns["val_cost"] == (0.8, 0.6, 0.5, 0.9)
    assert curves.columns["at"] == (500.0,) * 4
    assert curves.extra == ({"grad_norm": 4.0},) * 4


def test_a_reader_sees_one_moment_while_the_sweep_writes(tmp_path: Path) -> None:
    writer = _store(tmp_path / "run")
    try:
        with Reader.open(tmp_path / "run") as reader:
            writer.add_point("trial-0001", _record(3, 0.4), 0.4)
            writer.set(state="finished")
            assert [r.epochs for r in reader.trials()] == [2, 0]  # as it was when opened
            assert len(list(reader.points())) == 2 and reader.meta().state == "created"
        after = read_run(tmp_path / "run")
        assert after.trials.columns["epochs"] == (3, 0) and after.meta.state == "finished"
    finally:
        writer.close()


def test_a_path_names_a_run_directory_or_its_database(tmp_path: Path) -> None:
    _store(tmp_path / "run").close()
    assert database(tmp_path / "run") == tmp_path / "run" / DB_NAME
    assert database(tmp_path / "run" / DB_NAME) == tmp_path / "run" / DB_NAME
    assert database(tmp_path / "nothing") == tmp_path / "nothing" / DB_NAME
    assert read_run(tmp_path / "run" / DB_NAME).path == tmp_path / "run" / DB_NAME
    with pytest.raises(StoreError, match=f"run: no sweep in {tmp_path / 'nothing'}"):
        Reader.open(tmp_path / "nothing")
    (tmp_path / "junk.db").write_text("not a database")
    for open_it in (Reader.open, Store.open):
        with pytest.raises(StoreError, match="junk.db is not a readable sweep database"):
            open_it(tmp_path / "junk.db")


def test_an_empty_store_reads_as_no_trials_and_no_points(tmp_path: Path) -> None:
    Store.create(tmp_path / "run", {"name": "empty"}).close()
    snapshot = read_run(tmp_path / "run")
    assert len(snapshot.trials) == 0 and snapshot.trials.boxes == {}
    assert len(snapshot.curves) == 0 and snapshot.curves.extra == ()
    assert snapshot.meta.state == "created" and snapshot.meta.driver is None

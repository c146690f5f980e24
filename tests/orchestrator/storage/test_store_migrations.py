"""Stores written by every earlier Caviar open, migrate and read back right; a store of a
newer Caviar is refused untouched.

The fixtures (tests/data/stores/vN.db, see make_stores.py there) hold the same interrupted
sweep as each schema kept it: trial-0001 completed (val_cost 0.9, 0.5, 0.4 at epochs 1-3,
stamped at 1001.5, 1002.5, 1003.5 where `at` existed), trial-0002 running after one epoch
(0.7, at 1002.0), trial-0003 stored but never started; the sweep created at 1000 and
interrupted, a budget of 4 trials of 3 epochs. Every number below is read off that list.
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from orchestrator import load_run
from orchestrator.cli import main
from orchestrator.core.loop import Sweep
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.execution.runner import reopen_run
from orchestrator.storage import LATEST, Reader, Store, StoreError
from orchestrator.storage.schema import MIGRATIONS, table_columns
from tests.orchestrator.storage.old_stores import VERSIONS, old_store

TABLES = ("sweep", "trials", "curves", "checkpoints")


def _version_on_disk(run_dir: Path) -> int:
    with Reader.open(run_dir) as reader:
        return reader.version


def test_the_migrations_are_numbered_one_after_another_from_one():
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST + 1))
    assert LATEST == 9


@pytest.mark.parametrize("version", VERSIONS)
def test_an_old_store_is_dated_by_its_columns(tmp_path, version):
    assert _version_on_disk(old_store(version, tmp_path / "run")) == version


@pytest.mark.parametrize("version", VERSIONS)
def test_opening_an_old_store_migrates_it_to_the_tables_of_a_new_one(tmp_path, version):
    run_dir = old_store(version, tmp_path / "old")
    old = Store.open(run_dir)
    new = Store.create(tmp_path / "new", {"name": "new"})
    try:
        for table in TABLES:
            assert table_columns(old.conn, table) == table_columns(new.conn, table), table
    finally:
        old.close()
        new.close()
    assert _version_on_disk(run_dir) == LATEST


def test_a_new_stores_curve_columns_are_the_epoch_records(tmp_path):
    from caviar_common.curves import CURVE_COLUMNS

    store = Store.create(tmp_path / "new", {"name": "new"})
    try:
        assert table_columns(store.conn, "curves") == [
            "seq",
            "trial_id",
            *CURVE_COLUMNS,
            "at",
            "extra",
        ]
        assert "decayed_learning_rate" in CURVE_COLUMNS and "learning_rate" not in CURVE_COLUMNS
    finally:
        store.close()
    assert _version_on_disk(tmp_path / "new") == LATEST


@pytest.mark.parametrize("version", VERSIONS)
def test_a_migrated_store_keeps_every_value_under_its_new_name(tmp_path, version):
    store = Store.open(old_store(version, tmp_path / "run"))
    try:
        rows = store.trial_rows()
        points = list(store.points())
        meta = store.meta()
    finally:
        store.close()
    assert [r.trial_id for r in rows] == ["trial-0001", "trial-0002", "trial-0003"]
    assert [r.state for r in rows] == ["completed", "running", "pending"]
    assert [r.starts for r in rows] == [1, 1, 0]  # the old attempts: every start
    assert [r.restarts for r in rows] == [0, 0, 0]  # unknown before: none counted
    assert [r.epochs for r in rows] == [3, 1, 0]
    assert [r.best for r in rows] == [0.4, 0.7, None]
    assert [r.config["learning_rate"] for r in rows] == [0.01, 0.001, 0.1]
    assert rows[0].box == {"learning_rate": [0.001, 0.1]} and rows[0].unit == (0.5,)
    assert [r.proposed_by for r in rows] == ["" if version == 1 else "random"] * 3
    assert all(r.pauses == () for r in rows)
    # in arrival order; the rate each epoch trained with, under its new name
    assert [(p.trial_id, p.epoch) for p in points] == [
        ("trial-0001", 1),
        ("trial-0002", 1),
        ("trial-0001", 2),
        ("trial-0001", 3),
    ]
    assert [p.values["decayed_learning_rate"] for p in points] == [0.01, 0.001, 0.005, 0.0025]
    assert [p.value("val_cost") for p in points] == [0.9, 0.7, 0.5, 0.4]
    stamped = [1001.5, 1002.0, 1002.5, 1003.5] if version >= 4 else [None] * 4
    assert [p.at for p in points] == stamped
    assert [p.extra for p in points] == [{"grad_norm": 2.5} if version >= 5 else {}, {}, {}, {}]
    assert (meta.state, meta.created, meta.source["name"]) == ("interrupted", 1000.0, "old")


@pytest.mark.parametrize("version", VERSIONS)
def test_load_run_reads_an_old_store_without_changing_it(tmp_path, version):
    db = old_store(version, tmp_path / "run") / "sweep.db"
    before = db.read_bytes()
    run = load_run(db.parent)
    assert db.read_bytes() == before  # migrated in memory only: an old driver may still write
    assert _version_on_disk(db.parent) == version

    t = run.trials
    assert list(t.index) == ["trial-0001", "trial-0002", "trial-0003"]
    assert list(t["starts"]) == [1, 1, 0] and list(t["restarts"]) == [0, 0, 0]
    assert t.loc["trial-0001", "seconds"] == 3.5  # 1004.0 - 1000.5
    assert math.isnan(t.loc["trial-0002", "ended"]) and math.isnan(t.loc["trial-0003", "best"])
    assert list(t["learning_rate"]) == [0.01, 0.001, 0.1]  # α₀, as configured
    assert run.boxes == {0: {"learning_rate": [0.001, 0.1]}}
    assert run.best(2).index.tolist() == ["trial-0001", "trial-0002"]

    c = run.curves
    assert list(c["decayed_learning_rate"]) == [0.01, 0.005, 0.0025, 0.001]  # α at each epoch
    assert list(c["val_cost"]) == [0.9, 0.5, 0.4, 0.7]
    if version >= 4:  # seconds since the sweep was created at 1000
        assert list(c["time"]) == [1.5, 2.5, 3.5, 2.0]
    else:
        assert c["time"].isna().all()
    if version >= 5:
        assert c["grad_norm"].iloc[0] == 2.5 and c["grad_norm"].iloc[1:].isna().all()
    else:
        assert "grad_norm" not in c.columns


@pytest.mark.parametrize("version", VERSIONS)
def test_caviar_show_reads_an_old_store(tmp_path, version, capsys):
    run_dir = old_store(version, tmp_path / "run")
    assert main(["show", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        "sweep old (interrupted): 3 trials (completed 1, pending 1, running 1), 4 epochs"
    )
    assert out.index("trial-0001") < out.index("trial-0002")  # 0.4 before 0.7


@pytest.mark.parametrize("version", VERSIONS)
def test_caviar_resume_finishes_an_old_interrupted_sweep(tmp_path, version):
    run_dir = old_store(version, tmp_path / "run")
    spec, store = reopen_run(run_dir)
    try:
        Sweep(spec, store, InProcessExecutor(1)).run()
        rows = store.trial_rows()
        curve = [p.value("val_cost") for p in store.points() if p.trial_id == "trial-0001"]
        meta = store.meta()
    finally:
        store.close()
    assert meta.state == "finished"
    assert [r.trial_id for r in rows] == [f"trial-{n:04d}" for n in (1, 2, 3, 4)]
    assert all(r.state == "completed" and r.epochs == 3 for r in rows)
    assert curve == [0.9, 0.5, 0.4]  # a finished trial stays as it was
    # 0002 started again by the resume, 0003 and the planned 0004 once; nothing lost a worker
    assert [(r.starts, r.restarts) for r in rows] == [(1, 0), (2, 0), (1, 0), (1, 0)]
    assert 0.001 <= rows[3].config["learning_rate"] <= 0.1
    assert _version_on_disk(run_dir) == LATEST


def _newer(run_dir: Path) -> Path:
    """A store whose schema version is one past what this code knows."""
    Store.create(run_dir, {"name": "future"}).close()
    conn = sqlite3.connect(run_dir / "sweep.db")
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    return run_dir


def test_a_store_of_a_newer_caviar_is_refused_by_its_version(tmp_path, capsys):
    run_dir = _newer(tmp_path / "future")
    before = (run_dir / "sweep.db").read_bytes()
    says = (
        f"schema version {LATEST + 1}, written by a newer Caviar; "
        f"this one reads versions up to {LATEST}"
    )
    with pytest.raises(StoreError, match=says):
        Store.open(run_dir)
    with pytest.raises(StoreError, match=says):
        load_run(run_dir)
    with pytest.raises(StoreError, match=says):
        Store.create(run_dir, {"name": "future"})
    assert main(["show", str(run_dir)]) == 2
    assert says in capsys.readouterr().err
    assert (run_dir / "sweep.db").read_bytes() == before

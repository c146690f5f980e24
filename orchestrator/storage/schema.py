"""The store's tables and their numbered migrations.

A store's schema version is SQLite's `PRAGMA user_version`. Version 1 is the first schema
Caviar wrote; each later version is one migration, applied in order when a store is opened
for writing (`migrate`), all of them in one transaction. The migrations are history: they
name the columns as they were then, and never change once released. A store written before
versions were recorded (user_version 0 with tables in it) is dated by the columns it has.

Adding a column: append a `Migration` (never edit an old one), and add a fixture store
written by the release before it under tests/data/stores/.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from orchestrator.storage.store_error import StoreError


@dataclass(frozen=True)
class Migration:
    """The step from `version - 1` to `version`."""

    version: int
    what: str  # what it changed, in a phrase
    statements: tuple[str, ...]
    added: tuple[str, str] | None  # (table, column) it adds: how an unversioned store is dated


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "the first schema: sweep keys, trials, curves, checkpoints",
        (
            """CREATE TABLE sweep (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            )""",
            """CREATE TABLE trials (
                trial_id TEXT PRIMARY KEY,
                number INTEGER NOT NULL UNIQUE,
                stage INTEGER NOT NULL,
                config TEXT NOT NULL,
                box TEXT NOT NULL,
                unit TEXT NOT NULL,
                state TEXT NOT NULL,
                worker TEXT,
                node TEXT,
                attempts INTEGER NOT NULL DEFAULT 0,
                started REAL,
                ended REAL,
                epochs INTEGER NOT NULL DEFAULT 0,
                best REAL,
                error TEXT
            )""",
            """CREATE TABLE curves (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                trial_id TEXT NOT NULL REFERENCES trials(trial_id),
                epoch INTEGER NOT NULL,
                train_cost REAL,
                val_cost REAL,
                val_accuracy REAL,
                learning_rate REAL,
                seconds REAL,
                diverged INTEGER NOT NULL DEFAULT 0,
                UNIQUE (trial_id, epoch)
            )""",
            """CREATE TABLE checkpoints (
                trial_id TEXT PRIMARY KEY REFERENCES trials(trial_id),
                epoch INTEGER NOT NULL,
                data BLOB NOT NULL
            )""",
        ),
        None,
    ),
    Migration(
        2,
        "trials record the sampler that proposed them",
        ("ALTER TABLE trials ADD COLUMN proposed_by TEXT NOT NULL DEFAULT ''",),
        ("trials", "proposed_by"),
    ),
    Migration(
        3,
        "trials keep the epochs a promoting scheduler paused them at",
        ("ALTER TABLE trials ADD COLUMN pauses TEXT NOT NULL DEFAULT '[]'",),
        ("trials", "pauses"),
    ),
    Migration(
        4,
        "points carry when they were recorded, by the store's clock",
        ("ALTER TABLE curves ADD COLUMN at REAL",),
        ("curves", "at"),
    ),
    Migration(
        5,
        "points keep a trainer's own numeric fields (JSON)",
        ("ALTER TABLE curves ADD COLUMN extra TEXT",),
        ("curves", "extra"),
    ),
    Migration(
        6,
        "a trial's starts and its restarts after a lost worker counted apart; the old "
        "attempts counted every start, so they become the starts, and restarts start at 0",
        (
            "ALTER TABLE trials RENAME COLUMN attempts TO starts",
            "ALTER TABLE trials ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0",
        ),
        ("trials", "restarts"),
    ),
    Migration(
        7,
        "the curves' rate named for what it is: α at that epoch, after decay",
        ("ALTER TABLE curves RENAME COLUMN learning_rate TO decayed_learning_rate",),
        ("curves", "decayed_learning_rate"),
    ),
    Migration(
        8,
        "the sweep keeps its best trials' models: each trial's weights at its best epoch, "
        "with that epoch's value and, once the sweep has scored them, the test figures",
        (
            """CREATE TABLE models (
                trial_id TEXT PRIMARY KEY REFERENCES trials(trial_id),
                epoch INTEGER NOT NULL,
                value REAL NOT NULL,
                data BLOB NOT NULL,
                test_cost REAL,
                test_accuracy REAL
            )""",
        ),
        ("models", "trial_id"),
    ),
    Migration(
        9,
        "trials record the devices their worker sees (CUDA_VISIBLE_DEVICES as Ray set it)",
        ("ALTER TABLE trials ADD COLUMN devices TEXT NOT NULL DEFAULT ''",),
        ("trials", "devices"),
    ),
)
LATEST = MIGRATIONS[-1].version


def table_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    """The columns of `table`, in their order; empty if there is no such table."""
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def stored_version(conn: sqlite3.Connection) -> int:
    """The store's schema version: its user_version, or, for a store written before Caviar
    recorded one, the last migration whose column it has (0 for an empty database)."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version:
        return int(version)
    if not table_columns(conn, "trials"):
        return 0
    dated = 1
    for migration in MIGRATIONS[1:]:
        assert migration.added is not None  # every migration after the first adds a column
        table, column = migration.added
        if column not in table_columns(conn, table):
            break
        dated = migration.version
    return dated


def check_known(version: int, where: object) -> None:
    """Refuse a store written by a newer Caviar than this one: its columns mean things this
    code does not know."""
    if version > LATEST:
        raise StoreError(
            f"run: {where} has schema version {version}, written by a newer Caviar; this "
            f"one reads versions up to {LATEST}. Upgrade Caviar to open it (nothing was "
            "changed)"
        )


def upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Apply the migrations after `version` and record the new version. Inside the caller's
    transaction: SQLite's ALTER TABLE and user_version are transactional."""
    for migration in MIGRATIONS[version:]:
        for statement in migration.statements:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {LATEST}")


def migrate(conn: sqlite3.Connection, where: object) -> int:
    """Bring the store of `conn` to the latest version, all steps in one write transaction
    (a second process opening it at the same moment waits, then finds it done); returns
    the version it was at. A store of a newer Caviar is refused untouched."""
    version = stored_version(conn)
    check_known(version, where)
    if version == LATEST:
        return version
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = stored_version(conn)  # another process may have migrated it meanwhile
        check_known(version, where)
        if version < LATEST:
            upgrade(conn, version)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return version

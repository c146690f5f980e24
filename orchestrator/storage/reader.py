"""Read a sweep store without changing it: one snapshot, typed rows out.

A `Reader` opens the database read-only and holds one read transaction until it closes,
so the trials, curves and keys it returns are from the same moment, even while a driver
writes (WAL). A store written by an older Caviar is copied into memory and migrated there:
reading never rewrites a store (an older driver may still be writing it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from orchestrator.storage import queries
from orchestrator.storage.location import database
from orchestrator.storage.rows import (
    CurveColumns,
    ModelRow,
    PointRow,
    SweepMeta,
    TrialColumns,
    TrialRow,
)
from orchestrator.storage.schema import LATEST, check_known, stored_version, upgrade
from orchestrator.storage.store_error import StoreError


@dataclass(frozen=True)
class Snapshot:
    """Everything `load_run` needs, from one moment of the store, as columns."""

    path: Path  # the database file
    version: int  # its schema version as written (older ones are migrated in memory)
    meta: SweepMeta
    trials: TrialColumns
    curves: CurveColumns
    models: tuple[ModelRow, ...] = ()  # the kept models (unordered)


class Reader:
    """A read-only view of one store, in one snapshot (use as a context manager)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, version: int) -> None:
        self.path = path
        self.conn = conn
        self.version = version  # as written; `conn` serves the latest schema

    @classmethod
    def open(cls, path: str | Path) -> Reader:
        """The store of a run directory or a database file; StoreError if there is none, it
        is not a sweep database, or a newer Caviar wrote it."""
        db = database(path)
        if not db.is_file():
            raise StoreError(f"run: no sweep in {path} (no {db.name} there)")
        try:
            conn, version = _snapshot(db)
        except sqlite3.DatabaseError as err:
            raise StoreError(f"run: {db} is not a readable sweep database ({err})") from None
        return cls(db, conn, version)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Reader({str(self.path)!r}, version {self.version})"

    def meta(self) -> SweepMeta:
        return queries.sweep_meta(self.conn)

    def trials(self) -> list[TrialRow]:
        """Every trial, by number."""
        return queries.trials(self.conn)

    def trial_columns(self) -> TrialColumns:
        """Every trial as columns, by number: `trials()` without an object per trial."""
        return queries.trial_columns(self.conn)

    def points(self) -> Iterator[PointRow]:
        """Every curve point in the order it arrived."""
        return queries.points(self.conn)

    def curves(self) -> CurveColumns:
        """Every curve point as columns, sorted by trial then epoch."""
        return queries.curve_columns(self.conn)

    def models(self, sign: float = 1.0) -> list[ModelRow]:
        """The kept models, best first (`sign` +1 when smaller is better)."""
        return queries.models(self.conn, sign)

    def model_data(self, trial_id: str) -> bytes | None:
        """The weights (npz bytes) kept of a trial, or None."""
        return queries.model_data(self.conn, trial_id)

    def snapshot(self) -> Snapshot:
        return Snapshot(
            self.path,
            self.version,
            self.meta(),
            self.trial_columns(),
            self.curves(),
            tuple(self.models()),
        )


def read_run(path: str | Path) -> Snapshot:
    """The keys, trials and curves of the store in `path`, from one moment."""
    with Reader.open(path) as reader:
        return reader.snapshot()


def _snapshot(db: Path) -> tuple[sqlite3.Connection, int]:
    """A connection in an open read transaction on the store at the latest schema, and the
    version the store was written with."""
    conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("BEGIN")  # held until close: every read sees the same moment ...
        version = stored_version(conn)  # ... which this first read fixes
        check_known(version, db)
        if version < LATEST:  # an older Caviar's store: migrate a copy, in memory
            conn.execute("COMMIT")
            copy = sqlite3.connect(":memory:", isolation_level=None)
            conn.backup(copy)  # in one step: one consistent copy
            conn.close()
            conn = copy
            version = stored_version(conn)  # as copied (a writer may have moved it on)
            check_known(version, db)
            conn.execute("BEGIN")
            upgrade(conn, version)
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    except BaseException:
        conn.close()
        raise
    return conn, version

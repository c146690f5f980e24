"""The writer of a sweep's durable record: one SQLite database (WAL mode) under runs/<name>/.

It holds the sweep file as read, every trial (configuration, stage, box, state, where and
when it ran, the error of a failed one), every curve point in the order it arrived (with
`at`, the store's clock when it was recorded), and each trial's latest checkpoint as npz
bytes. Nothing here is ever unpickled. Points are keyed by (trial, epoch): a trial
restarted from a checkpoint replaces the points after it instead of adding a second copy.

Every write commits before it returns, except inside `batch()`: the loop writes all the
events of one poll in one transaction, so a crash loses at most that poll's events, which
a resume trains again from the trials' checkpoints. Opening a store brings an older one to
the current schema (schema.py); what it reads comes back as the typed rows of rows.py.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from caviar_common.curves import CURVE_COLUMNS, VALUE_COLUMNS, is_extra
from caviar_common.states import ENDED, SweepState, TrialState
from orchestrator.storage import queries
from orchestrator.storage.location import DB_NAME, database
from orchestrator.storage.reader import Reader
from orchestrator.storage.rows import ModelRow, PointRow, SweepMeta, TrialRow
from orchestrator.storage.schema import migrate
from orchestrator.storage.store_error import StoreError

__all__ = ["DB_NAME", "Store", "StoreError"]

INCREMENTAL = 2  # PRAGMA auto_vacuum: SQLite gives free pages back when asked

_INSERT_POINT = (
    f"INSERT OR REPLACE INTO curves (trial_id, {', '.join(CURVE_COLUMNS)}, at, extra) "
    f"VALUES ({', '.join('?' * (len(CURVE_COLUMNS) + 3))})"
)


def _json(value: Any, keep_order: bool = False) -> str:
    return json.dumps(value, sort_keys=not keep_order, default=_plain)


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"cannot store {value!r} ({type(value).__name__})")


def _extra(record: Mapping[str, Any]) -> str | None:
    """A record's extra numeric fields as JSON (non-finite ones as null), or None."""
    extra = {k: _finite(v) for k, v in record.items() if is_extra(k)}
    return json.dumps(extra, sort_keys=True) if extra else None


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


class Store:
    """One sweep's database; every write is committed before the call returns, or, inside
    `batch()`, when the batch ends."""

    def __init__(
        self, path: Path, conn: sqlite3.Connection, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.conn = conn
        self.clock = clock
        self._batching = False
        self._freed = False  # checkpoints were dropped in the write under way
        self._progress: dict[str, tuple[int, float | None]] = {}  # trial -> epochs, best

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Write everything inside one transaction, committed at the end (rolled back if it
        raises); nested calls join the outer batch."""
        if self._batching:
            yield
            return
        self._batching = True
        try:
            with self.conn:
                yield
                self._write_progress()
        finally:
            self._batching = False
            self._progress.clear()
        self._give_back()

    def _write_progress(self) -> None:
        """The trials' epochs and best values of a batch's points: one update per trial."""
        if self._progress:
            self.conn.executemany(
                "UPDATE trials SET epochs = MAX(epochs, ?), best = ? WHERE trial_id = ?",
                [(epochs, best, tid) for tid, (epochs, best) in self._progress.items()],
            )
            self._progress.clear()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write: its own transaction, or part of the batch under way."""
        if self._batching:
            yield self.conn
        else:
            with self.conn:
                yield self.conn
            self._give_back()

    @classmethod
    def create(
        cls,
        run_dir: str | Path,
        source: Mapping[str, Any],
        clock: Callable[[], float] = time.time,
    ) -> Store:
        """A new store in `run_dir`; refuses a directory that already holds a sweep."""
        run_dir = Path(run_dir)
        db = run_dir / DB_NAME
        if db.exists():
            with Reader.open(db) as other:  # read as it is: it stays untouched
                state = other.meta().state
            raise StoreError(
                f"results: {run_dir} already holds a sweep (state: {state}); resume it with "
                f"`caviar resume {run_dir}`, or give the sweep another name or results "
                "directory; nothing was overwritten"
            )
        run_dir.mkdir(parents=True, exist_ok=True)
        store = cls(db, _connect(db), clock)
        store.set(source=source, state=SweepState.CREATED, created=clock())
        return store

    @classmethod
    def open(cls, run_dir: str | Path, clock: Callable[[], float] = time.time) -> Store:
        """The store in `run_dir` (or the database file itself), migrated to this Caviar's
        schema if an older one wrote it; a newer one's is refused untouched."""
        db = database(run_dir)
        if not db.exists():
            raise StoreError(f"run: no sweep in {run_dir} (no {DB_NAME} there)")
        conn = _connect(db)
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != INCREMENTAL:
            # written before stores gave free pages back: rebuilt once, so that they do
            conn.execute(f"PRAGMA auto_vacuum={INCREMENTAL}")
            conn.execute("VACUUM")
        return cls(db, conn, clock)

    def close(self) -> None:
        self.conn.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- the sweep ------------------------------------------------------------------------

    def set(self, **values: Any) -> None:
        with self._write():
            self.conn.executemany(
                "INSERT OR REPLACE INTO sweep (key, value) VALUES (?, ?)",
                # in the order given: the order of a sweep's space decides its samples
                [(k, _json(v, keep_order=True)) for k, v in values.items()],
            )

    def get(self, key: str, default: Any = None) -> Any:
        """One key of the sweep table (`meta()` has the ones Caviar writes, typed)."""
        return queries.sweep_value(self.conn, key, default)

    def meta(self) -> SweepMeta:
        return queries.sweep_meta(self.conn)

    def claim(self) -> None:
        """Mark the sweep as driven by this process (so a second driver is refused)."""
        driver = {"pid": os.getpid(), "host": socket.gethostname()}
        self.set(state=SweepState.RUNNING, driver=driver)

    def driver_alive(self) -> bool:
        """Whether the process that last drove this sweep still runs (on this host)."""
        meta = self.meta()
        driver = meta.driver
        if meta.state != SweepState.RUNNING or not driver:
            return False
        if driver.get("host") != socket.gethostname():
            return True  # cannot tell from here: assume it does
        try:
            os.kill(int(driver["pid"]), 0)
        except (ProcessLookupError, PermissionError):
            return False
        return driver["pid"] != os.getpid()

    # -- trials ---------------------------------------------------------------------------

    def add_trial(
        self,
        trial_id: str,
        number: int,
        stage: int,
        config: Mapping[str, Any],
        box: Mapping[str, Any],
        unit: list[float],
        proposed_by: str = "",
    ) -> None:
        """A planned trial; `proposed_by` names its sampler (for tpe: "tpe" or "warm-up")."""
        with self._write():
            self.conn.execute(
                "INSERT INTO trials (trial_id, number, stage, config, box, unit, state, "
                "proposed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    trial_id,
                    number,
                    stage,
                    _json(dict(config)),
                    _json(dict(box)),
                    _json(unit),
                    TrialState.PENDING,
                    proposed_by,
                ),
            )

    def start_trial(
        self, trial_id: str, worker: str, node: str, when: float, devices: str = ""
    ) -> None:
        """The trial starts on a worker: its first start, a restart, a promotion, a resume.
        `devices`: the GPUs that worker sees (CUDA_VISIBLE_DEVICES), "" for none."""
        with self._write():
            self.conn.execute(
                "UPDATE trials SET state = ?, worker = ?, node = ?, devices = ?, "
                "started = COALESCE(started, ?), starts = starts + 1 WHERE trial_id = ?",
                (TrialState.RUNNING, worker, node, devices, when, trial_id),
            )

    def end_trial(self, trial_id: str, state: str, when: float, error: str | None = None) -> None:
        """The trial has ended: record how (an error noted earlier stays, unless `error`
        replaces it), and drop its checkpoint, which a resume will not restore from. A
        completed trial whose model is kept keeps its last checkpoint: extending the
        sweep's epoch budget lets it go on from there."""
        if state not in ENDED:
            ended = ", ".join(s for s in TrialState if s in ENDED)
            raise ValueError(f"state: must be one of {ended}, got {state!r}")
        with self._write():
            self.conn.execute(
                "UPDATE trials SET state = ?, ended = ?, error = COALESCE(?, error) "
                "WHERE trial_id = ?",
                (TrialState(state), when, error, trial_id),
            )
            if state != TrialState.COMPLETED or not self._has_model(trial_id):
                self.conn.execute("DELETE FROM checkpoints WHERE trial_id = ?", (trial_id,))
                self._reclaim()

    def _has_model(self, trial_id: str) -> bool:
        found = self.conn.execute("SELECT 1 FROM models WHERE trial_id = ?", (trial_id,))
        return found.fetchone() is not None

    def reopen_trial(self, trial_id: str) -> None:
        """A completed trial goes on (the epoch budget grew): it waits to be started again
        from its checkpoint, as a trial interrupted while running does."""
        with self._write():
            self.conn.execute(
                "UPDATE trials SET state = ?, ended = NULL WHERE trial_id = ?",
                (TrialState.RUNNING, trial_id),
            )

    def restart_trial(self, trial_id: str, error: str) -> None:
        """The trial lost its worker and restarts: count the restart (the retry limit reads
        it back on a resume) and keep what went wrong."""
        with self._write():
            self.conn.execute(
                "UPDATE trials SET error = ?, restarts = restarts + 1 WHERE trial_id = ?",
                (error, trial_id),
            )

    def pause_trial(self, trial_id: str, when: float, epoch: int) -> None:
        """The trial waits at the rung of `epoch`; its checkpoint stays, for a promotion.
        The trial's `pauses` list every epoch it waited at, promoted or not."""
        with self._write():
            (pauses,) = self.conn.execute(
                "SELECT pauses FROM trials WHERE trial_id = ?", (trial_id,)
            ).fetchone()
            self.conn.execute(
                "UPDATE trials SET state = ?, ended = ?, pauses = ? WHERE trial_id = ?",
                (TrialState.PAUSED, when, _json([*json.loads(pauses), epoch]), trial_id),
            )

    def drop_paused_checkpoints(self, keep: Collection[str] = ()) -> None:
        """Drop the checkpoints of paused trials, except those of the trials in `keep` (the
        ones a larger budget would promote first)."""
        kept = sorted(set(keep))
        with self._write():
            self.conn.execute(
                "DELETE FROM checkpoints WHERE trial_id IN "
                "(SELECT trial_id FROM trials WHERE state = ?) "
                f"AND trial_id NOT IN ({', '.join('?' * len(kept))})",
                (TrialState.PAUSED, *kept),
            )
            self._reclaim()

    def _reclaim(self) -> None:
        """Checkpoints were dropped: once the write commits, give their pages back to the
        file system, so that the file's size follows what it holds (SQLite only marks them
        free; the store's incremental auto-vacuum lets it return them)."""
        self._freed = True

    def _give_back(self) -> None:
        """After a commit: the free pages of dropped checkpoints leave the file. Run as a
        script, which SQLite steps to the end (Python's `execute` would free one page)."""
        if self._freed and not self.conn.in_transaction:
            self._freed = False
            self.conn.executescript("PRAGMA incremental_vacuum;")

    def trial_rows(self) -> list[TrialRow]:
        """Every trial, by number."""
        self._write_progress()  # a batch's points so far count
        return queries.trials(self.conn)

    # -- curves ---------------------------------------------------------------------------

    def add_point(self, trial_id: str, record: Mapping[str, Any], best: float | None) -> None:
        """One epoch's record, stamped with the store's clock, and the trial's epochs and
        best value so far (inside a batch, the trial's row is updated once, as it ends)."""
        epoch = int(record["epoch"])
        with self._write():
            self.conn.execute(
                _INSERT_POINT,
                (
                    trial_id,
                    epoch,
                    *(_finite(record[c]) for c in VALUE_COLUMNS),
                    int(bool(record.get("diverged", False))),
                    self.clock(),
                    _extra(record),
                ),
            )
            done = self._progress.get(trial_id, (0, None))[0]
            self._progress[trial_id] = (max(done, epoch), _finite(best))
            if not self._batching:
                self._write_progress()

    def points(self) -> Iterator[PointRow]:
        """Every curve point in the order it arrived."""
        return queries.points(self.conn)

    # -- checkpoints ----------------------------------------------------------------------

    def save_checkpoint(self, trial_id: str, epoch: int, data: bytes) -> None:
        with self._write():
            self.conn.execute(
                "INSERT OR REPLACE INTO checkpoints (trial_id, epoch, data) VALUES (?, ?, ?)",
                (trial_id, epoch, sqlite3.Binary(data)),
            )

    def checkpoint(self, trial_id: str) -> tuple[int, bytes] | None:
        return queries.checkpoint(self.conn, trial_id)

    def checkpointed(self) -> dict[str, int]:
        """Each trial that holds a checkpoint -> its epoch, without reading the bytes."""
        return queries.checkpointed(self.conn)

    # -- kept models ----------------------------------------------------------------------

    def keep_model(
        self, trial_id: str, epoch: int, value: float, data: bytes, keep: int, sign: float
    ) -> None:
        """A trial's weights at a new best epoch; of all the trials' kept models, the `keep`
        best stay (by value with `sign` folded in, then the earlier epoch, then the lower
        trial number). A dropped model's ended trial loses its last checkpoint too."""
        with self._write():
            self.conn.execute(
                "INSERT OR REPLACE INTO models (trial_id, epoch, value, data) VALUES (?, ?, ?, ?)",
                (trial_id, epoch, value, sqlite3.Binary(data)),
            )
            dropped = [
                row[0]
                for row in self.conn.execute(
                    "SELECT m.trial_id FROM models m JOIN trials t ON t.trial_id = m.trial_id "
                    "ORDER BY m.value * ?, m.epoch, t.number LIMIT -1 OFFSET ?",
                    (sign, keep),
                )
            ]
            if not dropped:
                return
            marks = ", ".join("?" * len(dropped))
            self.conn.execute(f"DELETE FROM models WHERE trial_id IN ({marks})", dropped)
            self.conn.execute(
                f"DELETE FROM checkpoints WHERE trial_id IN ({marks}) AND trial_id IN "
                "(SELECT trial_id FROM trials WHERE state = ?)",
                (*dropped, TrialState.COMPLETED),
            )
            self._reclaim()

    def models(self, sign: float = 1.0) -> list[ModelRow]:
        """The kept models, best first (`sign` +1 when smaller is better)."""
        return queries.models(self.conn, sign)

    def model_data(self, trial_id: str) -> bytes | None:
        return queries.model_data(self.conn, trial_id)

    def score_model(self, trial_id: str, test_cost: float, test_accuracy: float) -> None:
        """A kept model's figures on the held-out test split."""
        with self._write():
            self.conn.execute(
                "UPDATE models SET test_cost = ?, test_accuracy = ? WHERE trial_id = ?",
                (_finite(test_cost), _finite(test_accuracy), trial_id),
            )

    def rewind(self, trial_id: str, epoch: int) -> None:
        """Forget a trial's points after `epoch`: it restarts from its checkpoint there."""
        self._write_progress()
        with self._write():
            self.conn.execute(
                "DELETE FROM curves WHERE trial_id = ? AND epoch > ?", (trial_id, epoch)
            )
            self.conn.execute("UPDATE trials SET epochs = ? WHERE trial_id = ?", (epoch, trial_id))


def _connect(db: Path) -> sqlite3.Connection:
    """A connection in WAL mode to the store, migrated to the latest schema."""
    new = not db.exists()
    conn = sqlite3.connect(db, timeout=30.0, isolation_level="DEFERRED")
    try:
        if new:  # made with it; an older store keeps its mode until Store.open rebuilds it
            conn.execute(f"PRAGMA auto_vacuum={INCREMENTAL}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never corrupt
        migrate(conn, db)
    except sqlite3.DatabaseError as err:
        conn.close()
        raise StoreError(f"run: {db} is not a readable sweep database ({err})") from None
    except BaseException:
        conn.close()
        raise
    return conn

"""A sweep's durable record: one SQLite database (WAL mode) under runs/<name>/.

It holds the sweep file as read, every trial (configuration, stage, box, state, where and
when it ran, the error of a failed one), every curve point in the order it arrived (with
`at`, the store's clock when it was recorded), and each trial's latest checkpoint as npz
bytes. Nothing here is ever unpickled. Points are keyed by (trial, epoch): a trial
restarted from a checkpoint replaces the points after it instead of adding a second copy.

Every write commits before it returns, except inside `batch()`: the loop writes all the
events of one poll in one transaction, so a crash loses at most that poll's events, which
a resume trains again from the trials' checkpoints.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from caviar_common.curves import CURVE_COLUMNS, VALUE_COLUMNS, is_extra
from caviar_common.states import ENDED, SweepState, TrialState

DB_NAME = "sweep.db"
_CURVE_TYPES = {"epoch": "INTEGER NOT NULL", "diverged": "INTEGER NOT NULL DEFAULT 0"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sweep (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
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
    error TEXT,
    proposed_by TEXT NOT NULL DEFAULT '',
    pauses TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS curves (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    trial_id TEXT NOT NULL REFERENCES trials(trial_id),
    {curve_columns},
    at REAL,
    extra TEXT,
    UNIQUE (trial_id, epoch)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    trial_id TEXT PRIMARY KEY REFERENCES trials(trial_id),
    epoch INTEGER NOT NULL,
    data BLOB NOT NULL
);
""".format(
    curve_columns=",\n    ".join(f"{c} {_CURVE_TYPES.get(c, 'REAL')}" for c in CURVE_COLUMNS)
)
_INSERT_POINT = (
    f"INSERT OR REPLACE INTO curves (trial_id, {', '.join(CURVE_COLUMNS)}, at, extra) "
    f"VALUES ({', '.join('?' * (len(CURVE_COLUMNS) + 3))})"
)


# Columns a store from before them lacks, by table: opening it adds them (NULL in old rows).
_ADDED_COLUMNS = {
    "trials": {"proposed_by": "TEXT NOT NULL DEFAULT ''", "pauses": "TEXT NOT NULL DEFAULT '[]'"},
    "curves": {
        "at": "REAL",  # Unix time the point was recorded, by the store's clock
        "extra": "TEXT",  # JSON of a trainer's own numeric fields, NULL when it has none
    },
}


class StoreError(ValueError):
    """A results directory that cannot be used as asked (it holds another sweep, say)."""


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


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


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
            other = cls.open(run_dir)
            state = other.get("state", "unknown")
            other.close()
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
        run_dir = Path(run_dir)
        db = run_dir / DB_NAME if run_dir.is_dir() or not run_dir.exists() else run_dir
        if not db.exists():
            raise StoreError(f"run: no sweep in {run_dir} (no {DB_NAME} there)")
        return cls(db, _connect(db), clock)

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
        row = self.conn.execute("SELECT value FROM sweep WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def claim(self) -> None:
        """Mark the sweep as driven by this process (so a second driver is refused)."""
        driver = {"pid": os.getpid(), "host": socket.gethostname()}
        self.set(state=SweepState.RUNNING, driver=driver)

    def driver_alive(self) -> bool:
        """Whether the process that last drove this sweep still runs (on this host)."""
        driver = self.get("driver")
        if self.get("state") != SweepState.RUNNING or not driver:
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

    def start_trial(self, trial_id: str, worker: str, node: str, when: float) -> None:
        with self._write():
            self.conn.execute(
                "UPDATE trials SET state = ?, worker = ?, node = ?, "
                "started = COALESCE(started, ?), attempts = attempts + 1 WHERE trial_id = ?",
                (TrialState.RUNNING, worker, node, when, trial_id),
            )

    def end_trial(self, trial_id: str, state: str, when: float, error: str | None = None) -> None:
        """The trial has ended for good: record how (an error noted earlier stays, unless
        `error` replaces it), and drop its checkpoint, which nothing will restore from
        again (a resume leaves ended trials be)."""
        if state not in ENDED:
            ended = ", ".join(s for s in TrialState if s in ENDED)
            raise ValueError(f"state: must be one of {ended}, got {state!r}")
        with self._write():
            self.conn.execute(
                "UPDATE trials SET state = ?, ended = ?, error = COALESCE(?, error) "
                "WHERE trial_id = ?",
                (TrialState(state), when, error, trial_id),
            )
            self.conn.execute("DELETE FROM checkpoints WHERE trial_id = ?", (trial_id,))

    def note_error(self, trial_id: str, error: str) -> None:
        """What went wrong with a trial that goes on (its worker died; it restarts)."""
        with self._write():
            self.conn.execute("UPDATE trials SET error = ? WHERE trial_id = ?", (error, trial_id))

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

    def drop_paused_checkpoints(self) -> None:
        """The sweep is over: no paused trial will be promoted, so drop their checkpoints."""
        with self._write():
            self.conn.execute(
                "DELETE FROM checkpoints WHERE trial_id IN "
                "(SELECT trial_id FROM trials WHERE state = ?)",
                (TrialState.PAUSED,),
            )

    def trial_rows(self) -> list[dict[str, Any]]:
        self._write_progress()  # a batch's points so far count
        cur = self.conn.execute("SELECT * FROM trials ORDER BY number")
        names = [d[0] for d in cur.description]
        rows = []
        for values in cur.fetchall():
            row = dict(zip(names, values, strict=True))
            for key in ("config", "box", "unit", "pauses"):
                row[key] = json.loads(row[key])
            rows.append(row)
        return rows

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

    def points(self) -> Iterator[dict[str, Any]]:
        """Every curve point in the order it arrived."""
        cur = self.conn.execute("SELECT * FROM curves ORDER BY seq")
        names = [d[0] for d in cur.description]
        for values in cur:
            point = dict(zip(names, values, strict=True))
            extra = point.pop("extra", None)
            if extra:
                point.update({k: _nan(v) for k, v in json.loads(extra).items()})
            yield point

    # -- checkpoints ----------------------------------------------------------------------

    def save_checkpoint(self, trial_id: str, epoch: int, data: bytes) -> None:
        with self._write():
            self.conn.execute(
                "INSERT OR REPLACE INTO checkpoints (trial_id, epoch, data) VALUES (?, ?, ?)",
                (trial_id, epoch, sqlite3.Binary(data)),
            )

    def checkpoint(self, trial_id: str) -> tuple[int, bytes] | None:
        row = self.conn.execute(
            "SELECT epoch, data FROM checkpoints WHERE trial_id = ?", (trial_id,)
        ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def rewind(self, trial_id: str, epoch: int) -> None:
        """Forget a trial's points after `epoch`: it restarts from its checkpoint there."""
        self._write_progress()
        with self._write():
            self.conn.execute(
                "DELETE FROM curves WHERE trial_id = ? AND epoch > ?", (trial_id, epoch)
            )
            self.conn.execute("UPDATE trials SET epochs = ? WHERE trial_id = ?", (epoch, trial_id))


def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, timeout=30.0, isolation_level="DEFERRED")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never corrupt
    conn.executescript(_SCHEMA)
    for table, added in _ADDED_COLUMNS.items():
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, kind in added.items():  # a store from before the column existed
            if name not in columns:
                with conn:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
    return conn

"""The reads the writer and the reader share: each SELECT once, and how its rows decode into
the typed records of `rows`. Every query names its columns, so the store's own column
order (which depends on the migrations a store went through) never matters.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from caviar_common.curves import CURVE_COLUMNS, VALUE_COLUMNS
from caviar_common.states import TrialState
from orchestrator.storage.rows import (
    CurveColumns,
    ModelRow,
    PointRow,
    SweepMeta,
    TrialColumns,
    TrialRow,
)

TRIAL_FIELDS = (
    "trial_id, number, stage, config, box, unit, state, worker, node, starts, restarts, "
    "started, ended, epochs, best, error, proposed_by, pauses, devices"
)
_SELECT_TRIALS = f"SELECT {TRIAL_FIELDS} FROM trials ORDER BY number"
_SELECT_POINTS = (
    f"SELECT seq, trial_id, epoch, {', '.join(VALUE_COLUMNS)}, diverged, at, extra "
    "FROM curves ORDER BY seq"
)
_SELECT_CURVES = (
    f"SELECT trial_id, {', '.join(CURVE_COLUMNS)}, at, extra FROM curves ORDER BY trial_id, epoch"
)
_STATES = {state.value: state for state in TrialState}
# TrialColumns.columns: every field of a trial but its config, box and unit
COLUMN_FIELDS = (
    "trial_id",
    "number",
    "stage",
    "state",
    "worker",
    "node",
    "devices",
    "starts",
    "restarts",
    "started",
    "ended",
    "epochs",
    "best",
    "error",
    "proposed_by",
    "pauses",
)
_SELECT_TRIAL_COLUMNS = f"SELECT config, {', '.join(COLUMN_FIELDS)} FROM trials ORDER BY number"
_SELECT_BOXES = (
    "SELECT stage, box FROM trials WHERE number IN (SELECT MIN(number) FROM trials GROUP BY stage)"
)


def sweep_values(conn: sqlite3.Connection) -> dict[str, Any]:
    """Every key of the sweep table, decoded."""
    return {key: json.loads(value) for key, value in conn.execute("SELECT key, value FROM sweep")}


def sweep_value(conn: sqlite3.Connection, key: str, default: Any = None) -> Any:
    row = conn.execute("SELECT value FROM sweep WHERE key = ?", (key,)).fetchone()
    return default if row is None else json.loads(row[0])


def sweep_meta(conn: sqlite3.Connection) -> SweepMeta:
    return SweepMeta.from_values(sweep_values(conn))


def trials(conn: sqlite3.Connection) -> list[TrialRow]:
    """Every trial, by number. The trials of a stage share one box (decoded once: a big
    sweep's boxes would otherwise cost more to read than everything else)."""
    boxes: dict[str, dict[str, Any]] = {}
    out = []
    for row in conn.execute(_SELECT_TRIALS):
        box = row[4]
        decoded = boxes.get(box)
        if decoded is None:
            decoded = boxes[box] = json.loads(box)
        pauses = row[17]
        out.append(
            TrialRow(
                trial_id=row[0],
                number=row[1],
                stage=row[2],
                config=json.loads(row[3]),
                box=decoded,
                unit=tuple(json.loads(row[5])),
                state=_STATES.get(row[6]) or TrialState(row[6]),
                worker=row[7],
                node=row[8],
                starts=row[9],
                restarts=row[10],
                started=row[11],
                ended=row[12],
                epochs=row[13],
                best=row[14],
                error=row[15],
                proposed_by=row[16],
                pauses=() if pauses == "[]" else tuple(json.loads(pauses)),
                devices=row[18],
            )
        )
    return out


def trial_columns(conn: sqlite3.Connection) -> TrialColumns:
    """Every trial as columns, by number (its unit coordinates left out, its stage's box
    given once)."""
    rows = conn.execute(_SELECT_TRIAL_COLUMNS).fetchall()
    stored = list(zip(*rows, strict=True)) if rows else [() for _ in range(len(COLUMN_FIELDS) + 1)]
    columns = dict(zip(COLUMN_FIELDS, stored[1:], strict=True))
    columns["pauses"] = tuple(() if p == "[]" else tuple(json.loads(p)) for p in columns["pauses"])
    boxes = {int(stage): json.loads(box) for stage, box in conn.execute(_SELECT_BOXES)}
    return TrialColumns(columns, tuple(map(json.loads, stored[0])), boxes)


def points(conn: sqlite3.Connection) -> Iterator[PointRow]:
    """Every curve point in the order it arrived."""
    values_end = 3 + len(VALUE_COLUMNS)
    for row in conn.execute(_SELECT_POINTS):
        diverged, at, extra = row[values_end:]
        yield PointRow(
            seq=row[0],
            trial_id=row[1],
            epoch=row[2],
            values=dict(zip(VALUE_COLUMNS, row[3:values_end], strict=True)),
            diverged=bool(diverged),
            at=at,
            extra=json.loads(extra) if extra else {},
        )


def curve_columns(conn: sqlite3.Connection) -> CurveColumns:
    """Every curve point as columns, sorted by trial then epoch."""
    names = ("trial_id", *CURVE_COLUMNS, "at")
    rows = conn.execute(_SELECT_CURVES).fetchall()
    stored = list(zip(*rows, strict=True)) if rows else [() for _ in range(len(names) + 1)]
    extra = tuple(json.loads(e) if e else None for e in stored[-1])
    return CurveColumns(dict(zip(names, stored[:-1], strict=True)), extra)


_SELECT_MODELS = (
    "SELECT m.trial_id, m.epoch, m.value, m.test_cost, m.test_accuracy FROM models m "
    "JOIN trials t ON t.trial_id = m.trial_id ORDER BY m.value * ?, m.epoch, t.number"
)


def models(conn: sqlite3.Connection, sign: float) -> list[ModelRow]:
    """The kept models, best first (`sign` +1 when smaller is better): by value, then the
    earlier epoch, then the lower trial number."""
    return [
        ModelRow(str(tid), int(epoch), float(value), test_cost, test_accuracy)
        for tid, epoch, value, test_cost, test_accuracy in conn.execute(_SELECT_MODELS, (sign,))
    ]


def model_data(conn: sqlite3.Connection, trial_id: str) -> bytes | None:
    """A kept model's weights (npz bytes), or None if the trial has none kept."""
    row = conn.execute("SELECT data FROM models WHERE trial_id = ?", (trial_id,)).fetchone()
    return None if row is None else bytes(row[0])


def checkpointed(conn: sqlite3.Connection) -> dict[str, int]:
    """Each trial that holds a checkpoint -> its epoch (the bytes are not read)."""
    return {str(t): int(e) for t, e in conn.execute("SELECT trial_id, epoch FROM checkpoints")}


def checkpoint(conn: sqlite3.Connection, trial_id: str) -> tuple[int, bytes] | None:
    """A trial's latest checkpoint: (its epoch, npz bytes), or None."""
    row = conn.execute(
        "SELECT epoch, data FROM checkpoints WHERE trial_id = ?", (trial_id,)
    ).fetchone()
    return None if row is None else (int(row[0]), bytes(row[1]))

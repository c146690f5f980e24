"""Write the fixture stores of this folder: one small interrupted sweep as each earlier
schema of Caviar's store held it, for the migration tests (tests/orchestrator/storage/).

Each schema below is the `_SCHEMA` of orchestrator/store.py at the commit named, copied
verbatim (its curve columns spelt out as `CURVE_COLUMNS` then expanded them), and the
rows are written as that version's Store wrote them: `attempts` counting every start,
JSON with sorted keys, `pauses`, `at` and `extra` only where the schema had them. None of
today's code is used, so the files stay what an old Caviar left whatever the code becomes.
The files are committed; run this only to rebuild them:

    .venv/bin/python tests/data/stores/make_stores.py
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

_SWEEP = """CREATE TABLE IF NOT EXISTS sweep (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
_TRIALS_V1 = """    trial_id TEXT PRIMARY KEY,
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
    error TEXT"""
_CURVES_V1 = """    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    trial_id TEXT NOT NULL REFERENCES trials(trial_id),
    epoch INTEGER NOT NULL,
    train_cost REAL,
    val_cost REAL,
    val_accuracy REAL,
    learning_rate REAL,
    seconds REAL,
    diverged INTEGER NOT NULL DEFAULT 0"""
_CHECKPOINTS = """CREATE TABLE IF NOT EXISTS checkpoints (
    trial_id TEXT PRIMARY KEY REFERENCES trials(trial_id),
    epoch INTEGER NOT NULL,
    data BLOB NOT NULL
);
"""


def _schema(trials_added: str, curves_added: str) -> str:
    return (
        _SWEEP
        + f"CREATE TABLE IF NOT EXISTS trials (\n{_TRIALS_V1}{trials_added}\n);\n"
        + f"CREATE TABLE IF NOT EXISTS curves (\n{_CURVES_V1},{curves_added}\n"
        + "    UNIQUE (trial_id, epoch)\n);\n"
        + _CHECKPOINTS
    )


_PROPOSED_BY = ",\n    proposed_by TEXT NOT NULL DEFAULT ''"
_PAUSES = ",\n    pauses TEXT NOT NULL DEFAULT '[]'"
# version -> (the commit whose orchestrator/store.py wrote it, its schema)
SCHEMAS = {
    1: ("3be6da5", _schema("", "")),
    2: ("d269762", _schema(_PROPOSED_BY, "")),  # trials record their sampler
    3: ("8379a10", _schema(_PROPOSED_BY + _PAUSES, "")),  # ... and the epochs they paused at
    4: ("3f7e1c7", _schema(_PROPOSED_BY + _PAUSES, "\n    at REAL,")),  # points stamped
    5: ("9f69b2e", _schema(_PROPOSED_BY + _PAUSES, "\n    at REAL,\n    extra TEXT,")),
}

SOURCE = {
    "name": "old",
    "dataset": "synthetic:rows=200,features=4,classes=2",
    "seed": 5,
    "model": {"hidden_layers": 1, "batch_size": 64},
    "space": {"learning_rate": {"type": "log_uniform", "low": 0.001, "high": 0.1}},
    "budget": {"trials": 4, "max_epochs": 3},
}
BOX = {"learning_rate": [0.001, 0.1]}
# number -> (learning rate, its unit coordinate, state, worker, attempts, started, ended)
TRIALS: dict[int, tuple[float, float, str, str | None, int, float | None, float | None]] = {
    1: (0.01, 0.5, "completed", "local-0", 1, 1000.5, 1004.0),
    2: (0.001, 0.0, "running", "local-1", 1, 1000.5, None),  # interrupted after epoch 1
    3: (0.1, 1.0, "pending", None, 0, None, None),  # stored, not started yet
}
# (trial, epoch, train_cost, val_cost, val_accuracy, the decayed rate, seconds, at)
POINTS = [
    (1, 1, 1.0, 0.9, 0.6, 0.01, 1.0, 1001.5),
    (2, 1, 1.2, 0.7, 0.55, 0.001, 1.5, 1002.0),
    (1, 2, 0.6, 0.5, 0.8, 0.005, 1.0, 1002.5),
    (1, 3, 0.45, 0.4, 0.85, 0.0025, 1.0, 1003.5),
]
EXTRA = {(1, 1): {"grad_norm": 2.5}}  # a trainer's own field, where the schema kept them


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def write(version: int, path: Path) -> None:
    """The sweep as the Caviar of schema `version` left it, in `path`."""
    _, schema = SCHEMAS[version]
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")  # as every version opened it
    conn.executescript(schema)
    keys = {
        "source": SOURCE,
        "state": "interrupted",
        "created": 1000.0,
        "driver": {"host": "old-host", "pid": 4242},
        "base_dir": ".",
    }
    if version >= 4:
        keys["first_result"] = 1001.5
    with conn:
        conn.executemany(
            "INSERT INTO sweep (key, value) VALUES (?, ?)",
            [(k, _dumps(v)) for k, v in keys.items()],
        )
        for number, (rate, unit, state, worker, attempts, started, ended) in TRIALS.items():
            tid = f"trial-{number:04d}"
            config = {"batch_size": 64, "hidden_layers": 1, "learning_rate": rate}
            values = [tid, number, 0, _dumps(config), _dumps(BOX), _dumps([unit]), state]
            values += [worker, None if worker is None else "local", attempts, started, ended]
            points = [p for p in POINTS if p[0] == number]
            values += [len(points), min((p[3] for p in points), default=None), None]
            columns = "trial_id, number, stage, config, box, unit, state, worker, node, "
            columns += "attempts, started, ended, epochs, best, error"
            if version >= 2:
                columns, values = columns + ", proposed_by", [*values, "random"]
            conn.execute(
                f"INSERT INTO trials ({columns}) VALUES ({', '.join('?' * len(values))})",
                values,
            )
        for trial, epoch, *numbers, at in POINTS:
            columns = "trial_id, epoch, train_cost, val_cost, val_accuracy, learning_rate, "
            columns += "seconds, diverged"
            values = [f"trial-{trial:04d}", epoch, *numbers, 0]
            if version >= 4:
                columns, values = columns + ", at", [*values, at]
            if version >= 5:
                extra = EXTRA.get((trial, epoch))
                columns, values = columns + ", extra", [*values, extra and _dumps(extra)]
            conn.execute(
                f"INSERT INTO curves ({columns}) VALUES ({', '.join('?' * len(values))})",
                values,
            )
    conn.close()  # the last connection: the WAL is checkpointed into the file and removed


def main() -> None:
    for version in SCHEMAS:
        write(version, HERE / f"v{version}.db")


if __name__ == "__main__":
    main()

"""A sweep's durable record: the SQLite store, its schema and its migrations.

`Store` writes (and is what a driver and a resume open); `Reader` and `read_run` read one
snapshot without changing anything; both return the typed rows of `rows`. No SQL lives
outside this package.
"""

from orchestrator.storage.location import DB_NAME, database
from orchestrator.storage.reader import Reader, Snapshot, read_run
from orchestrator.storage.rows import (
    CurveColumns,
    ModelRow,
    PointRow,
    SweepMeta,
    TrialColumns,
    TrialRow,
)
from orchestrator.storage.schema import LATEST
from orchestrator.storage.store import Store
from orchestrator.storage.store_error import StoreError

__all__ = [
    "DB_NAME",
    "LATEST",
    "CurveColumns",
    "ModelRow",
    "PointRow",
    "Reader",
    "Snapshot",
    "Store",
    "StoreError",
    "SweepMeta",
    "TrialColumns",
    "TrialRow",
    "database",
    "read_run",
]

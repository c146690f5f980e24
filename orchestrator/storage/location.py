"""Where a sweep's store lives: runs/NAME/sweep.db."""

from __future__ import annotations

from pathlib import Path

DB_NAME = "sweep.db"


def database(path: str | Path) -> Path:
    """The database of `path`: a run directory's sweep.db, or `path` itself if it is a file."""
    path = Path(path)
    return path / DB_NAME if path.is_dir() or not path.exists() else path

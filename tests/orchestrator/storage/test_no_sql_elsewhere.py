"""One reader and writer of the store: no SQL, and no sqlite3, outside orchestrator/storage/.

SQL anywhere else is a second schema waiting to drift (a renamed column breaks it without a
test noticing). The scan reads the source with `ast`: string constants (f-string parts and
implicitly joined literals included) that begin like an SQL statement, and imports of
sqlite3.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
STORAGE = ROOT / "orchestrator" / "storage"
SCANNED = ("orchestrator", "workers", "caviar", "caviar_common", "benchmarks")
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE TABLE|ALTER TABLE|PRAGMA)\b")


def sql_in(path: Path) -> list[str]:
    """Where `path` holds SQL or imports sqlite3, as 'file:line: what'."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        what = None
        if isinstance(node, ast.Import):
            if any(alias.name.split(".")[0] == "sqlite3" for alias in node.names):
                what = "import sqlite3"
        elif isinstance(node, ast.ImportFrom):
            if node.module and node.module.split(".")[0] == "sqlite3":
                what = f"from {node.module} import"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            what = f"SQL {node.value.strip()[:40]!r}" if SQL.match(node.value) else None
        if what is not None:
            found.append((getattr(node, "lineno", 0), what))
    return [f"{path}:{line}: {what}" for line, what in sorted(found)]


def scan(folders: list[Path], allowed: Path) -> list[str]:
    """SQL found in the .py files under `folders`, except those under `allowed`."""
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            if allowed not in path.parents:
                found += sql_in(path)
    return found


def test_no_sql_or_sqlite3_outside_the_storage_package():
    folders = [ROOT / name for name in SCANNED]
    assert all(f.is_dir() for f in folders)
    assert sum(1 for f in folders for _ in f.rglob("*.py")) > 50  # the scan sees the code
    assert scan(folders, STORAGE) == []


def test_the_storage_package_itself_is_seen_to_hold_sql():
    # the probe works on real code: the writer has SQL and imports sqlite3
    found = sql_in(STORAGE / "store.py")
    assert any("import sqlite3" in f for f in found)
    assert any("SQL 'INSERT" in f or "SQL 'UPDATE" in f for f in found)


def test_the_scan_flags_planted_sql_and_sqlite3(tmp_path):
    package = tmp_path / "pkg"
    (package / "deep").mkdir(parents=True)
    (package / "clean.py").write_text(
        '"""Select the best trial; update the table of results."""\n'
        'WORDS = "select * from nothing, in lower case prose"\n'
    )
    (package / "deep" / "bad.py").write_text(
        "import json\n"
        "import sqlite3\n"
        "from sqlite3 import connect\n"
        "\n"
        "def read(conn, table):\n"
        '    conn.execute(f"SELECT value FROM {table}")\n'
        '    conn.execute("  PRAGMA user_version")\n'
        '    return ("UPDATE trials SET state = ? " "WHERE trial_id = ?")\n'
    )
    allowed = tmp_path / "pkg" / "storage"
    allowed.mkdir()
    (allowed / "ok.py").write_text('import sqlite3\nQ = "SELECT 1"\n')

    found = scan([package], allowed)
    bad = package / "deep" / "bad.py"
    assert found == [
        f"{bad}:2: import sqlite3",
        f"{bad}:3: from sqlite3 import",
        f"{bad}:6: SQL 'SELECT value FROM'",  # the f-string's literal part
        f"{bad}:7: SQL 'PRAGMA user_version'",
        f"{bad}:8: SQL 'UPDATE trials SET state = ? WHERE trial_'",  # joined, first 40
    ]

"""The (task, seed) pairs a quality.py run has finished, one JSON line each, so that a run
too long for one sitting can be stopped and continued (`--resume`).

The first line is the run's header (its settings and methods): a resume must match it, or
its pairs would be compared with others run differently. A line `{"part": ...}` closes each
sitting with its date and load averages, which the report lists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class PairLog:
    path: Path
    finished: list[dict[str, Any]] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def open(cls, path: Path, header: Mapping[str, Any], resume: bool) -> PairLog:
        """A fresh log at `path` (any earlier one replaced), or with `resume` the pairs and
        sittings of the earlier one, which must have been run with the same `header`."""
        header = json.loads(json.dumps(header))  # tuples as lists, as they read back
        log = cls(path)
        if resume and path.exists():
            lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            if not lines or lines[0].get("header") != header:
                earlier = lines[0].get("header") if lines else None
                raise SystemExit(
                    f"--resume: {path} was run with {json.dumps(earlier)}, not "
                    f"{json.dumps(header)}; run the same command, or leave out --resume to "
                    "start again"
                )
            for line in lines[1:]:
                if "pair" in line:
                    log.finished.append(line["pair"])
                elif "part" in line:
                    log.parts.append(line["part"])
            return log
        path.write_text(json.dumps({"header": header}) + "\n")
        return log

    def add(self, pair: dict[str, Any]) -> dict[str, Any]:
        """Append a finished pair (written at once: a stop loses only the pairs running)."""
        self._append({"pair": pair})
        return pair

    def close(self, part: Mapping[str, Any]) -> None:
        """Record the end of this sitting."""
        self._append({"part": dict(part)})

    def _append(self, line: Mapping[str, Any]) -> None:
        with self.path.open("a") as out:
            out.write(json.dumps(line) + "\n")

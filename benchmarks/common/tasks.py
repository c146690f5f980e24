"""Measurements a benchmark runs in a child process of their own, as frozen dataclasses.

The parent starts `python -m benchmarks.X --child JSON`; the child rebuilds the task from
the JSON (its class name and its fields, each a plain JSON value), runs it, and prints its
result as its last line: `RESULT ` and a JSON object.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Sequence
from typing import Any

RESULT = "RESULT "  # a child's last stdout line: this prefix, then JSON


@dataclasses.dataclass(frozen=True)
class ChildTask:
    """A task for a child process; subclasses add their fields and `run`."""

    name: str  # also names the child's log

    def run(self) -> dict[str, Any]:
        """Do the measurement (in the child) and return what the parent needs, as JSON."""
        raise NotImplementedError

    def to_json(self) -> str:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return json.dumps({"task": type(self).__name__, "fields": fields})


def task_from_json(text: str, kinds: Sequence[type[ChildTask]]) -> ChildTask:
    """The task `ChildTask.to_json` wrote, if it is one of `kinds`."""
    loaded = json.loads(text)
    by_name = {kind.__name__: kind for kind in kinds}
    kind = by_name.get(loaded.get("task"))
    if kind is None:
        raise ValueError(f"--child: unknown task {loaded.get('task')!r}; known: {sorted(by_name)}")
    expected = {f.name for f in dataclasses.fields(kind)}
    given = set(loaded.get("fields", {}))
    if given != expected:
        raise ValueError(
            f"--child: {kind.__name__} takes fields {sorted(expected)}, got {sorted(given)}"
        )
    return kind(**loaded["fields"])


def child_argv(module: str, task: ChildTask) -> list[str]:
    """The command that runs `task` in a child: the benchmark `module` with --child."""
    return [sys.executable, "-m", module, "--child", task.to_json()]


def answer(text: str, kinds: Sequence[type[ChildTask]]) -> int:
    """In the child: run the task --child gave and print its RESULT line."""
    print(RESULT + json.dumps(task_from_json(text, kinds).run()), flush=True)
    return 0

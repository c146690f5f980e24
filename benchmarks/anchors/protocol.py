"""The pipe between quality.py and an anchor's child process: one JSON object a line.

The parent writes the task first (`Task`); then the child asks for epochs, `{"want": [trial,
config, epoch]}`, each answered by `{"record": {...}}` (None: the curve diverged before that
epoch), and ends with `{"done": {"points": [[time, val_cost, trial, epoch], ...]}}`. NaN
crosses as JSON's NaN, which Python's json reads back.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import IO, Any

WANT, RECORD, DONE = "want", "record", "done"
RECORD_FIELDS = ("epoch", "val_cost", "seconds", "diverged")  # what the child needs of one


@dataclass(frozen=True)
class Task:
    """What the child runs: `method` on the described space (`space`: params, conditions and
    the fixed model keys, from `benchmarks.tuning.anchor_runs.describe`), on `workers`
    simulated workers, at most `trials` new trials and `max_epochs` epochs each, no epoch
    ending after `time_limit` simulated seconds (None: no limit), the library seeded `seed`."""

    method: str
    space: dict[str, Any]
    max_epochs: int
    workers: int
    trials: int
    time_limit: float | None
    seed: int

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Task:
        return cls(**message)

    def to_message(self) -> dict[str, Any]:
        return asdict(self)


def send(stream: IO[str], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


def receive(stream: IO[str]) -> dict[str, Any]:
    """The next message; EOFError once the other side has closed the pipe."""
    line = stream.readline()
    if not line:
        raise EOFError("the other side of the anchor pipe closed it")
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError(f"anchor pipe: expected a JSON object a line, got {line[:200]!r}")
    return message


def slim(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The fields of an epoch record the child uses (the parent answers with these)."""
    return None if record is None else {k: record[k] for k in RECORD_FIELDS}

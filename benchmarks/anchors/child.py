"""An anchor's process: `.venv-anchors/bin/python -m benchmarks.anchors.child`, from the
repository root, started by quality.py (`benchmarks/tuning/anchor_runs.py`).

It reads its task from stdin, runs the method's policy on the simulated clock, asking the
parent for each epoch over stdin and stdout (`protocol.py`), and ends with the epochs it
saw. The libraries' own output (DEHB logs to stdout) goes to stderr: the child keeps the
real stdout for the protocol alone.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from collections.abc import Mapping
from typing import IO, Any

from benchmarks.anchors.clock import Policy, Record, run_on_clock
from benchmarks.anchors.protocol import DONE, RECORD, WANT, Task, receive, send

DEHB = "dehb"


def make_policy(task: Task, workdir: str) -> Policy:
    """The policy of `task.method`, its library seeded `task.seed`."""
    from benchmarks.anchors.synetune_policy import BASELINES, synetune_policy

    if task.method in BASELINES:
        return synetune_policy(task.method, task.space, task.max_epochs, task.seed)
    if task.method == DEHB:
        from benchmarks.anchors.dehb_policy import dehb_policy

        return dehb_policy(task.space, task.max_epochs, task.seed, workdir)
    raise ValueError(f"method: unknown anchor {task.method!r}; known: {[*BASELINES, DEHB]}")


def claim_stdout() -> IO[str]:
    """The protocol's own stream on a copy of stdout; stdout itself (fd 1, for anything a
    library prints, from Python or C) now writes to stderr."""
    sys.stdout.flush()
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    return channel


def run(task: Task, channel: IO[str], answers: IO[str]) -> None:
    """Run `task`, each epoch asked of the parent; end with the epochs it saw."""

    def fetch(trial: int, config: Mapping[str, Any], epoch: int) -> Record | None:
        send(channel, {WANT: [trial, dict(config), epoch]})
        record: Record | None = receive(answers)[RECORD]
        return record

    with tempfile.TemporaryDirectory(prefix="anchor-") as workdir:
        policy = make_policy(task, workdir)
        ended = run_on_clock(policy, fetch, task.workers, task.trials, task.time_limit)
    send(channel, {DONE: {"points": ended}})


def main() -> int:
    channel = claim_stdout()
    # The libraries' deprecation chatter (ConfigSpace 1.x under DEHB 0.1.2, pandas) would
    # only fill the stderr the parent shows when something fails.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", FutureWarning)
    run(Task.from_message(receive(sys.stdin)), channel, sys.stdin)
    return 0


if __name__ == "__main__":
    sys.exit(main())

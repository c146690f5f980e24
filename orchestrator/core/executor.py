"""What the tuning loop asks of whatever runs its trials: the `Executor` protocol, the task
it hands over and the events it hears back.

The loop launches a trial on a free worker, asks for its epochs (with a checkpoint where
it wants one), and polls for events: an epoch's record as soon as it exists, or a crash.
Two implementations: `InProcessExecutor` (inprocess.py) runs trials in this process, so
the loop is tested without Ray; `RayExecutor` (ray_executor.py) runs them on a pool of Ray
actors, sending the epochs asked for in runs sized by `chunk_epochs`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Protocol

from caviar_common.keeping import NO_KEEP, KeepBar
from caviar_common.seeds import SeedKey


@dataclass(frozen=True)
class TrialTask:
    """Everything a worker needs to run (or restart) one trial."""

    trial_id: str
    config: dict[str, Any]
    data: dict[str, Any]  # dataset spec, seed and val_fraction
    seed: SeedKey  # caviar_common.seeds.trial_seed(master seed, trial number)
    checkpoint: bytes | None = None
    max_epochs: int = 0  # the trial's last epoch (0: not known)


@dataclass(frozen=True)
class EpochDone:
    trial_id: str
    record: dict[str, Any]
    checkpoint: bytes | None
    model: bytes | None = None  # the trainer's state after an epoch that beat the keep bar


@dataclass(frozen=True)
class Crashed:
    """A trial's code raised (`lost_worker` False), or its worker died under it (True).

    `error` is the whole text; `summary`, when given, says it in one line."""

    trial_id: str
    error: str
    lost_worker: bool
    summary: str = ""

    @property
    def line(self) -> str:
        return self.summary or self.error


Event = EpochDone | Crashed


@dataclass(frozen=True)
class Placement:
    worker: str
    node: str
    devices: str = ""  # the GPUs the worker sees (CUDA_VISIBLE_DEVICES), "" for none


class Executor(Protocol):
    @property
    def slots(self) -> int:
        """How many trials run at once."""
        ...

    def free(self) -> int:
        """Workers that take a trial now: those without one, and (where the executor queues
        the next trial behind the last epoch of the one running) those whose trial has
        been asked for its last epoch."""
        ...

    def launch(self, task: TrialTask) -> Placement:
        """Give the trial a free worker (restoring its checkpoint, if any)."""
        ...

    def request(self, trial_id: str, epoch: int, checkpoint: bool, keep: KeepBar = NO_KEEP) -> None:
        """Ask for the trial's next epoch (`epoch`, counting from 1), with the trainer's state
        after it as a checkpoint, and as a model where its value beats `keep` (the latest
        bar given for a trial holds for all its epochs asked for)."""
        ...

    def poll(self, timeout: float) -> list[Event]:
        """Events since the last poll; waits up to `timeout` seconds for the first."""
        ...

    def release(self, trial_id: str) -> None:
        """The trial is over: free its worker (results still in flight are dropped)."""
        ...

    def shutdown(self) -> None:
        """No more trials: let the workers go (an executor may finish this in `close`)."""
        ...


CHUNK_SECONDS = 0.25  # a run of epochs sent to a worker in one call trains about this long
FIRST_CHUNK_SECONDS = 0.05  # ... except a trial's first runs, which double up to it
MAX_CHUNK = 100  # epochs in one call, however short


def chunk_epochs(seconds_per_epoch: float | None, sent_before: int, left: int) -> int:
    """How many of a trial's `left` epochs to send in one call: about CHUNK_SECONDS of
    work, so that results still stream back a few times a second, while a worker whose
    epochs take milliseconds is not asked once per epoch. A trial's first runs are shorter
    (`sent_before` runs sent already: FIRST_CHUNK_SECONDS, doubling), since its epochs may
    cost more than the last trial's; with no estimate yet, one epoch."""
    if left <= 0:
        return 0
    if seconds_per_epoch is None or not math.isfinite(seconds_per_epoch):
        return 1
    budget = min(CHUNK_SECONDS, FIRST_CHUNK_SECONDS * 2 ** min(sent_before, 8))
    fits = int(budget / max(seconds_per_epoch, 1e-6))
    return max(1, min(left, fits, MAX_CHUNK))


_EXIT_TYPE = re.compile(r"exit type:\s*([A-Za-z_]+)", re.IGNORECASE)
_BECAUSE = re.compile(r"is dead because (?:it was )?(.+?)\.(?:\s|$)")


def lost_worker_line(worker: str, node: str, error: str) -> str:
    """One line for a worker that died under a trial: the worker, its node and why, as Ray
    gives it (its exit type: SYSTEM_ERROR, ...; or the reason: killed by ray.kill), instead
    of Ray's whole message."""
    found = _EXIT_TYPE.search(error) or _BECAUSE.search(error)
    why = found.group(1).replace("`", "").strip() if found else "no reason given"
    return f"{worker} on node {node[:12] or '?'}, {why}"

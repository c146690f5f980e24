"""What the tuning loop asks of whatever runs its trials: the `Executor` protocol, the task
it hands over and the events it hears back.

The loop launches a trial on a free worker, asks for its epochs one at a time (with a
checkpoint where it wants one), and polls for events: an epoch's record as soon as it
exists, or a crash. Two implementations: `InProcessExecutor` (inprocess.py) runs trials in
this process, so the loop is tested without Ray; `RayExecutor` (ray_executor.py) runs
them on a pool of Ray actors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from caviar_common.seeds import SeedKey


@dataclass(frozen=True)
class TrialTask:
    """Everything a worker needs to run (or restart) one trial."""

    trial_id: str
    config: dict[str, Any]
    data: dict[str, Any]  # dataset spec, seed and val_fraction
    seed: SeedKey  # caviar_common.seeds.trial_seed(master seed, trial number)
    checkpoint: bytes | None = None


@dataclass(frozen=True)
class EpochDone:
    trial_id: str
    record: dict[str, Any]
    checkpoint: bytes | None


@dataclass(frozen=True)
class Crashed:
    """A trial's code raised (`lost_worker` False), or its worker died under it (True)."""

    trial_id: str
    error: str
    lost_worker: bool


Event = EpochDone | Crashed


@dataclass(frozen=True)
class Placement:
    worker: str
    node: str


class Executor(Protocol):
    @property
    def slots(self) -> int:
        """How many trials run at once."""
        ...

    def free(self) -> int:
        """Workers without a trial."""
        ...

    def launch(self, task: TrialTask) -> Placement:
        """Give the trial a free worker (restoring its checkpoint, if any)."""
        ...

    def request(self, trial_id: str, epoch: int, checkpoint: bool) -> None:
        """Ask for the trial's next epoch (`epoch`, counting from 1)."""
        ...

    def poll(self, timeout: float) -> list[Event]:
        """Events since the last poll; waits up to `timeout` seconds for the first."""
        ...

    def release(self, trial_id: str) -> None:
        """The trial is over: free its worker (results still in flight are dropped)."""
        ...

    def shutdown(self) -> None: ...

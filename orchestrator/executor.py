"""What the tuning loop asks of whatever runs its trials, and an executor with no Ray.

The loop launches a trial on a free worker, asks for its epochs one at a time (with a
checkpoint where it wants one), and polls for events: an epoch's record as soon as it
exists, or a crash. `InProcessExecutor` runs the same protocol in this process, one epoch
per poll, so the loop is tested without Ray; the Ray executor lives in ray_executor.py.
"""

from __future__ import annotations

import traceback
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from workers.host import TrialHost


@dataclass(frozen=True)
class TrialTask:
    """Everything a worker needs to run (or restart) one trial."""

    trial_id: str
    config: dict[str, Any]
    data: dict[str, Any]  # dataset spec, seed and val_fraction
    seed: tuple[int, ...]  # (master seed, *spawn key)
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


class InProcessExecutor:
    """Runs trials in this process: `slots` pretend workers, one epoch per poll."""

    def __init__(self, slots: int = 1, host: TrialHost | None = None) -> None:
        self._slots = slots
        self.host = host or TrialHost()
        self._workers: dict[str, str] = {}  # trial -> worker
        self._queue: deque[tuple[str, int, bool]] = deque()
        self._broken: dict[str, str] = {}  # trials whose setup raised -> traceback
        self.requests: list[tuple[str, int, bool]] = []  # for tests: what was asked

    @property
    def slots(self) -> int:
        return self._slots

    def free(self) -> int:
        return self._slots - len(self._workers)

    def launch(self, task: TrialTask) -> Placement:
        if self.free() <= 0:
            raise RuntimeError("launch: no free worker")
        used = set(self._workers.values())
        worker = next(f"local-{i}" for i in range(self._slots) if f"local-{i}" not in used)
        self._workers[task.trial_id] = worker
        try:
            self.host.begin(task.trial_id, task.config, task.data, task.seed, task.checkpoint)
        except Exception:
            self._broken[task.trial_id] = traceback.format_exc()
        return Placement(worker, "local")

    def request(self, trial_id: str, epoch: int, checkpoint: bool) -> None:
        self.requests.append((trial_id, epoch, checkpoint))
        self._queue.append((trial_id, epoch, checkpoint))

    def poll(self, timeout: float) -> list[Event]:
        while self._queue:
            trial_id, _, checkpoint = self._queue.popleft()
            if trial_id not in self._workers:
                continue  # released while this epoch was queued
            if trial_id in self._broken:
                return [Crashed(trial_id, self._broken.pop(trial_id), lost_worker=False)]
            try:
                result = self.host.step(trial_id, checkpoint)
            except Exception:
                return [Crashed(trial_id, traceback.format_exc(), lost_worker=False)]
            return [EpochDone(trial_id, result.record, result.checkpoint)]
        return []

    def release(self, trial_id: str) -> None:
        self._workers.pop(trial_id, None)
        self._broken.pop(trial_id, None)
        self.host.end(trial_id)

    def shutdown(self) -> None:
        for trial_id in list(self._workers):
            self.release(trial_id)

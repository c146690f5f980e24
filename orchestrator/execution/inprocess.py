"""An executor with no Ray: runs trials in this process, one epoch per poll.

It speaks the same `Executor` protocol as the Ray executor, so the tuning loop, the
store and the schedulers are tested end to end in milliseconds.
"""

from __future__ import annotations

import traceback
from collections import deque

from caviar_common.keeping import NO_KEEP, KeepBar
from orchestrator.core.executor import Crashed, EpochDone, Event, Placement, TrialTask
from workers.host import TrialHost


class InProcessExecutor:
    """Runs trials in this process: `slots` pretend workers, one epoch per poll."""

    def __init__(self, slots: int = 1, host: TrialHost | None = None) -> None:
        self._slots = slots
        self.host = host or TrialHost()
        self._workers: dict[str, str] = {}  # trial -> worker
        self._queue: deque[tuple[str, int, bool]] = deque()
        self._keep: dict[str, KeepBar] = {}  # each trial's latest bar
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

    def request(self, trial_id: str, epoch: int, checkpoint: bool, keep: KeepBar = NO_KEEP) -> None:
        self.requests.append((trial_id, epoch, checkpoint))
        self._keep[trial_id] = keep
        self._queue.append((trial_id, epoch, checkpoint))

    def poll(self, timeout: float) -> list[Event]:
        while self._queue:
            trial_id, _, checkpoint = self._queue.popleft()
            if trial_id not in self._workers:
                continue  # released while this epoch was queued
            if trial_id in self._broken:
                return [Crashed(trial_id, self._broken.pop(trial_id), lost_worker=False)]
            try:
                keep = self._keep.get(trial_id, NO_KEEP)
                result = self.host.step(trial_id, checkpoint, keep)
            except Exception:
                return [Crashed(trial_id, traceback.format_exc(), lost_worker=False)]
            if not result.record["diverged"]:  # the epochs after it must beat the best
                self._keep[trial_id] = keep.seen(result.record[self.host.metric])
            return [EpochDone(trial_id, result.record, result.checkpoint, result.model)]
        return []

    def release(self, trial_id: str) -> None:
        self._workers.pop(trial_id, None)
        self._broken.pop(trial_id, None)
        self._keep.pop(trial_id, None)
        self.host.end(trial_id)

    def shutdown(self) -> None:
        for trial_id in list(self._workers):
            self.release(trial_id)

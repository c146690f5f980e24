"""The tuning loop's `Executor` on virtual workers whose time is simulated.

Each epoch the loop asks for starts when its worker is free (after the trial's previous
epoch) and ends its record's `seconds` later; `poll` delivers the earliest one and moves
the clock to its end. The records come from an `EpochSource`, a function of the trial's
task and the epoch, so the loop, its store and its schedulers run unchanged and see
results in the order a cluster would deliver them, at thousands of trials a second.
Driving the loop costs no simulated time.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from caviar_common.keeping import NO_KEEP, KeepBar
from orchestrator.core.executor import EpochDone, Event, Placement, TrialTask

Record = dict[str, Any]  # an epoch's record, as a worker sends it (EpochRecord.to_dict())
# What the executor hands the loop where it asks for a checkpoint: the loop stores it and
# gives it back at a promotion, but an epoch source resumes from (task, epoch) alone.
PLACEHOLDER_CHECKPOINT = b"simulated"


class EpochSource(Protocol):
    def record(self, task: TrialTask, epoch: int) -> Record | None:
        """Epoch `epoch` (from 1) of the trial `task` describes, with its `seconds`; None
        when the trial diverged before that epoch (a worker cannot train past it)."""
        ...


class SimulatedClock:
    """Seconds on the simulated workers' clock: the loop, the store and the executor share
    one, the executor moves it forward."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def __call__(self) -> float:
        return self._now

    def advance(self, to: float) -> None:
        if to < self._now:
            raise ValueError(f"clock: cannot go back from {self._now} to {to}")
        self._now = to

    def __repr__(self) -> str:
        return f"SimulatedClock({self._now:.3f})"


@dataclass
class _Pending:
    """An epoch asked for: it runs from `start` to `end` on its trial's worker."""

    start: float
    end: float
    trial_id: str
    record: Record
    checkpoint: bool
    keep: KeepBar = NO_KEEP
    dropped: bool = False  # its trial was released before it was delivered


class SimulatedExecutor:
    """`slots` virtual workers on a simulated clock (`clock`, shared with the loop)."""

    def __init__(
        self,
        source: EpochSource,
        slots: int = 4,
        clock: SimulatedClock | None = None,
        metric: str = "val_cost",
    ) -> None:
        """`metric`: the sweep's, which an epoch's record must carry; epochs that beat the
        loop's keep bar come back with a placeholder model, as checkpoints do."""
        if slots < 1:
            raise ValueError(f"slots: must be an integer >= 1, got {slots}")
        self.source = source
        self.metric = metric
        self.clock = clock or SimulatedClock()
        self._keep: dict[str, KeepBar] = {}  # each trial's bar, lowered by kept epochs
        self._slots = slots
        self._free_at = [self.clock()] * slots  # when each worker's last queued epoch ends
        self._worker: dict[str, int] = {}
        self._tasks: dict[str, TrialTask] = {}
        # A heap of (end, order asked, epoch): the order breaks ties, first asked first
        # delivered; dropped epochs leave it as they come to the top.
        self._pending: list[tuple[float, int, _Pending]] = []
        self._queued: dict[str, deque[_Pending]] = {}  # each trial's, in the order they end
        self._order = itertools.count()
        self.delivered: dict[tuple[str, int], float] = {}  # (trial, epoch) -> end time

    def __repr__(self) -> str:
        return (
            f"SimulatedExecutor(slots={self._slots}, now={self.clock():.2f}, "
            f"running={len(self._worker)}, queued={sum(map(len, self._queued.values()))})"
        )

    @property
    def slots(self) -> int:
        return self._slots

    def free(self) -> int:
        return self._slots - len(self._worker)

    def launch(self, task: TrialTask) -> Placement:
        used = set(self._worker.values())
        free = [w for w in range(self._slots) if w not in used]
        if not free:
            raise RuntimeError("launch: no free worker")
        worker = min(free, key=lambda w: (self._free_at[w], w))
        self._worker[task.trial_id] = worker
        self._tasks[task.trial_id] = task  # task.checkpoint is the placeholder: ignored
        return Placement(f"sim-{worker}", "sim")

    def request(self, trial_id: str, epoch: int, checkpoint: bool, keep: KeepBar = NO_KEEP) -> None:
        task = self._tasks[trial_id]
        record = self.source.record(task, epoch)
        if record is None:
            return  # the epoch before diverged; the loop ends the trial on its record
        worker = self._worker[trial_id]
        start = max(self.clock(), self._free_at[worker])
        end = start + float(record["seconds"])
        self._free_at[worker] = end
        self._keep[trial_id] = keep
        item = _Pending(start, end, trial_id, record, checkpoint)
        heapq.heappush(self._pending, (end, next(self._order), item))
        self._queued.setdefault(trial_id, deque()).append(item)

    def poll(self, timeout: float) -> list[Event]:
        """The earliest epoch to end, the clock moved to its end (`timeout` is moot: the
        clock jumps)."""
        while self._pending and self._pending[0][2].dropped:
            heapq.heappop(self._pending)
        if not self._pending:
            if self._worker:
                raise RuntimeError(f"deadlock: trials {sorted(self._worker)} wait for nothing")
            return []
        _, _, item = heapq.heappop(self._pending)
        self._queued[item.trial_id].popleft()  # a worker runs a trial's epochs in order
        self.clock.advance(item.end)
        self.delivered[(item.trial_id, int(item.record["epoch"]))] = item.end
        keep = self._keep.get(item.trial_id, NO_KEEP)
        value = float(item.record[self.metric])
        epoch = int(item.record["epoch"])
        model = PLACEHOLDER_CHECKPOINT if keep.takes(value) else None
        if not item.record.get("diverged"):
            keep = self._keep[item.trial_id] = keep.seen(value)
        checkpoint = item.checkpoint or keep.keeps_last(epoch)
        data = PLACEHOLDER_CHECKPOINT if checkpoint else None
        return [EpochDone(item.trial_id, item.record, data, model)]

    def release(self, trial_id: str) -> None:
        worker = self._worker.pop(trial_id, None)
        self._tasks.pop(trial_id, None)
        self._keep.pop(trial_id, None)
        dropped = self._queued.pop(trial_id, deque())
        for item in dropped:
            item.dropped = True
        if worker is not None:
            # An epoch already under way runs to its end on a real worker (an actor call
            # is not cancelled); one not yet started is never run.
            now = self.clock()
            under_way = [p.end for p in dropped if p.start <= now]
            self._free_at[worker] = max([now, *under_way])

    def shutdown(self) -> None:
        for trial_id in list(self._worker):
            self.release(trial_id)

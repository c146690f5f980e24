"""The anchors' simulated clock: `workers` virtual workers run the jobs a policy (Syne Tune's
scheduler or DEHB, wrapped) hands out, each epoch ending its record's `seconds` after the
one before on its worker, as Caviar's simulated executor runs Caviar's loop.

A job trains one curve (a trial's seed and configuration) from epoch `first` to `last`, and
is charged for exactly those epochs: a trial resumed from its checkpoint (Syne Tune) starts
past the epochs it has; a configuration trained again from scratch at a higher fidelity
(DEHB) starts at epoch 1 and pays for every epoch again, though the epoch cache serves them.
Standard library only: this runs in the anchors' environment and in the project's tests.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Record = dict[str, Any]  # an epoch: epoch, val_cost, seconds, diverged (protocol.RECORD_FIELDS)
Fetch = Callable[[int, Mapping[str, Any], int], Record | None]  # (trial, config, epoch)
Ended = list[Any]  # [time, val_cost (NaN: diverged), trial, epoch], as it crosses the pipe


@dataclass(frozen=True)
class Job:
    """Train curve `trial` (configuration `config`, Caviar's seed key of trial `trial`) from
    epoch `first` to epoch `last` on one worker; `handle` is the policy's own."""

    trial: int
    config: Mapping[str, Any]
    first: int
    last: int
    handle: Any = None

    def __post_init__(self) -> None:
        if not 1 <= self.first <= self.last:
            raise ValueError(
                f"job of trial {self.trial}: 1 <= first <= last must hold, got "
                f"first={self.first}, last={self.last}"
            )


@dataclass(frozen=True)
class Report:
    """An epoch of a job as its policy hears of it: `spent` is the job's simulated seconds
    so far, this epoch's included."""

    epoch: int
    value: float  # NaN: the epoch diverged
    spent: float


class Policy(Protocol):
    def next_job(self, room: int, now: float) -> Job | None:
        """A job for a free worker at simulated time `now`, or None (none now). Only `room`
        more new trials (curves never run before) may start."""
        ...

    def on_epoch(self, job: Job, report: Report) -> bool:
        """Whether `job` goes on to its next epoch; it ends anyway after epoch `job.last` or
        a diverged epoch."""
        ...


@dataclass
class _Run:
    job: Job
    epoch: int  # the last epoch it ended
    spent: float = 0.0
    pending: Record | None = None  # the epoch under way


class _Clock:
    """The workers, the epochs under way (a heap by end time) and the trials started."""

    def __init__(self, policy: Policy, fetch: Fetch, workers: int, trials: int) -> None:
        if workers < 1 or trials < 0:
            raise ValueError(
                f"clock: workers >= 1 and trials >= 0 must hold, got "
                f"workers={workers}, trials={trials}"
            )
        self.policy, self.fetch, self.trials = policy, fetch, trials
        self.idle = list(range(workers))
        self.running: dict[int, _Run] = {}
        self.started: set[int] = set()  # every curve a job has run
        self.heap: list[tuple[float, int, int]] = []  # (end, order asked, worker)
        self.order = itertools.count()

    def fill(self, now: float) -> None:
        """Hand every idle worker a job, lowest worker first, until the policy has none."""
        while self.idle:
            job = self.policy.next_job(self.trials - len(self.started), now)
            if job is None:
                return
            if job.trial not in self.started and len(self.started) >= self.trials:
                raise RuntimeError(f"policy started trial {job.trial} beyond {self.trials}")
            self.started.add(job.trial)
            worker = self.idle.pop(0)
            self.running[worker] = _Run(job, job.first - 1)
            self.train(worker, now)

    def train(self, worker: int, now: float) -> None:
        run = self.running[worker]
        record = self.fetch(run.job.trial, run.job.config, run.epoch + 1)
        if record is None:
            raise RuntimeError(
                f"trial {run.job.trial}: no epoch {run.epoch + 1}; it diverged "
                "before, and a job cannot train past that"
            )
        run.pending = record
        heapq.heappush(self.heap, (now + float(record["seconds"]), next(self.order), worker))

    def end_epoch(self, worker: int, now: float) -> Ended:
        run = self.running[worker]
        record = run.pending
        assert record is not None  # every worker in the heap has its epoch under way
        run.epoch, run.spent = int(record["epoch"]), run.spent + float(record["seconds"])
        value = math.nan if record["diverged"] else float(record["val_cost"])
        goes_on = self.policy.on_epoch(run.job, Report(run.epoch, value, run.spent))
        if goes_on and run.epoch < run.job.last and not math.isnan(value):
            self.train(worker, now)
        else:
            del self.running[worker]
            self.idle = sorted([*self.idle, worker])
            self.fill(now)
        return [now, value, run.job.trial, run.epoch]


def run_on_clock(
    policy: Policy, fetch: Fetch, workers: int, trials: int, time_limit: float | None = None
) -> list[Ended]:
    """Run `policy` on `workers` simulated workers from time 0, starting at most `trials` new
    trials, each epoch from `fetch(trial, config, epoch)`; no epoch ending after
    `time_limit` (simulated seconds) is delivered. Returns the epochs in the order they
    ended: [time, val_cost (NaN if it diverged), trial, epoch]."""
    clock = _Clock(policy, fetch, workers, trials)
    clock.fill(0.0)
    ended: list[Ended] = []
    while clock.heap:
        now, _, worker = heapq.heappop(clock.heap)
        if time_limit is not None and now > time_limit:
            break  # every epoch still in the heap ends later still
        ended.append(clock.end_epoch(worker, now))
    return ended

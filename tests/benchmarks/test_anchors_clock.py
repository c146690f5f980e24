"""The anchors' simulated clock (benchmarks/anchors/clock.py), on hand-worked timelines: a
resumed trial pays only for its new epochs, a configuration trained again from scratch pays
for every epoch again, nothing ends after the time limit, no trial starts beyond the cap."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from benchmarks.anchors.clock import Job, Record, Report, run_on_clock

CONFIG = {"learning_rate": 0.1}


def seconds_by(table: dict[int, list[float]], diverged: tuple[int, int] | None = None) -> Any:
    """An epoch source: trial t's epoch e costs table[t][e - 1] seconds, val_cost 1/e; the
    epoch `diverged` (trial, epoch) diverges, and none follows it. Records what was asked."""
    asked: list[tuple[int, int]] = []

    def fetch(trial: int, config: Mapping[str, Any], epoch: int) -> Record | None:
        asked.append((trial, epoch))
        if diverged and trial == diverged[0] and epoch > diverged[1]:
            return None
        bad = (trial, epoch) == diverged
        cost = math.nan if bad else 1 / epoch
        return {
            "epoch": epoch,
            "val_cost": cost,
            "seconds": table[trial][epoch - 1],
            "diverged": bad,
        }

    fetch.asked = asked  # type: ignore[attr-defined]
    return fetch


class Scripted:
    """Hands out `jobs` in order (None once they are gone, or for a new trial with no room);
    a job stops after the epoch in `stop_after` (job index -> epoch). Records the room it
    was offered and every report."""

    def __init__(self, jobs: list[Job], stop_after: dict[int, int] | None = None) -> None:
        self.jobs, self.stop_after = list(jobs), stop_after or {}
        self.given: list[Job] = []
        self.rooms: list[int] = []
        self.reports: list[tuple[int, Report]] = []

    def next_job(self, room: int, now: float) -> Job | None:
        self.rooms.append(room)
        if not self.jobs or (room <= 0 and self.jobs[0].trial not in self.trials()):
            return None
        self.given.append(self.jobs.pop(0))
        return self.given[-1]

    def trials(self) -> set[int]:
        return {job.trial for job in self.given}

    def on_epoch(self, job: Job, report: Report) -> bool:
        index = next(i for i, j in enumerate(self.given) if j is job)
        self.reports.append((index, report))
        return report.epoch != self.stop_after.get(index)


def times(ended: list[list[Any]]) -> list[tuple[float, int, int]]:
    return [(t, trial, epoch) for t, _, trial, epoch in ended]


def test_a_resumed_trial_pays_only_for_its_new_epochs():
    # trial 1: epoch e costs e seconds; paused after epoch 2 (t = 1 + 2 = 3), trial 2's one
    # epoch runs (3 + 10 = 13), then trial 1 resumes at epoch 3: 13 + 3 = 16, 16 + 4 = 20.
    fetch = seconds_by({1: [1, 2, 3, 4], 2: [10]})
    jobs = [Job(1, CONFIG, 1, 4), Job(2, CONFIG, 1, 1), Job(1, CONFIG, 3, 4)]
    ended = run_on_clock(Scripted(jobs, stop_after={0: 2}), fetch, workers=1, trials=2)
    assert times(ended) == [(1, 1, 1), (3, 1, 2), (13, 2, 1), (16, 1, 3), (20, 1, 4)]
    assert (1, 1) not in fetch.asked[3:]  # the resumed job asked for epochs 3 and 4 only


def test_a_configuration_trained_again_from_scratch_pays_for_every_epoch_again():
    # DEHB: trial 1 at fidelity 1 (t = 1), then at fidelity 3 from epoch 1: 1+1, 2+2, 4+3
    fetch = seconds_by({1: [1, 2, 3]})
    policy = Scripted([Job(1, CONFIG, 1, 1), Job(1, CONFIG, 1, 3)])
    ended = run_on_clock(policy, fetch, workers=1, trials=1)
    assert times(ended) == [(1, 1, 1), (2, 1, 1), (4, 1, 2), (7, 1, 3)]
    assert [(i, r.epoch, r.spent) for i, r in policy.reports] == [
        (0, 1, 1.0),
        (1, 1, 1.0),
        (1, 2, 3.0),
        (1, 3, 6.0),  # what DEHB is told the fidelity-3 job cost
    ]


def test_nothing_ends_after_the_time_limit():
    # two workers: trial 1 ends epochs at 1, 2, 3, 4; trial 2 at 1.25, 2.5, 3.75
    fetch = seconds_by({1: [1, 1, 1, 1], 2: [1.25, 1.25, 1.25]})
    jobs = [Job(1, CONFIG, 1, 4), Job(2, CONFIG, 1, 3)]
    ended = run_on_clock(Scripted(jobs), fetch, workers=2, trials=2, time_limit=3.0)
    assert times(ended) == [(1, 1, 1), (1.25, 2, 1), (2, 1, 2), (2.5, 2, 2), (3, 1, 3)]
    unlimited = run_on_clock(Scripted(jobs), fetch, workers=2, trials=2)
    assert [t for t, _, _, _ in unlimited][-2:] == [3.75, 4]


def test_no_trial_starts_beyond_the_cap_and_the_policy_hears_the_room_left():
    # 2 workers, 1-second jobs: trials 1 and 2 at 0, trial 3 at 1; then no room
    fetch = seconds_by({k: [1] for k in range(1, 6)})
    policy = Scripted([Job(k, CONFIG, 1, 1) for k in range(1, 6)])
    ended = run_on_clock(policy, fetch, workers=2, trials=3)
    assert times(ended) == [(1, 1, 1), (1, 2, 1), (2, 3, 1)]
    assert policy.rooms == [3, 2, 1, 0, 0]


def test_a_policy_that_starts_a_trial_beyond_the_cap_is_a_bug():
    class Greedy(Scripted):
        def next_job(self, room: int, now: float) -> Job | None:
            return super().next_job(1, now)  # ignores the room it was given

    fetch = seconds_by({1: [1], 2: [1]})
    with pytest.raises(RuntimeError, match="started trial 2 beyond 1"):
        run_on_clock(Greedy([Job(1, CONFIG, 1, 1), Job(2, CONFIG, 1, 1)]), fetch, 2, 1)


def test_a_diverged_epoch_ends_its_job_whatever_the_policy_says():
    fetch = seconds_by({1: [1, 1, 1]}, diverged=(1, 2))
    ended = run_on_clock(Scripted([Job(1, CONFIG, 1, 3)]), fetch, workers=1, trials=1)
    assert times(ended) == [(1, 1, 1), (2, 1, 2)]
    assert math.isnan(ended[1][1])
    assert fetch.asked == [(1, 1), (1, 2)]  # epoch 3 was never asked for


def test_a_job_must_train_at_least_one_epoch():
    with pytest.raises(ValueError, match="1 <= first <= last must hold, got first=4, last=3"):
        Job(1, CONFIG, 4, 3)

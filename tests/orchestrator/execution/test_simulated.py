"""The simulated executor: epochs on virtual workers whose clock jumps from one epoch's end
to the next, the executor protocol kept (what a release drops, what it lets finish), and
the real tuning loop driven through it. Every time below is worked out by hand from the
seconds per epoch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from caviar_common.seeds import trial_seed
from caviar_common.states import TrialState
from orchestrator.core.executor import EpochDone, TrialTask
from orchestrator.execution.simulated import (
    PLACEHOLDER_CHECKPOINT,
    CurveSource,
    RecordedCurves,
    Relay,
    SimulatedClock,
    SimulatedExecutor,
    curve_record,
    run_simulated,
    simulation_spec,
)
from orchestrator.schedulers import Asha, Fifo


class Steady:
    """Every epoch of trial k (its number) costs SECONDS[k] and reports 1 / epoch."""

    SECONDS = {1: 1.0, 2: 0.5, 3: 2.0}

    def record(self, task: TrialTask, epoch: int) -> dict[str, object] | None:
        return curve_record(epoch, 1.0 / epoch, self.SECONDS[task.seed[-1]])


def task(number: int) -> TrialTask:
    return TrialTask(f"trial-{number:04d}", {}, {}, trial_seed(0, number))


def delivered(executor: SimulatedExecutor, count: int) -> list[tuple[str, int, float]]:
    """`count` polls: (trial, epoch, clock) of each event."""
    out = []
    for _ in range(count):
        (event,) = executor.poll(0.0)
        assert isinstance(event, EpochDone)
        out.append((event.trial_id, int(event.record["epoch"]), executor.clock()))
    return out


def test_epochs_run_back_to_back_per_worker_and_arrive_in_the_order_they_end():
    executor = SimulatedExecutor(Steady(), slots=2)
    for number in (1, 2):
        executor.launch(task(number))
        for epoch in (1, 2):
            executor.request(f"trial-{number:04d}", epoch, checkpoint=False)
    # trial 1: 1 s per epoch -> ends at 1 and 2; trial 2: 0.5 s -> at 0.5 and 1
    # (trial 1's epoch 1 and trial 2's epoch 2 both end at 1: the one asked first comes first)
    assert delivered(executor, 4) == [
        ("trial-0002", 1, 0.5),
        ("trial-0001", 1, 1.0),
        ("trial-0002", 2, 1.0),
        ("trial-0001", 2, 2.0),
    ]


def test_a_released_trial_keeps_its_worker_until_its_epoch_under_way_ends():
    executor = SimulatedExecutor(Steady(), slots=2)
    executor.launch(task(1))  # 1 s per epoch, worker 0
    executor.launch(task(2))  # 0.5 s per epoch, worker 1
    for epoch in (1, 2):
        executor.request("trial-0001", epoch, checkpoint=False)
    for epoch in (1, 2, 3, 4):
        executor.request("trial-0002", epoch, checkpoint=False)
    (first,) = executor.poll(0.0)
    assert (first.trial_id, executor.clock()) == ("trial-0002", 0.5)
    # Trial 1's epoch 1 runs from 0 to 1: released now, it still holds worker 0 until 1;
    # its epoch 2 (1 to 2) never starts.
    executor.release("trial-0001")
    assert executor.free() == 1
    executor.launch(task(3))  # 2 s per epoch: on worker 0, from 1 to 3
    executor.request("trial-0003", 1, checkpoint=False)
    assert delivered(executor, 4) == [
        ("trial-0002", 2, 1.0),
        ("trial-0002", 3, 1.5),
        ("trial-0002", 4, 2.0),
        ("trial-0003", 1, 3.0),
    ]


def test_a_checkpoint_comes_back_only_where_the_loop_asked_for_one():
    executor = SimulatedExecutor(Steady(), slots=1)
    executor.launch(task(1))
    executor.request("trial-0001", 1, checkpoint=False)
    executor.request("trial-0001", 2, checkpoint=True)
    first, second = executor.poll(0.0), executor.poll(0.0)
    assert [e.checkpoint for e in (*first, *second)] == [None, PLACEHOLDER_CHECKPOINT]


def test_a_full_executor_refuses_a_launch_and_one_left_waiting_says_so():
    executor = SimulatedExecutor(Steady(), slots=1)
    executor.launch(task(1))
    assert executor.free() == 0
    with pytest.raises(RuntimeError, match="no free worker"):
        executor.launch(task(2))
    with pytest.raises(RuntimeError, match=r"deadlock: trials \['trial-0001'\]"):
        executor.poll(0.0)  # a trial holds the worker and nothing was asked of it
    with pytest.raises(ValueError, match="slots: must be an integer >= 1, got 0"):
        SimulatedExecutor(Steady(), slots=0)


def test_the_simulated_clock_never_goes_back():
    clock = SimulatedClock(5.0)
    clock.advance(7.5)
    assert clock() == 7.5
    with pytest.raises(ValueError, match="cannot go back from 7.5 to 7.0"):
        clock.advance(7.0)


def test_curve_source_serves_curve_k_minus_1_to_trial_k_and_nothing_past_a_divergence():
    values = np.array([[3.0, 2.0, 1.0], [4.0, np.nan, np.nan]])
    source = CurveSource(RecordedCurves.of(values, np.array([1.0, 2.0])), sign=-1.0)
    first = source.record(task(1), 3)
    assert first is not None
    assert (first["val_cost"], first["seconds"], first["diverged"]) == (-1.0, 1.0, False)
    blown = source.record(task(2), 2)
    assert blown is not None and blown["diverged"] and math.isnan(blown["val_cost"])
    assert source.record(task(2), 3) is None  # no worker trains past a diverged epoch
    with pytest.raises(ValueError, match="no epoch 1 of trial 2; they hold 2 trials x 3"):
        source.record(task(3), 1)


def test_a_relay_passes_on_what_the_loop_asks_of_a_scheduler():
    inner = Asha(9, 1, 3.0)
    relay = Relay(inner)
    assert relay.rung_epochs == inner.rung_epochs == frozenset({1, 3})
    assert [relay.may_stop(e) for e in (1, 2, 3)] == [True, False, True]
    relay.on_start("a")
    relay.on_result("a", 1, 0.5)
    assert relay.decisions == inner.decisions == 1


def test_the_real_loop_on_simulated_workers_reuses_a_freed_worker_at_once():
    # 3 trials of 2 epochs on 2 workers, 1, 0.5 and 2 s per epoch: trial 2 ends at 1 s and
    # trial 3 starts on its worker then, ending at 1 + 2 x 2 = 5 s; trial 1 ends at 2 s.
    spec = simulation_spec(trials=3, max_epochs=2, seed=0)
    run = run_simulated(spec, Steady(), workers=2, scheduler=Fifo())
    rows = {t.trial_id: t for t in run.trials}
    assert {t: (r.started, r.ended) for t, r in rows.items()} == {
        "trial-0001": (0.0, 2.0),
        "trial-0002": (0.0, 1.0),
        "trial-0003": (1.0, 5.0),
    }
    assert all(r.state is TrialState.COMPLETED and r.epochs == 2 for r in rows.values())
    # the store holds the points in the order they arrived, each at its end on the clock
    arrived = [(p.trial_id, p.epoch, t) for p, t in zip(run.points, run.times, strict=True)]
    assert arrived == [
        ("trial-0002", 1, 0.5),
        ("trial-0001", 1, 1.0),
        ("trial-0002", 2, 1.0),
        ("trial-0001", 2, 2.0),
        ("trial-0003", 1, 3.0),
        ("trial-0003", 2, 5.0),
    ]
    assert [p.value("val_cost") for p in run.points[:2]] == [1.0, 1.0]  # 1 / epoch 1

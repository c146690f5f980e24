"""The tuning loop without Ray: budgets, epochs queued ahead, checkpoints, lost workers,
failing and diverging trials, interrupt and resume, the time limit, coarse-to-fine stages
and the live status, each on a tiny digits sweep trained in this process.

The fakes here wrap the real `InProcessExecutor` and `TrialHost`, so every curve is real
training; only the faults and the clock are scripted.
"""

from __future__ import annotations

import copy
import math
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from caviar_common.keeping import NO_KEEP, KeepBar
from caviar_common.states import ENDED
from orchestrator.core.executor import Crashed, EpochDone, Event, Placement, TrialTask
from orchestrator.core.loop import Options, Sweep
from orchestrator.core.spec import SweepSpec
from orchestrator.core.status import Status
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import parse_sweep
from workers.host import StepResult, TrialHost

BASE: dict[str, Any] = {
    "name": "loop",
    "dataset": "digits",
    "seed": 0,
    "model": {"optimizer": "adam", "hidden_layers": 1, "batch_size": 128},
    "space": {
        "learning_rate": {"type": "log_uniform", "low": 1e-4, "high": 1e-1},
        "hidden_units": {"type": "int_uniform", "low": 8, "high": 32},
    },
    "scheduler": "fifo",
    "budget": {"trials": 4, "max_epochs": 4},
}
LOST = "worker local-1 died: node 10.0.0.7 lost"


def make_spec(**changes: Any) -> SweepSpec:
    raw = copy.deepcopy(BASE)
    raw.update(changes)
    return parse_sweep(raw, Path("."))


def run_sweep(
    spec: SweepSpec, run_dir: Path, executor: Any = None, **kwargs: Any
) -> tuple[Status, Store]:
    store = Store.create(run_dir, spec.source)
    status = Sweep(spec, store, executor or InProcessExecutor(2), **kwargs).run()
    return status, store


def curves(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Each trial's stored curve by epoch, without the wall-clock seconds."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for p in store.points():
        values = (p.values[c] for c in ("train_cost", "val_cost", "val_accuracy"))
        rate = p.values["decayed_learning_rate"]
        out.setdefault(p.trial_id, []).append((p.epoch, *values, rate, p.diverged))
    return {t: sorted(c) for t, c in out.items()}


def by_id(store: Store) -> dict[str, dict[str, Any]]:
    return {r.trial_id: r for r in store.trial_rows()}


def interrupt_after(reports: int) -> Callable[[Status], None]:
    """An on_status callback that presses Ctrl-C once, at its `reports`-th call."""
    calls = 0

    def on_status(status: Status) -> None:
        nonlocal calls
        calls += 1
        if calls == reports:
            raise KeyboardInterrupt

    return on_status


# -- fakes ----------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Workers:
    """An InProcessExecutor behind a queue this fake owns, so that a test can see the order in
    which epochs are asked for and come back, kill the worker under a trial, and move a fake
    clock on by `seconds_per_epoch` with every result."""

    def __init__(
        self,
        slots: int = 2,
        host: TrialHost | None = None,
        clock: FakeClock | None = None,
        seconds_per_epoch: float = 0.0,
    ) -> None:
        self.inner = InProcessExecutor(slots, host)
        self.clock = clock
        self.seconds_per_epoch = seconds_per_epoch
        self.queue: deque[tuple[str, int, bool, KeepBar]] = deque()
        self.requests: list[tuple[str, int, bool]] = []
        self.log: list[tuple[str, str, int]] = []  # ("request" | "result" | "lost", trial, epoch)
        self.losses: dict[tuple[str, int], int] = {}
        self.on_launch: Callable[[TrialTask], None] | None = None

    def lose_worker(self, trial_id: str, epoch: int, times: int = 1) -> None:
        """The worker dies under `trial_id` as it finishes `epoch`, the next `times` times."""
        self.losses[(trial_id, epoch)] = times

    @property
    def slots(self) -> int:
        return self.inner.slots

    def free(self) -> int:
        return self.inner.free()

    def launch(self, task: TrialTask) -> Placement:
        if self.on_launch is not None:
            self.on_launch(task)
        return self.inner.launch(task)

    def request(self, trial_id: str, epoch: int, checkpoint: bool, keep: KeepBar = NO_KEEP) -> None:
        self.requests.append((trial_id, epoch, checkpoint))
        self.log.append(("request", trial_id, epoch))
        self.queue.append((trial_id, epoch, checkpoint, keep))

    def poll(self, timeout: float) -> list[Event]:
        while self.queue:
            trial_id, epoch, checkpoint, keep = self.queue.popleft()
            self.inner.request(trial_id, epoch, checkpoint, keep)
            events = self.inner.poll(timeout)
            if not events:
                continue  # the trial ended while this epoch waited
            event = events[0]
            if self.clock is not None:
                self.clock.now += self.seconds_per_epoch
            if isinstance(event, EpochDone):
                epoch = int(event.record["epoch"])
                if self.losses.get((trial_id, epoch), 0) > 0:
                    self.losses[(trial_id, epoch)] -= 1
                    self.log.append(("lost", trial_id, epoch))
                    return [self._kill(trial_id)]
            self.log.append(("result", trial_id, epoch))
            return [event]
        return []

    def _kill(self, trial_id: str) -> Crashed:
        # a dead worker takes the trial's trainer and its queued epochs with it
        self.inner.host.end(trial_id)
        self.queue = deque(r for r in self.queue if r[0] != trial_id)
        return Crashed(trial_id, LOST, lost_worker=True)

    def release(self, trial_id: str) -> None:
        self.queue = deque(r for r in self.queue if r[0] != trial_id)
        self.inner.release(trial_id)

    def shutdown(self) -> None:
        self.inner.shutdown()


class RaisingHost(TrialHost):
    """A host on which one trial's own code raises: in setup (epoch 0) or in an epoch."""

    def __init__(self, trial_id: str, epoch: int) -> None:
        super().__init__()
        self.bad, self.at = trial_id, epoch
        self.steps: Counter[str] = Counter()

    def begin(self, trial_id: str, *args: Any, **kwargs: Any) -> int:
        if trial_id == self.bad and self.at == 0:
            raise ValueError("hidden_units must divide the input width")
        return super().begin(trial_id, *args, **kwargs)

    def step(self, trial_id: str, checkpoint: bool = False, keep: KeepBar = NO_KEEP) -> StepResult:
        self.steps[trial_id] += 1
        if trial_id == self.bad and self.steps[trial_id] == self.at:
            raise ValueError("shapes (128,16) and (17,10) not aligned")
        return super().step(trial_id, checkpoint, keep)


class MisreportingHost(TrialHost):
    """A host on which one trial reports `val_cost` at `epoch`, without calling it diverged."""

    def __init__(self, trial_id: str, epoch: int, val_cost: float) -> None:
        super().__init__()
        self.bad, self.at, self.val_cost = trial_id, epoch, val_cost

    def step(self, trial_id: str, checkpoint: bool = False, keep: KeepBar = NO_KEEP) -> StepResult:
        result = super().step(trial_id, checkpoint, keep)
        if trial_id == self.bad and result.record["epoch"] == self.at:
            record = {**result.record, "val_cost": self.val_cost}
            return StepResult(trial_id, record, result.checkpoint)
        return result


# -- budget -----------------------------------------------------------------------------------

SCHEDULERS: dict[str, Any] = {
    "fifo": "fifo",
    "asha": {"name": "asha", "grace_period": 1, "reduction_factor": 2},
    "hyperband": {"name": "hyperband", "grace_period": 1, "reduction_factor": 2},
    "median": {"name": "median", "grace_period": 1, "min_trials": 1},
}


@pytest.mark.parametrize("scheduler", list(SCHEDULERS))
def test_a_sweep_runs_its_budget_of_trials_and_stores_each_epoch_once(tmp_path, scheduler):
    spec = make_spec(scheduler=SCHEDULERS[scheduler], budget={"trials": 5, "max_epochs": 4})
    status, store = run_sweep(spec, tmp_path)

    rows = store.trial_rows()
    assert [r.number for r in rows] == [1, 2, 3, 4, 5]
    assert all(r.state in ("completed", "pruned", "diverged") for r in rows)
    assert all(r.starts == 1 and r.restarts == 0 for r in rows)
    points = [(p.trial_id, p.epoch) for p in store.points()]
    assert len(points) == len(set(points))
    stored = curves(store)
    for r in rows:
        epochs = [c[0] for c in stored[r.trial_id]]
        assert epochs == list(range(1, r.epochs + 1))
        if r.state == "completed":
            assert r.epochs == 4
    if scheduler == "fifo":
        assert {r.state for r in rows} == {"completed"}
    assert store.get("state") == "finished"
    assert status.ended_count == 5 and not status.running


# -- epochs queued ahead ------------------------------------------------------------------


def test_fifo_asks_for_every_epoch_before_the_first_result_is_in(tmp_path):
    # FIFO stops nothing: the worker gets all four epochs at once, not one per round trip
    workers = Workers(2)
    run_sweep(make_spec(budget={"trials": 3, "max_epochs": 4}), tmp_path, workers)

    log = workers.log
    for trial in ("trial-0001", "trial-0002", "trial-0003"):
        assert log.index(("request", trial, 4)) < log.index(("result", trial, 1))
    assert sum(kind == "request" for kind, _, _ in log) == 3 * 4  # each epoch asked once


def test_asha_asks_for_no_epoch_past_a_rung_before_the_rung_result_is_in(tmp_path):
    # grace 1, eta 3, 6 epochs: rungs at epochs 1 and 3
    asha = {"name": "asha", "grace_period": 1, "reduction_factor": 3}
    workers = Workers(2)
    spec = make_spec(scheduler=asha, budget={"trials": 6, "max_epochs": 6})
    _, store = run_sweep(spec, tmp_path, workers)

    log = workers.log
    requested = {(t, e) for kind, t, e in log if kind == "request"}
    for trial, row in by_id(store).items():
        for rung in (1, 3):
            if (trial, rung + 1) in requested:
                assert log.index(("result", trial, rung)) < log.index(("request", trial, rung + 1))
        if (trial, 2) in requested:  # epoch 2 decides nothing: 3 is queued behind it at once
            assert log.index(("request", trial, 3)) < log.index(("result", trial, 2))
        assert row.state == "pruned" or row.epochs == 6
    assert any(r.state == "pruned" for r in by_id(store).values())
    assert any(r.state == "completed" for r in by_id(store).values())


# -- checkpoints --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheduler", "expected"),
    [
        ("fifo", {3}),  # every 3 epochs; epoch 6 is the last: see below
        # rungs at 1, 2 and 4 (grace 1, eta 2, below 6 epochs), plus every 3
        ({"name": "asha", "grace_period": 1, "reduction_factor": 2}, {1, 2, 3, 4}),
    ],
    ids=["fifo", "asha"],
)
def test_checkpoints_are_asked_for_every_n_epochs_at_rungs_and_at_the_end(
    tmp_path, monkeypatch, scheduler, expected
):
    latest: dict[str, int] = {}  # trial -> epoch of the last checkpoint it saved
    save = Store.save_checkpoint

    def saving(self: Store, trial_id: str, epoch: int, data: bytes) -> None:
        latest[trial_id] = epoch
        save(self, trial_id, epoch, data)

    monkeypatch.setattr(Store, "save_checkpoint", saving)
    workers = Workers(2)
    spec = make_spec(scheduler=scheduler, budget={"trials": 4, "max_epochs": 6})
    _, store = run_sweep(spec, tmp_path, workers, options=Options(checkpoint_every=3))

    for _, epoch, checkpoint in workers.requests:
        assert checkpoint == (epoch in expected)
    kept = {m.trial_id for m in store.models()}
    assert len(kept) == 3
    for trial, row in by_id(store).items():
        # ... and at the last epoch from each kept trial (keep: 3 by default), and from a
        # trial that ranked among the kept when it ended, until a better one came
        before = max(e for e in expected if e <= row.epochs)
        if row.epochs == 6 and trial in kept:
            assert latest[trial] == 6
        else:
            assert latest[trial] in ({before, 6} if row.epochs == 6 else {before})
        if trial in kept and row.state == "completed":  # may go on with more epochs
            assert store.checkpoint(trial) is not None and store.checkpoint(trial)[0] == 6
        else:  # ended for good: nothing will restore it
            assert store.checkpoint(trial) is None


def test_a_sweep_that_keeps_no_model_keeps_no_checkpoint_at_the_end(tmp_path):
    workers = Workers(2)
    spec = make_spec(budget={"trials": 4, "max_epochs": 6}, keep=0)
    _, store = run_sweep(spec, tmp_path, workers, options=Options(checkpoint_every=3))
    assert {e for _, e, c in workers.requests if c} == {3}
    assert store.models() == []
    assert all(store.checkpoint(t) is None for t in by_id(store))


# -- lost workers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lost_at", "resumes_at"),
    [(1, 1), (4, 3), (5, 5)],  # checkpoints after epochs 2 and 4
)
def test_a_lost_worker_restarts_its_trial_from_the_last_checkpoint(tmp_path, lost_at, resumes_at):
    spec = make_spec(budget={"trials": 3, "max_epochs": 5})
    options = Options(checkpoint_every=2)
    _, clean = run_sweep(spec, tmp_path / "clean", options=options)

    workers = Workers(2)
    workers.lose_worker("trial-0002", lost_at)
    status, store = run_sweep(spec, tmp_path / "faulty", workers, options=options)

    rows = by_id(store)
    assert {t: r.state for t, r in rows.items()} == dict.fromkeys(rows, "completed")
    assert {t: (r.starts, r.restarts) for t, r in rows.items()} == {
        "trial-0001": (1, 0),
        "trial-0002": (2, 1),  # started again once, after losing its worker once
        "trial-0003": (1, 0),
    }
    assert status.restarts == 1
    lost = workers.log.index(("lost", "trial-0002", lost_at))
    asked_again = [e for kind, t, e in workers.log[lost:] if (kind, t) == ("request", "trial-0002")]
    assert asked_again[0] == resumes_at
    # nothing lost, nothing twice, and the very curve the trial trains without the fault
    assert [c[0] for c in curves(store)["trial-0002"]] == [1, 2, 3, 4, 5]
    assert curves(store) == curves(clean)


def test_a_trial_that_loses_its_worker_more_than_max_restarts_times_fails(tmp_path):
    spec = make_spec(budget={"trials": 3, "max_epochs": 3})
    workers = Workers(2)
    workers.lose_worker("trial-0001", 2, times=3)
    status, store = run_sweep(spec, tmp_path, workers, options=Options(max_restarts=2))

    rows = by_id(store)
    assert rows["trial-0001"].state == "failed"
    assert rows["trial-0001"].starts == 3  # the first run and two restarts
    assert rows["trial-0001"].restarts == 2
    assert rows["trial-0001"].error == LOST
    assert rows["trial-0002"].state == rows["trial-0003"].state == "completed"
    assert status.restarts == 2 and status.counts["failed"] == 1


# -- trials that fail or diverge ------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "says"),
    [(0, "ValueError: hidden_units must divide"), (2, "ValueError: shapes (128,16)")],
)
def test_a_trial_whose_code_raises_fails_with_its_traceback(tmp_path, at, says):
    host = RaisingHost("trial-0002", at)
    spec = make_spec(budget={"trials": 4, "max_epochs": 3})
    status, store = run_sweep(spec, tmp_path, InProcessExecutor(2, host))

    rows = by_id(store)
    bad = rows.pop("trial-0002")
    assert bad.state == "failed" and (bad.starts, bad.restarts) == (1, 0)
    assert bad.error.startswith("Traceback (most recent call last)")
    assert says in bad.error
    assert bad.epochs == max(0, at - 1)
    assert all(r.state == "completed" and r.epochs == 3 for r in rows.values())
    assert status.counts == Counter(failed=1, completed=3)


def test_a_trial_whose_cost_blows_up_is_diverged_and_never_the_best(tmp_path):
    spec = make_spec(
        seed=1,
        model={"optimizer": "gd", "hidden_layers": 1, "batch_size": 128},
        space={
            "learning_rate": [0.05, 1e6],
            "hidden_units": {"type": "int_uniform", "low": 8, "high": 32},
        },
        budget={"trials": 4, "max_epochs": 3},
    )
    status, store = run_sweep(spec, tmp_path)

    rows = store.trial_rows()
    assert {r.config["learning_rate"] for r in rows} == {0.05, 1e6}  # both were tried
    for r in rows:
        if r.config["learning_rate"] == 1e6:
            assert r.state == "diverged"
            assert r.best is None
            assert "learning_rate=1e+06" in r.error and r.epochs == 1
        else:
            assert r.state == "completed"
    healthy = {r.trial_id: r.best for r in rows if r.state == "completed"}
    assert status.best_trial == min(healthy, key=healthy.__getitem__)
    assert status.best_value == min(healthy.values())


@pytest.mark.parametrize("val_cost", [math.nan, math.inf, 1e31])
def test_a_non_finite_or_absurd_value_ends_a_trial_as_diverged(tmp_path, val_cost):
    # 1e31 is past the schedulers' divergence threshold: an overflow in all but name
    host = MisreportingHost("trial-0001", 1, val_cost)
    spec = make_spec(budget={"trials": 3, "max_epochs": 2})
    status, store = run_sweep(spec, tmp_path, InProcessExecutor(1, host))

    rows = by_id(store)
    assert rows["trial-0001"].state == "diverged"
    assert f"val_cost={val_cost}" in rows["trial-0001"].error
    assert rows["trial-0001"].best is None  # it never had a usable value
    assert status.best_trial != "trial-0001"
    assert rows["trial-0002"].state == rows["trial-0003"].state == "completed"


# -- interrupt and resume -------------------------------------------------------------------


@pytest.mark.parametrize("scheduler", ["fifo", "asha"])
def test_an_interrupted_sweep_keeps_its_points_and_resumes_to_the_end(tmp_path, scheduler):
    spec = make_spec(scheduler=SCHEDULERS[scheduler], budget={"trials": 5, "max_epochs": 4})
    options = Options(checkpoint_every=2)
    run_dir = tmp_path / "run"
    store = Store.create(run_dir, spec.source)
    first = Sweep(spec, store, InProcessExecutor(2), options=options, on_status=interrupt_after(7))
    with pytest.raises(KeyboardInterrupt):
        first.run()

    assert store.get("state") == "interrupted"
    before = curves(store)
    assert sum(len(c) for c in before.values()) == 6  # one epoch per report after the first
    assert any(r.state == "running" for r in store.trial_rows())

    again = Store.open(run_dir)
    status = Sweep(spec, again, InProcessExecutor(2), options=options).run()

    rows = again.trial_rows()
    assert len(rows) == 5 and all(r.state in ENDED for r in rows)
    assert again.get("state") == "finished"
    after = curves(again)
    for trial, curve in before.items():
        assert after[trial][: len(curve)] == curve
    points = [(p.trial_id, p.epoch) for p in again.points()]
    assert len(points) == len(set(points))
    assert +status.counts == Counter(r.state for r in rows)
    if scheduler == "fifo":
        _, twin = run_sweep(spec, tmp_path / "twin", options=options)
        assert after == curves(twin)


# after 3 reports the first stage is under way; after 10 the second (the first is 4 x 2 epochs)
@pytest.mark.parametrize("reports", [3, 10])
def test_a_two_stage_sweep_resumed_plans_what_it_would_have_planned(tmp_path, reports):
    spec = make_spec(
        stages=[{"trials": 4}, {"trials": 3, "zoom": {"top_k": 1, "shrink": 0.5}}],
        budget={"max_epochs": 2},
    )
    store = Store.create(tmp_path / "run", spec.source)
    with pytest.raises(KeyboardInterrupt):
        Sweep(spec, store, InProcessExecutor(2), on_status=interrupt_after(reports)).run()
    Sweep(spec, Store.open(tmp_path / "run"), InProcessExecutor(2)).run()
    _, twin = run_sweep(spec, tmp_path / "twin")

    def plan(s: Store) -> list[tuple[Any, ...]]:
        return [(r.number, r.stage, r.config, r.box) for r in s.trial_rows()]

    assert [p[:2] for p in plan(store)] == [(n, 0) for n in (1, 2, 3, 4)] + [(5, 1), (6, 1), (7, 1)]
    assert plan(store) == plan(twin)
    assert curves(store) == curves(twin)


# -- time limit ---------------------------------------------------------------------------------


def test_the_time_limit_stops_running_trials_and_starts_no_more(tmp_path):
    # 10 s per epoch on two workers: the 4th result comes in at 40 s, past the 35 s limit
    clock = FakeClock()
    workers = Workers(2, clock=clock, seconds_per_epoch=10.0)
    spec = make_spec(budget={"trials": 6, "max_epochs": 3, "time_limit": 35})
    status, store = run_sweep(spec, tmp_path, workers, clock=clock)

    rows = store.trial_rows()
    assert len(list(store.points())) == 4
    assert len(rows) < 6
    assert all(r.started < 35 for r in rows)
    stopped = [r for r in rows if r.state == "stopped"]
    assert stopped and all(r.ended == 40 for r in stopped)
    assert all("time_limit" in r.error for r in stopped)
    assert {r.state for r in rows} <= {"completed", "stopped"}
    assert store.get("state") == "finished" and not status.running


def test_the_time_limit_also_ends_a_trial_waiting_to_restart(tmp_path):
    # The fake's epochs come back in the order asked for: trial 1's three (t = 10, 20,
    # 30: it completes and trial 3 takes its worker), then trial 2's first, at t = 40,
    # past the limit, with its worker lost.
    clock = FakeClock()
    workers = Workers(2, clock=clock, seconds_per_epoch=10.0)
    workers.lose_worker("trial-0002", 1)
    spec = make_spec(budget={"trials": 6, "max_epochs": 3, "time_limit": 35})
    _, store = run_sweep(spec, tmp_path, workers, clock=clock)

    assert ("lost", "trial-0002", 1) in workers.log
    rows = by_id(store)
    assert store.get("state") == "finished"
    assert {t: r.state for t, r in rows.items()} == {
        "trial-0001": "completed",
        "trial-0002": "stopped",  # waiting to restart when the limit passed
        "trial-0003": "stopped",
    }
    assert rows["trial-0002"].ended == 40


# -- coarse to fine ---------------------------------------------------------------------------


def test_a_second_stage_starts_after_the_first_and_samples_inside_its_zoomed_box(tmp_path):
    spec = make_spec(
        stages=[{"trials": 4}, {"trials": 3, "zoom": {"top_k": 1, "shrink": 0.5}}],
        budget={"max_epochs": 2},
    )
    store = Store.create(tmp_path, spec.source)
    workers = Workers(2)
    seen: dict[str, dict[str, str]] = {}  # trial launched -> every trial's state just then
    workers.on_launch = lambda task: seen.setdefault(
        task.trial_id, {r.trial_id: r.state for r in store.trial_rows()}
    )
    Sweep(spec, store, workers).run()

    rows = store.trial_rows()
    assert [(r.number, r.stage) for r in rows] == [(1, 0), (2, 0), (3, 0), (4, 0)] + [
        (5, 1),
        (6, 1),
        (7, 1),
    ]
    first = [r for r in rows if r.stage == 0]
    for r in rows[4:]:
        assert all(seen[r.trial_id][f.trial_id] in ENDED for f in first)
    assert first[0].box["learning_rate"] == pytest.approx([1e-4, 1e-1])

    box = rows[4].box
    assert all(r.box == box for r in rows[4:])
    low, high = box["learning_rate"]
    # half of the 3 decades of the log-uniform range around the best stage-0 trial: 1.5 decades
    assert high / low == pytest.approx(10**1.5)
    best = min(first, key=lambda r: r.best)
    for r in [best, *rows[4:]]:
        for name, (lo, hi) in box.items():
            assert lo <= r.config[name] <= hi


# -- status ---------------------------------------------------------------------------------------


def test_the_status_counts_and_best_agree_with_the_store(tmp_path):
    host = RaisingHost("trial-0003", 1)
    spec = make_spec(
        scheduler={"name": "asha", "grace_period": 1, "reduction_factor": 2},
        budget={"trials": 6, "max_epochs": 4},
    )
    status, store = run_sweep(spec, tmp_path, InProcessExecutor(2, host))

    rows = store.trial_rows()
    assert +status.counts == Counter(r.state for r in rows)
    assert status.ended_count == 6 == status.total
    bests = {r.trial_id: r.best for r in rows if r.best is not None}
    assert status.best_value == min(bests.values())
    assert status.best_trial == min(bests, key=bests.__getitem__)
    assert status.best_config == by_id(store)[status.best_trial].config
    assert status.epochs == sum(r.epochs for r in rows)

"""Budgets by compute: `budget.epochs` (all trials together) and `time_limit` with trials
left open, stage shares, and a resume that goes on with what is left; on the real loop and
store with simulated workers, each epoch's value a made-up function of the configuration.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caviar_common.errors import InputError
from caviar_common.states import TrialState
from orchestrator.core.executor import TrialTask
from orchestrator.core.loop import ELAPSED, Sweep
from orchestrator.core.spec import SweepSpec
from orchestrator.core.status import Status
from orchestrator.execution.simulated.clocked_executor import SimulatedClock, SimulatedExecutor
from orchestrator.execution.simulated.curve_sources import curve_record
from orchestrator.storage.store import Store
from orchestrator.sweepfile.extend import extended
from orchestrator.sweepfile.parse import parse_sweep
from tests.orchestrator.core.test_loop import interrupt_after

BASE: dict[str, Any] = {
    "name": "compute",
    "dataset": "digits",
    "seed": 3,
    "model": {"optimizer": "adam"},
    "space": {"learning_rate": {"type": "log_uniform", "low": 1e-4, "high": 1.0}},
    "scheduler": "fifo",
}


def make_spec(**changes: Any) -> SweepSpec:
    raw = copy.deepcopy(BASE)
    raw.update(changes)
    return parse_sweep(raw, Path("."))


class Curves:
    """Epoch e of a trial: |log10(learning rate) + 2| + 1/e, taking `seconds` (by default
    1 s; a function of the trial number if given)."""

    def __init__(self, seconds: Callable[[int], float] = lambda n: 1.0) -> None:
        self.seconds = seconds

    def record(self, task: TrialTask, epoch: int) -> dict[str, Any]:
        value = abs(math.log10(task.config["learning_rate"]) + 2) + 1 / epoch
        return curve_record(epoch, value, self.seconds(task.seed[-1]))


def run(
    spec: SweepSpec,
    run_dir: Path,
    workers: int = 2,
    *,
    clock: SimulatedClock | None = None,
    on_status: Callable[[Status], None] | None = None,
    curves: Curves | None = None,
) -> Store:
    clock = clock or SimulatedClock()
    executor = SimulatedExecutor(curves or Curves(), workers, clock, spec.metric)
    store = Store.open(run_dir, clock=clock) if (run_dir / "sweep.db").exists() else None
    store = store or Store.create(run_dir, spec.source, clock=clock)
    with contextlib.suppress(KeyboardInterrupt):  # interrupt_after's: "interrupted"
        Sweep(spec, store, executor, clock=clock, on_status=on_status).run()
    return store


# -- an epoch budget ----------------------------------------------------------------------


def test_an_open_sweep_trains_exactly_its_epoch_budget_and_stops_the_trials_it_cuts(tmp_path):
    # FIFO asks for all 7 epochs of a trial at once; 50 = 7 x 7 + 1, so the eighth trial
    # is cut after one epoch (it can never be asked for more) and nothing starts after it
    spec = make_spec(budget={"epochs": 50, "max_epochs": 7})
    store = run(spec, tmp_path, workers=1)

    rows = store.trial_rows()
    assert len(list(store.points())) == 50
    assert [r.epochs for r in rows] == [7] * 7 + [1]
    assert [r.state for r in rows] == [TrialState.COMPLETED] * 7 + [TrialState.STOPPED]
    assert "budget.epochs of 50 spent" in (rows[-1].error or "")
    assert store.get("state") == "finished"


def test_an_epoch_budget_caps_a_sweep_whose_trials_are_counted(tmp_path):
    spec = make_spec(budget={"trials": 10, "epochs": 20, "max_epochs": 6})
    store = run(spec, tmp_path, workers=3)
    assert len(list(store.points())) == 20
    assert len(store.trial_rows()) < 10


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    budget=st.integers(1, 60),
    max_epochs=st.integers(1, 9),
    workers=st.integers(1, 4),
    scheduler=st.sampled_from(
        [
            "fifo",
            {"name": "asha", "grace_period": 1, "reduction_factor": 2},
            {"name": "asha", "grace_period": 1, "reduction_factor": 3, "mode": "promote"},
            {"name": "hyperband", "grace_period": 1, "reduction_factor": 3},
            "median",
        ]
    ),
    tpe=st.booleans(),
)
def test_an_open_epoch_budget_is_spent_exactly_whatever_the_scheduler(
    tmp_path_factory, budget, max_epochs, workers, scheduler, tpe
):
    budget = max(budget, max_epochs)
    sampler = {"name": "tpe", "warmup": 3} if tpe else "random"
    spec = make_spec(
        budget={"epochs": budget, "max_epochs": max_epochs}, scheduler=scheduler, sampler=sampler
    )
    seconds = Curves(lambda n: 1.0 + (n * 7919 % 13) / 13)  # trials of uneven pace
    store = run(spec, tmp_path_factory.mktemp("run"), workers, curves=seconds)

    points = list(store.points())
    assert len(points) == budget  # the sampler proposes until every epoch is spent
    rows = store.trial_rows()
    assert all(r.state not in (TrialState.RUNNING, TrialState.PENDING) for r in rows)
    cut = [r for r in rows if r.state == TrialState.STOPPED]
    assert all("budget.epochs" in (r.error or "") for r in cut)
    assert len(cut) <= workers  # only trials running when it ran out are cut


# -- stage shares -------------------------------------------------------------------------


def test_a_stage_with_a_share_starts_no_trial_once_its_share_is_spent(tmp_path):
    # one worker, 10 epochs a trial: the first stage asks for 10, 20, then 30 >= 25 epochs
    # of the 100, so it has 3 trials; the second stage takes the other 70 epochs
    spec = make_spec(
        budget={"epochs": 100, "max_epochs": 10},
        stages=[{"share": 0.25, "sampler": "sobol"}, {"sampler": "random"}],
    )
    store = run(spec, tmp_path, workers=1)

    rows = store.trial_rows()
    assert [r.stage for r in rows] == [0] * 3 + [1] * 7
    assert [r.number for r in rows] == list(range(1, 11))  # numbered on, no gap
    assert len(list(store.points())) == 100
    assert all(r.state == TrialState.COMPLETED for r in rows)


def test_the_shares_of_three_stages_add_up_and_a_tpe_stage_takes_the_rest(tmp_path):
    spec = make_spec(
        budget={"epochs": 120, "max_epochs": 10},
        stages=[{"share": 0.25, "sampler": "sobol"}, {"share": 0.25}, {"sampler": "tpe"}],
    )
    store = run(spec, tmp_path, workers=1)
    stages = Counter(r.stage for r in store.trial_rows())
    # 120 x 0.25 = 30 epochs: 3 trials; then up to 60: 3 more; the rest: 6
    assert stages == {0: 3, 1: 3, 2: 6}
    assert len(list(store.points())) == 120


def test_an_open_stage_proposes_the_same_trials_however_its_points_are_asked_for(tmp_path):
    # 70 trials: more than one chunk of an open stage's points; the first 70 of a stage
    # that gives 70 trials are the same configurations
    opened = run(make_spec(budget={"epochs": 70, "max_epochs": 1}), tmp_path / "open")
    closed = run(make_spec(budget={"trials": 70, "max_epochs": 1}), tmp_path / "closed")
    assert [r.config for r in opened.trial_rows()] == [r.config for r in closed.trial_rows()]


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([{"share": 0.5}, {"share": 0.25}], "add up to 0.75; with a share on every stage"),
        ([{"share": 0.75}, {"share": 0.5}, {}], "add up to 1.25; they must add up to at most"),
        ([{"sampler": "sobol"}, {"share": 0.5}], "stages[0]: needs trials or a share"),
        ([{"share": 0.5, "trials": 4}, {}], "stages[0].share: a stage gives trials or a share"),
    ],
)
def test_shares_that_do_not_add_up_are_refused_naming_the_rule(stages, message):
    with pytest.raises(ValueError) as caught:
        make_spec(budget={"epochs": 100, "max_epochs": 10}, stages=stages)
    assert message in str(caught.value)


def test_a_share_needs_a_budget_by_compute_with_trials_open():
    with pytest.raises(ValueError, match=r"stages\[0\].share: is a share of a budget by compute"):
        make_spec(budget={"trials": 8, "max_epochs": 10}, stages=[{"share": 1.0}])


def test_an_epoch_budget_below_one_trial_is_refused():
    with pytest.raises(ValueError, match=r"budget.epochs: must be at least budget.max_epochs"):
        make_spec(budget={"epochs": 5, "max_epochs": 10})


# -- a time budget and a resume -----------------------------------------------------------


def test_a_time_budget_stops_new_trials_and_a_resume_goes_on_with_the_time_left(tmp_path):
    spec = make_spec(budget={"time_limit": 100, "max_epochs": 4}, scheduler="fifo")
    first = run(spec, tmp_path, workers=2, on_status=interrupt_after(12))
    spent = first.get(ELAPSED)
    assert first.get("state") == "interrupted" and 0 < spent < 100
    before = {r.trial_id for r in first.trial_rows()}
    first.close()

    later = SimulatedClock(start=5000.0)  # the resume runs much later
    store = run(spec, tmp_path, workers=2, clock=later)
    rows = store.trial_rows()
    new = [r for r in rows if r.trial_id not in before]
    assert new, "the resume started new trials in the time left"
    left = 100 - spent
    assert all(r.started < 5000 + left for r in new)
    assert max(r.ended for r in rows if r.ended is not None) == pytest.approx(5000 + left, abs=1)
    assert any(r.state == TrialState.STOPPED and "time_limit" in (r.error or "") for r in rows)
    assert store.get(ELAPSED) == pytest.approx(100, abs=1)
    assert store.get("state") == "finished"


def test_a_resumed_epoch_budget_counts_the_epochs_stored_before(tmp_path):
    spec = make_spec(budget={"epochs": 40, "max_epochs": 5})
    first = run(spec, tmp_path, workers=2, on_status=interrupt_after(9))
    stored = len(list(first.points()))
    assert 0 < stored < 40
    first.close()
    store = run(spec, tmp_path, workers=2)
    assert len(list(store.points())) == 40


# -- growing a budget by compute ----------------------------------------------------------


def test_a_finished_open_sweep_grows_by_its_epoch_budget(tmp_path):
    spec = make_spec(budget={"epochs": 30, "max_epochs": 5})
    store = run(spec, tmp_path)
    assert len(list(store.points())) == 30 and store.get("state") == "finished"
    numbers = [r.number for r in store.trial_rows()]
    grown = parse_sweep(extended(store.get("source"), epochs=45), Path("."))
    store.close()

    store = run(grown, tmp_path)
    assert len(list(store.points())) == 45
    later = [r.number for r in store.trial_rows()][len(numbers) :]
    assert later == list(range(max(numbers) + 1, max(numbers) + 1 + len(later)))


@pytest.mark.parametrize(
    ("budget", "asked", "message"),
    [
        ({"epochs": 30}, {"trials": 5}, "--trials: adds a stage to a sweep whose trials are"),
        ({"epochs": 30}, {"epochs": 20}, "--epochs: must be an integer >= the sweep's budget"),
        ({"trials": 4}, {"epochs": 50}, "--epochs: grows the sweep's budget.epochs, and this"),
        ({"time_limit": 60}, {"time_limit": 30.0}, "--time-limit: must be a number >= the"),
    ],
)
def test_growing_a_budget_is_refused_where_it_would_shrink_or_change_its_meaning(
    budget, asked, message
):
    source = {**BASE, "budget": {**budget, "max_epochs": 5}}
    with pytest.raises(InputError) as caught:
        extended(source, **asked)
    assert message in str(caught.value)


def test_the_status_line_shows_the_budget_left():
    spec = make_spec(budget={"epochs": 50, "max_epochs": 5, "time_limit": 600})
    status = Status.start(spec, now=0.0)
    status.elapsed_before, status.epochs_before, status.now = 120.0, 12, 60.0
    status.epochs = 8
    assert "budget left: 30 of 50 epochs and 7m00s of 10m00s" in status.line()
    assert "0/" not in status.line().split("|")[0]  # trials are open: no total to count to

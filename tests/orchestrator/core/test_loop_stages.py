"""Stages in the loop: a TPE stage proposes each trial when a worker is free (after a Sobol
stage, or with its own warm-up), is reproducible and resumes from the store; a stage that
zooms has its own scheduler, so its trials are judged against each other, while a stage
without a zoom shares the scheduler of the stage before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from caviar_common.states import ENDED, TrialState
from orchestrator.core.loop import Sweep
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.search.proposed_by import MODEL, WARM_UP
from orchestrator.storage.store import Store
from tests.orchestrator.core.test_loop import curves, interrupt_after, make_spec, run_sweep

PROMOTE = {"name": "asha", "grace_period": 1, "reduction_factor": 3, "mode": "promote"}
# the tpe stage's warm-up is the sobol stage: 4 results before its first proposal
MIXED = [{"trials": 4, "sampler": "sobol"}, {"trials": 6, "sampler": {"name": "tpe", "warmup": 4}}]


def _plan(store: Store) -> list[tuple[Any, ...]]:
    return [(r.number, r.stage, r.proposed_by, r.config) for r in store.trial_rows()]


def test_a_tpe_stage_after_a_sobol_stage_proposes_from_its_results(tmp_path: Path):
    spec = make_spec(stages=MIXED, scheduler=PROMOTE, budget={"max_epochs": 9})
    _, store = run_sweep(spec, tmp_path / "run")
    rows = store.trial_rows()
    assert [(r.stage, r.proposed_by) for r in rows[:4]] == [(0, "sobol")] * 4
    # the tpe stage starts while sobol trials still run: at random until 4 have results
    by = [r.proposed_by for r in rows[4:]]
    assert set(by) <= {WARM_UP, MODEL} and by.count(MODEL) >= 4
    assert by == sorted(by, key=lambda b: b == MODEL)  # never warm-up after the model
    assert all(r.state in ENDED or r.state == TrialState.PAUSED for r in rows)
    points = [(p.trial_id, p.epoch) for p in store.points()]
    assert len(points) == len(set(points)) == sum(r.epochs for r in rows)


def test_a_tpe_stage_on_its_own_warms_up_at_random_first(tmp_path: Path):
    spec = make_spec(sampler={"name": "tpe", "warmup": 3}, budget={"trials": 8, "max_epochs": 3})
    _, store = run_sweep(spec, tmp_path / "run", InProcessExecutor(1))
    by = [r.proposed_by for r in store.trial_rows()]
    # one worker: trial n is proposed once trials 1..n-1 have ended
    assert by == [WARM_UP] * 3 + [MODEL] * 5


def test_the_same_seed_gives_the_same_tpe_sweep_and_another_seed_another(tmp_path: Path):
    spec = make_spec(stages=MIXED, scheduler=PROMOTE, budget={"max_epochs": 9})
    _, a = run_sweep(spec, tmp_path / "a")
    _, b = run_sweep(spec, tmp_path / "b")
    assert _plan(a) == _plan(b) and curves(a) == curves(b)
    _, c = run_sweep(make_spec(stages=MIXED, scheduler=PROMOTE, seed=1), tmp_path / "c")
    assert [p[3] for p in _plan(c)] != [p[3] for p in _plan(a)]


# cut the run during the sobol stage, and during the tpe stage
@pytest.mark.parametrize("reports", [4, 20])
def test_an_interrupted_tpe_sweep_resumes_from_the_store_as_if_never_stopped(
    tmp_path: Path, reports: int
):
    spec = make_spec(stages=MIXED, scheduler="fifo", budget={"max_epochs": 3})
    store = Store.create(tmp_path / "run", spec.source)
    with pytest.raises(KeyboardInterrupt):
        Sweep(spec, store, InProcessExecutor(1), on_status=interrupt_after(reports)).run()
    before = _plan(store)
    assert 0 < len(before) < 10
    store.close()
    again = Store.open(tmp_path / "run")
    Sweep(spec, again, InProcessExecutor(1)).run()
    _, twin = run_sweep(spec, tmp_path / "twin", InProcessExecutor(1))
    assert _plan(again)[: len(before)] == before
    assert _plan(again) == _plan(twin)  # one worker: the same order of results
    assert curves(again) == curves(twin)


def test_each_stage_has_its_own_rungs(tmp_path: Path):
    spec = make_spec(
        stages=[{"trials": 6}, {"trials": 4, "zoom": {"top_k": 2}}],
        scheduler={"name": "asha", "grace_period": 1, "reduction_factor": 3},
        budget={"max_epochs": 9},
    )
    store = Store.create(tmp_path / "run", spec.source)
    sweep = Sweep(spec, store, InProcessExecutor(2))
    sweep.run()
    stage_of = {r.trial_id: r.stage for r in store.trial_rows()}
    for stage, trials in ((0, 6), (1, 4)):  # every trial reaches the first rung, at epoch 1
        (bracket,) = sweep._scheduler(stage).brackets
        assert len(bracket.rungs[1]) == trials
    # the first trial of stage 2 to reach the first rung meets no record there: it goes on
    first = min((t for t, s in stage_of.items() if s == 1), key=lambda t: _first_seq(store, t))
    assert next(r for r in store.trial_rows() if r.trial_id == first).epochs > 1


def _first_seq(store: Store, trial_id: str) -> int:
    return min(p.seq for p in store.points() if p.trial_id == trial_id and p.epoch == 1)


def test_paused_trials_of_a_stage_before_a_zoom_lose_their_checkpoints(tmp_path: Path):
    stages = [{"trials": 6}, {"trials": 4, "zoom": {"top_k": 2}}]
    spec = make_spec(stages=stages, scheduler=PROMOTE, budget={"max_epochs": 9})
    store = Store.create(tmp_path / "run", spec.source)
    seen: list[set[str]] = []

    def on_status(status: Any) -> None:
        rows = store.trial_rows()
        if any(r.stage == 1 for r in rows):  # the second stage is under way
            kept = {row[0] for row in store.conn.execute("SELECT trial_id FROM checkpoints")}
            first = {r.trial_id for r in rows if r.stage == 0}
            seen.append(kept & first)

    Sweep(spec, store, InProcessExecutor(2), on_status=on_status).run()
    paused_first = [r for r in store.trial_rows() if r.stage == 0 and r.state == TrialState.PAUSED]
    assert paused_first and seen and all(not kept for kept in seen)


def test_a_stage_without_a_zoom_shares_the_scheduler_of_the_stage_before(tmp_path: Path):
    spec = make_spec(stages=MIXED, scheduler=PROMOTE, budget={"max_epochs": 9})
    store = Store.create(tmp_path / "run", spec.source)
    sweep = Sweep(spec, store, InProcessExecutor(2))
    sweep.run()
    assert sweep._scheduler(1) is sweep._scheduler(0)
    # one set of rungs: all 10 trials, sobol and tpe, met the first rung there
    (bracket,) = sweep._scheduler(0).brackets
    assert len(bracket.rungs[1]) == 10

"""The loop with a promoting scheduler: trials pause at rungs with their checkpoints, resume
from them when promoted, and a resumed sweep restores rungs and paused trials from the
store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from caviar_common.states import ENDED, SweepState, TrialState
from orchestrator.core.loop import Options, Sweep
from orchestrator.core.status import NoteKind
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.schedulers import Asha
from orchestrator.storage.store import Store
from tests.orchestrator.core.test_loop import curves, interrupt_after, make_spec, run_sweep
from tests.orchestrator.kept import best_trials, promotable_paused

PROMOTE = {"name": "asha", "grace_period": 1, "reduction_factor": 3, "mode": "promote"}
BUDGET = {"trials": 9, "max_epochs": 9}  # rungs at epochs 1 and 3


def _state(scheduler: Any) -> list[tuple[int, list[Any], list[Any]]]:
    """Every rung's results and paused trials, bracket by bracket."""
    assert isinstance(scheduler, Asha) and scheduler.mode == "promote"
    return [
        (epoch, list(bracket.rungs[epoch]), list(bracket.paused[epoch]))
        for bracket in scheduler.brackets
        for epoch in bracket.epochs
    ]


def _checkpointed(store: Store) -> set[str]:
    return {row[0] for row in store.conn.execute("SELECT trial_id FROM checkpoints")}


def test_a_promoting_sweep_pauses_and_promotes_and_stores_every_point_once(tmp_path: Path):
    spec = make_spec(scheduler=PROMOTE, budget=BUDGET)
    status, store = run_sweep(spec, tmp_path / "run", InProcessExecutor(2))

    rows = {r.trial_id: r for r in store.trial_rows()}
    assert len(rows) == 9
    states = {r.state for r in rows.values()}
    assert states <= {TrialState.COMPLETED, TrialState.PAUSED, TrialState.DIVERGED}
    assert TrialState.COMPLETED in states and TrialState.PAUSED in states
    for row in rows.values():  # a paused trial waits at a rung: epoch 1 or 3
        if row.state == TrialState.PAUSED:
            assert row.epochs in (1, 3)
    points = [(p.trial_id, p.epoch) for p in store.points()]
    assert len(points) == len(set(points)) == sum(r.epochs for r in rows.values())
    for trial, curve in curves(store).items():  # every curve runs 1..n without a gap
        assert [p[0] for p in curve] == list(range(1, rows[trial].epochs + 1))
    # the sweep is over: only the paused trials next in line keep theirs, and kept
    # trials that completed
    kept = {t for t, _ in best_trials(store, "val_cost", spec.keep)}
    completed = {t for t in kept if rows[t].state == TrialState.COMPLETED}
    assert _checkpointed(store) == promotable_paused(store, "val_cost", 3) | completed
    assert store.get("state") == SweepState.FINISHED

    promoted = {n.trial_id for n in status.log if n.kind is NoteKind.PROMOTED}
    paused_first = {n.trial_id for n in status.log if n.kind is NoteKind.PAUSED}
    assert promoted and promoted <= paused_first  # some waited at a rung, then went on
    assert status.counts[TrialState.PAUSED] == sum(
        r.state == TrialState.PAUSED for r in rows.values()
    )
    # a promoted trial resumed from its rung's checkpoint trains as if it never stopped
    _, twin = run_sweep(make_spec(budget=BUDGET), tmp_path / "fifo", InProcessExecutor(2))
    theirs, ours = curves(twin), curves(store)
    for trial in promoted:
        assert ours[trial] == theirs[trial][: len(ours[trial])]


# a full run reports 22 times: cut it early, mid-way and near the end
@pytest.mark.parametrize("reports", [5, 11, 18])
def test_a_resumed_promoting_sweep_restores_its_rungs_and_paused_trials(
    tmp_path: Path, reports: int
):
    spec = make_spec(scheduler=PROMOTE, budget=BUDGET)
    options = Options(checkpoint_every=2)
    run_dir = tmp_path / "run"
    store = Store.create(run_dir, spec.source)
    first = Sweep(
        spec, store, InProcessExecutor(2), options=options, on_status=interrupt_after(reports)
    )
    with pytest.raises(KeyboardInterrupt):
        first.run()
    assert store.get("state") == SweepState.INTERRUPTED
    assert any(results for _, results, _ in _state(first.scheduler))  # something to restore
    rows = {r.trial_id: r for r in store.trial_rows()}
    paused = {t for t, r in rows.items() if r.state == TrialState.PAUSED}
    assert paused <= _checkpointed(store)  # a promotion needs them
    store.close()

    again = Store.open(run_dir)
    resumed = Sweep(spec, again, InProcessExecutor(2), options=options)
    resumed._replay()
    assert _state(resumed.scheduler) == _state(first.scheduler)
    assert set(resumed.paused) == paused

    resumed = Sweep(spec, again, InProcessExecutor(2), options=options)
    resumed.run()
    rows = {r.trial_id: r for r in again.trial_rows()}
    assert len(rows) == 9
    assert all(r.state in ENDED or r.state == TrialState.PAUSED for r in rows.values())
    points = [(p.trial_id, p.epoch) for p in again.points()]
    assert len(points) == len(set(points)) == sum(r.epochs for r in rows.values())
    kept = {t for t, _ in best_trials(again, "val_cost", spec.keep)}
    completed = {t for t in kept if rows[t].state == TrialState.COMPLETED}
    assert _checkpointed(again) == promotable_paused(again, "val_cost", 3) | completed

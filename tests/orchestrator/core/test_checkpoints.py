"""A sweep keeps a trial's checkpoint exactly while something may restore it: a trial that
ended loses it (unless it completed and its model is kept: a larger budget lets it go on),
a trial cut off by Ctrl-C keeps it for `caviar resume`, a trial paused at a rung keeps it
for a promotion until the sweep ends, and after it only if a larger budget would promote
it first."""

from __future__ import annotations

from pathlib import Path

import pytest

from caviar_common.states import ENDED, LIVE, SweepState, TrialState
from orchestrator.core.loop import Options, Sweep
from orchestrator.core.status import Status
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.execution.runner import builtin_sweep
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import load_sweep


def _checkpointed(store: Store) -> dict[str, int]:
    """trial -> epoch of the checkpoint the store holds for it."""
    return dict(store.conn.execute("SELECT trial_id, epoch FROM checkpoints").fetchall())


def _ended_kept(store: Store) -> dict[str, int]:
    """Completed trials whose model is kept -> their last epoch: their checkpoints stay."""
    kept = {m.trial_id for m in store.models()}
    return {
        r.trial_id: r.epochs
        for r in store.trial_rows()
        if r.state == TrialState.COMPLETED and r.trial_id in kept
    }


def test_the_digits_sweep_keeps_checkpoints_only_for_trials_a_resume_restarts(tmp_path: Path):
    spec = load_sweep(builtin_sweep())  # the course's digits sweep: 32 trials, promoting
    assert spec.total_trials == 32
    run_dir = tmp_path / "digits"
    store = Store.create(run_dir, spec.source)
    options = Options(checkpoint_every=2)

    def interrupt(status: Status) -> None:
        # once some trials ended, one waits at a rung, and one is mid-way past a checkpoint
        rows = store.trial_rows()
        if (
            any(r.state in ENDED for r in rows)
            and any(r.state == TrialState.PAUSED for r in rows)
            and any(r.state in LIVE and r.epochs >= 2 for r in rows)
        ):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Sweep(spec, store, InProcessExecutor(2), options=options, on_status=interrupt).run()
    rows = {r.trial_id: r for r in store.trial_rows()}
    assert store.get("state") == SweepState.INTERRUPTED
    kept = _checkpointed(store)
    ended = {t for t, r in rows.items() if r.state in ENDED}
    live = {t for t, r in rows.items() if r.state in LIVE and r.epochs >= 2}
    paused = {t for t, r in rows.items() if r.state == TrialState.PAUSED}
    assert paused and live  # the cut fell where both kinds exist
    assert not (ended - _ended_kept(store).keys()) & kept.keys()
    assert {t: kept[t] for t in ended & kept.keys()} == _ended_kept(store)
    assert live <= kept.keys()  # what resume restarts from
    assert paused <= kept.keys()  # what a promotion goes on from
    store.close()

    again = Store.open(run_dir)
    Sweep(spec, again, InProcessExecutor(2), options=options).run()
    rows = {r.trial_id: r for r in again.trial_rows()}
    assert len(rows) == 32
    assert all(r.state in ENDED or r.state == TrialState.PAUSED for r in rows.values())
    assert again.get("state") == SweepState.FINISHED
    left = _checkpointed(again)
    completed_kept = _ended_kept(again)
    assert {t: left[t] for t in left.keys() & completed_kept.keys()} == completed_kept
    paused_left = left.keys() - completed_kept.keys()
    assert paused_left  # a larger budget would promote some paused trial first
    assert all(rows[t].state == TrialState.PAUSED for t in paused_left)
    assert {left[t] for t in paused_left} <= {rows[t].epochs for t in paused_left}
    assert len(again.models()) == spec.keep
    points = [(p.trial_id, p.epoch) for p in again.points()]
    assert len(points) == len(set(points)) == sum(r.epochs for r in rows.values())
    again.close()

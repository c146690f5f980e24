"""A trial's starts and its restarts after a lost worker are counted apart: a promotion or
a resume starts a trial again without being a restart, and the retry limit reads the
restarts, from the store, so a resumed sweep does not grant a trial its retries twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from caviar_common.states import TrialState
from orchestrator.core.loop import Options, Sweep
from orchestrator.core.status import Status
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.storage import TrialRow
from orchestrator.storage.store import Store
from tests.orchestrator.core.test_loop import LOST, Workers, make_spec, run_sweep

PROMOTE = {"name": "asha", "grace_period": 1, "reduction_factor": 3, "mode": "promote"}


def _promotions(row: TrialRow) -> int:
    """Times the trial went on from a rung: every pause but one it still waits at."""
    return len(row.pauses) - (row.state == TrialState.PAUSED)


def test_a_promoted_trial_counts_its_starts_and_no_restart(tmp_path: Path) -> None:
    spec = make_spec(scheduler=PROMOTE, budget={"trials": 9, "max_epochs": 9})
    _, store = run_sweep(spec, tmp_path / "run", InProcessExecutor(2))
    rows = store.trial_rows()
    store.close()

    assert any(_promotions(r) > 0 for r in rows)  # the sweep did promote
    for r in rows:
        assert r.restarts == 0  # no worker was lost
        assert r.starts == 1 + _promotions(r)  # its first start, then one per promotion


def test_a_trial_that_lost_its_worker_once_has_one_restart(tmp_path: Path) -> None:
    spec = make_spec(budget={"trials": 2, "max_epochs": 3})
    workers = Workers(1)
    workers.lose_worker("trial-0001", 2)
    _, store = run_sweep(spec, tmp_path / "run", workers)
    rows = {r.trial_id: r for r in store.trial_rows()}
    store.close()
    assert (rows["trial-0001"].starts, rows["trial-0001"].restarts) == (2, 1)
    assert (rows["trial-0002"].starts, rows["trial-0002"].restarts) == (1, 0)
    assert rows["trial-0001"].state == TrialState.COMPLETED


def test_the_retry_limit_counts_the_restarts_made_before_a_resume(tmp_path: Path) -> None:
    spec = make_spec(budget={"trials": 2, "max_epochs": 4})
    options = Options(max_restarts=2, checkpoint_every=1)
    store = Store.create(tmp_path / "run", spec.source)
    first = Workers(1)
    first.lose_worker("trial-0001", 1, times=2)  # lost twice at its first epoch

    def interrupt(status: Status) -> None:  # once it has gone on after its second restart
        row = store.trial_rows()[0]
        if row.restarts == 2 and row.epochs >= 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Sweep(spec, store, first, options=options, on_status=interrupt).run()
    store.close()

    again = Store.open(tmp_path / "run")
    second = Workers(1)
    for epoch in range(1, 5):  # its worker is lost once more, whichever epoch it is on
        second.lose_worker("trial-0001", epoch)
    Sweep(spec, again, second, options=options).run()
    rows = again.trial_rows()
    again.close()

    lost = rows[0]
    assert lost.state == TrialState.FAILED and lost.error == LOST  # a third loss: no retry
    assert lost.restarts == 2
    assert lost.starts == 4  # the first run, two restarts, the resume
    assert rows[1].state == TrialState.COMPLETED and rows[1].restarts == 0

"""A sweep with `test_fraction`: the test rows never reach training or validation, and the kept
models are scored on them once, after the sweep has ended; the figures show in
`load_run(...).trials`, the leaderboard, `caviar show` and the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from orchestrator.cli import main
from orchestrator.core.loop import Sweep
from orchestrator.core.status import Status
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.results.models import held_out_scorer
from orchestrator.results.run import load_run
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import parse_sweep
from workers.host import TrialHost

SOURCE: dict[str, Any] = {
    "name": "held-out",
    "dataset": "digits",
    "seed": 5,
    "val_fraction": 0.2,
    "test_fraction": 0.25,
    "model": {"optimizer": "adam", "hidden_layers": 1, "batch_size": 64},
    "space": {"learning_rate": {"type": "log_uniform", "low": 1e-3, "high": 3e-1}},
    "budget": {"trials": 5, "max_epochs": 3},
}


class SeeingHost(TrialHost):
    """A host that records the rows of every dataset its trials train on."""

    seen: list[Any] = []

    def dataset(self, *args: Any, **kwargs: Any) -> Any:
        found = super().dataset(*args, **kwargs)
        SeeingHost.seen.append(found)
        return found


def test_the_test_rows_are_held_out_and_scored_once_at_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    spec = parse_sweep(SOURCE)
    run_dir = tmp_path / "held-out"
    store = Store.create(run_dir, spec.source)
    SeeingHost.seen = []
    host = SeeingHost()
    scored_during: list[int] = []

    def watch(status: Status) -> None:  # before the end, no kept model has a test figure
        if not status.final:
            scored_during.extend(1 for m in store.models() if m.test_cost is not None)

    data = spec.data
    dataset = host.dataset(data["spec"], data["seed"], data["val_fraction"], spec.test_fraction)
    scorer = held_out_scorer(spec, dataset)
    Sweep(spec, store, InProcessExecutor(2, host), on_status=watch, scorer=scorer).run()
    store.close()
    assert scored_during == []

    # every dataset a trial trained on held the test rows out of training and validation
    assert SeeingHost.seen
    for seen in SeeingHost.seen:
        test = set(seen.test_indices.tolist())
        assert len(test) == seen.n_test > 0
        assert not test & set(seen.train_indices.tolist())
        assert not test & set(seen.val_indices.tolist())
        assert seen.n_train + seen.n_val + seen.n_test == 1797  # digits' rows

    run = load_run(run_dir)
    assert len(run.models) == 3
    held = run.data()
    for tid, kept in run.models.iterrows():
        cost, accuracy = run.model(tid).evaluate_standardised(held.X_test, held.y_test)
        assert kept["test_cost"] == cost and kept["test_accuracy"] == accuracy
        assert run.trials.loc[tid, "test_cost"] == cost
    others = run.trials.index.difference(run.models.index)
    assert np.isnan(run.trials.loc[others, "test_cost"]).all()  # only kept models are scored
    board = run.leaderboard()
    assert {"test_cost", "test_accuracy"} <= set(board.columns)
    assert main(["show", str(run_dir)]) == 0
    assert "test_accuracy" in capsys.readouterr().out
    assert main(["report", str(run_dir)]) == 0
    assert "test_accuracy" in (run_dir / "report.html").read_text()


def test_a_sweep_without_a_test_split_shows_no_test_columns(tmp_path: Path):
    spec = parse_sweep({**SOURCE, "test_fraction": 0})
    store = Store.create(tmp_path / "plain", spec.source)
    Sweep(spec, store, InProcessExecutor(2)).run()
    store.close()
    run = load_run(tmp_path / "plain")
    assert "test_cost" not in run.trials and "test_cost" not in run.leaderboard()
    assert run.models["test_cost"].isna().all()

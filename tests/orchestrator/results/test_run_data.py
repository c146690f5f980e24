"""`Run.data()` gives the split the sweep's trials trained and were scored on: a model built
from it repeats a stored trial's first epoch to the bit, from any working directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from caviar_common.seeds import trial_seed
from orchestrator.core.loop import Sweep
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.results.run import load_run
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import parse_sweep
from tests.orchestrator.conftest import stored_rows
from workers.data.datasets import load_dataset
from workers.host import TrialHost


def _csv(path: Path) -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(120, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    rows = ["a,b,c,label", *(f"{r[0]},{r[1]},{r[2]},{t}" for r, t in zip(x, y, strict=True))]
    path.write_text("\n".join(rows) + "\n")


@pytest.fixture
def csv_run(tmp_path: Path) -> Path:
    """A sweep of a CSV file named relative to the sweep file's folder, run from there."""
    folder = tmp_path / "project"
    folder.mkdir()
    _csv(folder / "points.csv")
    raw = {
        "name": "points",
        "dataset": {"path": "points.csv", "label": "label"},
        "val_fraction": 0.25,
        "seed": 11,
        "model": {"hidden_layers": 1, "hidden_units": 8},
        "space": {"learning_rate": {"type": "log_uniform", "low": 1e-3, "high": 1e-1}},
        "budget": {"trials": 3, "max_epochs": 2},
    }
    spec = parse_sweep(raw, folder)
    run_dir = tmp_path / "runs" / "points"
    store = Store.create(run_dir, spec.source)
    store.set(base_dir=str(folder))
    try:
        Sweep(spec, store, InProcessExecutor(1)).run()
    finally:
        store.close()
    return run_dir


def test_the_split_is_the_one_the_trials_saw(csv_run: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # not the sweep file's folder: the path resolves all the same
    run = load_run(csv_run)
    data = run.data()
    assert (data.n_train, data.n_val) == (90, 30)  # 120 rows, a quarter held out
    by_hand = load_dataset(
        tmp_path / "project" / "points.csv", seed=11, val_fraction=0.25, label="label"
    )
    np.testing.assert_array_equal(data.X_val, by_hand.X_val)
    np.testing.assert_array_equal(data.y_train, by_hand.y_train)

    first = stored_rows(csv_run)[0]
    host = TrialHost()
    host.begin(first.trial_id, first.config, data, trial_seed(11, first.number))
    record = host.step(first.trial_id).record
    stored = run.curves[(run.curves["trial_id"] == first.trial_id) & (run.curves["epoch"] == 1)]
    assert record["val_cost"] == stored["val_cost"].item()  # to the bit
    assert record["val_accuracy"] == stored["val_accuracy"].item()

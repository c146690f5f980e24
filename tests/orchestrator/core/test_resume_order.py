"""A resumed sweep plans the trials it had not yet started exactly as an unbroken run
would: the sweep file kept in the store keeps its space in the file's order, which is the
order that decides every sampled configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.core.loop import Sweep
from orchestrator.core.status import Status
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.execution.runner import reopen_run
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import parse_sweep

# Not in alphabetical order: a store that sorted the keys would decode every unit point
# into other settings.
SWEEP = {
    "name": "order",
    "dataset": "synthetic:rows=200,features=4,classes=2",
    "seed": 5,
    "model": {"hidden_layers": 1, "batch_size": 64},
    "space": {
        "learning_rate": {"type": "log_uniform", "low": 1e-3, "high": 0.1},
        "optimizer": ["momentum", "adam"],
        "hidden_units": {"type": "int_uniform", "low": 4, "high": 16},
        "beta1": {"type": "one_minus_log_uniform", "low": 0.8, "high": 0.95},
    },
    "budget": {"trials": 6, "max_epochs": 2},
}


def _configs(store: Store) -> dict[str, dict[str, Any]]:
    return {r.trial_id: r.config for r in store.trial_rows()}


def test_the_kept_sweep_file_has_its_keys_in_the_files_order(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "run", SWEEP)
    store.close()
    kept = Store.open(tmp_path / "run").get("source")
    assert list(kept) == list(SWEEP) and list(kept["space"]) == list(SWEEP["space"])


def test_a_resumed_sweep_samples_its_remaining_trials_as_an_unbroken_one(tmp_path: Path) -> None:
    spec = parse_sweep(SWEEP)
    unbroken = Store.create(tmp_path / "unbroken", spec.source)
    Sweep(spec, unbroken, InProcessExecutor(1)).run()
    expected = _configs(unbroken)
    assert len(expected) == 6

    store = Store.create(tmp_path / "broken", spec.source)

    def interrupt(status: Status) -> None:  # after the first trial, before the rest exist
        if any(r.epochs >= 2 for r in store.trial_rows()):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Sweep(spec, store, InProcessExecutor(1), on_status=interrupt).run()
    assert len(_configs(store)) < 6
    store.close()
    again_spec, again = reopen_run(tmp_path / "broken")
    Sweep(again_spec, again, InProcessExecutor(1)).run()
    assert _configs(again) == expected

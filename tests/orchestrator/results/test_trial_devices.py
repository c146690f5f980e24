"""The GPUs each trial's worker saw, where a user reads them: `load_run(...).trials`, the
report's trial table (only when some trial had one) and the live panel's line."""

from __future__ import annotations

from pathlib import Path

import pytest

from caviar_common.states import TrialState
from orchestrator import load_run
from orchestrator.core.status import Status
from orchestrator.report.page import build_html
from orchestrator.storage.store import Store

SPACE = {"learning_rate": {"type": "log_uniform", "low": 1e-4, "high": 1}}


def _store(run_dir: Path, devices: list[str]) -> Path:
    """One trial per entry of `devices`, started on a worker that saw them, one epoch each."""
    store = Store.create(run_dir, {"name": "gpus", "space": SPACE})
    for n, seen in enumerate(devices, start=1):
        tid = f"trial-{n:04d}"
        store.add_trial(tid, n, 0, {"learning_rate": 0.01 * n}, {}, [])
        store.start_trial(tid, f"caviar-worker-{n}", "node-a", 100.0 + n, seen)
        record = {"epoch": 1, "train_cost": 1.0, "val_cost": 0.5 / n, "val_accuracy": 0.5}
        record |= {"decayed_learning_rate": 0.01 * n, "seconds": 1.0, "diverged": False}
        store.add_point(tid, record, 0.5 / n)
        store.end_trial(tid, TrialState.COMPLETED, 102.0 + n)
    store.set(state="finished")
    store.close()
    return run_dir


def test_load_run_has_each_trials_devices(tmp_path: Path) -> None:
    trials = load_run(_store(tmp_path / "gpus", ["0", "0", "1", ""])).trials
    assert list(trials["devices"]) == ["0", "0", "1", ""]


@pytest.mark.parametrize(("devices", "shown"), [(["0", "1"], True), (["", ""], False)])
def test_the_reports_trial_table_shows_devices_only_when_a_trial_had_one(
    tmp_path: Path, devices: list[str], shown: bool
) -> None:
    page, _ = build_html(_store(tmp_path / "gpus", devices), importance=False)
    table = page[page.index("trials</summary>") :]
    assert ("<th>devices</th>" in table) is shown


def test_the_panel_line_groups_running_trials_by_gpu() -> None:
    status = Status("s", "val_cost", 1.0, 4, 0.0, None)
    status.launched("trial-0001", {}, 1.0, "0")
    status.launched("trial-0002", {}, 1.0, "1")
    status.launched("trial-0003", {}, 1.0, "0")
    status.launched("trial-0004", {}, 1.0)  # no GPU: not in the line
    assert status.devices_line() == "GPU 0: trial-0001, trial-0003 · GPU 1: trial-0002"
    status.ended("trial-0001", TrialState.COMPLETED, 3)
    status.paused("trial-0002", 1)
    assert status.devices_line() == "GPU 0: trial-0003"
    status.ended("trial-0003", TrialState.COMPLETED, 3)
    assert status.devices_line() == ""

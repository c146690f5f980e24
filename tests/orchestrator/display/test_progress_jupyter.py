"""In a notebook the progress panel is redrawn in place through a display handle, on the
same clock as the terminal's panel, and its last state is always shown."""

from __future__ import annotations

import builtins

import pytest

from caviar_common.states import TrialState
from orchestrator.core.status import Status
from orchestrator.display.jupyter import JupyterProgress, Snapshot, snapshot
from orchestrator.display.progress import make_progress
from orchestrator.display.terminal import PlainProgress
from tests.orchestrator.display.test_progress import Clock


class FakeHandle:
    """Records what a notebook cell would show: the first display, then each update."""

    def __init__(self) -> None:
        self.shown: list[Snapshot] = []

    def show(self, obj: object) -> FakeHandle:
        assert not self.shown, "displayed twice: a second output instead of an update"
        self.update(obj)
        return self

    def update(self, obj: object) -> None:
        assert isinstance(obj, Snapshot)
        self.shown.append(obj)


def _status() -> Status:
    return Status("nb", "val_cost", 1.0, total=3, started=0.0, time_limit=None)


def _played(status: Status) -> Status:
    """Two trials: one ended after three epochs, one still running."""
    status.launched("trial-0001", {"learning_rate": 0.01, "optimizer": "adam"}, 1.0)
    status.launched("trial-0002", {"learning_rate": 0.2, "optimizer": "adam"}, 1.0)
    status.epoch("trial-0001", 1, 0.75, 2.0)
    status.epoch("trial-0002", 1, 0.5, 2.5)
    status.ended("trial-0001", TrialState.COMPLETED, 3)
    return status


def test_updates_in_place_at_most_four_times_a_second_and_always_at_the_end() -> None:
    clock, handle = Clock(), FakeHandle()
    display = JupyterProgress(per_second=4, clock=clock, show=handle.show)
    status = _status()
    for step in range(100):  # 100 reports over one second
        clock.now = step / 100
        status.now = clock.now
        display(status)
    status.final = True
    display(status)
    display.close()
    assert len(handle.shown) == 5  # at 0, 0.25, 0.5 and 0.75 s, and the final state
    assert handle.shown[-1].text == snapshot(status).text  # the final state
    assert "[nb] 0/3 ended" in handle.shown[-1].text


def test_close_shows_the_last_report_the_throttle_held_back() -> None:
    clock, handle = Clock(), FakeHandle()
    display = JupyterProgress(per_second=4, clock=clock, show=handle.show)
    status = _status()
    display(status)
    clock.now = 0.1  # too soon for a redraw
    _played(status)
    display(status)
    assert len(handle.shown) == 1 and "trial-0001" not in handle.shown[0].text
    display.close()  # e.g. the kernel was interrupted before a final report
    assert len(handle.shown) == 2 and "trial-0001 completed after 3 epochs" in handle.shown[1].text
    display.close()  # nothing new: nothing redrawn
    assert len(handle.shown) == 2


def test_the_snapshot_shows_the_terminal_panel_as_html_and_as_text() -> None:
    shown = snapshot(_played(_status()))
    html = shown._repr_html_()
    assert html.startswith("<pre") and "<html" not in html  # a fragment for a cell's output
    for row in (
        "[nb] 1/3 ended | running 1 | completed 1",  # the name kept, not taken for markup
        "best trial-0002: learning_rate=0.2, optimizer=adam",
        "trial-0001 new best val_cost=0.75 at epoch 1",
        "trial-0002 new best val_cost=0.5 at epoch 1",
        "trial-0001 completed after 3 epochs",
    ):
        assert row in html and row in repr(shown)
    assert "caviar · nb" in repr(shown)  # the panel's title


class ZMQInteractiveShell:
    """Stands in for the IPython kernel's shell: only its class name is looked at."""


def test_make_progress_picks_the_notebook_display_inside_a_kernel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(builtins, "get_ipython", ZMQInteractiveShell, raising=False)
    assert isinstance(make_progress(), JupyterProgress)
    assert isinstance(make_progress(plain=False), JupyterProgress)
    assert isinstance(make_progress(plain=True), PlainProgress)  # --plain still wins

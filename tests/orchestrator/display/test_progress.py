"""The live displays redraw on a clock, not on every event the loop reports."""

from __future__ import annotations

import io
import sys

import pytest

from orchestrator.core.status import Status
from orchestrator.display.progress import make_progress
from orchestrator.display.terminal import PlainProgress, RichProgress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _status() -> Status:
    return Status("s", "val_cost", 1.0, total=10, started=0.0, time_limit=None)


def test_the_panel_redraws_at_most_four_times_a_second_and_always_at_the_end() -> None:
    clock = Clock()
    panel = RichProgress(per_second=4, clock=clock)
    drawn: list[float] = []
    panel._draw = lambda status: drawn.append(clock.now)  # type: ignore[method-assign]
    status = _status()
    try:
        for step in range(100):  # 100 reports over one second
            clock.now = step / 100
            panel(status)
        status.final = True
        panel(status)
    finally:
        panel.close()
    assert drawn == [0.0, 0.25, 0.5, 0.75, 0.99]


def test_plain_lines_come_every_few_seconds_and_at_the_end() -> None:
    clock, out = Clock(), io.StringIO()
    plain = PlainProgress(out, every=5.0, clock=clock)
    status = _status()
    for step in range(12):  # a report a second for 12 s
        clock.now = float(step)
        plain(status)
    status.final = True
    plain(status)
    assert out.getvalue().count("[s] 0/10 ended") == 4  # at 0, 5 and 10 s, and the end


def test_make_progress_prints_plain_lines_off_a_terminal_and_notebook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # not a terminal, not in a kernel
    assert isinstance(make_progress(), PlainProgress)
    assert isinstance(make_progress(plain=True), PlainProgress)

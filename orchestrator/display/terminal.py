"""Progress on a terminal: the rich panel redrawn live, or plain lines for logs and CI."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from orchestrator.core.status import Status
from orchestrator.display.panel import Throttle, panel


class PlainProgress:
    """A line every `every` seconds and one per notable event, for logs and CI."""

    def __init__(
        self,
        out: TextIO = sys.stdout,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out
        self.throttle = Throttle(every, clock)
        self._seen = 0

    def __call__(self, status: Status) -> None:
        for note in status.since(self._seen):
            if note.notable:
                print(f"  {note}", file=self.out)
        self._seen = status.notes
        if self.throttle.due(status.final):
            print(status.line(), file=self.out, flush=True)

    def close(self) -> None:
        pass


class RichProgress:
    """The panel live on a terminal, redrawn at most `per_second` times a second, however
    often the loop reports."""

    def __init__(
        self, per_second: float = 4.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console()
        self.live = Live(console=self.console, refresh_per_second=per_second, transient=False)
        self.throttle = Throttle(1.0 / per_second, clock)
        self.live.start()

    def __call__(self, status: Status) -> None:
        if self.throttle.due(status.final):
            self._draw(status)

    def _draw(self, status: Status) -> None:
        self.live.update(panel(status))

    def close(self) -> None:
        self.live.stop()

"""Live progress of a sweep: a rich panel on a terminal, plain lines anywhere else."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from orchestrator.status import Status


class PlainProgress:
    """A line every `every` seconds and one per notable event, for logs and CI."""

    def __init__(
        self,
        out: TextIO = sys.stdout,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out, self.every, self.clock = out, every, clock
        self._last = -float("inf")
        self._seen = 0

    def __call__(self, status: Status) -> None:
        for note in status.since(self._seen):
            if note.notable:
                print(f"  {note}", file=self.out)
        self._seen = status.notes
        now = self.clock()
        if status.final or now - self._last >= self.every:
            self._last = now
            print(status.line(), file=self.out, flush=True)

    def close(self) -> None:
        pass


class RichProgress:
    """A live panel: counts, best so far with its configuration, recent events; redrawn
    at most `per_second` times a second, however often the loop reports."""

    def __init__(
        self, per_second: float = 4.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console()
        self.live = Live(console=self.console, refresh_per_second=per_second, transient=False)
        self.every, self.clock = 1.0 / per_second, clock
        self._last = -float("inf")
        self.live.start()

    def __call__(self, status: Status) -> None:
        now = self.clock()
        if not status.final and now - self._last < self.every:
            return
        self._last = now
        self._draw(status)

    def _draw(self, status: Status) -> None:
        from rich.console import Group
        from rich.panel import Panel
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        table.add_row(status.line())
        if status.best_trial is not None:
            config = ", ".join(f"{k}={_short(v)}" for k, v in status.best_config.items())
            table.add_row(f"best {status.best_trial}: {config}")
        recent = [str(note) for note in list(status.log)[-5:]]
        self.live.update(Panel(Group(table, *recent), title=f"caviar · {status.name}"))

    def close(self) -> None:
        self.live.stop()


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def make_progress(plain: bool | None = None) -> PlainProgress | RichProgress:
    if plain is None:
        plain = not sys.stdout.isatty()
    return PlainProgress() if plain else RichProgress()

"""What every live display of a sweep shares: the `Progress` it is to the loop, when it is due
a redraw (`Throttle`), and the rich panel it draws (a terminal live, a notebook as HTML)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from orchestrator.core.status import Status

if TYPE_CHECKING:
    from rich.panel import Panel


class Progress(Protocol):
    """What the loop reports to: the status after every round, then `close()` once."""

    def __call__(self, status: Status) -> None: ...

    def close(self) -> None: ...


class Throttle:
    """Says when a live display is due a redraw: at most once every `every` seconds, and
    always for the final status."""

    def __init__(self, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every, self.clock = every, clock
        self._last = -float("inf")

    def due(self, final: bool) -> bool:
        now = self.clock()
        if not final and now - self._last < self.every:
            return False
        self._last = now
        return True


def panel(status: Status) -> Panel:
    """The live panel: counts, best so far with its configuration, recent events."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    # Text, not markup: "[digits] 3/32 ended" would lose its "[digits]" as a style tag
    table = Table.grid(padding=(0, 2))
    table.add_row(Text(status.line()))
    if status.best_trial is not None:
        config = ", ".join(f"{k}={_short(v)}" for k, v in status.best_config.items())
        table.add_row(Text(f"best {status.best_trial}: {config}"))
    if devices := status.devices_line():
        table.add_row(Text(f"running on {devices}"))
    recent = [Text(str(note)) for note in list(status.log)[-5:]]
    return Panel(Group(table, *recent), title=Text(f"caviar · {status.name}"))


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)

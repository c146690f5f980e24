"""Live progress of a sweep: a rich panel on a terminal, a panel redrawn in place in a
Jupyter notebook (progress_jupyter.py), plain lines anywhere else."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TextIO

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
    recent = [Text(str(note)) for note in list(status.log)[-5:]]
    return Panel(Group(table, *recent), title=Text(f"caviar · {status.name}"))


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


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def in_jupyter() -> bool:
    """True inside a Jupyter kernel (IPython's, Colab's), where a terminal panel cannot
    redraw in place. Asks rich, which looks for IPython's `get_ipython` without importing it."""
    from rich.console import Console

    return Console().is_jupyter


def make_progress(plain: bool | None = None) -> Progress:
    """Plain lines when `plain`; else a live display: in place in a Jupyter notebook, the
    rich panel on a terminal. `plain=None` decides: plain lines off a terminal and notebook."""
    if plain:
        return PlainProgress()
    if in_jupyter():
        from orchestrator.display.jupyter import JupyterProgress

        return JupyterProgress()
    if plain is None and not sys.stdout.isatty():
        return PlainProgress()
    return RichProgress()

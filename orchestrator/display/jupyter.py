"""Live progress in a Jupyter notebook: the terminal's panel as HTML, redrawn in place in the
cell's output through an IPython display handle (rich's own `Live` would need ipywidgets)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Protocol

from orchestrator.core.status import Status
from orchestrator.display.panel import Throttle, panel

# as rich shows its own output in a notebook: a scrolling block of monospace lines
HTML_FORMAT = (
    '<pre style="white-space:pre;overflow-x:auto;line-height:normal;'
    "font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace\">{code}</pre>"
)


class Handle(Protocol):
    """The part of IPython's `DisplayHandle` used here: replace what it shows."""

    def update(self, obj: object) -> None: ...


Show = Callable[[object], Handle]  # display `obj` in the cell's output; its handle


class Snapshot:
    """The panel at one moment, as a notebook shows it (HTML) or a console prints it."""

    def __init__(self, html: str, text: str) -> None:
        self.html, self.text = html, text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


def snapshot(status: Status, width: int = 110) -> Snapshot:
    """Render the terminal's panel for `status` off screen, `width` characters wide."""
    from rich.console import Console

    console = Console(
        file=io.StringIO(),
        record=True,
        width=width,
        force_jupyter=False,  # in a kernel rich would display it itself
        force_terminal=True,
        color_system="truecolor",
    )
    console.print(panel(status))
    text = console.export_text(clear=False)
    return Snapshot(console.export_html(inline_styles=True, code_format=HTML_FORMAT), text)


def ipython_show(obj: object) -> Handle:
    """Display `obj` in the running cell's output and return the handle that updates it."""
    from IPython.display import display

    handle = display(obj, display_id=True)
    if handle is None:  # IPython gives none only when display_id is unset
        raise RuntimeError("IPython: display(display_id=True) returned no handle")
    return handle


class JupyterProgress:
    """The panel in the cell's output, redrawn in place at most `per_second` times a second;
    the last status seen is always drawn, at the sweep's end or on its interruption."""

    def __init__(
        self,
        per_second: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
        show: Show = ipython_show,
        width: int = 110,
    ) -> None:
        self.throttle = Throttle(1.0 / per_second, clock)
        self.show, self.width = show, width
        self._handle: Handle | None = None
        self._undrawn: Status | None = None  # seen but not yet shown

    def __call__(self, status: Status) -> None:
        if self.throttle.due(status.final):
            self._draw(status)
        else:
            self._undrawn = status

    def _draw(self, status: Status) -> None:
        self._undrawn = None
        shown = snapshot(status, self.width)
        if self._handle is None:
            self._handle = self.show(shown)
        else:
            self._handle.update(shown)

    def close(self) -> None:
        if self._undrawn is not None:
            self._draw(self._undrawn)

"""Live progress of a sweep, chosen for where it runs: a rich panel on a terminal, a panel
redrawn in place in a Jupyter notebook, plain lines anywhere else."""

from __future__ import annotations

import sys

from orchestrator.display.jupyter import JupyterProgress
from orchestrator.display.panel import Progress
from orchestrator.display.terminal import PlainProgress, RichProgress


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
        return JupyterProgress()
    if plain is None and not sys.stdout.isatty():
        return PlainProgress()
    return RichProgress()

"""The report's section on which hyperparameters mattered: `Run.importance()` (fANOVA, the
same lines `caviar show --importance` prints) as a table with a bar per share, and what it
rests on: how many trials, compared at which epoch, and which parameters it leaves out.
"""

from __future__ import annotations

import html

import pandas as pd

from orchestrator.search.importance import METHOD, WHY_LEFT_OUT, left_out
from orchestrator.search.space import Space

TITLE = "Which hyperparameters mattered"
STYLE = (
    ".share{display:inline-block;height:11px;background:#4c72b0;vertical-align:middle}"
    "table.importance td,table.importance th{text-align:left}"
)
BAR_PX = 200  # the width of a 100 % share


def importance_html(ranked: pd.DataFrame, metric: str, space: Space) -> str:
    """The section, from `Run.importance()`'s table for a sweep searching `space`."""
    esc = html.escape
    head = f"<section id='importance'><h2>{TITLE}</h2>"
    if ranked.empty:
        return (
            f"{head}<p class='note'>Too few trials with different results yet to say which "
            "hyperparameters mattered.</p></section>"
        )
    first = ranked.iloc[0]
    trials, epoch, reached = int(first["trials"]), int(first["epoch"]), int(first["reached"])
    sample = (
        f", a seeded sample of the {reached:,} trials that reached it" if reached > trials else ""
    )
    lead = (
        f"<p>Each hyperparameter's share of the variation in {esc(metric)} among "
        f"{trials:,} trials compared at epoch {epoch}, the highest epoch at least half of the "
        f"trials reached{sample}; each by its best value up to that epoch, so a trial pruned "
        "or paused there or later counts too. Computed by "
        f"{esc(METHOD)}, on the scales the parameters were sampled on; "
        "<code>caviar show --importance</code> prints the same lines. Unlike the rank "
        "correlation in the caption of the parameter plots, it also counts an effect that is "
        "not monotonic, such as a learning rate best in the middle of its range.</p>"
    )
    rows = "".join(
        f"<tr><td>{esc(str(r.parameter))}</td><td>"
        f"<span class='share' style='width:{round(BAR_PX * float(r.importance))}px'></span> "
        f"{float(r.importance):.0%}</td><td>{esc(str(r.line))}</td></tr>"
        for r in ranked.itertuples()
    )
    table = (
        "<table class='importance'><tr><th>hyperparameter</th><th>share of the variation</th>"
        "<th>in words</th></tr>"
        f"{rows}</table>"
    )
    out = left_out(space, ranked["parameter"])
    note = f"<p class='note'>Left out: {esc(', '.join(out))} ({WHY_LEFT_OUT}).</p>" if out else ""
    return f"{head}{lead}{table}{note}</section>"

"""What the sweep report's figures share: the colours of trial states, the legend words,
and which trials were promoted or proposed by the TPE model.

The figures themselves live in `curve_chart` (every cost curve), `params` (the
metric against each hyperparameter, on its own scale) and `stages` (the top trials
in parallel coordinates, each stage's sampling box). Each is a matplotlib Figure whose
data tests can read back: artists carry a `gid`, a trial's curve or parallel-coordinates
line its trial id, a stage's box `box:STAGE`, a rung marker `rung:EPOCH`, the pauses a
trial was promoted from `promoted:TRIAL`, the end of a curve still paused `paused:TRIAL`,
the band that sums up a big sweep's other curves `band`, so a test checks what is drawn
without looking at pixels.

Where the sweep has a tpe stage, a trial the TPE model proposed is a filled marker and any
other (its random warm-up, another stage's sampler) a hollow one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator

from caviar_common.states import TrialState
from orchestrator.search.proposed_by import MODEL, WARM_START, WARM_UP

STATE_COLOURS: dict[str, str] = {
    TrialState.PRUNED: "0.72",
    TrialState.PAUSED: "tab:olive",  # waiting at a rung (the sweep may still promote it)
    TrialState.DIVERGED: "tab:red",
    TrialState.STOPPED: "0.5",
    TrialState.FAILED: "0.35",
}
# Completed trials' colours: the default cycle without its red (C3) and grey (C7), which
# mean diverged and pruned here.
PALETTE = ("C0", "C1", "C2", "C4", "C5", "C6", "C8", "C9")
CLIP = 5.0  # curves are clipped at this many times the median first-epoch validation cost
PAUSE_MARKER = r"$\Vert$"  # a pause sign at the end of a curve still waiting at its rung
PROMOTED_LABEL = "paused at a rung, then promoted"
STILL_PAUSED_LABEL = "still paused"
MODEL_LABEL = "proposed by the TPE model"
CROWD = 200  # above this many points a scatter's markers shrink, so a crowd stays legible


def promoted_pauses(trials: pd.DataFrame) -> dict[str, list[int]]:
    """trial id -> the epochs it waited at a rung and was then promoted from: each of its
    pauses, but the last of a trial still paused (it waits there yet)."""
    if "pauses" not in trials:
        return {}
    out: dict[str, list[int]] = {}
    for trial_id, state, pauses in zip(
        trials.index, trials["state"], trials["pauses"], strict=True
    ):
        left = list(pauses)[:-1] if state == TrialState.PAUSED else list(pauses)
        if left:
            out[str(trial_id)] = [int(e) for e in left]
    return out


def by_model(trials: pd.DataFrame) -> pd.Series | None:
    """Which trials (by id) the TPE model proposed, rather than anything else (its random
    warm-up, another stage's sampler); None for a sweep without a tpe stage."""
    if "proposed_by" not in trials:
        return None
    kinds = trials["proposed_by"].astype(str)
    if not kinds.isin([MODEL, WARM_UP]).any():
        return None
    return kinds == MODEL


def _hollow_label(kinds: set[str]) -> str:
    """The legend's words for the trials the model did not propose."""
    names = {
        WARM_UP: "TPE's random warm-up",
        WARM_START: "an earlier sweep's best (warm start)",
        "": "sampler not recorded",
    }
    return ", ".join(names.get(k, f"{k} sampler") for k in sorted(kinds - {MODEL}))


def model_legend(trials: pd.DataFrame) -> list[Line2D]:
    """Filled: the model's proposals; hollow: the rest (only the kinds the sweep has)."""
    kinds = set(trials["proposed_by"].astype(str))
    handles = []
    if MODEL in kinds:
        handles.append(Line2D([], [], linestyle="none", marker="o", color="0.3", label=MODEL_LABEL))
    if kinds - {MODEL}:
        hollow = Line2D([], [], linestyle="none", marker="o", mfc="none", mec="0.3")
        hollow.set_label(_hollow_label(kinds))
        handles.append(hollow)
    return handles


def scatter_groups(
    ax: Axes,
    x: np.ndarray,
    y: np.ndarray,
    colours: Sequence[str],
    filled: Sequence[bool] | None,
    gid: str,
    size: float,
    **style: Any,
) -> None:
    """Points in their colours, hollow where not `filled`: one collection (gid `gid`) per
    colour and fill, so each is drawn by stamping one marker, fast at thousands of points.

    Grey states go first and completed trials' colour last, so the trials judged on every
    epoch are on top; a hollow group goes before its filled one.
    """
    colour = np.asarray(colours, dtype=object)
    full = np.ones(len(colour), bool) if filled is None else np.asarray(filled, bool)
    rank = {c: i for i, c in enumerate(STATE_COLOURS.values())}
    for c in sorted(set(colour), key=lambda c: (rank.get(c, len(rank)), str(c))):
        for fill in (False, True):
            at = (colour == c) & (full == fill)
            if at.any():
                face = c if fill else "none"
                ax.scatter(x[at], y[at], s=size, facecolors=face, edgecolors=c, gid=gid, **style)


def fills(ids: pd.Index, model: pd.Series | None) -> list[bool] | None:
    """Which of the trials `ids` get a filled marker: in a sweep with a tpe stage, those its
    model proposed (the rest hollow); None (all filled) in any other sweep."""
    return None if model is None else [bool(m) for m in model.loc[ids]]


def marker_size(points: int, size: float = 18.0) -> float:
    """A scatter's marker area: `size` up to CROWD points, then shrinking with the square
    root of their number down to a quarter of it, so thousands of trials do not merge into
    one blot."""
    if points <= CROWD:
        return size
    return max(size / 4, size * math.sqrt(CROWD / points))


def edge_width(points: int) -> float:
    """A scatter's marker edge width: thinner on the small markers of a crowd."""
    return 1.0 if points <= CROWD else 0.5


def log_locator(low: float, high: float) -> LogLocator:
    """Ticks at 1, 10, 100; more per decade over a range too short for that to label much."""
    decades = math.log10(high / low)
    subs = (1.0,) if decades >= 3 else (1.0, 3.0) if decades >= 1.5 else (1.0, 2.0, 5.0)
    return LogLocator(subs=subs)


def active(trials: pd.DataFrame, name: str) -> pd.Series:
    """Which trials have a value for `name` (a conditional parameter may be inactive)."""
    return trials[name].notna().astype(bool)  # None and NaN alike; bool even when empty


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))

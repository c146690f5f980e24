"""The report's chart of the sweep's validation cost curves (for a trainer of your own,
the curves of the sweep's metric).

Up to `MAX_LINES` trials every curve is drawn. Above it, thousands of lines would hide
each other and take long to draw: the best `SHOWN` trials by the sweep's metric are drawn
one by one and every trial is summed up as a band, the 10th to 90th percentile of the cost
at each epoch with the median dashed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from caviar_common.curves import DIVERGED_ABOVE
from caviar_common.states import TrialState
from orchestrator.report.common import (
    CLIP,
    PALETTE,
    PAUSE_MARKER,
    PROMOTED_LABEL,
    STATE_COLOURS,
    STILL_PAUSED_LABEL,
    log_locator,
    promoted_pauses,
)
from orchestrator.report.plots import epoch_axis, plain_log_axis

MAX_LINES = 200  # up to this many trials with a curve, every curve is drawn
SHOWN = 50  # above it, the best this many are drawn and every trial summed up as a band
BAND = (10.0, 50.0, 90.0)  # the band's low edge, middle line and high edge (percentiles)
BAND_COLOUR = "0.85"
MEDIAN_COLOUR = "0.4"


COST = "val_cost"  # the column drawn unless the caller names another


def clip_ceiling(curves: pd.DataFrame, column: str = COST) -> float:
    """Where the curve chart is clipped: CLIP times the median first-epoch validation cost.

    A diverging trial's cost runs to 1e12 or NaN; without a ceiling it flattens every
    other curve into the bottom of the chart. Another column (a trainer's own metric, of
    no known scale) is clipped at its largest finite value: only NaN and infinities are.
    """
    if column != COST:
        y = curves[column].astype(float)
        finite = y[np.isfinite(y) & (y.abs() < DIVERGED_ABOVE)]
        return float(finite.max()) if len(finite) else 1.0
    first = curves.sort_values("epoch").groupby("trial_id")[COST].first().astype(float)
    first = first[np.isfinite(first) & (first > 0)]
    return CLIP * float(first.median()) if len(first) else 1.0


def ranked_ids(trials: pd.DataFrame, minimize: bool) -> list[str]:
    """Trial ids, best first by their best metric value (ties: the earlier trial first);
    diverged trials and trials without a usable value are left out."""
    value = pd.to_numeric(trials["best"], errors="coerce").astype(float)
    usable = np.isfinite(value) & (value.abs() < DIVERGED_ABOVE)
    usable &= trials["state"] != TrialState.DIVERGED
    ranked = value[usable].sort_values(ascending=minimize, kind="stable")
    return [str(i) for i in ranked.index]


def lined(
    trials: pd.DataFrame,
    curves: pd.DataFrame,
    minimize: bool,
    max_lines: int = MAX_LINES,
    shown: int = SHOWN,
) -> list[str] | None:
    """The trials the chart gives a line when it sums up the rest as a band, best first:
    the `shown` best with a curve once more than `max_lines` trials have one; None while
    it draws every curve."""
    with_curve = set(curves["trial_id"].unique())
    if len(with_curve) <= max_lines:
        return None
    return [t for t in ranked_ids(trials, minimize) if t in with_curve][:shown]


def band(
    curves: pd.DataFrame, percentiles: Sequence[float] = BAND, column: str = COST
) -> pd.DataFrame:
    """Per epoch (the index), the `percentiles` (the columns) of the finite validation
    costs (or `column`) of the trials that reached that epoch, interpolated linearly as
    numpy's `percentile` does."""
    y = curves[column].astype(float)
    finite = curves.loc[np.isfinite(y), ["epoch"]].assign(value=y[np.isfinite(y)])
    if not len(finite):
        return pd.DataFrame(columns=list(percentiles), dtype=float)
    grouped = finite.groupby("epoch")["value"]
    return pd.DataFrame({p: grouped.quantile(p / 100) for p in percentiles})


def curves_figure(
    trials: pd.DataFrame,
    curves: pd.DataFrame,
    best: str | None,
    rungs: Sequence[int],
    minimize: bool = True,
    max_lines: int = MAX_LINES,
    shown: int = SHOWN,
    column: str = COST,
) -> Figure:
    """Each trial's validation cost (or `column`) against epochs, one line each (gid: the
    trial id).

    Completed trials get a colour each, pruned ones grey, paused ones olive, diverged ones
    red with an × where the cost blew up; anything above the ceiling is drawn on it. A
    hollow circle marks each epoch where a trial waited at a rung and was promoted, a pause
    sign the end of a curve still waiting at its rung. The best trial is drawn again on top
    in black; rung epochs are dashed vertical lines.

    With more than `max_lines` trials only the `shown` best (by the metric, `minimize` or
    not) get a line; the band (gid `band`, its median `band:median`) sums up every trial,
    and the × still mark where each diverged trial blew up.
    """
    fig = Figure(figsize=(10, 4.8), layout="constrained")
    ax = fig.add_subplot()
    top = clip_ceiling(curves, column)
    y = curves[column].astype(float).to_numpy()
    clipped = bool((~np.isfinite(y) | (y > top)).any())
    promoted = promoted_pauses(trials)
    count = int(curves["trial_id"].nunique())
    keep = lined(trials, curves, minimize, max_lines, shown)
    drawn = curves if keep is None else curves[curves["trial_id"].isin(keep)]
    if keep is not None:
        _draw_band(ax, band(curves, column=column), top)
    states = _draw_lines(ax, trials, drawn, top, promoted, column)
    if _draw_blow_ups(ax, trials, curves, top, column):
        states.add(TrialState.DIVERGED)
    points = curves[curves["trial_id"] == best] if best is not None else curves.iloc[:0]
    if len(points):
        (line,) = ax.plot(points["epoch"], points[column], color="black", linewidth=2.4)
        line.set_gid(f"best:{best}")
    for epoch in rungs:
        ax.axvline(epoch, color="0.5", linestyle="--", linewidth=0.7, gid=f"rung:{epoch}")
    judged = (
        "pauses or prunes" if promoted or TrialState.PAUSED in set(trials["state"]) else "prunes"
    )
    epoch_axis(ax, "epoch" + (f" (dashed: rungs, where the scheduler {judged})" if rungs else ""))
    what = "validation cost" if column == COST else column
    ax.set_ylabel(what)
    values = curves[column].astype(float).dropna()
    if column == COST and len(values) and (values > 0).all():
        ax.set_yscale("log")  # a good trial and a poor one differ by a factor, not a step
        ax.yaxis.set_major_locator(log_locator(float(values.min()), top))
        plain_log_axis(ax)
    ceiling = f" (clipped at {top:.3g})" if clipped else ""
    if clipped and column != COST:  # only NaN and infinities were moved
        ceiling = " (values that blew up drawn at the top)"
    if not len(values):
        ax.set_yticks([])  # every × is a trial that blew up: there is no scale to read
        ax.set_title(f"{what.capitalize()} of every trial: none is finite")
    elif keep is not None:
        ax.set_title(
            f"{what.capitalize()} of the best {len(keep)} of {count:,} trials; "
            f"{count - len(keep):,} other trials shown as a band{ceiling}"
        )
    else:
        ax.set_title(f"{what.capitalize()} of every trial{ceiling}")
    ax.grid(alpha=0.3)
    handles: list[Artist] = [*_curve_legend(states, best, bool(promoted))]
    if keep is not None:
        handles += _band_legend(count)
    ax.legend(handles=handles, fontsize=8)
    return fig


def _draw_lines(
    ax: Axes,
    trials: pd.DataFrame,
    curves: pd.DataFrame,
    top: float,
    promoted: dict[str, list[int]],
    column: str = COST,
) -> set[str]:
    """One line per trial in `curves`, with its promotion and pause marks; returns the
    states drawn."""
    states: set[str] = set()
    for i, (trial_id, points) in enumerate(curves.groupby("trial_id", sort=True)):
        state = (
            str(trials.loc[trial_id, "state"]) if trial_id in trials.index else TrialState.RUNNING
        )
        states.add(state)
        y = points[column].astype(float).to_numpy()
        y = np.where(~np.isfinite(y) | (y > top), top, y)
        colour = STATE_COLOURS.get(state, PALETTE[i % len(PALETTE)])
        (line,) = ax.plot(points["epoch"], y, color=colour, linewidth=1.0, marker=".", ms=4)
        line.set_gid(str(trial_id))
        line.set_label(state)
        epochs = points["epoch"].to_numpy()
        at = np.isin(epochs, promoted.get(str(trial_id), []))
        if at.any():  # above the best's black line too: its pauses show as well
            (marks,) = ax.plot(
                epochs[at], y[at], linestyle="none", marker="o", ms=7, mfc="white", mec=colour
            )
            marks.set(gid=f"promoted:{trial_id}", zorder=3.5)
        if state == TrialState.PAUSED:
            (mark,) = ax.plot(epochs[-1:], y[-1:], linestyle="none", marker=PAUSE_MARKER, ms=11)
            mark.set(gid=f"paused:{trial_id}", color=colour, zorder=3.5)
    return states


def _draw_blow_ups(
    ax: Axes, trials: pd.DataFrame, curves: pd.DataFrame, top: float, column: str = COST
) -> bool:
    """An × at the last point of every diverged trial, all in one collection (gid
    `diverged`); whether there was any."""
    blown = trials.index[trials["state"] == TrialState.DIVERGED]
    last = curves[curves["trial_id"].isin(blown)].groupby("trial_id", sort=True).tail(1)
    if not len(last):
        return False
    y = last[column].astype(float).to_numpy()
    y = np.where(~np.isfinite(y) | (y > top), top, y)
    colour = STATE_COLOURS[TrialState.DIVERGED]
    ax.scatter(last["epoch"], y, marker="x", s=40, color=colour, zorder=3, gid="diverged")
    return True


def _draw_band(ax: Axes, q: pd.DataFrame, top: float) -> None:
    """The band of every trial's cost (gid `band`) and its median (gid `band:median`)."""
    if not len(q):
        return
    low, mid, high = (np.minimum(q[p].to_numpy(float), top) for p in BAND)
    epochs = q.index.to_numpy()
    # below every line: the band is the backdrop the best trials stand out against
    ax.fill_between(epochs, low, high, color=BAND_COLOUR, linewidth=0, zorder=1, gid="band")
    (median,) = ax.plot(epochs, mid, color=MEDIAN_COLOUR, linestyle="--", linewidth=1.2)
    median.set(gid="band:median", zorder=1.5)


def _band_legend(count: int) -> list[Artist]:
    low, mid, high = (f"{p:g}" for p in BAND)
    return [
        Patch(color=BAND_COLOUR, label=f"all {count:,} trials: {low}th to {high}th percentile"),
        Line2D([], [], color=MEDIAN_COLOUR, linestyle="--", label=f"their median ({mid}th)"),
    ]


def _curve_legend(states: set[str], best: str | None, promoted: bool = False) -> list[Line2D]:
    """Stand-in legend entries: one per state shown, not one per trial."""
    handles = [Line2D([], [], color="C0", label="completed or running (a colour each)")]
    for state, colour in STATE_COLOURS.items():
        if state == TrialState.PAUSED and state in states:
            handles.append(
                Line2D([], [], color=colour, marker=PAUSE_MARKER, ms=9, label=STILL_PAUSED_LABEL)
            )
        elif state in states:
            marker = "x" if state == TrialState.DIVERGED else "."
            handles.append(Line2D([], [], color=colour, marker=marker, label=state))
    if promoted:
        ring = Line2D([], [], linestyle="none", marker="o", ms=7, mfc="white", mec="0.3")
        ring.set_label(PROMOTED_LABEL)
        handles.append(ring)
    if best is not None:
        handles.append(Line2D([], [], color="black", linewidth=2.4, label=f"best ({best})"))
    return handles

"""The sweep report's figures, each a matplotlib Figure whose data tests can read back.

Every hyperparameter is drawn on its own scale (see `param_axis`). Artists carry a `gid`:
a trial's curve or parallel-coordinates line its trial id, a stage's box `box:STAGE`, a rung
marker `rung:EPOCH`, the pauses a trial was promoted from `promoted:TRIAL`, the end of a
curve still paused `paused:TRIAL`, so a test checks what is drawn without looking at pixels.

Where the sweep has a tpe stage, a trial the TPE model proposed is a filled marker and any
other (its random warm-up, another stage's sampler) a hollow one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from orchestrator.plots import epoch_axis, plain_log_axis
from orchestrator.space import (
    Choice,
    IntUniform,
    LogInt,
    LogUniform,
    OneMinusLogUniform,
    Param,
    PowerOfTwo,
    Space,
    Uniform,
)
from orchestrator.states import TrialState
from orchestrator.tpe import MODEL, WARM_UP

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


# -- promotions and proposals -------------------------------------------------------------


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
    names = {WARM_UP: "TPE's random warm-up", "": "sampler not recorded"}
    return ", ".join(names.get(k, f"{k} sampler") for k in sorted(kinds - {MODEL}))


def _model_legend(trials: pd.DataFrame) -> list[Line2D]:
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


def _faces(colours: Sequence[str], ids: pd.Index, model: pd.Series | None) -> list[str]:
    """Marker faces of the trials `ids`: each one's colour, but hollow where the sweep has a
    tpe stage and its model did not propose the trial."""
    if model is None:
        return list(colours)
    return [c if m else "none" for c, m in zip(colours, model.loc[ids], strict=True)]


# -- the cost curves --------------------------------------------------------------------


def clip_ceiling(curves: pd.DataFrame) -> float:
    """Where the curve chart is clipped: CLIP times the median first-epoch validation cost.

    A diverging trial's cost runs to 1e12 or NaN; without a ceiling it flattens every
    other curve into the bottom of the chart.
    """
    first = curves.sort_values("epoch").groupby("trial_id")["val_cost"].first().astype(float)
    first = first[np.isfinite(first) & (first > 0)]
    return CLIP * float(first.median()) if len(first) else 1.0


def curves_figure(
    trials: pd.DataFrame, curves: pd.DataFrame, best: str | None, rungs: Sequence[int]
) -> Figure:
    """Every trial's validation cost against epochs, one line each (gid: the trial id).

    Completed trials get a colour each, pruned ones grey, paused ones olive, diverged ones
    red with an × where the cost blew up; anything above the ceiling is drawn on it. A
    hollow circle marks each epoch where a trial waited at a rung and was promoted, a pause
    sign the end of a curve still waiting at its rung. The best trial is drawn again on top
    in black; rung epochs are dashed vertical lines.
    """
    fig = Figure(figsize=(10, 4.8), layout="constrained")
    ax = fig.add_subplot()
    top = clip_ceiling(curves)
    clipped = False
    promoted = promoted_pauses(trials)
    for i, (trial_id, points) in enumerate(curves.groupby("trial_id", sort=True)):
        state = (
            str(trials.loc[trial_id, "state"]) if trial_id in trials.index else TrialState.RUNNING
        )
        y = points["val_cost"].astype(float).to_numpy()
        high = ~np.isfinite(y) | (y > top)
        clipped = clipped or bool(high.any())
        y = np.where(high, top, y)
        colour = STATE_COLOURS.get(state, PALETTE[i % len(PALETTE)])
        (line,) = ax.plot(points["epoch"], y, color=colour, linewidth=1.0, marker=".", ms=4)
        line.set_gid(str(trial_id))
        line.set_label(state)
        if state == TrialState.DIVERGED:
            ax.scatter(points["epoch"].iloc[-1:], y[-1:], marker="x", s=40, color=colour, zorder=3)
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
    if best is not None and best in set(curves["trial_id"]):
        points = curves[curves["trial_id"] == best]
        (line,) = ax.plot(points["epoch"], points["val_cost"], color="black", linewidth=2.4)
        line.set_gid(f"best:{best}")
    for epoch in rungs:
        ax.axvline(epoch, color="0.5", linestyle="--", linewidth=0.7, gid=f"rung:{epoch}")
    judged = (
        "pauses or prunes" if promoted or TrialState.PAUSED in set(trials["state"]) else "prunes"
    )
    epoch_axis(ax, "epoch" + (f" (dashed: rungs, where the scheduler {judged})" if rungs else ""))
    ax.set_ylabel("validation cost")
    values = curves["val_cost"].astype(float).dropna()
    if len(values) and (values > 0).all():
        ax.set_yscale("log")  # a good trial and a poor one differ by a factor, not a step
        ax.yaxis.set_major_locator(_log_locator(float(values.min()), top))
        plain_log_axis(ax)
    if not len(values):
        ax.set_yticks([])  # every × is a trial that blew up: there is no scale to read
        ax.set_title("Validation cost of every trial: none is finite")
    else:
        ax.set_title(
            "Validation cost of every trial" + (f" (clipped at {top:.3g})" if clipped else "")
        )
    ax.grid(alpha=0.3)
    ax.legend(handles=_curve_legend(set(trials["state"]), best, bool(promoted)), fontsize=8)
    return fig


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


# -- each parameter on its own scale ----------------------------------------------------


def positions(param: Param, values: Sequence[Any]) -> np.ndarray:
    """Where values sit on the parameter's axis: 1-β for β's, the group for a choice."""
    if isinstance(param, Choice):
        return np.array([param.values.index(v) for v in values], dtype=float)
    numbers = np.asarray(values, dtype=float)
    return 1.0 - numbers if isinstance(param, OneMinusLogUniform) else numbers


def param_axis(ax: Axes, param: Param, name: str, axis: str = "x") -> None:
    """Scale, ticks and label of one parameter's axis.

    log for log-uniform parameters; 1-β on a log axis, labelled with β itself and reversed
    so β grows to the right; powers of two labelled 32, 64, 128; a choice's values as
    groups; integers with whole ticks.
    """
    target = ax.xaxis if axis == "x" else ax.yaxis
    set_scale, set_label = (
        (ax.set_xscale, ax.set_xlabel) if axis == "x" else (ax.set_yscale, ax.set_ylabel)
    )
    label = name
    if isinstance(param, Choice):
        target.set_major_locator(FixedLocator(range(len(param.values))))
        target.set_major_formatter(FuncFormatter(lambda v, _: _choice_label(param, v)))
        (ax.set_xlim if axis == "x" else ax.set_ylim)(-0.5, len(param.values) - 0.5)
    elif isinstance(param, OneMinusLogUniform):
        set_scale("log")
        target.set_major_locator(_log_locator(1 - param.high, 1 - param.low))
        target.set_major_formatter(FuncFormatter(lambda v, _: f"{1 - v:g}"))
        target.set_minor_formatter(NullFormatter())
        label = f"{name} (log scale of 1 - {name})"
    elif isinstance(param, PowerOfTwo):
        set_scale("log", base=2)
        target.set_major_locator(FixedLocator([2**k for k in param.exponents]))
        target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        target.set_minor_formatter(NullFormatter())
        label = f"{name} (powers of two)"
    elif isinstance(param, LogUniform | LogInt):
        set_scale("log")
        target.set_major_locator(_log_locator(param.low, param.high))
        plain_log_axis(ax, axis)
        label = f"{name} (log scale)"
    elif isinstance(param, IntUniform):
        target.set_major_locator(MaxNLocator(integer=True))
    if not isinstance(param, Choice):  # the whole sampled range, β growing to the right
        low, high = _padded(param)
        set_limits = ax.set_xlim if axis == "x" else ax.set_ylim
        set_limits((high, low) if isinstance(param, OneMinusLogUniform) else (low, high))
    set_label(label)


def _padded(param: Param) -> tuple[float, float]:
    """The parameter's range on its axis, with a margin so points on its ends show."""
    low, high = box_edges(param, [param.low, param.high])  # type: ignore[attr-defined]
    if isinstance(param, Uniform | IntUniform):
        margin = 0.03 * (high - low)
        return low - margin, high + margin
    factor = (high / low) ** 0.03
    return low / factor, high * factor


def _log_locator(low: float, high: float) -> LogLocator:
    """Ticks at 1, 10, 100; more per decade over a range too short for that to label much."""
    decades = math.log10(high / low)
    subs = (1.0,) if decades >= 3 else (1.0, 3.0) if decades >= 1.5 else (1.0, 2.0, 5.0)
    return LogLocator(subs=subs)


def _choice_label(param: Choice, v: float) -> str:
    i = int(round(v))
    return str(param.values[i]) if 0 <= i < len(param.values) else ""


def parameter_figure(
    trials: pd.DataFrame, space: Space, metric: str, names: Sequence[str], minimize: bool
) -> Figure:
    """The metric against each sampled hyperparameter, one panel each (gid: its name).

    Each panel's first collection holds the trials with a value (grey: pruned early, so
    judged on fewer epochs; hollow: not proposed by the TPE model, in a sweep with a tpe
    stage); diverged trials are red × on the bad edge; the best is a star.
    """
    cols = min(3, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig = Figure(figsize=(4.2 * cols, 3.4 * rows), layout="constrained")
    value = trials["best"].astype(float)
    good = (trials["state"] != TrialState.DIVERGED) & np.isfinite(value)
    finite = trials[good]
    ceiling = CLIP * float(finite["best"].median()) if minimize and len(finite) else math.inf
    best_id = None
    if len(finite):
        best_id = finite["best"].idxmin() if minimize else finite["best"].idxmax()
    model = by_model(trials)
    for k, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.set_gid(name)
        param = space.params[name]
        data = finite[active(finite, name)]
        x = _spread(param, positions(param, list(data[name])))
        y = np.minimum(data["best"].astype(float).to_numpy(), ceiling)
        colours = [STATE_COLOURS.get(str(s), "tab:blue") for s in data["state"]]
        faces = _faces(colours, data.index, model)
        ax.scatter(x, y, s=18, facecolors=faces, edgecolors=colours, linewidths=1.0, gid=name)
        if best_id is not None and best_id in data.index:
            i = list(data.index).index(best_id)
            ax.scatter(x[i : i + 1], y[i : i + 1], marker="*", s=160, color="black", gid="best")
        blown = trials[(trials["state"] == TrialState.DIVERGED) & active(trials, name)]
        if len(blown):
            edge = 0.97 if minimize else 0.03
            bx = _spread(param, positions(param, list(blown[name])))
            ax.scatter(
                bx,
                np.full(len(bx), edge),
                marker="x",
                s=30,
                color="tab:red",
                transform=ax.get_xaxis_transform(),
                gid="diverged",
            )
        param_axis(ax, param, name)
        ax.set_ylabel(metric if len(finite) else f"{metric} (none usable)")
        if not len(finite):
            ax.set_yticks([])
        if len(y) and (y > 0).all() and minimize:
            ax.set_yscale("log")  # one poor trial must not flatten all the others
            plain_log_axis(ax)
        ax.grid(alpha=0.3)
    if model is not None:
        fig.legend(handles=_model_legend(trials), loc="outside upper center", ncols=2, fontsize=8)
    return fig


def _spread(param: Param, x: np.ndarray) -> np.ndarray:
    """A choice's points spread evenly across their group, so they do not hide each other."""
    if not isinstance(param, Choice) or not len(x):
        return x
    out = x.copy()
    for group in np.unique(x):
        where = np.flatnonzero(x == group)
        out[where] += np.linspace(-0.25, 0.25, len(where)) if len(where) > 1 else 0.0
    return out


# -- the top trials, and the stages ----------------------------------------------------


def parallel_figure(
    top: pd.DataFrame,
    space: Space,
    names: Sequence[str],
    metric: str,
    best: str | None,
    minimize: bool = True,
    model: pd.Series | None = None,
) -> Figure:
    """The top trials as lines across one axis per hyperparameter and the metric.

    Each axis spans its parameter's range on the parameter's own scale (its unit
    coordinate), with the range's ends written at its ends; the best line is black. In a
    sweep with a tpe stage (`model`: `by_model` of all its trials) a line's markers are
    hollow unless the TPE model proposed it.
    """
    fig = Figure(figsize=(10, 4.4), layout="constrained")
    ax = fig.add_subplot()
    axes = [*names, metric]
    places, metric_low, metric_high = metric_places(top["best"].to_numpy(float), minimize)
    model = by_model(top) if model is None else model.loc[top.index]
    for i, (trial_id, row) in enumerate(top.iterrows()):
        ys = [np.nan if _missing(row[n]) else unit(space.params[n], row[n]) for n in names]
        is_best = str(trial_id) == best
        colour = "black" if is_best else PALETTE[i % len(PALETTE)]
        (line,) = ax.plot(
            range(len(axes)),
            [*ys, places[i]],
            marker="o",
            alpha=0.85,
            color=colour,
            mfc=colour if model is None or model.iloc[i] else "white",
            linewidth=2.4 if is_best else 1.2,
            zorder=3 if is_best else 2,
        )
        line.set_gid(str(trial_id))
    ends = [_range_ends(space.params[n]) for n in names] + [(metric_low, metric_high)]
    for i, (low, high) in enumerate(ends):
        ax.text(i, -0.08, low, ha="center", va="center", fontsize=7)
        ax.text(i, 1.08, high, ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(axes)), axes, rotation=15)
    ax.set_yticks([])
    ax.set_ylabel("place in each axis's range")
    ax.set_ylim(-0.15, 1.15)
    ax.set_title(f"Top {len(top)} trials (black: the best)")
    ax.grid(axis="x", alpha=0.5)
    if model is not None:
        fig.legend(handles=_model_legend(top), loc="outside lower center", ncols=2, fontsize=8)
    return fig


def metric_places(values: np.ndarray, minimize: bool) -> tuple[np.ndarray, str, str]:
    """Each value's place in [0, 1] on the metric's axis, and the axis's end labels.

    Costs spanning decades go on a log scale, and a cost above CLIP times the median is
    drawn at that ceiling, so one poor trial does not squash the others together.
    """
    ceiling = CLIP * float(np.median(values)) if minimize and (values > 0).all() else math.inf
    shown = np.minimum(values, ceiling)
    log = bool((shown > 0).all()) and shown.max() > 10 * shown.min()
    scaled = np.log(shown) if log else shown
    lo, hi = float(scaled.min()), float(scaled.max())
    places = np.full(len(values), 0.5) if hi == lo else (scaled - lo) / (hi - lo)
    over = ">= " if (values > ceiling).any() else ""
    return places, _number(shown.min()), over + _number(shown.max()) + (" (log)" if log else "")


def _range_ends(param: Param) -> tuple[str, str]:
    if isinstance(param, Choice):
        return str(param.values[0]), str(param.values[-1])
    return _number(param.from_unit(0.0)), _number(param.from_unit(math.nextafter(1.0, 0.0)))


def _number(value: float) -> str:
    return f"{value:.4g}"


def importance(trials: pd.DataFrame, space: Space, names: Sequence[str]) -> dict[str, float]:
    """|Spearman rank correlation| of each ordered parameter's value with the metric, largest
    first. A category (no order to rank by) and a parameter with fewer than 3 trials or a
    single value are left out."""
    from scipy.stats import spearmanr

    value = trials["best"].astype(float)
    finite = trials[(trials["state"] != TrialState.DIVERGED) & np.isfinite(value)]
    out: dict[str, float] = {}
    for name in names:
        data = finite[active(finite, name)]
        if len(data) < 3 or not space.params[name].ordered:
            continue
        units = [unit(space.params[name], v) for v in data[name]]
        if len(set(units)) < 2 or data["best"].nunique() < 2:
            continue  # a constant says nothing about importance
        rho = spearmanr(units, data["best"]).statistic
        if np.isfinite(rho):
            out[name] = abs(float(rho))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def box_edges(param: Param, box: Sequence[Any]) -> tuple[float, float]:
    """A stage's [low, high] on the parameter's axis; an integer box covers whole steps."""
    low, high = float(box[0]), float(box[1])
    if isinstance(param, PowerOfTwo):
        low, high = low / math.sqrt(2), high * math.sqrt(2)
    elif isinstance(param, IntUniform | LogInt):
        low, high = low - 0.5, high + 0.5
    a, b = positions(param, [low, high])
    return float(min(a, b)), float(max(a, b))


def stages_figure(
    trials: pd.DataFrame, space: Space, pair: Sequence[str], boxes: Mapping[int, Any]
) -> Figure:
    """Each stage's sampling box (gid `box:STAGE`) and its trials, on two parameters."""
    fig = Figure(figsize=(6.5, 5.2), layout="constrained")
    ax = fig.add_subplot()
    x_name, y_name = pair
    px, py = space.params[x_name], space.params[y_name]
    model = by_model(trials)
    handles: list[Line2D] = []  # filled, whatever the first trial of a stage was
    for stage, box in sorted(boxes.items()):
        colour = PALETTE[stage % len(PALETTE)]
        handles.append(
            Line2D([], [], linestyle="none", marker="o", color=colour, label=f"stage {stage + 1}")
        )
        if x_name in box and y_name in box:
            (x0, x1), (y0, y1) = box_edges(px, box[x_name]), box_edges(py, box[y_name])
            rect = Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color=colour, lw=1.5)
            rect.set_gid(f"box:{stage}")
            ax.add_patch(rect)
        rows = trials[trials["stage"] == stage]
        rows = rows[active(rows, x_name) & active(rows, y_name)]
        ax.scatter(
            positions(px, list(rows[x_name])),
            positions(py, list(rows[y_name])),
            s=18,
            facecolors=_faces([colour] * len(rows), rows.index, model),
            edgecolors=colour,
            gid=f"stage:{stage}",
        )
    param_axis(ax, px, x_name, "x")
    param_axis(ax, py, y_name, "y")
    ax.set_title("Coarse to fine: each stage's sampling box")
    ax.grid(alpha=0.3)
    ax.legend(handles=[*handles, *([] if model is None else _model_legend(trials))], fontsize=8)
    return fig


def unit(param: Param, value: Any) -> float:
    """A stored value's unit coordinate (integers come back from pandas as floats)."""
    if isinstance(param, IntUniform | LogInt | PowerOfTwo):
        value = int(value)
    return float(param.to_unit(value))


def active(trials: pd.DataFrame, name: str) -> pd.Series:
    """Which trials have a value for `name` (a conditional parameter may be inactive)."""
    return trials[name].map(lambda v: not _missing(v)).astype(bool)  # bool even when empty


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))

"""The report's figure of the metric against each hyperparameter, and what it shares with the
others: where a value sits on its parameter's own scale (`positions`, `param_axis`, `unit`,
`box_edges`) and which parameters rank the trials best (`rank_correlations`, which orders
the panels; the share of the variation each explains is `orchestrator.report.importance`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter

from caviar_common.states import TrialState
from orchestrator.report.common import (
    CLIP,
    STATE_COLOURS,
    active,
    by_model,
    edge_width,
    fills,
    log_locator,
    marker_size,
    model_legend,
    scatter_groups,
)
from orchestrator.report.plots import plain_log_axis
from orchestrator.search.space import (
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
        target.set_major_locator(log_locator(1 - param.high, 1 - param.low))
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
        target.set_major_locator(log_locator(param.low, param.high))
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


def _choice_label(param: Choice, v: float) -> str:
    i = int(round(v))
    return str(param.values[i]) if 0 <= i < len(param.values) else ""


def parameter_figure(
    trials: pd.DataFrame, space: Space, metric: str, names: Sequence[str], minimize: bool
) -> Figure:
    """The metric against each sampled hyperparameter, one panel each (gid: its name).

    The collections with the panel's gid hold the trials with a value, one per colour and
    fill (grey: pruned early, so judged on fewer epochs; hollow: not proposed by the TPE
    model, in a sweep with a tpe stage); diverged trials are red × on the bad edge (gid
    `diverged`); the best is a star (gid `best`).
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
    size, width = marker_size(len(finite)), edge_width(len(finite))
    colour = finite["state"].map(lambda s: STATE_COLOURS.get(str(s), "tab:blue"))
    for k, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.set_gid(name)
        param = space.params[name]
        data = finite[active(finite, name)]
        x = _spread(param, positions(param, list(data[name])))
        y = np.minimum(data["best"].astype(float).to_numpy(), ceiling)
        colours = colour.loc[data.index].tolist()
        scatter_groups(ax, x, y, colours, fills(data.index, model), name, size, linewidths=width)
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
        fig.legend(handles=model_legend(trials), loc="outside upper center", ncols=2, fontsize=8)
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


def rank_correlations(trials: pd.DataFrame, space: Space, names: Sequence[str]) -> dict[str, float]:
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
        # An ordered parameter's unit coordinate grows with its value, so the values rank
        # as their coordinates do: no need to map thousands of them one by one.
        values = data[name].astype(float)
        if values.nunique() < 2 or data["best"].nunique() < 2:
            continue  # a constant says nothing about importance
        rho = spearmanr(values, data["best"]).statistic
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


def unit(param: Param, value: Any) -> float:
    """A stored value's unit coordinate (integers come back from pandas as floats)."""
    if isinstance(param, IntUniform | LogInt | PowerOfTwo):
        value = int(value)
    return float(param.to_unit(value))

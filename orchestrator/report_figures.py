"""The sweep report's figures, each a matplotlib Figure whose data tests can read back.

Every hyperparameter is drawn on its own scale: a log axis for log-uniform parameters,
1-β on a log axis for momentum-like ones, powers of two for batch sizes, groups for
categories. Lines and points carry the trial id as their `gid`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from orchestrator import plots  # noqa: F401  (selects the Agg backend)
from orchestrator.space import (
    Choice,
    IntUniform,
    LogInt,
    LogUniform,
    OneMinusLogUniform,
    Param,
    PowerOfTwo,
    Space,
)

STATE_COLOURS = {"pruned": "0.72", "diverged": "tab:red", "stopped": "0.55", "failed": "0.4"}
CLIP = 5.0  # diverged curves are clipped at this many times the best final cost


def curves_figure(
    trials: pd.DataFrame, curves: pd.DataFrame, best: str | None, rungs: Sequence[int]
) -> Figure:
    """Every trial's validation cost against epochs; rung epochs as dashed lines."""
    fig = Figure(figsize=(10, 4.8), layout="constrained")
    ax = fig.add_subplot()
    finite = curves["val_cost"].replace([np.inf, -np.inf], np.nan).dropna()
    top = CLIP * float(finite.min()) if len(finite) else 1.0
    for i, (trial_id, points) in enumerate(curves.groupby("trial_id", sort=True)):
        state = trials.loc[trial_id, "state"] if trial_id in trials.index else "running"
        y = points["val_cost"].clip(upper=top) if state == "diverged" else points["val_cost"]
        colour = STATE_COLOURS.get(state, f"C{i % 10}")
        (line,) = ax.plot(
            points["epoch"], y, color=colour, linewidth=1.0, alpha=0.9, marker=".", markersize=4
        )
        line.set_gid(trial_id)
        line.set_label(state)
    if best is not None and best in set(curves["trial_id"]):
        points = curves[curves["trial_id"] == best]
        (line,) = ax.plot(points["epoch"], points["val_cost"], color="black", linewidth=2.4)
        line.set_gid(f"best:{best}")
        line.set_label(f"best ({best})")
    for epoch in rungs:
        ax.axvline(epoch, color="0.5", linestyle="--", linewidth=0.7)
    ax.set_xlabel("epoch (dashed: rungs)")
    ax.set_ylabel("validation cost")
    if len(finite) and (finite > 0).all():
        ax.set_yscale("log")  # costs span decades between a good trial and a wild one
    ax.set_title("Validation cost of every trial")
    ax.grid(alpha=0.3)
    handles = {str(h.get_label()): h for h in ax.get_lines()}
    shown = {k: h for k, h in handles.items() if not k.startswith("_")}
    if shown:
        ax.legend(list(shown.values()), list(shown), fontsize=8)
    return fig


def axis_values(param: Param, values: pd.Series) -> tuple[pd.Series, str, str]:
    """Values as plotted, the x scale, and the axis label suffix for one parameter."""
    if isinstance(param, OneMinusLogUniform):
        return 1.0 - values.astype(float), "log", " as 1 - value (log)"
    if isinstance(param, LogUniform | LogInt):
        return values.astype(float), "log", " (log)"
    if isinstance(param, PowerOfTwo):
        return values.astype(float), "log2", " (powers of two)"
    return values, "linear", ""


def parameter_figure(
    trials: pd.DataFrame, space: Space, metric: str, names: Sequence[str]
) -> Figure:
    """The metric against each sampled hyperparameter, each on its own scale."""
    cols = min(3, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig = Figure(figsize=(4.2 * cols, 3.4 * rows), layout="constrained")
    finite = trials[trials["best"].map(_finite).astype(bool)]
    for k, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.set_gid(name)
        data = finite[finite[name].notna()]
        param = space.params[name]
        if isinstance(param, Choice):
            groups = [str(v) for v in param.values]
            for i, value in enumerate(param.values):
                ys = data[data[name] == value]["best"]
                xs = np.full(len(ys), i, dtype=float)
                ax.scatter(xs, ys, s=14, gid=name)
            ax.set_xticks(range(len(groups)), groups)
            ax.set_xlabel(name)
        else:
            xs, scale, suffix = axis_values(param, data[name])
            ax.scatter(xs, data["best"], s=14, gid=name)
            if scale == "log2":
                ax.set_xscale("log", base=2)
            else:
                ax.set_xscale(scale)
            ax.set_xlabel(name + suffix)
        ax.set_ylabel(metric)
        if len(data) and (data["best"] > 0).all():
            ax.set_yscale("log")  # one wild trial must not flatten all the others
        ax.grid(alpha=0.3)
    return fig


def parallel_figure(top: pd.DataFrame, space: Space, names: Sequence[str], metric: str) -> Figure:
    """The top trials as lines across one axis per hyperparameter (unit scale) and the metric."""
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax = fig.add_subplot()
    axes = [*names, metric]
    values = top["best"].astype(float)
    lo, hi = float(values.min()), float(values.max())
    for i, (trial_id, row) in enumerate(top.iterrows()):
        ys = []
        for name in names:
            value = row[name]
            ys.append(np.nan if _missing(value) else unit(space.params[name], value))
        ys.append(0.5 if hi == lo else (row["best"] - lo) / (hi - lo))
        (line,) = ax.plot(range(len(axes)), ys, marker="o", color=f"C{i % 10}", alpha=0.8)
        line.set_gid(str(trial_id))
    ax.set_xticks(range(len(axes)), axes, rotation=20)
    ax.set_ylabel("position on each parameter's own scale (0 = low, 1 = high)")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(f"Top {len(top)} trials")
    ax.grid(alpha=0.3)
    return fig


def importance(trials: pd.DataFrame, space: Space, names: Sequence[str]) -> dict[str, float]:
    """|Spearman rank correlation| of each parameter's unit coordinate with the metric."""
    from scipy.stats import spearmanr

    finite = trials[trials["best"].map(_finite).astype(bool)]
    out: dict[str, float] = {}
    for name in names:
        data = finite[finite[name].map(lambda v: not _missing(v))]
        if len(data) < 3:
            continue
        units = [unit(space.params[name], v) for v in data[name]]
        if len(set(units)) < 2 or data["best"].nunique() < 2:
            continue  # a constant says nothing about importance
        rho = spearmanr(units, data["best"]).statistic
        if np.isfinite(rho):
            out[name] = abs(float(rho))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def stages_figure(
    trials: pd.DataFrame, space: Space, pair: Sequence[str], boxes: Mapping[int, Any]
) -> Figure:
    """Each stage's sampling box and samples on the two most important parameters."""
    from matplotlib.patches import Rectangle

    fig = Figure(figsize=(6.5, 5.2), layout="constrained")
    ax = fig.add_subplot()
    x_name, y_name = pair
    for stage, box in sorted(boxes.items()):
        colour = f"C{stage % 10}"
        (x0, x1), (y0, y1) = box[x_name], box[y_name]
        x_lo, x_hi = sorted(unit(space.params[x_name], v) for v in (x0, x1))
        y_lo, y_hi = sorted(unit(space.params[y_name], v) for v in (y0, y1))
        rect = Rectangle((x_lo, y_lo), x_hi - x_lo, y_hi - y_lo, fill=False, color=colour)
        rect.set_gid(f"box:{stage}")
        ax.add_patch(rect)
        rows = trials[trials["stage"] == stage]
        xs = [unit(space.params[x_name], v) for v in rows[x_name]]
        ys = [unit(space.params[y_name], v) for v in rows[y_name]]
        ax.scatter(xs, ys, s=16, color=colour, label=f"stage {stage + 1}", gid=f"stage:{stage}")
    ax.set_xlabel(f"{x_name} (unit scale)")
    ax.set_ylabel(f"{y_name} (unit scale)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Coarse to fine: each stage's sampling box")
    ax.legend(fontsize=8)
    return fig


def unit(param: Param, value: Any) -> float:
    """A stored value's unit coordinate (integers come back from pandas as floats)."""
    if isinstance(param, IntUniform | LogInt | PowerOfTwo):
        value = int(value)
    return float(param.to_unit(value))


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(value)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))

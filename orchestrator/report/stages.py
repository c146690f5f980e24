"""The report's figures of the best trials across every hyperparameter (parallel
coordinates) and, for coarse-to-fine sweeps, of each stage's sampling box.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from orchestrator.report.common import (
    CLIP,
    PALETTE,
    active,
    by_model,
    edge_width,
    fills,
    marker_size,
    missing,
    model_legend,
    scatter_groups,
)
from orchestrator.report.params import box_edges, param_axis, positions, unit
from orchestrator.search.space import Choice, Param, Space


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
        ys = [np.nan if missing(row[n]) else unit(space.params[n], row[n]) for n in names]
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
        fig.legend(handles=model_legend(top), loc="outside lower center", ncols=2, fontsize=8)
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
    size = marker_size(len(trials))
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
        scatter_groups(
            ax,
            positions(px, list(rows[x_name])),
            positions(py, list(rows[y_name])),
            [colour] * len(rows),
            fills(rows.index, model),
            f"stage:{stage}",
            size,
            linewidths=edge_width(len(trials)),
        )
    param_axis(ax, px, x_name, "x")
    param_axis(ax, py, y_name, "y")
    ax.set_title("Coarse to fine: each stage's sampling box")
    ax.grid(alpha=0.3)
    ax.legend(handles=[*handles, *([] if model is None else model_legend(trials))], fontsize=8)
    return fig

"""compare.py's anytime curves: best validation cost so far against wall time and against
epochs, one pair of panels per dataset.

The seed also draws the validation split, so each curve is divided by the best value any
run found with its seed: 1 is the best anyone found, curves of different seeds share a
scale, and the median over seeds (min-max shaded) means something.
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.frameworks.rows import ROWS, Budget, Measure, Plan

COLORS = (
    "#1f4e9c",
    "#3b82c4",
    "#2a9d8f",
    "#7fb800",
    "#c51b7d",
    "#8c510a",
    "#d95f02",
    "#f4a259",
    "#7b3294",
)


def plot(measures: list[Measure], plan: Plan, path: Path) -> None:
    """Draw every dataset's pair of panels and write the PNG to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(plan.budgets), 2, figsize=(12, 4.2 * len(plan.budgets)), squeeze=False
    )
    for (ax_t, ax_e), budget in zip(axes, plan.budgets, strict=True):
        mine = [m for m in measures if m.budget == budget.name and m.ok]
        seed_best: dict[int, float] = {}
        for m in mine:
            seed_best[m.rep] = min(seed_best.get(m.rep, math.inf), m.best(1, 1.0))
        for color, row in zip(COLORS, ROWS, strict=True):
            runs = [m for m in mine if m.row == row.label]
            if runs:
                label = f"{row.label} ({len(runs)})"
                draw(ax_t, runs, seed_best, lambda m: [p[0] for p in m.points], _wall, color, label)
                draw(
                    ax_e,
                    runs,
                    seed_best,
                    lambda m: list(range(1, m.epochs + 1)),
                    _epochs,
                    color,
                    label,
                )
        style(ax_t, ax_e, budget)
    fig.suptitle(
        "Anytime curves: best validation cost so far over the best any run found with the "
        "same seed (1 = that best); median over seeds, min-max shaded",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _times(m: Measure) -> list[float]:
    return [p[0] for p in m.points]


def _epoch_numbers(m: Measure) -> list[float]:
    return list(range(1, m.epochs + 1))


def _wall(m: Measure) -> float:
    return m.wall


def _epochs(m: Measure) -> float:
    return m.epochs


def draw(
    ax: Any,
    runs: list[Measure],
    seed_best: dict[int, float],
    x_of: Callable[[Measure], list[float]],
    end_of: Callable[[Measure], float],
    color: str,
    label: str,
) -> None:
    """One row's median curve over its runs, shaded between their min and max."""
    import numpy as np

    end = statistics.median(end_of(m) for m in runs)
    grid = np.linspace(0, max(end_of(m) for m in runs), 400)
    curves = np.array([best_so_far(x_of(m), m, grid) / seed_best[m.rep] for m in runs])
    # inf (no epoch yet) keeps the median monotone: it appears once half have one
    mid = np.median(curves, axis=0)
    shown = (grid <= end) & np.isfinite(mid)
    ax.plot(grid[shown], mid[shown], color=color, label=label)
    if len(runs) > 1:
        finite = np.where(np.isfinite(curves), curves, np.nan)
        some = shown & np.isfinite(finite).any(axis=0)
        with warnings.catch_warnings():  # all-NaN columns are masked out anyway
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanmin(finite, axis=0), np.nanmax(finite, axis=0)
        ax.fill_between(grid[some], lo[some], hi[some], color=color, alpha=0.12)


def style(ax_t: Any, ax_e: Any, budget: Budget) -> None:
    """Axes, scales and titles of one dataset's pair of panels."""
    title = f"{budget.name}: {budget.trials} trials x {budget.epochs} epochs"
    for ax, xlabel in (
        (ax_t, "wall time since the process was launched, s"),
        (ax_e, "epochs trained, all trials"),
    ):
        ax.set_yscale("log")
        ax.set_ylim(0.97, 3)  # from 3x the best down: where runs differ
        ax.set_yticks([1, 1.1, 1.25, 1.5, 2, 3], ["1", "1.1", "1.25", "1.5", "2", "3"])
        ax.minorticks_off()
        ax.set_xlabel(xlabel)
        ax.set_ylabel("best val cost so far / best of the seed")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    ax_e.legend(fontsize=8)


def best_so_far(xs: Sequence[float], m: Measure, grid: Any) -> Any:
    """The best finite val_cost among the points at or before each grid value (inf before)."""
    import numpy as np

    values = np.array([p[1] if math.isfinite(p[1]) else np.inf for p in m.points])
    if not len(values):
        return np.full(len(grid), np.inf)
    running = np.minimum.accumulate(values)
    idx = np.searchsorted(np.asarray(xs, dtype=float), grid, side="right") - 1
    return np.where(idx >= 0, running[np.clip(idx, 0, None)], np.inf)

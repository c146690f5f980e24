"""quality.py's figure: median regret over seeds against the share of the FIFO budget (top
row: epochs, bottom row: simulated time), one panel per task, one line per method (dashed:
the anchors, run by Syne Tune and DEHB)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from benchmarks.tuning.methods import ANCHORS, Settings
from benchmarks.tuning.regret import curve


def plot(raw: dict[str, Any], path: Path) -> None:
    """Median regret over seeds against the share of the FIFO budget (top row: epochs,
    bottom row: simulated time), one panel per task, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    meta, pairs = raw["meta"], raw["pairs"]
    settings = Settings(**meta["settings"])
    tasks = [t for t in meta["tasks"] if any(p["task"] == t for p in pairs)]
    grid = np.geomspace(0.5 / settings.budget, 1.0, 200)
    fig, axes = plt.subplots(2, len(tasks), figsize=(3.6 * len(tasks), 6.4), squeeze=False)
    methods = meta["methods"]
    colors = plt.get_cmap("tab10" if len(methods) <= 10 else "tab20")
    for col, task in enumerate(tasks):
        mine = [p for p in pairs if p["task"] == task]
        for row, (column, xlabel) in enumerate(((0, "epochs / FIFO's"), (1, "time / FIFO's"))):
            ax = axes[row][col]
            for i, method in enumerate(methods):
                runs = [p for p in mine if "skipped" not in p["runs"].get(method, {"skipped": 1})]
                if not runs:
                    continue
                ys = np.median([curve(p, method, grid, column, settings) for p in runs], axis=0)
                bold = method == meta["default"]
                ax.plot(
                    grid,
                    ys,
                    label=method,
                    color=colors(i % colors.N),
                    lw=2.4 if bold else 1.2,
                    ls="--" if method in ANCHORS else "-",  # another library's run
                    gid=f"{task}/{method}/{'epochs' if column == 0 else 'time'}",
                )
            ax.set_xscale("log")
            # regrets span 1e-4..1 (1 is about chance level): log above 1e-3, linear below
            ax.set_yscale("symlog", linthresh=1e-3)
            ax.set_ylim(0, 1.05)
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(task)
            if col == 0:
                ax.set_ylabel("normalized regret (median)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    ncol = max(2, min(5, len(tasks) * 3 // 2))  # about 2.4 inches a label
    rows = math.ceil(len(labels) / ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8)
    fig.tight_layout(rect=(0, 0.035 * rows + 0.01, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)

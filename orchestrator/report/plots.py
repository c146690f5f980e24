"""Cost-curve drawing with matplotlib, shared by panda mode and the sweep report.

Figures are built as `Figure` objects, never through pyplot: nothing global is touched (a
notebook's backend stays as it was), and a report rewritten every few seconds leaks none.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter


def epoch_axis(ax: Axes, label: str = "epoch") -> None:
    """Epochs are whole numbers: no tick at epoch 2.5."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(label)


def plain_log_axis(ax: Axes, axis: str = "y") -> None:
    """A log scale labelled 0.1, 1, 10 rather than 10⁻¹, 10⁰, 10¹, minor ticks unlabelled."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda v, _: short_number(v)))
    target.set_minor_formatter(NullFormatter())


def short_number(value: float) -> str:
    """0.01, 2.5, 300 as they are; 3e5 and 1e-5 beyond, so tick labels stay short."""
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:g}"
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def draw_cost_curve(ax: Axes, curve: pd.DataFrame, batches: pd.DataFrame | None = None) -> None:
    """One model's costs against epochs: the noisy mini-batch costs, train and validation cost.

    `curve` has columns epoch, train_cost, val_cost; `batches` has epoch, batch, cost. A
    mini-batch cost is drawn at its fractional epoch, so its noise shows around the mean.
    """
    if batches is not None and len(batches):
        per_epoch = batches.groupby("epoch")["batch"].transform("max")
        x = batches["epoch"] - 1 + batches["batch"] / per_epoch
        ax.plot(x, batches["cost"], color="0.75", linewidth=0.6, label="mini-batch cost")
    ax.plot(curve["epoch"], curve["train_cost"], marker=".", label="train cost (epoch mean)")
    ax.plot(curve["epoch"], curve["val_cost"], marker=".", label="validation cost")
    epoch_axis(ax)
    ax.set_ylabel("cost (cross-entropy)")
    ax.grid(alpha=0.3)
    ax.legend()


def training_figure(
    curve: pd.DataFrame, batches: pd.DataFrame | None = None, title: str = ""
) -> Figure:
    """Costs on the left, validation accuracy on the right."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    draw_cost_curve(left, curve, batches)
    right.plot(curve["epoch"], curve["val_accuracy"], marker=".", color="tab:green")
    epoch_axis(right)
    right.set_ylabel("validation accuracy")
    right.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


def save_training_plot(curve_csv: Path, batches_csv: Path | None, png: Path, title: str) -> None:
    curve = pd.read_csv(curve_csv)
    batches = pd.read_csv(batches_csv) if batches_csv is not None else None
    fig = training_figure(curve, batches, title)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)

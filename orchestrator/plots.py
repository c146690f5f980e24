"""Cost-curve drawing with matplotlib, shared by panda mode and the sweep report."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or wanted

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


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
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost (cross-entropy)")
    ax.grid(alpha=0.3)
    ax.legend()


def training_figure(
    curve: pd.DataFrame, batches: pd.DataFrame | None = None, title: str = ""
) -> Figure:
    """Costs on the left, validation accuracy on the right."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    draw_cost_curve(left, curve, batches)
    right.plot(curve["epoch"], curve["val_accuracy"], marker=".", color="tab:green")
    right.set_xlabel("epoch")
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
    plt.close(fig)

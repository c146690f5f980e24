"""Training one model in the open (`caviar train`, panda mode): its cost printed every epoch,
its curve, mini-batch costs and weights kept on disk."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from caviar_common.curves import CURVE_COLUMNS, EpochRecord
from caviar_common.errors import InputError
from workers.data.datasets import Dataset
from workers.mlp.trainer import Trainer, state_to_bytes

BATCH_COLUMNS = ("epoch", "batch", "cost")


@dataclass(frozen=True)
class TrainResult:
    """Where one panda-mode run left its files, and how far it got."""

    out_dir: Path
    epochs_run: int
    best_epoch: int | None
    best_val_cost: float
    diverged: bool

    @property
    def curve_path(self) -> Path:
        return self.out_dir / "curve.csv"

    @property
    def batches_path(self) -> Path:
        return self.out_dir / "batch_costs.csv"

    @property
    def model_path(self) -> Path:
        return self.out_dir / "model.npz"


def prepare_out_dir(out_dir: Path) -> None:
    """Create `out_dir`; refuse one that already holds a curve, so nothing is overwritten."""
    if (out_dir / "curve.csv").exists():
        raise InputError(
            "--out",
            f"{out_dir} already holds a training curve",
            hint="choose another directory (results already written are never overwritten)",
        )
    out_dir.mkdir(parents=True, exist_ok=True)


def train(
    config: Mapping[str, Any],
    dataset: Dataset,
    *,
    epochs: int,
    seed: int,
    out_dir: Path,
    echo: Callable[[str], None] = print,
) -> TrainResult:
    """Train one model for `epochs`, echoing a line and appending a CSV row per epoch.

    The curve files are flushed after every epoch, so an interrupted run keeps its curve.
    """
    trainer = Trainer(config, dataset, seed)
    prepare_out_dir(out_dir)
    echo(f"{dataset!r}")
    echo(f"{trainer.model!r}; {_describe(trainer)}")
    echo(f"{'epoch':>5}  {'train cost':>10}  {'val cost':>9}  {'val acc':>7}  {'seconds':>7}")
    best_epoch, best = None, math.inf
    record: EpochRecord | None = None
    with (
        _csv(out_dir / "curve.csv", CURVE_COLUMNS) as (curve, cf),
        _csv(out_dir / "batch_costs.csv", BATCH_COLUMNS) as (batches, bf),
    ):
        for _ in range(epochs):
            record = trainer.step()
            curve.writerow([getattr(record, c) for c in CURVE_COLUMNS])
            batches.writerows([record.epoch, i + 1, c] for i, c in enumerate(record.batch_costs))
            cf.flush()
            bf.flush()
            if record.diverged:
                echo(f"{record.epoch:>5}  diverged: {record.message}")
                break
            echo(
                f"{record.epoch:>5}  {record.train_cost:>10.4f}  {record.val_cost:>9.4f}  "
                f"{record.val_accuracy:>7.4f}  {record.seconds:>7.3f}"
            )
            if record.val_cost < best:
                best_epoch, best = record.epoch, record.val_cost
    (out_dir / "model.npz").write_bytes(state_to_bytes(trainer.state_dict()))
    return TrainResult(out_dir, trainer.epoch, best_epoch, best, trainer.diverged)


def _describe(trainer: Trainer) -> str:
    cfg = trainer.config
    extra = {
        "gd": "",
        "momentum": f", beta={cfg.beta}",
        "rmsprop": f", beta2={cfg.beta2}, epsilon={cfg.epsilon:g}",
        "adam": f", beta1={cfg.beta1}, beta2={cfg.beta2}, epsilon={cfg.epsilon:g}",
    }[cfg.optimizer]
    decay = "" if cfg.lr_decay == "none" else f", {cfg.lr_decay} decay {cfg.decay_rate:g}"
    l2 = f", l2={cfg.l2:g}" if cfg.l2 else ""
    return (
        f"{cfg.optimizer}{extra}, learning_rate={cfg.learning_rate:g}{decay}, "
        f"batch_size={cfg.batch_size}{l2}"
    )


@contextmanager
def _csv(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[Any, TextIO]]:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        yield writer, f

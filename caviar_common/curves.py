"""One epoch of one trial: the record a worker returns, the curve columns stored of it, and
when a value counts as diverged.

`EpochRecord` is the single definition: the store's `curves` table, `load_run(...).curves`
and `caviar train`'s curve.csv all take their columns from `CURVE_COLUMNS` below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

# A cost this large is an overflow in all but name; it must never rank as a best value.
DIVERGED_ABOVE = 1e30


def diverged(value: float) -> bool:
    """Whether a metric value means the trial blew up: NaN, infinite or absurdly large."""
    return not math.isfinite(value) or abs(value) >= DIVERGED_ABOVE


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch produced; plain values only, so it crosses process boundaries."""

    epoch: int  # 1 for the first epoch trained
    train_cost: float  # mean of the mini-batch costs, weighted by batch size (includes L2)
    batch_costs: tuple[float, ...]
    val_cost: float  # cross-entropy on the validation set, evaluation-mode batch norm
    val_accuracy: float
    # α at this epoch: the configured rate α₀ (a trial's `learning_rate`) after its decay
    decayed_learning_rate: float
    seconds: float
    diverged: bool = False
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        # shallow: the fields are immutable (asdict would deep-copy the per-batch costs)
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __repr__(self) -> str:
        state = f", DIVERGED: {self.message}" if self.diverged else ""
        return (
            f"EpochRecord(epoch={self.epoch}, train_cost={self.train_cost:.4f}, "
            f"val_cost={self.val_cost:.4f}, val_accuracy={self.val_accuracy:.4f}, "
            f"seconds={self.seconds:.3f}{state})"
        )


# What a curve keeps of each record: every field but the per-batch costs and the message.
CURVE_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in fields(EpochRecord) if f.name not in ("batch_costs", "message")
)
# The columns that hold a number per epoch: all but the first (the epoch) and the last
# (the divergence flag), which the record's field order puts at either end.
VALUE_COLUMNS: tuple[str, ...] = CURVE_COLUMNS[1:-1]
_NOT_EXTRA = frozenset((*CURVE_COLUMNS, "batch_costs", "message"))


def is_extra(field: str) -> bool:
    """Whether a record's field is a trainer's own (stored as an extra curve column): not
    a curve column, nor the per-batch costs or the message a record may carry."""
    return field not in _NOT_EXTRA

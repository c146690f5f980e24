"""The typed records that come out of a sweep store: the sweep's keys, a trial, a curve point,
and a run's curves as columns.

Plain frozen dataclasses, no SQL: the store and its reader build them, everything else
reads their attributes (a misspelt field is a mypy error, not a KeyError at run time).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from caviar_common.states import TrialState

UNKNOWN_STATE = "unknown"  # a sweep whose state key was never written


@dataclass(frozen=True)
class SweepMeta:
    """The sweep table: the sweep file as read, its state and the driver's stamps."""

    source: dict[str, Any]  # the sweep file as read, in its own key order
    state: str  # a SweepState, or "unknown" in a store that never recorded one
    created: float | None  # Store.create's stamp, by the store's clock
    ended: float | None  # when the sweep finished
    first_result: float | None  # when the first epoch's result arrived
    driver: dict[str, Any] | None  # pid and host of the last driver, its CPU and memory
    base_dir: str | None  # where relative dataset paths of the sweep file are resolved
    sweep_file: str | None  # the file the sweep was started from

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> SweepMeta:
        """From the sweep table's decoded key-value pairs; keys not known here are ignored."""
        source = values.get("source")
        driver = values.get("driver")
        return cls(
            source=source if isinstance(source, dict) else {},
            state=str(values.get("state", UNKNOWN_STATE)),
            created=_number(values.get("created")),
            ended=_number(values.get("ended")),
            first_result=_number(values.get("first_result")),
            driver=driver if isinstance(driver, dict) else None,
            base_dir=_text(values.get("base_dir")),
            sweep_file=_text(values.get("sweep_file")),
        )


@dataclass(frozen=True)
class TrialRow:
    """One trial as stored."""

    trial_id: str
    number: int
    stage: int
    config: dict[str, Any]  # the hyperparameters it trains with (α₀ as `learning_rate`)
    box: Mapping[str, Any]  # its stage's sampling box, on each parameter's scale
    unit: tuple[float, ...]  # its point in the unit cube of the space
    state: TrialState
    worker: str | None  # where it last ran
    node: str | None
    starts: int  # times it was started on a worker: promotions and resumes included
    restarts: int  # of those, restarts after a lost worker (what the retry limit counts)
    started: float | None  # its first start
    ended: float | None  # when it ended, or last paused
    epochs: int  # epochs recorded
    best: float | None  # its best finite value of the sweep's metric so far
    error: str | None  # a failed trial's traceback, a lost worker's message
    proposed_by: str  # the sampler; for tpe "tpe" (the model) or "warm-up"
    pauses: tuple[int, ...]  # every epoch a promoting scheduler paused it at
    devices: str = ""  # the GPUs its worker saw last (CUDA_VISIBLE_DEVICES), "" for none


@dataclass(frozen=True)
class PointRow:
    """One epoch of one trial as stored, in arrival order (`seq`)."""

    seq: int
    trial_id: str
    epoch: int
    values: Mapping[str, float | None]  # each curves.VALUE_COLUMNS entry; None if not finite
    diverged: bool
    at: float | None  # when it was recorded, by the store's clock (None before `at` existed)
    extra: Mapping[str, float | None]  # a trainer's own numeric fields

    def value(self, name: str) -> float:
        """A curve column or extra field by name; NaN where the point has none."""
        found = self.values[name] if name in self.values else self.extra.get(name)
        return math.nan if found is None else float(found)


@dataclass(frozen=True)
class ModelRow:
    """A kept model: one trial's weights at the epoch where it reached its best value."""

    trial_id: str
    epoch: int  # the epoch of its best value, whose state the weights are
    value: float  # the sweep's metric at that epoch: the trial's best
    test_cost: float | None  # on the held-out test split, once the sweep scored it
    test_accuracy: float | None


@dataclass(frozen=True)
class TrialColumns:
    """Every trial as columns, by number: what a DataFrame is built from without a Python
    object per trial (a big sweep has tens of thousands)."""

    columns: dict[str, tuple[Any, ...]]  # each TrialRow field but config, box and unit
    configs: tuple[dict[str, Any], ...]  # each trial's hyperparameters
    boxes: dict[int, dict[str, Any]]  # stage -> its sampling box

    def __len__(self) -> int:
        return len(self.configs)


@dataclass(frozen=True)
class CurveColumns:
    """Every curve point as columns, sorted by trial then epoch: what a DataFrame is built
    from without a Python object per point."""

    columns: dict[str, tuple[Any, ...]]  # trial_id, the curves.CURVE_COLUMNS, at
    extra: tuple[dict[str, float | None] | None, ...]  # a trainer's own fields, per point

    def __len__(self) -> int:
        return len(self.columns["trial_id"])


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)

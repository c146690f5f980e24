"""A worker process's trials: the plain class the Ray actor wraps, and tests use directly.

One host runs many trials in turn (and may hold several at once, paused between epochs).
It loads each dataset once, builds a trainer per trial (the sweep's `trainer`, by default
the batch-norm MLP's `Trainer`; see workers/protocol.py), restores a checkpoint when one
is given, and trains one epoch per `step()`, or a run of epochs per `steps()`. It counts
each trial's epochs itself and checks every record and state a trainer gives back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from caviar_common.keeping import NO_KEEP, KeepBar
from caviar_common.seeds import SeedKey, sequence
from workers.data.datasets import Dataset, load_dataset
from workers.mlp.trainer import Trainer, state_from_bytes, state_to_bytes
from workers.protocol import (
    DEFAULT_TRAINER,
    RESERVED,
    check_state,
    epoch_record,
    load_trainer_class,
)


@dataclass(frozen=True)
class StepResult:
    """One epoch of one trial, as it crosses back to the driver."""

    trial_id: str
    record: dict[str, Any]  # EpochRecord.to_dict() without the per-batch costs
    checkpoint: bytes | None  # npz bytes of the trainer's state after this epoch
    model: bytes | None = None  # the same, sent because this epoch beat the keep bar


@dataclass
class _Trial:
    """A trial's trainer and what the host counts of it."""

    trainer: Any
    epoch: int = 0  # epochs done
    diverged: bool = False


class TrialHost:
    """Trials of one sweep: its trainer class ("module:Class") and the metric it reports."""

    def __init__(
        self,
        clock: Callable[[], float] = time.perf_counter,
        trainer: str = DEFAULT_TRAINER,
        metric: str = "val_cost",
    ) -> None:
        self.clock = clock
        self.trainer = trainer
        self.metric = metric
        self._cls: type | None = None  # imported at the first trial
        self._datasets: dict[str, Dataset] = {}
        self._trainers: dict[str, _Trial] = {}

    def __repr__(self) -> str:
        return (
            f"TrialHost({self.trainer}, trials={sorted(self._trainers)}, "
            f"datasets={len(self._datasets)})"
        )

    def dataset(
        self,
        spec: str | Mapping[str, Any],
        seed: int,
        val_fraction: float,
        test_fraction: float = 0.0,
    ) -> Dataset:
        """The dataset split as given, loaded once per host. The cache key names
        `test_fraction` only when it is not 0, so keys of splits without a test part are
        those they always were."""
        parts = [spec, seed, val_fraction] + ([test_fraction] if test_fraction else [])
        key = json.dumps(parts, sort_keys=True)
        if key not in self._datasets:
            self._datasets[key] = load_dataset(
                spec, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction
            )
        return self._datasets[key]

    def begin(
        self,
        trial_id: str,
        config: Mapping[str, Any],
        data: Mapping[str, Any] | Dataset,
        seed: SeedKey,
        checkpoint: bytes | None = None,
    ) -> int:
        """Set up a trial; returns the epoch it has done (0, or its checkpoint's epoch).

        `data` holds the dataset's `spec`, `seed`, `val_fraction` and, when it has a test
        part, `test_fraction` (or is the loaded dataset itself, shared through Ray's object
        store); `seed` is the trial's (master seed, *spawn key)`, so the same trial trains
        the same on every worker.
        """
        dataset = (
            data
            if isinstance(data, Dataset)
            else self.dataset(
                data["spec"], data["seed"], data["val_fraction"], data.get("test_fraction", 0.0)
            )
        )
        trial = _Trial(self._build(config, dataset, sequence(seed)))
        if checkpoint is not None:
            state = state_from_bytes(checkpoint)
            # the host's own count; a checkpoint from before it has the MLP trainer's
            trial.epoch = int(state.pop(RESERVED + "epoch", state.get("epoch", 0)))
            trial.diverged = bool(state.pop(RESERVED + "diverged", state.get("diverged", False)))
            trial.trainer.load_state_dict(state)
        self._trainers[trial_id] = trial
        return trial.epoch

    def _build(self, config: Mapping[str, Any], dataset: Dataset, seed: Any) -> Any:
        if self.trainer == DEFAULT_TRAINER:
            return Trainer(config, dataset, seed, clock=self.clock)
        if self._cls is None:
            self._cls = load_trainer_class(self.trainer)
        return self._cls(dict(config), dataset, seed)

    def step(self, trial_id: str, checkpoint: bool = False, keep: KeepBar = NO_KEEP) -> StepResult:
        """One epoch: its record, with the trainer's state after it as a checkpoint (when
        asked for, or at the trial's last epoch when `keep` says it ranks among the kept)
        and as a model to keep (when its value beats `keep`)."""
        trial = self._trainers[trial_id]
        if trial.diverged:
            raise RuntimeError(f"{trial_id} diverged; it cannot train further")
        start = self.clock()
        raw = trial.trainer.step()
        record = epoch_record(self.trainer, raw, self.metric, trial.epoch + 1, self.clock() - start)
        trial.epoch, trial.diverged = record["epoch"], record["diverged"]
        value = float(record[self.metric]) if not record["diverged"] else float("nan")
        kept = keep.takes(value)
        checkpoint = checkpoint or keep.seen(value).keeps_last(trial.epoch)
        data = self._state(trial) if checkpoint or kept else None
        return StepResult(trial_id, record, data if checkpoint else None, data if kept else None)

    def _state(self, trial: _Trial) -> bytes:
        """The trainer's state as npz bytes, with the host's own count and flag."""
        state = check_state(self.trainer, trial.trainer.state_dict())
        state[RESERVED + "epoch"] = np.array(trial.epoch, dtype=np.int64)
        state[RESERVED + "diverged"] = np.array(trial.diverged)
        return state_to_bytes(state)

    def steps(
        self,
        trial_id: str,
        first: int,
        last: int,
        checkpoint_at: int | None = None,
        *,
        end: bool = False,
        keep: KeepBar = NO_KEEP,
    ) -> list[StepResult]:
        """Epochs `first`..`last` of a trial, one result each, with the trainer's state after
        epoch `checkpoint_at` (if it is one of them), and after each epoch that beats the
        `keep` bar (which each epoch's value then lowers); stops early after a diverged epoch.
        A trial that has ended, or diverged, trains nothing more. With `end`, the trial
        ends after these epochs (as `end()` would)."""
        trial = self._trainers.get(trial_id)
        results: list[StepResult] = []
        while trial is not None and not trial.diverged and trial.epoch < last:
            epoch = trial.epoch + 1
            result = self.step(trial_id, epoch == checkpoint_at, keep)
            if not result.record["diverged"]:
                keep = keep.seen(result.record[self.metric])
            if epoch >= first:
                results.append(result)
            if result.record.get("diverged"):
                break
        if end:
            self.end(trial_id)
        return results

    def end(self, trial_id: str) -> None:
        self._trainers.pop(trial_id, None)

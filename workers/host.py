"""A worker process's trials: the plain class the Ray actor wraps, and tests use directly.

One host runs many trials in turn (and may hold several at once, paused between epochs).
It loads each dataset once, builds a `Trainer` per trial, restores a checkpoint when one
is given, and trains one epoch per `step()`, or a run of epochs per `steps()`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from caviar_common.seeds import SeedKey, sequence
from workers.datasets import Dataset, load_dataset
from workers.trainer import Trainer, state_from_bytes, state_to_bytes


@dataclass(frozen=True)
class StepResult:
    """One epoch of one trial, as it crosses back to the driver."""

    trial_id: str
    record: dict[str, Any]  # EpochRecord.to_dict() without the per-batch costs
    checkpoint: bytes | None  # npz bytes of the trainer's state after this epoch


class TrialHost:
    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self._datasets: dict[str, Dataset] = {}
        self._trainers: dict[str, Trainer] = {}

    def __repr__(self) -> str:
        return f"TrialHost(trials={sorted(self._trainers)}, datasets={len(self._datasets)})"

    def dataset(self, spec: str | Mapping[str, Any], seed: int, val_fraction: float) -> Dataset:
        key = json.dumps([spec, seed, val_fraction], sort_keys=True)
        if key not in self._datasets:
            self._datasets[key] = load_dataset(spec, seed=seed, val_fraction=val_fraction)
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

        `data` holds the dataset's `spec`, `seed` and `val_fraction` (or is the loaded
        dataset itself, shared through Ray's object store); `seed` is the trial's
        (master seed, *spawn key)`, so the same trial trains the same on every worker.
        """
        dataset = (
            data
            if isinstance(data, Dataset)
            else self.dataset(data["spec"], data["seed"], data["val_fraction"])
        )
        trainer = Trainer(config, dataset, sequence(seed), clock=self.clock)
        if checkpoint is not None:
            trainer.load_state_dict(state_from_bytes(checkpoint))
        self._trainers[trial_id] = trainer
        return trainer.epoch

    def step(self, trial_id: str, checkpoint: bool = False) -> StepResult:
        trainer = self._trainers[trial_id]
        record = trainer.step().to_dict()
        del record["batch_costs"]
        data = state_to_bytes(trainer.state_dict()) if checkpoint else None
        return StepResult(trial_id, record, data)

    def steps(
        self,
        trial_id: str,
        first: int,
        last: int,
        checkpoint_at: int | None = None,
        *,
        end: bool = False,
    ) -> list[StepResult]:
        """Epochs `first`..`last` of a trial, one result each, with the trainer's state after
        epoch `checkpoint_at` (if it is one of them); stops early after a diverged epoch.
        A trial that has ended, or diverged, trains nothing more. With `end`, the trial
        ends after these epochs (as `end()` would)."""
        trainer = self._trainers.get(trial_id)
        results: list[StepResult] = []
        while trainer is not None and not trainer.diverged and trainer.epoch < last:
            epoch = trainer.epoch + 1
            result = self.step(trial_id, checkpoint=epoch == checkpoint_at)
            if epoch >= first:
                results.append(result)
            if result.record.get("diverged"):
                break
        if end:
            self.end(trial_id)
        return results

    def end(self, trial_id: str) -> None:
        self._trainers.pop(trial_id, None)

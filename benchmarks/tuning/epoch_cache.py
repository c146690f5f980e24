"""Every epoch trained once: the real worker (`workers.mlp.trainer.Trainer`) behind the
simulated executor (`orchestrator.execution.simulated`), for quality.py.

A curve is a function of (dataset, trial seed key, configuration), so every method that asks
for the same epoch gets the same record, and the same cost, the epoch's measured seconds.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from benchmarks.common.trials import load_data

if TYPE_CHECKING:
    import numpy as np

    from caviar_common.seeds import SeedKey
    from orchestrator.core.executor import TrialTask
    from workers.data.datasets import Dataset
    from workers.mlp.trainer import Trainer

Record = dict[str, Any]  # EpochRecord.to_dict() without the per-batch costs, as the host sends


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@dataclass
class _Curve:
    """One trial's epochs so far, and where to go on from: a live trainer or its state."""

    records: list[Record] = field(default_factory=list)
    trainer: Trainer | None = None  # at epoch len(records)
    state: dict[str, np.ndarray] | None = None  # the trainer's state_dict once let go


class EpochCache:
    """Every epoch trained so far, by (dataset, trial seed key, configuration).

    At most `live` trainers are kept; an older one is kept as its state_dict and rebuilt
    when it is needed again. The trainer's state holds its RNG, so a rebuilt trainer
    continues exactly as the live one would have (`check_resume` tests that).
    """

    def __init__(self, live: int = 16) -> None:
        self.live = live
        self.trained = 0  # epochs actually computed
        self.served = 0  # epochs asked for, cached or not
        self.train_seconds = 0.0  # the measured seconds of the epochs computed
        self._datasets: dict[str, Dataset] = {}
        self._curves: dict[tuple[str, str, str], _Curve] = {}
        self._live: OrderedDict[tuple[str, str, str], None] = OrderedDict()

    def __repr__(self) -> str:
        return (
            f"EpochCache({len(self._curves)} curves, trained={self.trained}, "
            f"served={self.served}, live={len(self._live)})"
        )

    def dataset(self, data: Mapping[str, Any]) -> Dataset:
        """The dataset a sweep's `data` names, loaded once."""
        key = _key(dict(data))
        if key not in self._datasets:
            self._datasets[key] = load_data(data)
        return self._datasets[key]

    def record(self, task: TrialTask, epoch: int) -> Record | None:
        """The simulated executor's epoch source (`EpochSource`): epoch `epoch` of `task`."""
        return self.epoch(task.data, task.seed, task.config, epoch)

    def epoch(
        self, data: Mapping[str, Any], seed: SeedKey, config: Mapping[str, Any], epoch: int
    ) -> Record | None:
        """Epoch `epoch` (from 1) of the trial; None if it diverged before that epoch."""
        key = (_key(dict(data)), _key(list(seed)), _key(dict(config)))
        curve = self._curves.setdefault(key, _Curve())
        self.served += 1
        while len(curve.records) < epoch:
            if curve.records and curve.records[-1]["diverged"]:
                return None  # the worker cannot train past a diverged epoch either
            trainer = self._trainer(key, curve, data, seed, config)
            record = trainer.step().to_dict()
            del record["batch_costs"]
            curve.records.append(record)
            self.trained += 1
            self.train_seconds += record["seconds"]
        return curve.records[epoch - 1]

    def _trainer(
        self,
        key: tuple[str, str, str],
        curve: _Curve,
        data: Mapping[str, Any],
        seed: SeedKey,
        config: Mapping[str, Any],
    ) -> Trainer:
        self._live[key] = None
        self._live.move_to_end(key)
        if curve.trainer is None:
            curve.trainer = build_trainer(config, self.dataset(data), seed, curve.state)
            curve.state = None
        while len(self._live) > self.live:
            old, _ = self._live.popitem(last=False)
            other = self._curves[old]
            if other.trainer is not None:
                other.state = other.trainer.state_dict()
                other.trainer = None
        return curve.trainer


def build_trainer(
    config: Mapping[str, Any],
    dataset: Dataset,
    seed: SeedKey,
    state: Mapping[str, np.ndarray] | None = None,
) -> Trainer:
    """The trainer Caviar's worker builds for a trial seeded `seed` (workers/host.py)."""
    from caviar_common.seeds import sequence
    from workers.mlp.trainer import Trainer

    trainer = Trainer(config, dataset, sequence(seed))
    if state is not None:
        trainer.load_state_dict(state)
    return trainer


def check_resume(config: Mapping[str, Any], dataset: Dataset, seed: SeedKey) -> None:
    """Raise unless a trainer restored after epoch 2 (through the checkpoint bytes the real
    worker sends) trains epochs 3-4 as one that never stopped: the cache relies on it."""
    from workers.mlp.trainer import state_from_bytes, state_to_bytes

    straight = build_trainer(config, dataset, seed)
    expected = [straight.step() for _ in range(4)]
    first = build_trainer(config, dataset, seed)
    first.step(), first.step()
    saved = state_from_bytes(state_to_bytes(first.state_dict()))
    resumed = build_trainer(config, dataset, seed, saved)
    got = [resumed.step() for _ in range(2)]
    for want, have in zip(expected[2:], got, strict=True):
        if (want.val_cost, want.train_cost) != (have.val_cost, have.train_cost):
            raise RuntimeError(
                f"resumed trainer differs at epoch {have.epoch}: val_cost {have.val_cost!r} "
                f"against {want.val_cost!r} straight; the epoch cache would be wrong"
            )

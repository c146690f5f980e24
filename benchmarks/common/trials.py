"""The trials every framework trains: a sweep's first stage as Caviar plans it, each trial
built as Caviar's worker builds it (`caviar_common.seeds.trial_seed`), so Caviar, Ray Tune
and a bare process pool train the very same networks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.core.spec import SweepSpec
    from workers.data.datasets import Dataset
    from workers.mlp.trainer import Trainer


@dataclass(frozen=True)
class FixedTrials:
    """A sweep's first stage as Caviar plans it: each trial's configuration, and what its
    trainer needs besides (the master seed of the trial seeds, the dataset to load)."""

    seed: int
    data: dict[str, Any]  # load_dataset's spec, seed and val_fraction
    configs: dict[int, dict[str, Any]]  # by trial number, from 1

    @classmethod
    def plan(cls, spec: SweepSpec) -> FixedTrials:
        from orchestrator.core.planner import plan_stage

        proposals = plan_stage(spec.space, spec.model, spec.stages, 0, [], spec.sign, spec.seed)
        configs = {number: dict(p.config) for number, p in enumerate(proposals, start=1)}
        return cls(spec.seed, spec.data, configs)

    def to_json(self) -> str:
        return json.dumps({"seed": self.seed, "data": self.data, "configs": self.pairs()})

    @classmethod
    def from_json(cls, text: str) -> FixedTrials:
        loaded = json.loads(text)
        return cls(loaded["seed"], loaded["data"], {n: c for n, c in loaded["configs"]})

    def pairs(self) -> list[list[Any]]:
        """[[number, config], ...]: how a sweep's store lists them too."""
        return [[number, config] for number, config in self.configs.items()]


def make_trainer(seed: int, number: int, config: Mapping[str, Any], dataset: Dataset) -> Trainer:
    """The trainer Caviar's worker builds for trial `number` of a sweep seeded `seed`."""
    from caviar_common.seeds import sequence, trial_seed
    from workers.mlp.trainer import Trainer

    return Trainer(config, dataset, sequence(trial_seed(seed, number)))


def load_data(data: Mapping[str, Any]) -> Dataset:
    """The dataset a sweep's `data` (SweepSpec.data) names, split as Caviar splits it."""
    from workers.data.datasets import load_dataset

    return load_dataset(data["spec"], seed=data["seed"], val_fraction=data["val_fraction"])

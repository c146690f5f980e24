"""The anchors in their own environment (`make .venv-anchors/.installed`), driven by this
process as quality.py drives them: one fixed configuration comes back with exactly the
val_cost curve and the seconds Caviar's trainer gives it; the same seed replays the same
run and another seed another; the model-based searchers get past their random start.
Without the environment these fail with the command that makes it, as `quality --smoke`
does."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from itertools import accumulate
from typing import Any

import pytest

from benchmarks.tuning.anchor_runs import anchor_python, anchor_task, serve
from benchmarks.tuning.epoch_cache import EpochCache, build_trainer
from benchmarks.tuning.methods import MODEL, TASKS, Settings, sweep_source
from caviar_common.seeds import trial_seed
from orchestrator.core.spec import SweepSpec
from orchestrator.sweepfile.parse import parse_sweep

SEED = 3
FIXED = {
    "learning_rate": 0.05,
    "hidden_units": 16,
    "hidden_layers": 2,
    "batch_size": 64,
    "optimizer": "adam",
    "beta1": 0.9,
    "beta2": 0.999,
    "decay_rate": 0.1,
    "l2": 1e-4,
}


def moons(method: str, trials: int, epochs: int) -> SweepSpec:
    settings = Settings(trials=trials, epochs=epochs)
    return parse_sweep(sweep_source("moons", TASKS["moons"], method, SEED, settings))


def run_fixed(method: str, trials: int) -> tuple[list[list[Any]], EpochCache, SweepSpec]:
    """`method` on a space of constants (FIXED), 3 epochs, 1 worker, on moons."""
    spec = moons(method, trials, 3)
    task = anchor_task(method, spec, workers=1, time_limit=None, seed=11)
    params = [{"name": k, "kind": "constant", "value": v} for k, v in FIXED.items()]
    task = dataclasses.replace(task, space={**task.space, "params": params, "conditions": {}})
    cache = EpochCache()
    return serve(task, spec, cache, anchor_python())["points"], cache, spec


def trainer_curve(spec: SweepSpec, cache: EpochCache, trial: int) -> list[float]:
    """Trial `trial`'s val_cost over 3 epochs, from a trainer of its own, not the cache."""
    trainer = build_trainer({**MODEL, **FIXED}, cache.dataset(spec.data), trial_seed(SEED, trial))
    return [trainer.step().val_cost for _ in range(3)]


def seconds(spec: SweepSpec, cache: EpochCache, trial: int, epoch: int) -> float:
    config = {**MODEL, **FIXED}
    return float(cache.epoch(spec.data, trial_seed(SEED, trial), config, epoch)["seconds"])


def test_syne_tune_trains_a_fixed_configuration_as_caviars_trainer_does():
    ended, cache, spec = run_fixed("synetune-asha", trials=1)
    assert [(trial, epoch) for _, _, trial, epoch in ended] == [(1, 1), (1, 2), (1, 3)]
    assert [v for _, v, _, _ in ended] == trainer_curve(spec, cache, 1)
    spent = list(accumulate(seconds(spec, cache, 1, e) for e in (1, 2, 3)))
    assert [t for t, _, _, _ in ended] == pytest.approx(spent, rel=1e-12)


def test_dehb_trains_a_fixed_configuration_as_caviars_trainer_does_and_again_when_promoted():
    ended, cache, spec = run_fixed("dehb", trials=3)
    # fidelities 1 and 3 epochs: three configurations at 1 epoch, the best of them again
    # from scratch to 3 epochs; a fourth would be a new configuration, beyond the 3 trials
    steps = [(trial, epoch) for _, _, trial, epoch in ended]
    firsts = {k: trainer_curve(spec, cache, k) for k in (1, 2, 3)}
    best = min(firsts, key=lambda k: firsts[k][0])
    assert steps == [(1, 1), (2, 1), (3, 1), (best, 1), (best, 2), (best, 3)]
    assert [v for _, v, _, _ in ended] == [firsts[trial][epoch - 1] for trial, epoch in steps]
    spent = list(accumulate(seconds(spec, cache, trial, epoch) for trial, epoch in steps))
    assert [t for t, _, _, _ in ended] == pytest.approx(spent, rel=1e-12)


class SyntheticCache:
    """Answers the child without training: val_cost from the configuration (best at a
    learning rate of 0.01), 1 second an epoch; keeps each trial's configuration."""

    def __init__(self) -> None:
        self.configs: dict[int, dict[str, Any]] = {}

    def epoch(self, data: Any, seed: tuple[int, ...], config: Mapping[str, Any], epoch: int) -> Any:
        self.configs[seed[-1]] = dict(config)
        value = (math.log10(config["learning_rate"]) + 2) ** 2 + 1 / epoch
        return {"epoch": epoch, "val_cost": value, "seconds": 1.0, "diverged": False}


def synthetic(method: str, trials: int, epochs: int, seed: int) -> list[dict[str, Any]]:
    """The configurations `method` tried, trial by trial, on the course's space."""
    spec = moons(method, trials, epochs)
    cache = SyntheticCache()
    task = anchor_task(method, spec, workers=4, time_limit=None, seed=seed)
    serve(task, spec, cache, anchor_python())  # type: ignore[arg-type]
    return [cache.configs[k] for k in sorted(cache.configs)]


@pytest.mark.parametrize("method", ["synetune-asha", "dehb"])
def test_the_same_seed_replays_an_anchor_and_another_seed_does_not(method: str):
    first = synthetic(method, 8, 3, seed=1)
    assert synthetic(method, 8, 3, seed=1) == first
    assert synthetic(method, 8, 3, seed=2) != first
    assert all(c["lr_decay"] == "inverse_time" and 32 <= c["batch_size"] <= 256 for c in first)


@pytest.mark.parametrize(("method", "trials"), [("synetune-bohb", 80), ("synetune-ashacqr", 12)])
def test_a_model_based_searcher_leaves_random_search_once_it_has_data(method: str, trials: int):
    # BOHB's kernel densities need 74 results here (15 % of them good, more than the 10
    # dimensions), ASHACQR's quantile regression 5 (here from trial 9: 4 workers, 1-second
    # trials). Until then each samples as ASHA does.
    assert synthetic(method, trials, 1, seed=1) != synthetic("synetune-asha", trials, 1, seed=1)

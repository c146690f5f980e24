"""A big finished sweep store made in seconds without training, for tests and benchmarks of
`caviar show`, `export` and `report` at thousands of trials.

Configurations come from the digits sweep file (orchestrator/sweepfile/sweeps/digits.yaml) through
Caviar's own planner: a quarter of the trials on Sobol points, the rest at random in the
box zoomed around the best of them. Each trial gets a plausible falling validation cost
whose floor depends on its learning rate; trials pruned at the rungs of an ASHA-like rule
(the worst `prune` share of the trials alive at each rung), some diverged (large learning
rates, the cost NaN at the epoch they blew up) and a few failed (with a traceback).

`plan_big` is a pure function of its arguments; `fill_store` writes its plan either
through the Store's methods, one commit per call as a sweep does (`fast=False`), or the
same rows in one transaction (`fast=True`, the default: 10,000 trials × 3 epochs in about
2 s rather than 6 s, most of it planning); a test checks that both give the same store.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from caviar_common.curves import VALUE_COLUMNS
from caviar_common.states import SweepState, TrialState
from orchestrator.core.planner import Finished, plan_stage
from orchestrator.core.spec import SweepSpec
from orchestrator.schedulers import decision_epochs
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import load_sweep, parse_sweep

DIGITS = (
    Path(__file__).resolve().parents[2] / "orchestrator" / "sweepfile" / "sweeps" / "digits.yaml"
)
BEST_LOG_RATE = -2.0  # the learning rate (log10) with the lowest cost floor
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "workers/mlp/trainer.py", line 1, in step\n'
    "MemoryError: cannot allocate the batch"
)


@dataclass(frozen=True)
class BigTrial:
    """One planned trial and how it went: its config and points, its final state."""

    trial_id: str
    number: int
    stage: int
    config: dict[str, Any]
    box: dict[str, Any]
    unit: list[float]
    proposed_by: str
    state: str
    points: list[dict[str, Any]] = field(default_factory=list)  # one record per epoch
    error: str | None = None

    @property
    def best(self) -> float | None:
        """The lowest finite validation cost, as the store keeps it after the last point."""
        values = [p["val_cost"] for p in self.points if math.isfinite(p["val_cost"])]
        return min(values) if values else None


def big_spec(trials: int, epochs: int, seed: int = 0) -> SweepSpec:
    """The digits sweep with `trials` trials in two stages, `epochs` epochs and ASHA."""
    if trials < 2:
        raise ValueError(f"trials: must be an integer >= 2 (one per stage), got {trials}")
    if epochs < 1:
        raise ValueError(f"epochs: must be an integer >= 1, got {epochs}")
    raw = copy.deepcopy(dict(load_sweep(DIGITS).source))
    first = max(1, trials // 4)
    raw.update(
        name=f"big-{trials}x{epochs}",
        seed=seed,
        stages=[
            {"trials": first, "sampler": "sobol"},
            {"trials": trials - first, "sampler": "random", "zoom": {"top_k": 20}},
        ],
        scheduler={"name": "asha", "grace_period": 1, "reduction_factor": 3},
        budget={"max_epochs": epochs},
    )
    return parse_sweep(raw, DIGITS.parent)


def plan_big(
    trials: int,
    epochs: int,
    seed: int = 0,
    prune: float = 0.25,
    diverge: float = 0.6,
    fail: float = 0.02,
) -> tuple[SweepSpec, list[BigTrial]]:
    """The spec and every trial of a finished big sweep.

    `prune`: the share of the trials alive at each rung that stop there; `diverge`: the
    chance that a trial with a learning rate above 0.3 blows up; `fail`: the chance that a
    trial's code raises.
    """
    spec = big_spec(trials, epochs, seed)
    rng = np.random.default_rng(seed)
    rungs = [r for r in decision_epochs(spec.scheduler, epochs) if r < epochs]
    out: list[BigTrial] = []
    finished: list[Finished] = []
    for index in range(len(spec.stages)):
        proposals = plan_stage(
            spec.space, spec.model, spec.stages, index, finished, spec.sign, spec.seed
        )
        curves = [_curve(p.config, epochs, rng) for p in proposals]
        stops = _stops(curves, rungs, prune, epochs)
        for p, curve, stop in zip(proposals, curves, stops, strict=True):
            number = len(out) + 1
            state, error, last = _fate(p.config, stop, epochs, diverge, fail, rng)
            points = [_record(p.config, e, curve[e - 1], rng) for e in range(1, last + 1)]
            if state == TrialState.DIVERGED:
                points[-1] |= {k: math.nan for k in VALUE_COLUMNS if k != "decayed_learning_rate"}
                points[-1]["diverged"] = True
            trial = BigTrial(
                f"trial-{number:05d}",
                number,
                p.stage,
                dict(p.config),
                spec.space.box_values(p.box),
                list(p.unit),
                p.proposed_by,
                state,
                points,
                error,
            )
            out.append(trial)
            value = trial.best if trial.best is not None else math.inf
            finished.append(Finished(p.config, value, p.stage, last))
    return spec, out


def _curve(config: dict[str, Any], epochs: int, rng: np.random.Generator) -> np.ndarray:
    """A falling validation cost: from about ln 10 to a floor set by the learning rate."""
    distance = math.log10(config["learning_rate"]) - BEST_LOG_RATE
    floor = 0.07 + 0.12 * distance**2 + 0.02 * abs(rng.normal())
    tau = 1.0 + 4.0 * max(0.0, -distance)  # small rates learn slowly
    start = math.log(10) * rng.uniform(0.8, 1.0)
    e = np.arange(1, epochs + 1)
    smooth = floor + (start - floor) * np.exp(-e / tau)
    return smooth * (1.0 + 0.03 * rng.normal(size=epochs))


def _stops(curves: list[np.ndarray], rungs: list[int], prune: float, epochs: int) -> list[int]:
    """The epoch each trial stops at: at each rung the worst `prune` share of the trials
    still alive stop there; the rest go on to `epochs`."""
    stop = np.full(len(curves), epochs)
    alive = np.arange(len(curves))
    for rung in rungs:
        values = np.array([curves[i][rung - 1] for i in alive])
        order = alive[np.argsort(values, kind="stable")]
        cut = int(round(prune * len(order)))
        if cut:
            stop[order[len(order) - cut :]] = rung
            alive = np.sort(order[: len(order) - cut])
    return [int(s) for s in stop]


def _fate(
    config: dict[str, Any],
    stop: int,
    epochs: int,
    diverge: float,
    fail: float,
    rng: np.random.Generator,
) -> tuple[str, str | None, int]:
    """(state, error, last epoch) of a trial the rungs would stop at `stop`."""
    if config["learning_rate"] > 0.3 and rng.random() < diverge:
        return TrialState.DIVERGED, "val_cost=nan", int(rng.integers(1, stop + 1))
    if rng.random() < fail:
        return TrialState.FAILED, TRACEBACK, int(rng.integers(1, stop + 1))
    return (TrialState.COMPLETED if stop == epochs else TrialState.PRUNED), None, stop


def _record(
    config: dict[str, Any], epoch: int, val_cost: float, rng: np.random.Generator
) -> dict[str, Any]:
    rate = config["learning_rate"] / (1.0 + config["decay_rate"] * epoch)
    return {
        "epoch": epoch,
        "train_cost": float(val_cost * rng.uniform(0.8, 0.95)),
        "val_cost": float(val_cost),
        "val_accuracy": float(min(0.995, max(0.05, 1.0 - 0.4 * val_cost))),
        "decayed_learning_rate": float(rate),
        "seconds": float(rng.uniform(0.05, 0.3)),
        "diverged": False,
    }


def fill_store(
    run_dir: str | Path,
    trials: int,
    epochs: int,
    seed: int = 0,
    fast: bool = True,
    **fates: float,
) -> list[BigTrial]:
    """Write a finished big sweep into `run_dir` (see `plan_big`); returns its trials."""
    spec, planned = plan_big(trials, epochs, seed, **fates)
    store = Store.create(run_dir, spec.source, clock=lambda: 1000.0)
    try:
        (_write_fast if fast else _write_api)(store, planned)
        store.set(state=SweepState.FINISHED, ended=_ended(planned[-1]))
    finally:
        store.close()
    return planned


def _started(trial: BigTrial) -> float:
    return 1000.0 + 0.5 * trial.number


def _ended(trial: BigTrial) -> float:
    return _started(trial) + sum(p["seconds"] for p in trial.points)


def _worker(trial: BigTrial) -> str:
    return f"worker-{trial.number % 2 + 1}"


def _write_api(store: Store, planned: list[BigTrial]) -> None:
    """Through the Store's own methods, as a sweep writes (one commit per call)."""
    for t in planned:
        store.add_trial(t.trial_id, t.number, t.stage, t.config, t.box, t.unit, t.proposed_by)
        store.start_trial(t.trial_id, _worker(t), "node-1", _started(t))
        best = math.inf
        for p in t.points:
            if math.isfinite(p["val_cost"]):
                best = min(best, p["val_cost"])
            store.add_point(t.trial_id, p, best if math.isfinite(best) else None)
        store.end_trial(t.trial_id, t.state, _ended(t), t.error)


def _write_fast(store: Store, planned: list[BigTrial]) -> None:
    """The rows `_write_api` leaves, in one transaction (a sweep's `Store.batch`)."""
    with store.batch():
        _write_api(store, planned)

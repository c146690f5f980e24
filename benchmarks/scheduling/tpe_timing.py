"""TPE proposals timed as the loop pays for them (orchestrator/core/loop.py `_new_trial`):
the ledger told what changed since the last proposal, then the model's proposal, over a
made-up sweep of n trials on the course's space under Hyperband's milestones.

The sweep: trials 1..n at random configurations whose cost is their squared distance to a
fixed optimum (plus noise); 8 workers run the newest trials; of the others, most paused at
rung 1 or 3 or ran to epoch 9, some were pruned, a few diverged or failed. Between two timed
proposals, the oldest running trial completes and the proposed one starts, as in a sweep.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from caviar_common.seeds import proposal_seed
from caviar_common.states import TrialState
from orchestrator.search.space import (
    Box,
    Choice,
    IntUniform,
    LogUniform,
    OneMinusLogUniform,
    PowerOfTwo,
    Space,
    Uniform,
)
from orchestrator.search.tpe import KEEP, Ledger, TpeModel

SPACE = Space(
    {
        "learning_rate": LogUniform(1e-4, 1.0),
        "dropout": Uniform(0.0, 0.5),
        "hidden_units": IntUniform(50, 100),
        "batch_size": PowerOfTwo(32, 256),
        "optimizer": Choice(("momentum", "adam")),
        "beta": OneMinusLogUniform(0.9, 0.999),
        "beta1": OneMinusLogUniform(0.8, 0.95),
    },
    {"beta": {"optimizer": ("momentum",)}, "beta1": {"optimizer": ("adam",)}},
)
MILESTONES = (1, 3, 9)  # Hyperband's rungs with reduction factor 3, and the last epoch
WORKERS = 8
WARMUP = 10


@dataclass
class Trial:
    """A trial as the loop sees it (its Running) and as the store holds it (a TrialRow)."""

    trial_id: str
    number: int
    config: dict[str, Any]
    state: TrialState = TrialState.RUNNING
    reported: int = 0
    best: float = math.inf  # minimised

    @property
    def epochs(self) -> int:
        return self.reported

    @property
    def stored_best(self) -> float | None:
        return None if math.isinf(self.best) else self.best


@dataclass(frozen=True)
class _Row:
    number: int
    config: dict[str, Any]
    state: TrialState
    epochs: int
    best: float | None


@dataclass(frozen=True)
class _Note:
    trial_id: str
    state: TrialState | None


@dataclass
class _Notes:
    log: list[_Note] = field(default_factory=list)

    @property
    def notes(self) -> int:
        return len(self.log)

    def since(self, seen: int) -> list[_Note]:
        return self.log[seen:]


class Sweep:
    """The loop's view of a made-up sweep: its trials, the milestones they reached, and
    what the loop notes as trials end."""

    def __init__(self, trials: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.optimum = self.rng.random(len(SPACE.dims))
        self.trials: dict[str, Trial] = {}
        self.at: dict[int, dict[int, float]] = {}
        self.notes = _Notes()
        for number in range(1, trials + 1):
            trial = self.add(number, SPACE.decode(self.rng.random(len(SPACE.dims)).tolist()))
            if number <= trials - WORKERS:
                self.finish(trial, self._fate())

    def add(self, number: int, config: dict[str, Any]) -> Trial:
        trial = Trial(f"trial-{number:05d}", number, config)
        self.trials[trial.trial_id] = trial
        return trial

    def _fate(self) -> tuple[TrialState, int]:
        r = self.rng.random()
        if r < 0.02:
            return TrialState.FAILED, 1
        if r < 0.05:
            return TrialState.DIVERGED, 2
        if r < 0.45:
            return TrialState.PAUSED, 1
        if r < 0.60:
            return TrialState.PAUSED, 3
        if r < 0.70:
            return TrialState.PRUNED, 3
        return TrialState.COMPLETED, 9

    def finish(self, trial: Trial, fate: tuple[TrialState, int]) -> None:
        """The trial reports up to its last epoch and ends (or pauses) there."""
        state, epochs = fate
        u = np.asarray(SPACE.encode(trial.config), dtype=float)
        u = np.where(np.isnan(u), 0.5, u)
        cost = float(np.sum((u - self.optimum) ** 2)) + 0.05 * float(self.rng.random())
        for epoch in MILESTONES:
            if epoch <= epochs and state != TrialState.DIVERGED:
                self.at.setdefault(trial.number, {})[epoch] = cost + 1.0 / epoch
                trial.best = cost + 1.0 / epoch
        trial.state, trial.reported = state, epochs
        if state != TrialState.PAUSED:
            self.notes.log.append(_Note(trial.trial_id, state))

    def live(self) -> list[Trial]:
        return [t for t in self.trials.values() if t.state == TrialState.RUNNING]

    def paused(self) -> dict[str, Trial]:
        return {tid: t for tid, t in self.trials.items() if t.state == TrialState.PAUSED}

    def rows(self) -> list[_Row]:
        return [
            _Row(t.number, t.config, t.state, t.epochs, t.stored_best) for t in self.trials.values()
        ]


def proposal_ms(trials: int, seed: int, proposals: int, keep: int | None = KEEP) -> list[float]:
    """Milliseconds of each of `proposals` TPE proposals after `trials` trials of history
    (the first reads the store and builds the caches; the others are the steady state)."""
    sweep = Sweep(trials, seed)
    ledger = Ledger(TpeModel(SPACE, {}, keep), 1.0)
    box = Box.full(len(SPACE.dims))
    live, paused = sweep.live(), sweep.paused()  # the loop keeps these as it goes
    times = []
    gc.collect()
    for number in range(trials + 1, trials + 1 + proposals):
        start = time.perf_counter()
        model = ledger.refresh(live, paused, sweep.at, sweep.notes, sweep.rows)
        made = model.suggest(box, number, proposal_seed(seed, number), WARMUP)
        times.append((time.perf_counter() - start) * 1e3)
        sweep.finish(live.pop(0), (TrialState.COMPLETED, 9))  # a worker frees up...
        trial = sweep.add(number, made.config)  # ... for the trial just proposed
        ledger.started(trial)
        live.append(trial)
    return times


def tpe_cells(trials: int, repeat: int, proposals: int) -> dict[str, float]:
    """Median ms of a proposal in the steady state, of a run's first proposal, and of one
    that hands TPE every trial (no bound), over `repeat` made-up sweeps."""
    steady, first, every = [], [], []
    for seed in range(repeat):
        times = proposal_ms(trials, seed, proposals)
        first.append(times[0])
        steady.append(statistics.median(times[1:]))
        every.append(statistics.median(proposal_ms(trials, seed, 3, keep=None)[1:]))
    return {
        "steady": statistics.median(steady),
        "first": statistics.median(first),
        "every": statistics.median(every),
    }

"""Learning curves to simulate trials with: made up from a seed, or recorded on real trials.

Each made-up trial has a latent quality q ~ U(0, 1): its final value is 0.1 + 0.9 q², its
curve falls from 2.3 towards it as exp(-epoch / tau) plus noise, and tau grows with q (good
configurations usually learn faster too, though the curves still cross). Each trial also
has its own seconds per epoch. `CurveSource` serves them to the simulated executor: the
sweep's trial number k (from 1) trains curve k - 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from caviar_common.curves import VALUE_COLUMNS
from caviar_common.seeds import trial_seed
from orchestrator.core.executor import TrialTask
from orchestrator.execution.simulated.clocked_executor import Record

START = 2.3


@dataclass(frozen=True)
class Curves:
    """Every simulated trial's parameters; they depend on the seed, not the scheduler."""

    final: np.ndarray  # (n,) value the curve tends to
    tau: np.ndarray  # (n,) epochs for the gap to shrink by e
    seconds: np.ndarray  # (n,) seconds per epoch
    noise: np.ndarray  # (n, max_epochs) additive noise per epoch

    @property
    def shape(self) -> tuple[int, int]:
        """(trials, epochs) the curves cover."""
        return int(self.noise.shape[0]), int(self.noise.shape[1])

    def value(self, trial: int, epoch: int) -> float:
        """The metric trial `trial` (from 0) reports after `epoch` epochs (from 1)."""
        gap = START - self.final[trial]
        clean = self.final[trial] + gap * math.exp(-epoch / self.tau[trial])
        return float(clean + self.noise[trial, epoch - 1])


@dataclass(frozen=True)
class RecordedCurves(Curves):
    """Curves measured on real trials (benchmarks/record_curves.py), replayed as they were:
    `values[trial, epoch - 1]`, NaN once a trial diverged; `final` is each trial's last value.
    """

    values: np.ndarray  # (n, max_epochs)

    @classmethod
    def of(cls, values: np.ndarray, seconds: np.ndarray) -> RecordedCurves:
        values = np.asarray(values, dtype=float)  # (n, max_epochs)
        zeros = np.zeros(values.shape[0])
        return cls(values[:, -1], zeros, np.asarray(seconds, dtype=float), 0 * values, values)

    def value(self, trial: int, epoch: int) -> float:
        return float(self.values[trial, epoch - 1])


def make_curves(trials: int, max_epochs: int, seed: int, noise: float = 0.01) -> Curves:
    """`trials` learning curves of `max_epochs` epochs; `noise` is relative to the value."""
    # One stream per purpose: changing the noise level or the speeds leaves the qualities be.
    curve_rng, speed_rng, noise_rng = map(
        np.random.default_rng, np.random.SeedSequence(seed).spawn(3)
    )
    q = curve_rng.random(trials)
    final = 0.1 + 0.9 * q**2
    # Mostly q, partly chance: good trials tend to converge sooner, yet curves still cross.
    tau = 1.0 + 6.0 * (0.7 * q + 0.3 * curve_rng.random(trials))  # (n,)
    seconds = speed_rng.lognormal(mean=0.0, sigma=0.5, size=trials)  # median 1 s per epoch
    scale = noise * (final[:, None] + 0.1)  # (n, 1)
    return Curves(final, tau, seconds, scale * noise_rng.standard_normal((trials, max_epochs)))


def trial_index(task: TrialTask) -> int:
    """The trial's place in its sweep, from 0: its seed key is trial_seed(seed, number)."""
    number = task.seed[-1]
    if task.seed != trial_seed(task.seed[0], number):
        raise ValueError(f"{task.trial_id}: seed key {task.seed} is not a trial's seed key")
    return number - 1


def curve_record(epoch: int, value: float, seconds: float) -> Record:
    """An epoch's record whose every cost is `value` (NaN: it diverged)."""
    bad = math.isnan(value)
    record: Record = {column: math.nan for column in VALUE_COLUMNS}  # none measured...
    record.update(train_cost=value, val_cost=value, seconds=seconds)  # ... but these
    record.update(epoch=epoch, diverged=bad, message="simulated divergence" if bad else "")
    return record


class CurveSource:
    """Serves `curves` to the simulated executor, trial number k (from 1) on curve k - 1,
    each value multiplied by `sign` (-1: the sweep maximises the negated curve)."""

    def __init__(self, curves: Curves, sign: float = 1.0) -> None:
        self.curves = curves
        self.sign = sign

    def record(self, task: TrialTask, epoch: int) -> Record | None:
        trial = trial_index(task)
        trials, epochs = self.curves.shape
        if not 0 <= trial < trials or not 1 <= epoch <= epochs:
            raise ValueError(
                f"curves: no epoch {epoch} of trial {trial}; they hold {trials} trials x "
                f"{epochs} epochs"
            )
        if epoch > 1 and math.isnan(self.curves.value(trial, epoch - 1)):
            return None  # it diverged before this epoch: no worker trains past that
        seconds = float(self.curves.seconds[trial])
        return curve_record(epoch, self.sign * self.curves.value(trial, epoch), seconds)

    def __repr__(self) -> str:
        trials, epochs = self.curves.shape
        return f"CurveSource({trials} trials x {epochs} epochs, sign={self.sign:+.0f})"

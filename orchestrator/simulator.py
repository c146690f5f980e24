"""Schedulers at a scale this machine cannot run for real: simulated trials on a simulated
clock (Syne Tune's simulator backend, in miniature).

Each simulated trial has a latent quality q ~ U(0, 1): its final value is 0.1 + 0.9 q², its
curve falls from 2.3 towards it as exp(-epoch / tau) plus noise, and tau grows with q (good
configurations usually learn faster too, though the curves still cross). Each trial also
has its own seconds per epoch. W workers take trials in order; every epoch is an event on
a heap ordered by simulated time; a stopped trial frees its worker at once.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from orchestrator.schedulers import Decision, Scheduler

START = 2.3
CURVE_STREAM, SPEED_STREAM, NOISE_STREAM = 0, 1, 2


@dataclass(frozen=True)
class Curves:
    """Every simulated trial's parameters; they depend on the seed, not the scheduler."""

    final: np.ndarray  # (n,) value the curve tends to
    tau: np.ndarray  # (n,) epochs for the gap to shrink by e
    seconds: np.ndarray  # (n,) seconds per epoch
    noise: np.ndarray  # (n, max_epochs) additive noise per epoch

    def value(self, trial: int, epoch: int) -> float:
        """The metric trial `trial` reports after `epoch` epochs (counting from 1)."""
        gap = START - self.final[trial]
        clean = self.final[trial] + gap * math.exp(-epoch / self.tau[trial])
        return float(clean + self.noise[trial, epoch - 1])


def make_curves(trials: int, max_epochs: int, seed: int, noise: float = 0.01) -> Curves:
    seqs = [np.random.SeedSequence(seed, spawn_key=(k,)) for k in range(3)]
    curve_rng, speed_rng, noise_rng = (np.random.default_rng(s) for s in seqs)
    q = curve_rng.random(trials)
    final = 0.1 + 0.9 * q**2
    tau = 1.0 + 6.0 * (0.7 * q + 0.3 * curve_rng.random(trials))  # (n,)
    seconds = speed_rng.lognormal(mean=0.0, sigma=0.5, size=trials)
    scale = noise * (final[:, None] + 0.1)
    return Curves(final, tau, seconds, scale * noise_rng.standard_normal((trials, max_epochs)))


@dataclass(frozen=True)
class SimulationResult:
    epochs: int  # epochs trained over all trials
    best_final: float  # best last value among trials that ran to max_epochs (noisy)
    best_true: float  # that trial's noiseless final value: the configuration's real worth
    best_trial: int
    time_to_best: float  # simulated seconds until that value was reported
    makespan: float  # simulated seconds until the last trial ended
    completed: int
    stopped: int
    decisions: int

    def __repr__(self) -> str:
        return (
            f"SimulationResult(epochs={self.epochs}, best_final={self.best_final:.4f} "
            f"(true {self.best_true:.4f}) "
            f"(trial {self.best_trial}, t={self.time_to_best:.1f}s), completed="
            f"{self.completed}, stopped={self.stopped}, makespan={self.makespan:.1f}s)"
        )


def simulate(
    scheduler: Scheduler,
    trials: int,
    workers: int,
    max_epochs: int,
    seed: int,
    curves: Curves | None = None,
) -> SimulationResult:
    """Run `scheduler` over `trials` simulated trials on `workers` simulated workers."""
    curves = curves or make_curves(trials, max_epochs, seed)
    events: list[tuple[float, int, int]] = []  # (time, trial, epoch just finished)
    next_trial = 0
    epochs = completed = stopped = 0
    best = (math.inf, -1, math.nan)  # value, trial, time
    makespan = 0.0

    def start(trial: int, now: float) -> None:
        scheduler.on_start(f"t{trial}")
        heapq.heappush(events, (now + curves.seconds[trial], trial, 1))

    for _ in range(min(workers, trials)):
        start(next_trial, 0.0)
        next_trial += 1
    while events:
        now, trial, epoch = heapq.heappop(events)
        epochs += 1
        value = curves.value(trial, epoch)
        decision = scheduler.on_result(f"t{trial}", epoch, scheduler.sign * value)
        ended = True
        if decision is Decision.CONTINUE and epoch >= max_epochs:
            scheduler.on_complete(f"t{trial}")
            completed += 1
            best = min(best, (value, trial, now))
        elif decision is Decision.CONTINUE:
            heapq.heappush(events, (now + curves.seconds[trial], trial, epoch + 1))
            ended = False
        else:
            stopped += 1
        if ended:
            makespan = now
            if next_trial < trials:
                start(next_trial, now)
                next_trial += 1
    true = float(curves.final[best[1]]) if best[1] >= 0 else math.nan
    return SimulationResult(
        epochs, best[0], true, best[1], best[2], makespan, completed, stopped, scheduler.decisions
    )

"""Schedulers at a scale this machine cannot run for real: simulated trials on a simulated
clock (Syne Tune's simulator backend, in miniature).

Each simulated trial has a latent quality q ~ U(0, 1): its final value is 0.1 + 0.9 q², its
curve falls from 2.3 towards it as exp(-epoch / tau) plus noise, and tau grows with q (good
configurations usually learn faster too, though the curves still cross). Each trial also
has its own seconds per epoch. W workers take trials in order; every epoch is an event on
a heap ordered by simulated time; a stopped or paused trial frees its worker at once. A
free worker first asks the scheduler for a paused trial to promote (`mode: promote`),
which goes on from its next epoch, and only then starts a new trial; once every trial has
started, it asks with `finishing=True`, as the tuning loop does.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from orchestrator.schedulers import Decision, Scheduler

START = 2.3


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


@dataclass(frozen=True)
class SimulationResult:
    epochs: int  # epochs trained over all trials
    best_final: float  # best last value among trials that ran to max_epochs (noisy)
    best_true: float  # that trial's noiseless final value: the configuration's real worth
    best_trial: int
    time_to_best: float  # simulated seconds until that value was reported
    makespan: float  # simulated seconds until the last trial ended
    completed: int
    stopped: int  # pruned or diverged
    decisions: int  # on_result calls
    paused: int = 0  # paused at a rung and never promoted

    def __repr__(self) -> str:
        return (
            f"SimulationResult(epochs={self.epochs}, best_final={self.best_final:.4f} "
            f"(true {self.best_true:.4f}, trial {self.best_trial}, t={self.time_to_best:.1f}s), "
            f"completed={self.completed}, stopped={self.stopped}, paused={self.paused}, "
            f"makespan={self.makespan:.1f}s)"
        )


def _check(trials: int, workers: int, max_epochs: int, curves: Curves) -> None:
    for key, n in (("trials", trials), ("workers", workers), ("max_epochs", max_epochs)):
        if n < 1:
            raise ValueError(f"{key}: must be >= 1, got {n}")
    if curves.noise.shape[0] < trials or curves.noise.shape[1] < max_epochs:
        raise ValueError(
            f"curves: need at least {trials} trials x {max_epochs} epochs, got "
            f"{curves.noise.shape[0]} x {curves.noise.shape[1]}; build them with "
            f"make_curves(trials, max_epochs, seed)"
        )


def simulate(
    scheduler: Scheduler,
    trials: int,
    workers: int,
    max_epochs: int,
    seed: int,
    curves: Curves | None = None,
) -> SimulationResult:
    """Run `scheduler` over `trials` simulated trials on `workers` simulated workers.

    `curves` (default: make_curves(trials, max_epochs, seed)) lets several schedulers
    share one set without building it again.
    """
    if curves is None:
        curves = make_curves(trials, max_epochs, seed)
    _check(trials, workers, max_epochs, curves)
    events: list[tuple[float, int, int]] = []  # (time, trial, epoch just finished)
    next_trial = 0
    epochs = completed = stopped = 0
    paused: dict[str, tuple[int, int]] = {}  # trial id -> (trial, epoch it paused after)
    idle = min(workers, trials)
    best = (math.inf, -1, math.nan)  # value, trial, time
    makespan = 0.0

    def fill(now: float) -> None:
        """Give each idle worker a promoted trial if there is one, else a new trial."""
        nonlocal next_trial, idle
        while idle:
            tid = scheduler.promote(finishing=next_trial >= trials)
            if tid is not None:
                trial, epoch = paused.pop(tid)
            elif next_trial < trials:
                trial, epoch = next_trial, 0
                scheduler.on_start(f"t{trial}")
                next_trial += 1
            else:
                return  # asked again after the next result: it may make a trial promotable
            heapq.heappush(events, (now + curves.seconds[trial], trial, epoch + 1))
            idle -= 1

    fill(0.0)
    while events:
        now, trial, epoch = heapq.heappop(events)
        tid = f"t{trial}"
        epochs += 1
        value = curves.value(trial, epoch)
        # Curves are costs; a maximising scheduler is fed their negation, so every direction
        # sees the same ranking.
        decision = scheduler.on_result(tid, epoch, scheduler.sign * value)
        if decision is Decision.CONTINUE and epoch < max_epochs:
            heapq.heappush(events, (now + curves.seconds[trial], trial, epoch + 1))
        else:
            if decision is Decision.CONTINUE:
                scheduler.on_complete(tid)
                completed += 1
                best = min(best, (value, trial, now))
            elif decision is Decision.PAUSE:
                paused[tid] = (trial, epoch)
            else:
                if decision is Decision.DIVERGED:
                    scheduler.on_failed(tid)
                stopped += 1
            makespan = now
            idle += 1
        if idle:
            fill(now)
    true = float(curves.final[best[1]]) if best[1] >= 0 else math.nan
    return SimulationResult(
        epochs,
        best[0],
        true,
        best[1],
        best[2],
        makespan,
        completed,
        stopped,
        scheduler.decisions,
        len(paused),
    )

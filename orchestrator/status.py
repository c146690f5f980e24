"""A sweep's live numbers: trial counts by state, the best so far, epochs per second.

The loop updates it on every event; progress displays and tests read it. Plain data, so
it is cheap to update and easy to print.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.schedulers.base import diverged

if TYPE_CHECKING:
    from orchestrator.loop import Running
    from orchestrator.sweepfile import SweepSpec


@dataclass
class Status:
    name: str
    metric: str
    sign: float
    total: int
    started: float
    time_limit: float | None
    now: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)
    running: set[str] = field(default_factory=set)
    epochs: int = 0  # epochs trained by this process
    epochs_before: int = 0  # epochs stored before a resume
    best_value: float = math.nan
    best_trial: str | None = None
    best_config: dict[str, Any] = field(default_factory=dict)
    restarts: int = 0
    final: bool = False
    log: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    notes: int = 0  # lines ever added to the log (it keeps only the latest)

    @classmethod
    def start(cls, spec: SweepSpec, now: float) -> Status:
        return cls(spec.name, spec.metric, spec.sign, spec.total_trials, now, spec.time_limit, now)

    # -- updates from the loop ----------------------------------------------------------

    def _note(self, line: str) -> None:
        self.log.append(line)
        self.notes += 1

    def since(self, seen: int) -> list[str]:
        """Log lines added after the first `seen` (as many as are still kept)."""
        fresh = min(self.notes - seen, len(self.log))
        return list(self.log)[len(self.log) - fresh :] if fresh > 0 else []

    def launched(self, trial: Running, now: float) -> None:
        self.now = now
        self.running.add(trial.trial_id)

    def epoch(self, trial: Running, record: dict[str, Any], value: float, now: float) -> None:
        self.now = now
        self.epochs += 1
        if not diverged(value) and (
            math.isnan(self.best_value) or self.sign * value < self.sign * self.best_value
        ):
            leader = self.best_trial
            self.best_value, self.best_trial, self.best_config = value, trial.trial_id, trial.config
            if leader != trial.trial_id:  # a new leader is news; its own progress is not
                self._note(
                    f"{trial.trial_id} new best {self.metric}={value:.4g} "
                    f"at epoch {record['epoch']}"
                )

    def ended(self, trial: Running, state: str) -> None:
        self.running.discard(trial.trial_id)
        self.counts[state] += 1
        self._note(f"{trial.trial_id} {state} after {trial.reported} epochs")

    def restarted(self, trial: Running, error: str) -> None:
        self.running.discard(trial.trial_id)
        self.restarts += 1
        last = error.strip().splitlines()[-1] if error.strip() else "worker lost"
        self._note(f"{trial.trial_id} lost its worker ({last}); restarting from checkpoint")

    def replayed(self, rows: list[dict[str, Any]], sign: float) -> None:
        for row in rows:
            if row["state"] not in ("pending", "running"):
                self.counts[row["state"]] += 1
            self.epochs_before += row["epochs"]
            best = row["best"]
            if best is not None and (
                math.isnan(self.best_value) or sign * best < sign * self.best_value
            ):
                self.best_value, self.best_trial = best, row["trial_id"]
                self.best_config = row["config"]

    # -- what a display shows -----------------------------------------------------------

    @property
    def ended_count(self) -> int:
        return sum(self.counts.values())

    @property
    def elapsed(self) -> float:
        return max(0.0, self.now - self.started)

    @property
    def epochs_per_second(self) -> float:
        return self.epochs / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def time_left(self) -> float | None:
        """Seconds left: the time limit's, or a guess from the trials ended so far."""
        guesses = []
        if self.time_limit is not None:
            guesses.append(max(0.0, self.time_limit - self.elapsed))
        done = self.ended_count
        if 0 < done < self.total and self.elapsed > 0:
            guesses.append(self.elapsed * (self.total - done) / done)
        return min(guesses) if guesses else None

    def line(self) -> str:
        c = self.counts
        best = "-" if self.best_trial is None else f"{self.best_value:.4g} ({self.best_trial})"
        left = self.time_left
        eta = "" if left is None or self.final else f" | ~{_duration(left)} left"
        return (
            f"[{self.name}] {self.ended_count}/{self.total} ended | running {len(self.running)} "
            f"| completed {c['completed']} pruned {c['pruned']} diverged {c['diverged']} "
            f"failed {c['failed']} | best {self.metric} {best} | "
            f"{self.epochs_per_second:.1f} epochs/s{eta}"
        )


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"

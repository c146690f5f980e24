"""A sweep's live numbers: trial counts by state, the best so far, epochs per second.

The loop updates it with trial ids and numbers on every event; progress displays and
tests read it. Plain data, so it is cheap to update and easy to print. What happened is
kept as `Note`s with a kind, so a display picks the events it shows by kind.
"""

from __future__ import annotations

import enum
import math
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from caviar_common.curves import diverged
from caviar_common.states import LIVE, TrialState

if TYPE_CHECKING:
    from orchestrator.core.spec import SweepSpec
    from orchestrator.storage.rows import TrialRow


class NoteKind(enum.Enum):
    NEW_BEST = "new best"  # a trial took the lead
    ENDED = "ended"  # a trial ended (its state says how)
    RESTARTED = "restarted"  # a trial lost its worker and starts again from its checkpoint
    PAUSED = "paused"  # a trial waits at a rung
    PROMOTED = "promoted"  # a paused trial goes on from its rung


@dataclass(frozen=True)
class Note:
    """One event worth a line in a progress display."""

    kind: NoteKind
    trial_id: str
    text: str
    state: TrialState | None = None  # how an ENDED trial ended

    @property
    def notable(self) -> bool:
        """News even in a terse log: a new leader, a lost worker, a failed trial."""
        if self.kind is NoteKind.ENDED:
            return self.state is TrialState.FAILED
        return self.kind in (NoteKind.NEW_BEST, NoteKind.RESTARTED)

    def __str__(self) -> str:
        return self.text


@dataclass
class Status:
    name: str
    metric: str
    sign: float
    total: int | None  # None: trials are open, proposed until the budget is spent
    started: float
    time_limit: float | None
    now: float = 0.0
    epoch_budget: int | None = None  # epochs all trials together may train
    elapsed_before: float = 0.0  # seconds the sweep's earlier runs spent (a time budget's)
    counts: Counter[str] = field(default_factory=Counter)
    running: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # id -> config
    devices: dict[str, str] = field(default_factory=dict)  # running id -> its GPUs, if any
    epochs: int = 0  # epochs trained by this process
    epochs_before: int = 0  # epochs stored before a resume
    best_value: float = math.nan
    best_trial: str | None = None
    best_config: Mapping[str, Any] = field(default_factory=dict)
    restarts: int = 0
    final: bool = False
    log: deque[Note] = field(default_factory=lambda: deque(maxlen=200))
    notes: int = 0  # notes ever added to the log (it keeps only the latest)

    @classmethod
    def start(cls, spec: SweepSpec, now: float) -> Status:
        return cls(
            spec.name,
            spec.metric,
            spec.sign,
            spec.total_trials,
            now,
            spec.time_limit,
            now,
            epoch_budget=spec.epoch_budget,
        )

    # -- updates from the loop ----------------------------------------------------------

    def _note(self, note: Note) -> None:
        self.log.append(note)
        self.notes += 1

    def since(self, seen: int) -> list[Note]:
        """Notes added after the first `seen` (as many as are still kept)."""
        fresh = min(self.notes - seen, len(self.log))
        return list(self.log)[len(self.log) - fresh :] if fresh > 0 else []

    def launched(
        self, trial_id: str, config: Mapping[str, Any], now: float, devices: str = ""
    ) -> None:
        """`devices`: the GPUs its worker sees (CUDA_VISIBLE_DEVICES), "" for none."""
        self.now = now
        self.running[trial_id] = config
        if devices:
            self.devices[trial_id] = devices

    def devices_line(self) -> str:
        """The running trials by the GPUs they see ("GPU 0: trial-0001, trial-0002 · GPU 1:
        trial-0003"); "" when none sees a GPU."""
        by_device: dict[str, list[str]] = {}
        for trial_id, devices in sorted(self.devices.items()):
            if trial_id in self.running:
                by_device.setdefault(devices, []).append(trial_id)
        return " · ".join(
            f"GPU {devices}: {', '.join(trials)}" for devices, trials in sorted(by_device.items())
        )

    def epoch(self, trial_id: str, epoch: int, value: float, now: float) -> None:
        self.now = now
        self.epochs += 1
        if not diverged(value) and (
            math.isnan(self.best_value) or self.sign * value < self.sign * self.best_value
        ):
            leader = self.best_trial
            self.best_value, self.best_trial = value, trial_id
            self.best_config = self.running.get(trial_id, self.best_config)
            if leader != trial_id:  # a new leader is news; its own progress is not
                self._note(
                    Note(
                        NoteKind.NEW_BEST,
                        trial_id,
                        f"{trial_id} new best {self.metric}={value:.4g} at epoch {epoch}",
                    )
                )

    def ended(self, trial_id: str, state: TrialState, epochs: int) -> None:
        self.running.pop(trial_id, None)
        self.devices.pop(trial_id, None)
        self.counts[state] += 1
        text = f"{trial_id} {state} after {epochs} epochs"
        self._note(Note(NoteKind.ENDED, trial_id, text, state))

    def paused(self, trial_id: str, epochs: int) -> None:
        self.running.pop(trial_id, None)
        self.devices.pop(trial_id, None)
        self.counts[TrialState.PAUSED] += 1
        text = f"{trial_id} paused at epoch {epochs}"
        self._note(Note(NoteKind.PAUSED, trial_id, text, TrialState.PAUSED))

    def promoted(self, trial_id: str, epochs: int) -> None:
        self.counts[TrialState.PAUSED] -= 1
        self._note(Note(NoteKind.PROMOTED, trial_id, f"{trial_id} promoted from epoch {epochs}"))

    def restarted(self, trial_id: str, error: str) -> None:
        """`error`: what happened, in one line (of a longer text, the last line)."""
        self.running.pop(trial_id, None)
        self.devices.pop(trial_id, None)
        self.restarts += 1
        last = error.strip().splitlines()[-1] if error.strip() else "worker lost"
        text = f"{trial_id} lost its worker ({last}); restarting from checkpoint"
        self._note(Note(NoteKind.RESTARTED, trial_id, text))

    def replayed(self, rows: Iterable[TrialRow]) -> None:
        """Count what a resumed sweep's store already holds."""
        for row in rows:
            if row.state not in LIVE:
                self.counts[row.state] += 1
            self.epochs_before += row.epochs
            best = row.best
            if best is not None and (
                math.isnan(self.best_value) or self.sign * best < self.sign * self.best_value
            ):
                self.best_value, self.best_trial = best, row.trial_id
                self.best_config = row.config

    # -- what a display shows -----------------------------------------------------------

    @property
    def ended_count(self) -> int:
        """Trials that ended for good (a paused trial may still be promoted)."""
        return sum(n for state, n in self.counts.items() if state != TrialState.PAUSED)

    @property
    def elapsed(self) -> float:
        return max(0.0, self.now - self.started)

    @property
    def epochs_per_second(self) -> float:
        return self.epochs / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def epochs_left(self) -> int | None:
        """Epochs the budget has left (None without an epoch budget)."""
        if self.epoch_budget is None:
            return None
        return max(0, self.epoch_budget - self.epochs - self.epochs_before)

    @property
    def time_left(self) -> float | None:
        """Seconds left: the time limit's, or a guess from the trials ended so far, or
        from the epochs the budget has left at this run's pace."""
        guesses = []
        if self.time_limit is not None:
            guesses.append(max(0.0, self.time_limit - self.elapsed_before - self.elapsed))
        done = self.ended_count
        if self.total is not None and 0 < done < self.total and self.elapsed > 0:
            guesses.append(self.elapsed * (self.total - done) / done)
        left = self.epochs_left
        if left is not None and self.epochs_per_second > 0:
            guesses.append(left / self.epochs_per_second)
        return min(guesses) if guesses else None

    def budget_line(self) -> str | None:
        """What a budget by compute has left, in words; None without one."""
        parts = []
        if self.epoch_budget is not None:
            parts.append(f"{self.epochs_left:,} of {self.epoch_budget:,} epochs")
        if self.time_limit is not None:
            left = max(0.0, self.time_limit - self.elapsed_before - self.elapsed)
            parts.append(f"{_duration(left)} of {_duration(self.time_limit)}")
        return f"budget left: {' and '.join(parts)}" if parts else None

    def line(self) -> str:
        c = self.counts
        best = "-" if self.best_trial is None else f"{self.best_value:.4g} ({self.best_trial})"
        left = self.time_left
        eta = "" if left is None or self.final else f" | ~{_duration(left)} left"
        total = "" if self.total is None else f"/{self.total}"
        budget = self.budget_line()
        return (
            f"[{self.name}] {self.ended_count}{total} ended | running {len(self.running)} "
            f"| completed {c[TrialState.COMPLETED]} pruned {c[TrialState.PRUNED]} "
            f"diverged {c[TrialState.DIVERGED]} failed {c[TrialState.FAILED]} "
            + (f"paused {c[TrialState.PAUSED]} " if c[TrialState.PAUSED] else "")
            + f"| best {self.metric} {best} | {self.epochs_per_second:.1f} epochs/s{eta}"
            + ("" if budget is None else f" | {budget}")
        )


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"

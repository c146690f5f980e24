"""The states a trial and a sweep pass through; the store keeps their text values.

`StrEnum` members compare equal to their text, so rows read back from the store, the
DataFrames of `load_run` and the code all speak the same words.
"""

from __future__ import annotations

from enum import StrEnum


class TrialState(StrEnum):
    PENDING = "pending"  # planned and stored, not started yet
    RUNNING = "running"
    COMPLETED = "completed"  # ran to the epoch budget
    PRUNED = "pruned"  # stopped by the scheduler
    PAUSED = "paused"  # waiting at a rung with its checkpoint; the scheduler may promote it
    DIVERGED = "diverged"  # NaN, infinite or absurd metric: stopped at once
    FAILED = "failed"  # its code raised, or it lost its worker too often
    STOPPED = "stopped"  # ended by the sweep's time limit


LIVE: frozenset[TrialState] = frozenset({TrialState.PENDING, TrialState.RUNNING})
# Ended for good: a resume leaves these be, and nothing restores them from a checkpoint.
ENDED: frozenset[TrialState] = frozenset(TrialState) - LIVE - {TrialState.PAUSED}


class SweepState(StrEnum):
    CREATED = "created"  # its store exists; no driver has run it yet
    RUNNING = "running"  # a driver runs it (or died while running it)
    INTERRUPTED = "interrupted"  # Ctrl-C: `caviar resume` goes on
    FINISHED = "finished"

"""The seed streams of a sweep: every random choice is a child of the sweep's master seed.

A stream is named by a path of integers under the master seed (NumPy's `SeedSequence`
spawn key), so the sampler of stage 2, the scheduler and trial 17 each draw from their
own independent generator, and the same master seed replays the same sweep anywhere.
"""

from __future__ import annotations

import numpy as np

SAMPLER_STREAM, TRIAL_STREAM, SCHEDULER_STREAM, PROPOSAL_STREAM = 0, 1, 2, 3

SeedKey = tuple[int, ...]  # (master seed, *spawn key): plain integers, so it crosses processes


def stream(seed: int, *key: int) -> np.random.SeedSequence:
    """An independent child of the master seed, named by a path of integers."""
    return np.random.SeedSequence(seed, spawn_key=key)


def sequence(key: SeedKey) -> np.random.SeedSequence:
    """The SeedSequence a (master seed, *spawn key) tuple names."""
    return stream(key[0], *key[1:])


def trial_seed(seed: int, number: int) -> SeedKey:
    """Trial `number`'s seed key: its initial weights and mini-batch order come from it."""
    return (seed, TRIAL_STREAM, number)


def sampler_seed(seed: int, stage: int) -> np.random.SeedSequence:
    """The stream stage `stage`'s sampler draws its configurations from."""
    return stream(seed, SAMPLER_STREAM, stage)


def scheduler_seed(seed: int, stage: int = 0) -> np.random.SeedSequence:
    """The stream stage `stage`'s scheduler draws from (Hyperband's bracket of each trial)."""
    return stream(seed, SCHEDULER_STREAM) if stage == 0 else stream(seed, SCHEDULER_STREAM, stage)


def proposal_seed(seed: int, number: int) -> int:
    """The seed of the model-based sampler when it proposes trial `number`."""
    return int(stream(seed, PROPOSAL_STREAM, number).generate_state(1)[0])

"""How a trial's configuration came about: the words its `proposed_by` holds, and which
samplers propose one trial at a time from the results so far instead of planning a stage.

A planned stage's trials carry their sampler's name (`random`, `sobol`, `grid`); a
sequential sampler's carry `MODEL` when its model proposed them and `WARM_UP` while it was
still sampling at random, before `WARMUP` trials had results. A configuration taken from
an earlier sweep (`warm_start:`) carries `WARM_START`.
"""

from __future__ import annotations

SEQUENTIAL = ("tpe",)  # propose one trial at a time from results (orchestrator/search/tpe/)
MODEL, WARM_UP = "tpe", "warm-up"
WARM_START = "warm-start"  # a configuration taken from an earlier sweep, trained first
WARMUP = 10  # Optuna's n_startup_trials: random proposals until this much evidence exists


def is_sequential(sampler: str) -> bool:
    """True when `sampler` proposes each trial when a worker is free, from the results."""
    return sampler in SEQUENTIAL

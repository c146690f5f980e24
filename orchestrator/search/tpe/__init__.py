"""The model-based sampler: Optuna's TPE proposes one configuration at a time, when a worker
is free, from everything the sweep knows so far.

TPE works on Caviar's unit coordinates, so the course's scales hold: an ordered parameter
(log learning rate, log 1-beta, a power of two, an integer) is a float in its box's range of
the unit interval, a choice is a categorical, and a conditional parameter is suggested only
where its condition holds (grouped TPE models each set of parameters that occur together).
Trials are compared where they are comparable, as BOHB fits its model on the highest budget
with enough observations: at the highest milestone epoch (a rung or the last) that enough
trials reached, every trial that reached it counts by its best value up to that epoch, and
one that stopped short of it (paused, pruned, stopped) ranks below them, by the epoch it
reached, then its best value there (Optuna's own rule for pruned trials). So a trial that
got far only because its Hyperband bracket started late does not pass for a good one.
Without milestones (a warm start's trials), finished trials count by their best value.
Diverged trials are the worst evidence; trials still running count as running, so the
constant liar keeps parallel workers from all getting the same proposal. The same seed and
the same order of results give the same proposals, and a resumed sweep rebuilds the history
from its store.

A long sweep costs no more per proposal than a short one: the model keeps each trial's
coordinates and Optuna trial between proposals (`TpeModel`), the loop keeps the evidence up
to date without reading the store back (`Ledger`), and past `KEEP` finished trials TPE sees
the best, the newest and a uniform sample of the rest (`history`), which leaves its
density of good configurations exactly as the whole history gives it.

- `evidence`: what the model learns of each trial, and the epoch trials are compared at
- `coordinates`: configurations as TPE's coordinates and back
- `history`: which trials TPE sees, and how each stands
- `model`: the model kept between proposals, and `suggest` from a history afresh
- `trials`: the Optuna side (loaded only when TPE proposes)
- `ledger`: a running sweep's evidence, kept from the loop's view of its trials
"""

from __future__ import annotations

from orchestrator.search.proposed_by import MODEL, WARM_UP, WARMUP
from orchestrator.search.tpe.coordinates import distributions, from_params, to_params
from orchestrator.search.tpe.evidence import Evidence, Stored, evidence, fidelity
from orchestrator.search.tpe.history import BEST, KEEP, RECENT, Standing, standing
from orchestrator.search.tpe.ledger import Ledger
from orchestrator.search.tpe.model import Suggestion, TpeModel, suggest

__all__ = [
    "BEST",
    "KEEP",
    "MODEL",
    "RECENT",
    "WARMUP",
    "WARM_UP",
    "Evidence",
    "Ledger",
    "Standing",
    "Stored",
    "Suggestion",
    "TpeModel",
    "distributions",
    "evidence",
    "fidelity",
    "from_params",
    "standing",
    "suggest",
    "to_params",
]

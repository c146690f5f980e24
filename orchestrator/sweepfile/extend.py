"""Grow a sweep: the sweep file it would have had with one more stage, or more epochs.

`extended` rewrites the sweep file kept in a store (as read, a mapping) and nothing else;
the caller checks the result as any sweep file is checked, and the tuning loop, resuming
from the store, runs what the new file adds: the new stage's trials (TPE proposes them
from every result so far), and, with a larger epoch budget, the paused trials a promotion
lets go on and the kept trials that completed, from their checkpoints.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from caviar_common.errors import InputError
from orchestrator.sweepfile.fields import BUDGET, TOP


def extended(
    source: Mapping[str, Any],
    *,
    trials: int | None = None,
    max_epochs: int | None = None,
    sampler: Any = None,
) -> dict[str, Any]:
    """The sweep file `source` with a last stage of `trials` trials (sampled by `sampler`,
    by default the last stage's) and an epoch budget of `max_epochs`.

    Raises InputError (naming the option) when neither is asked for, when `trials` is not
    a positive integer, when `max_epochs` would shrink the budget, or when `sampler` is
    given without `trials`.
    """
    if sampler is not None and trials is None:
        raise InputError("--sampler", "samples the new stage's trials; give --trials too", sampler)
    if trials is None and max_epochs is None:
        raise InputError("extend", "needs --trials N, --max-epochs M or both; got neither")
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int)):
        raise InputError("--trials", "must be an integer >= 1", trials)
    if trials is not None and trials < 1:
        raise InputError("--trials", "must be an integer >= 1", trials)
    out = copy.deepcopy(dict(source))
    budget = dict(out.get("budget") or {})
    if max_epochs is not None:
        now = budget.get("max_epochs", BUDGET["max_epochs"].default)
        if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < now:
            raise InputError(
                "--max-epochs",
                f"must be an integer >= the sweep's budget.max_epochs ({now}); a sweep grows, "
                "it never shrinks",
                max_epochs,
            )
        budget["max_epochs"] = max_epochs
        out["budget"] = budget
    if trials is not None:
        stages = out.get("stages")
        if not stages:  # one stage of budget.trials, sampled by the top-level sampler
            stages = [{"trials": budget.get("trials", BUDGET["trials"].default)}]
        stages = [dict(s) for s in stages]
        last = stages[-1]
        stage: dict[str, Any] = {"trials": trials}
        if sampler is not None:
            stage["sampler"] = sampler
        elif "sampler" in last:
            stage["sampler"] = copy.deepcopy(last["sampler"])
        elif "sampler" in out:
            stage["sampler"] = copy.deepcopy(out["sampler"])
        else:
            stage["sampler"] = TOP["sampler"].default
        out["stages"] = [*stages, stage]
    return out

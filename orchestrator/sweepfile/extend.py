"""Grow a sweep: the sweep file it would have had with one more stage, more epochs per
trial, or a larger budget by compute (epochs in all, seconds).

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
from orchestrator.sweepfile.stages_section import open_trials


def extended(
    source: Mapping[str, Any],
    *,
    trials: int | None = None,
    max_epochs: int | None = None,
    sampler: Any = None,
    epochs: int | None = None,
    time_limit: float | None = None,
) -> dict[str, Any]:
    """The sweep file `source` with a last stage of `trials` trials (sampled by `sampler`,
    by default the last stage's), an epoch budget per trial of `max_epochs`, and a budget
    by compute of `epochs` in all and `time_limit` seconds.

    Raises InputError (naming the option) when nothing is asked for, when `trials` is not
    a positive integer or the sweep's trials are open (it grows by its budget instead),
    when a budget would shrink or is one the sweep never had, or when `sampler` is given
    without `trials`.
    """
    if sampler is not None and trials is None:
        raise InputError("--sampler", "samples the new stage's trials; give --trials too", sampler)
    if trials is None and max_epochs is None and epochs is None and time_limit is None:
        raise InputError(
            "extend", "needs --trials N, --max-epochs M, --epochs E or --time-limit S; got none"
        )
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int)):
        raise InputError("--trials", "must be an integer >= 1", trials)
    if trials is not None and trials < 1:
        raise InputError("--trials", "must be an integer >= 1", trials)
    out = copy.deepcopy(dict(source))
    budget = dict(out.get("budget") or {})
    if trials is not None and open_trials(budget):
        raise InputError(
            "--trials",
            "adds a stage to a sweep whose trials are counted; this one's are open (its "
            "budget is by compute), so grow it with --epochs or --time-limit",
            trials,
        )
    grown = {"max_epochs": max_epochs, "epochs": epochs, "time_limit": time_limit}
    for key, new in grown.items():
        if new is not None:
            budget[key] = _grown(key, budget, new)
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


def _grown(key: str, budget: dict[str, Any], new: Any) -> Any:
    """budget.`key` grown to `new`: never smaller than it is; epochs and time_limit only
    where the sweep has them (adding one would change what its trials mean)."""
    option = "--" + key.replace("_", "-")
    now = budget.get(key, BUDGET[key].default)
    kind = int if key != "time_limit" else (int, float)
    if key != "max_epochs" and now is None:
        raise InputError(
            option,
            f"grows the sweep's budget.{key}, and this sweep has none; extend it with --trials",
            new,
        )
    if isinstance(new, bool) or not isinstance(new, kind) or new < now:
        raise InputError(
            option,
            f"must be {'a number' if key == 'time_limit' else 'an integer'} >= the "
            f"sweep's budget.{key} ({now:g}); a sweep grows, "
            "it never shrinks",
            new,
        )
    return new

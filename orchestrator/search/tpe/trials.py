"""The Optuna side of the model: a trial as TPE's study holds it, and one proposal from a
study of such trials. Imported only when TPE proposes (Optuna takes a while to load)."""

from __future__ import annotations

import copy
import datetime
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from orchestrator.search.space import Space
from orchestrator.search.tpe.coordinates import suggest_all
from orchestrator.search.tpe.history import COMPLETE, RUNNING, Standing


class SharedTrial(FrozenTrial):
    """A trial nothing changes once it is made. Optuna's in-memory storage takes a deep copy
    of every trial added to it (its own trials change as they run); for these a shallow one
    does as well, at a tenth of the cost, which is most of what loading a study costs."""

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedTrial:
        return copy.copy(self)


MADE = datetime.datetime(2000, 1, 1)  # when every trial "started": TPE never reads it


def frozen(standing: Standing, params: dict[str, float | int], used: dict[str, Any]) -> Any:
    """The trial as TPE's study holds it: at its coordinates `params` (of distributions
    `used`), running, complete with its value, or pruned with its value at its last step
    (none: it ranks last). It shares `params` and `used`, which nothing changes."""
    state = {RUNNING: OptunaState.RUNNING, COMPLETE: OptunaState.COMPLETE}.get(
        standing.state, OptunaState.PRUNED
    )
    steps = {standing.step: standing.value} if standing.step is not None else {}
    return SharedTrial(
        number=-1,
        state=state,
        value=standing.value if state == OptunaState.COMPLETE else None,
        datetime_start=MADE,
        datetime_complete=None if state == OptunaState.RUNNING else MADE,
        params=params,
        distributions=used,
        user_attrs={},
        system_attrs={},
        intermediate_values=steps if state == OptunaState.PRUNED else {},
        trial_id=-1,
    )


def ask(
    space: Space,
    fixed: Mapping[str, Any],
    trials: Sequence[Any],
    dists: Mapping[str, Any],
    seed: int,
    warmup: int,
) -> dict[str, float | int]:
    """The coordinates Optuna's TPE proposes next from `trials` (made by `frozen`, oldest
    first): multivariate and grouped, with the constant liar, random until `warmup` trials
    have finished; values are in minimise terms."""
    quiet = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per study created
    try:
        with warnings.catch_warnings():  # grouped TPE and the liar are "experimental"
            warnings.simplefilter("ignore")
            study = optuna.create_study(
                sampler=optuna.samplers.TPESampler(
                    n_startup_trials=warmup,
                    multivariate=True,
                    group=True,
                    constant_liar=True,
                    seed=seed,
                ),
                direction="minimize",
            )
            study.add_trials(trials)
            return suggest_all(space, fixed, study.ask(), dists)
    finally:
        optuna.logging.set_verbosity(quiet)

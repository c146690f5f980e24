"""Which hyperparameters mattered: how much of the variation in a sweep's results each one
explains, by Optuna's fANOVA evaluator (a random forest fitted on the trials, its variance
split by parameter), on the unit coordinates the samplers use, so log and 1-β scales count
as they were searched.

The forest is smaller than Optuna's default (64 trees grown to depth 64): fANOVA walks
every tree in Python, so its cost grows with the leaves. At 1,000 trials the default took
26-29 s here, 8 trees of depth 7 about 0.2 s, and their shares differed by a few points (on
a synthetic objective whose true shares are .50/.30/.15/.05: .57/.36/.07/.01 against the
default's .56/.34/.09/.01; both favour the strongest parameter). Optuna's PED-ANOVA
evaluator is faster still but answers another question, what sets the best 10 % of trials
apart, and credits whatever the sampler narrowed: on the coarse-to-fine store of
benchmarks/common/bigstore.py, where only the learning rate sets the cost, it ranked
hidden_layers first (.45, learning_rate .39); fANOVA gives the learning rate over .99.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from orchestrator.search.space import Box, Space
from orchestrator.search.tpe import distributions, to_params

TREES = 8  # fANOVA's forest: trees ...
DEPTH = 7  # ... and their depth (at most 2**7 leaves each)
METHOD = f"fANOVA, Optuna's FanovaImportanceEvaluator with {TREES} trees of depth {DEPTH}"
WHY_LEFT_OUT = (
    "each searched only under a condition, so some trials have no value for it, and fANOVA "
    "needs every trial to have one"
)


def importances(
    space: Space, results: Sequence[tuple[Mapping[str, Any], float]], seed: int = 0
) -> dict[str, float]:
    """Each searched parameter's share of the variation in `results` ((configuration, value)
    pairs, finite values only), largest first; shares add up to 1. Parameters inactive in
    some trials are left out (fANOVA needs every trial to have them); with fewer than two
    distinct values there is nothing to explain and the result is empty."""
    import optuna
    from optuna.importance import FanovaImportanceEvaluator
    from optuna.trial import create_trial

    finite = [(c, v) for c, v in results if math.isfinite(v)]
    if len({v for _, v in finite}) < 2:
        return {}
    dists = distributions(space, Box.full(len(space.dims)))
    quiet = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(direction="minimize")
            trials = []
            for config, value in finite:
                params = to_params(space, config)
                used = {n: dists[n] for n in params}
                trials.append(create_trial(params=params, distributions=used, value=value))
            study.add_trials(trials)
            evaluator = FanovaImportanceEvaluator(n_trees=TREES, max_depth=DEPTH, seed=seed)
            found = optuna.importance.get_param_importances(study, evaluator=evaluator)
    finally:
        optuna.logging.set_verbosity(quiet)
    return {str(k): float(v) for k, v in found.items()}


def left_out(space: Space, ranked: Iterable[str]) -> list[str]:
    """The searched parameters `importances` gave no share (`WHY_LEFT_OUT` says why: an
    unconditional one has a value in every trial, so only a conditional one can miss)."""
    shared = set(ranked)
    return [name for name in space.dims if name not in shared]

"""Which hyperparameters mattered: how much of the variation in a sweep's results each one
explains, by Optuna's fANOVA evaluator (a random forest fitted on the trials, its variance
split by parameter), on the unit coordinates the samplers use, so log and 1-β scales count
as they were searched.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.search.space import Box, Space
from orchestrator.search.tpe import distributions, to_params


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
            for config, value in finite:
                params = to_params(space, config)
                used = {n: dists[n] for n in params}
                study.add_trial(create_trial(params=params, distributions=used, value=value))
            found = optuna.importance.get_param_importances(
                study, evaluator=FanovaImportanceEvaluator(seed=seed)
            )
    finally:
        optuna.logging.set_verbosity(quiet)
    return {str(k): float(v) for k, v in found.items()}

"""Caviar's search space through Optuna's own suggest API, scale for scale: what every
Optuna row of compare.py and quality.py samples from."""

from __future__ import annotations

from typing import Any


def suggest(trial: Any, space: Any, fixed: dict[str, Any]) -> dict[str, Any]:
    """A configuration from Caviar's space through Optuna's own suggest API, scale for scale."""
    from orchestrator.search import space as sp

    config = dict(fixed)
    for name, param in space.params.items():
        if not space.active(name, config):
            continue
        if isinstance(param, sp.Constant):
            value = param.value
        elif isinstance(param, sp.Choice):
            value = trial.suggest_categorical(name, list(param.values))
        elif isinstance(param, sp.LogUniform | sp.Uniform):
            log = isinstance(param, sp.LogUniform)
            value = trial.suggest_float(name, param.low, param.high, log=log)
        elif isinstance(param, sp.OneMinusLogUniform):  # 1 - beta is log-uniform
            value = 1 - trial.suggest_float(f"1-{name}", 1 - param.high, 1 - param.low, log=True)
        elif isinstance(param, sp.IntUniform | sp.LogInt):
            log = isinstance(param, sp.LogInt)
            value = trial.suggest_int(name, param.low, param.high, log=log)
        elif isinstance(param, sp.PowerOfTwo):
            ks = param.exponents
            value = 2 ** trial.suggest_int(f"log2_{name}", ks[0], ks[-1])
        else:
            raise ValueError(f"space.{name}: no Optuna equivalent of {param.kind}")
        config[name] = value
    return config

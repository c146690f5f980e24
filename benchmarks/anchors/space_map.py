"""Caviar's search space on each anchor library's own types, scale for scale, and the
configurations they sample back as Caviar's.

The parent describes the space (`benchmarks.tuning.anchor_runs.describe`): `params`, each
with its name, Caviar kind and fields; `conditions`, name -> {parent: allowed values}; and
`fixed`, the model keys every trial gets. Syne Tune has the 1-β scale itself
(`reverseloguniform`) and a log-spaced finite range for powers of two; ConfigSpace (DEHB's)
gets 1-β as a log-uniform `1-NAME` and powers of two as an ordinal. Syne Tune has no
conditions: it samples every parameter and the inactive ones are dropped, as Caviar's own
decoding drops them; ConfigSpace leaves them out itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Described = Mapping[str, Any]  # {"params": [...], "conditions": {...}, "fixed": {...}}


def exponents(param: Mapping[str, Any]) -> list[int]:
    """k for every power of two 2**k from `low` to `high` (Caviar's `power_of_two`)."""
    return list(range(int(param["low"]).bit_length() - 1, int(param["high"]).bit_length()))


def plain(value: Any) -> Any:
    """A library's numpy scalar as the Python value it holds (JSON and the trainer want it)."""
    return value.item() if hasattr(value, "item") else value


def caviar_config(values: Mapping[str, Any], space: Described) -> dict[str, Any]:
    """Caviar's configuration from each parameter's value on Caviar's scale (`values`, which
    may hold inactive ones; Syne Tune's sampled configurations are such): the fixed keys,
    then every active parameter, in order."""
    config = dict(space["fixed"])
    for param in space["params"]:
        name = param["name"]
        when = space["conditions"].get(name, {})
        if not all(config.get(parent) in allowed for parent, allowed in when.items()):
            continue
        if name not in values:
            raise ValueError(f"space.{name}: active in {config}, but the library left it out")
        config[name] = plain(values[name])
    return config


def synetune_space(space: Described) -> dict[str, Any]:
    """Syne Tune's config space: a domain for each parameter, constants as plain values."""
    from syne_tune import config_space as cs

    out: dict[str, Any] = {}
    for p in space["params"]:
        kind, name = p["kind"], p["name"]
        if kind == "constant":
            out[name] = p["value"]
        elif kind == "choice":
            out[name] = cs.choice(list(p["values"]))
        elif kind == "power_of_two":
            ks = exponents(p)
            out[name] = cs.logfinrange(2 ** ks[0], 2 ** ks[-1], len(ks), cast_int=True)
        else:
            domain = {
                "uniform": cs.uniform,
                "log_uniform": cs.loguniform,
                "one_minus_log_uniform": cs.reverseloguniform,
                "int_uniform": cs.randint,
                "log_int": cs.lograndint,
            }.get(kind)
            if domain is None:
                raise ValueError(f"space.{name}: no Syne Tune domain for {kind!r}")
            out[name] = domain(p["low"], p["high"])
    return out


def configspace_name(param: Mapping[str, Any]) -> str:
    """The parameter's name in ConfigSpace: `1-beta` for a 1-β parameter `beta`."""
    return f"1-{param['name']}" if param["kind"] == "one_minus_log_uniform" else param["name"]


def _hyperparameter(p: Mapping[str, Any]) -> Any:
    import ConfigSpace as CS

    kind, name = p["kind"], configspace_name(p)
    if kind == "constant":
        return CS.Constant(name, p["value"])
    if kind == "choice":
        return CS.CategoricalHyperparameter(name, list(p["values"]))
    if kind == "power_of_two":
        return CS.OrdinalHyperparameter(name, [2**k for k in exponents(p)])
    if kind in ("uniform", "log_uniform"):
        return CS.UniformFloatHyperparameter(name, p["low"], p["high"], log=kind != "uniform")
    if kind == "one_minus_log_uniform":  # 1 - beta log-uniform: [1 - high, 1 - low]
        return CS.UniformFloatHyperparameter(name, 1 - p["high"], 1 - p["low"], log=True)
    if kind in ("int_uniform", "log_int"):
        return CS.UniformIntegerHyperparameter(name, p["low"], p["high"], log=kind == "log_int")
    raise ValueError(f"space.{p['name']}: no ConfigSpace hyperparameter for {kind!r}")


def configspace_space(space: Described, seed: int) -> Any:
    """A ConfigSpace `ConfigurationSpace` seeded `seed`, Caviar's conditions as its own."""
    import ConfigSpace as CS

    cs = CS.ConfigurationSpace(seed=seed)
    made = {p["name"]: _hyperparameter(p) for p in space["params"]}
    cs.add(list(made.values()))
    for name, when in space["conditions"].items():
        parts = [
            CS.InCondition(made[name], made[parent], list(allowed))
            if len(allowed) > 1
            else CS.EqualsCondition(made[name], made[parent], allowed[0])
            for parent, allowed in when.items()
        ]
        cs.add(parts[0] if len(parts) == 1 else CS.AndConjunction(*parts))
    return cs


def from_configspace(config: Mapping[str, Any], space: Described) -> dict[str, Any]:
    """Caviar's configuration from a ConfigSpace one (1-β back to β)."""
    values: dict[str, Any] = {}
    for p in space["params"]:
        name = configspace_name(p)
        if name in config:  # an inactive parameter is left out
            one_minus = p["kind"] == "one_minus_log_uniform"
            values[p["name"]] = 1 - plain(config[name]) if one_minus else config[name]
    return caviar_config(values, space)

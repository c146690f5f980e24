"""The sweep file's stages: each one's trials or share of the budget, its sampler and its
zoom, checked on their own and then together (only the last may be open, the shares fit).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.core.spec import Stage
from orchestrator.search.space import Space
from orchestrator.sweepfile.checks import (
    Problems,
    SweepError,
    get,
    known_keys,
    mapping,
    raise_all,
    required,
    value,
)
from orchestrator.sweepfile.fields import BUDGET, MAX_TRIALS, SAMPLER, STAGE, ZOOM

Sampling = tuple[str, int, int]  # a stage's sampler: name, grid points, tpe warm-up
FALLBACK: Sampling = ("random", SAMPLER["points"].default, SAMPLER["warmup"].default)


def sampler(path: str, raw: Any) -> Sampling:
    """(name, grid points, tpe warm-up) of `sampler: NAME` or `sampler: {name: NAME, ...}`."""
    if not isinstance(raw, Mapping):
        return value(path, SAMPLER["name"], raw), FALLBACK[1], FALLBACK[2]
    problems = Problems()
    problems.attempt(known_keys, path, raw, tuple(SAMPLER))
    name = problems.attempt(
        lambda: value(f"{path}.name", SAMPLER["name"], required(raw, "name", path))
    )
    for key, field in SAMPLER.items():
        if field.only_for and key in raw and name is not None and name != field.only_for:
            problems.add(
                SweepError(
                    f"{path}.{key}",
                    f"only the {field.only_for} sampler takes {key}, and this one is {name}",
                )
            )
    points = problems.attempt(get, raw, "points", SAMPLER, path)
    warmup = problems.attempt(get, raw, "warmup", SAMPLER, path)
    raise_all(problems.found)
    assert name is not None and points is not None and warmup is not None
    return name, points, warmup


def stages(
    raw: Any, budget: Mapping[str, Any], default: Sampling | None, space: Space | None
) -> tuple[Stage, ...]:
    """The stages; `default` (the top-level sampler) and `space` are None when they have
    problems of their own, and then what depends on them is not checked. With a budget by
    compute and no budget.trials, a stage that gives neither trials nor a share is open:
    it proposes until the budget is spent."""
    if raw is None:
        trials = None if open_trials(budget) else _trials("budget.trials", budget)
        if default is not None and space is not None:
            _check_grid("sampler", default[0], default[1], space)
        sampling = default or FALLBACK
        return (Stage(trials, sampling[0], sampling[1], warmup=sampling[2]),)
    if not isinstance(raw, list) or not raw:
        raise SweepError("stages", f"must be a non-empty list of stages, got {raw!r}")
    problems = Problems()
    stages = [
        problems.attempt(_stage, i, entry, budget, default, space) for i, entry in enumerate(raw)
    ]
    raise_all(problems.found)
    checked = [s for s in stages if s is not None]
    total = sum(s.trials or 0 for s in checked)
    if total > MAX_TRIALS:
        raise SweepError(
            "stages",
            f"the stages' trials add up to {total}; a sweep runs at most {MAX_TRIALS} trials",
        )
    _check_shares(checked)
    return tuple(checked)


def open_trials(budget: Mapping[str, Any]) -> bool:
    """Whether trials are open: a budget by compute (epochs, time_limit) and no trials."""
    by_compute = any(budget.get(k) is not None for k in ("epochs", "time_limit"))
    return by_compute and "trials" not in budget


def _check_shares(stages: Sequence[Stage]) -> None:
    """Every stage but the last ends somewhere, and the shares fit in the budget."""
    for i, stage in enumerate(stages[:-1]):
        if stage.trials is None and stage.share is None:
            raise SweepError(
                f"stages[{i}]",
                "needs trials or a share: with trials open, only the last stage may give "
                "neither (it takes the rest of the budget)",
            )
    shares = [s.share for s in stages if s.share is not None]
    total = sum(shares)
    if total > 1 + 1e-9:
        raise SweepError(
            "stages", f"the stages' shares add up to {total:g}; they must add up to at most 1"
        )
    if len(shares) == len(stages) and abs(total - 1) > 1e-9:
        raise SweepError(
            "stages",
            f"the stages' shares add up to {total:g}; with a share on every stage they must "
            "add up to 1 (or leave the last stage's out: it takes the rest)",
        )


def check_epoch_budget(epochs: int | None, max_epochs: int | None) -> None:
    if epochs is not None and max_epochs is not None and epochs < max_epochs:
        raise SweepError(
            "budget.epochs",
            f"must be at least budget.max_epochs ({max_epochs}), what one trial may train",
            epochs,
        )


def _stage(
    i: int,
    entry: Any,
    budget: Mapping[str, Any],
    default: Sampling | None,
    space: Space | None,
) -> Stage:
    path = f"stages[{i}]"
    stage = mapping(path, entry, "a mapping")
    problems = Problems()
    problems.attempt(known_keys, path, stage, tuple(STAGE))
    share = problems.attempt(_share, path, stage, budget)
    trials: int | None = None
    if "trials" in stage:
        trials = problems.attempt(value, f"{path}.trials", STAGE["trials"], stage["trials"])
    elif not open_trials(budget):
        trials = problems.attempt(_trials, "budget.trials", budget)
    own = "sampler" in stage
    sampling = problems.attempt(sampler, f"{path}.sampler", stage["sampler"]) if own else default
    if sampling is not None and space is not None:
        where = f"{path}.sampler" if own else "sampler"
        problems.attempt(_check_grid, where, sampling[0], sampling[1], space)
    zoom = problems.attempt(_zoom, path, i, stage["zoom"]) if "zoom" in stage else (None, 0.5)
    raise_all(problems.found)
    assert zoom is not None
    sampling = sampling or FALLBACK  # the top-level sampler's problem is reported there
    return Stage(trials, sampling[0], sampling[1], zoom[0], zoom[1], sampling[2], share)


def _share(path: str, stage: Mapping[str, Any], budget: Mapping[str, Any]) -> float | None:
    """A stage's share of a budget by compute: only with trials open, never with trials."""
    if "share" not in stage:
        return None
    share = float(value(f"{path}.share", STAGE["share"], stage["share"]))
    if "trials" in stage:
        raise SweepError(f"{path}.share", "a stage gives trials or a share, not both")
    if not open_trials(budget):
        raise SweepError(
            f"{path}.share",
            "is a share of a budget by compute: give budget.epochs or budget.time_limit, "
            "and leave budget.trials out",
            share,
        )
    return share


def _zoom(path: str, i: int, raw: Any) -> tuple[int, float]:
    if i == 0:
        raise SweepError(
            f"{path}.zoom",
            "the first stage has no stage before it to zoom into; put zoom on a later stage",
        )
    zoom = mapping(f"{path}.zoom", raw, "a mapping {top_k, shrink}")
    problems = Problems()
    problems.attempt(known_keys, f"{path}.zoom", zoom, tuple(ZOOM))
    top_k = problems.attempt(get, zoom, "top_k", ZOOM, f"{path}.zoom")
    shrink = problems.attempt(get, zoom, "shrink", ZOOM, f"{path}.zoom")
    raise_all(problems.found)
    assert top_k is not None and shrink is not None
    return top_k, shrink


def _trials(path: str, budget: Mapping[str, Any]) -> int:
    """A stage's trials taken from the budget (or its default), named there."""
    return int(value(path, BUDGET["trials"], budget.get("trials", BUDGET["trials"].default)))


def _check_grid(path: str, sampler: str, points: int, space: Space) -> None:
    """A grid stage tries every combination: refuse one with more than MAX_TRIALS of them.

    Each dimension has at most `points` levels, or its values when it has no more than
    that (a choice: all its values), so the product bounds the grid before duplicates
    that a condition switched off are dropped.
    """
    if sampler != "grid":
        return
    levels = []
    for key in space.dims:
        every = space.params[key].discrete(points)
        levels.append(points if every is None else len(every))
    size = math.prod(levels)
    if size > MAX_TRIALS:
        raise SweepError(
            path,
            f"a grid of {points} points per dimension over {', '.join(space.dims)} has up to "
            f"{' x '.join(map(str, levels))} = {size} points; a sweep runs at most "
            f"{MAX_TRIALS} trials, so use fewer points, or random or sobol sampling",
        )

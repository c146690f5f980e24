"""The model-based sampler: Optuna's TPE proposes one configuration at a time, when a worker
is free, from everything the sweep knows so far.

TPE works on Caviar's unit coordinates, so the course's scales hold: an ordered parameter
(log learning rate, log 1-beta, a power of two, an integer) is a float in its box's range of
the unit interval, a choice is a categorical, and a conditional parameter is suggested only
where its condition holds (grouped TPE models each set of parameters that occur together).
The sweep's history becomes Optuna trials on every proposal, nothing is kept between them.
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
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from caviar_common.states import TrialState
from orchestrator.search.proposed_by import MODEL, WARM_UP, WARMUP
from orchestrator.search.space import Box, Choice, Param, Space

_KINDS = {
    TrialState.COMPLETED: "complete",
    TrialState.PENDING: "running",
    TrialState.RUNNING: "running",
}  # every other state that reached this far (paused, pruned, stopped, diverged): partial


class Stored(Protocol):
    """What the model reads of a stored trial (a storage.TrialRow has it)."""

    @property
    def number(self) -> int: ...
    @property
    def config(self) -> Mapping[str, Any]: ...
    @property
    def state(self) -> TrialState: ...
    @property
    def epochs(self) -> int: ...
    @property
    def best(self) -> float | None: ...


@dataclass(frozen=True)
class Evidence:
    """What the model learns from one trial: where it was and how far it got."""

    number: int
    config: Mapping[str, Any]
    kind: str  # "complete", "partial" (paused, pruned, stopped, diverged) or "running"
    epochs: int  # epochs it reached
    value: float  # its best value so far in minimise terms; NaN if it never had one
    # its best value (minimised) up to each milestone epoch it reached: rungs and the last
    at: Mapping[int, float] = field(default_factory=dict)


def evidence(
    rows: Iterable[Stored],
    sign: float,
    earlier: Iterable[Stored] = (),
    milestones: Mapping[int, Mapping[int, float]] | None = None,
) -> list[Evidence]:
    """The evidence in the store's trial rows, after that of an earlier sweep's (`earlier`:
    a warm start's trials, their configurations already placed in this sweep's space, see
    orchestrator/search/warm_start.py); failed trials (a crash, not the configuration's
    fault) tell nothing.

    An earlier trial is numbered below 1 (its number less the earlier sweep's highest), so
    TPE takes them first, in their own order; one the earlier sweep left running (it was
    interrupted) counts as partial, since it will never report again. `milestones`: trial
    number -> its best value (minimised) up to each milestone epoch it reached.
    """
    before = list(earlier)
    last = max((int(r.number) for r in before), default=0)
    found = [_evidence(r, sign, int(r.number) - last, ended=True) for r in before]
    at = milestones or {}
    found += [_evidence(r, sign, int(r.number), at=at.get(int(r.number), {})) for r in rows]
    return [e for e in found if e is not None]


def _evidence(
    r: Stored,
    sign: float,
    number: int,
    ended: bool = False,
    at: Mapping[int, float] | None = None,
) -> Evidence | None:
    """One trial's evidence, numbered `number`; None for a failed one. With `ended`, a
    trial stored as still running is partial."""
    state = r.state
    if state == TrialState.FAILED:
        return None
    value = math.nan if r.best is None else sign * float(r.best)
    if state == TrialState.DIVERGED:
        value, at = math.nan, {}  # the worst evidence, whatever it reported before diverging
    kind = _KINDS.get(state, "partial")
    if ended and kind == "running":
        kind = "partial"
    return Evidence(number, r.config, kind, int(r.epochs), value, dict(at or {}))


def fidelity(history: Sequence[Evidence], enough: int) -> int | None:
    """The epoch the model compares trials at: the highest milestone that at least `enough`
    ended or paused trials reached (BOHB's rule); None when no milestone has that many."""
    counts: dict[int, int] = {}
    for item in history:
        if item.kind != "running":
            for epoch in item.at:
                counts[epoch] = counts.get(epoch, 0) + 1
    reached = [epoch for epoch, n in counts.items() if n >= max(enough, 1)]
    return max(reached, default=None)


@dataclass(frozen=True)
class Suggestion:
    config: dict[str, Any]
    proposed_by: str  # MODEL or WARM_UP


def distributions(space: Space, box: Box) -> dict[str, Any]:
    """Each dimension's Optuna distribution inside `box`: a float range of unit coordinates
    for an ordered parameter, the indices of the values still allowed for a choice."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    out: dict[str, Any] = {}
    for j, name in enumerate(space.dims):
        param = space.params[name]
        if isinstance(param, Choice):
            allowed = box.allowed[j] or param.values
            out[name] = CategoricalDistribution(tuple(param.values.index(v) for v in allowed))
        else:
            out[name] = FloatDistribution(box.lows[j], box.highs[j])
    return out


def to_params(space: Space, config: Mapping[str, Any]) -> dict[str, float | int]:
    """A configuration's coordinates as TPE sees them (active parameters only)."""
    return {
        name: _coordinate(space.params[name], config[name]) for name in space.dims if name in config
    }


def from_params(
    space: Space, params: Mapping[str, float | int], fixed: Mapping[str, Any]
) -> dict[str, Any]:
    """The configuration at TPE's coordinates; parameters absent from `params` are
    inactive and must be so under the conditions, which `Space.decode` checks again."""
    unit = [_unit(space.params[n], params[n]) if n in params else 0.5 for n in space.dims]
    return space.decode(unit, fixed)


def _unit(param: Param, coordinate: float | int) -> float:
    """A TPE coordinate back on the unit interval (a choice's index to its bin centre)."""
    if isinstance(param, Choice):
        return param.to_unit(param.values[int(coordinate)])
    return float(coordinate)


def _coordinate(param: Param, value: Any) -> float | int:
    if isinstance(param, Choice):
        return param.values.index(value)
    return float(param.to_unit(value))


def _inside(params: dict[str, float | int], dists: Mapping[str, Any]) -> bool:
    """Whether the point lies in the distributions' box; a coordinate a rounding error
    outside an edge is moved onto it."""
    for name, v in params.items():
        dist = dists[name]
        if hasattr(dist, "choices"):
            if v not in dist.choices:
                return False
        elif dist.low - 1e-9 <= v <= dist.high + 1e-9:
            params[name] = min(max(float(v), dist.low), dist.high)
        else:
            return False
    return True


def suggest(
    space: Space,
    fixed: Mapping[str, Any],
    box: Box,
    history: Sequence[Evidence],
    number: int,
    seed: int,
    warmup: int = WARMUP,
) -> Suggestion:
    """Trial `number`'s configuration inside `box`, from the evidence so far.

    Evidence outside the box (earlier trials of a coarser stage) is left out: TPE models
    where good configurations lie inside the region it samples.
    """
    import optuna

    dists = distributions(space, box)
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
                direction="minimize",  # values arrive in minimise terms
            )
            inside = []
            for item in sorted(history, key=lambda e: e.number):
                params = to_params(space, item.config)
                if _inside(params, dists):
                    inside.append((item, params))
            counted = sum(item.kind != "running" for item, _ in inside)
            at = fidelity([item for item, _ in inside], min(warmup, counted) or 1)
            for item, params in inside:
                study.add_trial(_frozen(item, params, dists, at))
            params = _suggest_all(space, fixed, study.ask(), dists)
    finally:
        optuna.logging.set_verbosity(quiet)
    config = from_params(space, params, fixed)
    return Suggestion(config, MODEL if counted >= warmup else WARM_UP)


def _frozen(
    item: Evidence,
    params: Mapping[str, float | int],
    dists: Mapping[str, Any],
    at: int | None = None,
) -> Any:
    """The trial as Optuna's TPE sees it. With `at` (the epoch trials are compared at),
    one that reached it counts as complete with its best value up to that epoch."""
    from optuna.trial import TrialState as OptunaState
    from optuna.trial import create_trial

    used = {n: dists[n] for n in params}
    if item.kind == "running":
        return create_trial(params=dict(params), distributions=used, state=OptunaState.RUNNING)
    there = item.at.get(at, math.nan) if at is not None else math.nan
    if math.isfinite(there):
        return create_trial(params=dict(params), distributions=used, value=there)
    if (at is None or not item.at) and item.kind == "complete" and math.isfinite(item.value):
        return create_trial(params=dict(params), distributions=used, value=item.value)
    # TPE ranks a pruned trial by the last step it reported, then its value there; one with
    # no step at all (diverged, or never a finite value) ranks below every other
    steps = {item.epochs: item.value} if math.isfinite(item.value) else {}
    return create_trial(
        params=dict(params),
        distributions=used,
        state=OptunaState.PRUNED,
        intermediate_values=steps,
    )


def _suggest_all(
    space: Space, fixed: Mapping[str, Any], trial: Any, dists: Mapping[str, Any]
) -> dict[str, float | int]:
    """Suggest the active parameters, each after the ones its condition depends on."""
    decided: dict[str, Any] = dict(fixed)
    decided.update({n: p.from_unit(0.5) for n, p in space.params.items() if n not in dists})
    params: dict[str, float | int] = {}
    todo = list(space.dims)
    while todo:
        ready = [n for n in todo if not _waits_for(space, n, todo)]
        if not ready:  # a cycle in the conditions: the sweep file's check forbids it
            raise ValueError(f"space: conditions of {', '.join(todo)} depend on each other")
        for name in ready:
            todo.remove(name)
            if not space.active(name, decided):
                continue
            dist = dists[name]
            if hasattr(dist, "choices"):
                index = trial.suggest_categorical(name, dist.choices)
                params[name] = index
                decided[name] = space.params[name].values[index]  # type: ignore[attr-defined]
            else:
                u = trial.suggest_float(name, dist.low, dist.high)
                params[name] = u
                decided[name] = space.params[name].from_unit(u)
    return params


def _waits_for(space: Space, name: str, todo: Sequence[str]) -> bool:
    return any(parent in todo and parent != name for parent in space.conditions.get(name, {}))

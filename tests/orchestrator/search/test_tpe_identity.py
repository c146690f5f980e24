"""The model kept between proposals proposes exactly what TPE proposed when it rebuilt its
study from every trial at each proposal, for every history of up to KEEP finished trials:
running, paused, pruned, diverged and completed trials, with and without milestones, in
any box, fed at once or bit by bit, and in a running sweep. The reference below is that
rebuild, as orchestrator/search/tpe.py had it."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caviar_common.keeping import NO_KEEP
from caviar_common.seeds import proposal_seed
from caviar_common.states import TrialState
from orchestrator.core import loop
from orchestrator.core.executor import Crashed
from orchestrator.core.spec import Stage
from orchestrator.execution.simulated import SimulatedClock, SimulatedExecutor, simulation_spec
from orchestrator.schedulers import check_scheduler
from orchestrator.search.space import (
    Box,
    Choice,
    IntUniform,
    LogUniform,
    OneMinusLogUniform,
    PowerOfTwo,
    Space,
    Uniform,
)
from orchestrator.search.tpe import (
    KEEP,
    MODEL,
    WARM_UP,
    WARMUP,
    Evidence,
    TpeModel,
    distributions,
    evidence,
    from_params,
    suggest,
    to_params,
)
from orchestrator.storage.store import Store

# --- the reference: every trial into a fresh study at each proposal ---------------------


def _fidelity(history: Sequence[Evidence], enough: int) -> int | None:
    counts: dict[int, int] = {}
    for item in history:
        if item.kind != "running":
            for epoch in item.at:
                counts[epoch] = counts.get(epoch, 0) + 1
    reached = [epoch for epoch, n in counts.items() if n >= max(enough, 1)]
    return max(reached, default=None)


def _inside(params: dict[str, float | int], dists: Mapping[str, Any]) -> bool:
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


def rebuilt(
    space: Space,
    fixed: Mapping[str, Any],
    box: Box,
    history: Sequence[Evidence],
    seed: int,
    warmup: int = WARMUP,
) -> tuple[dict[str, Any], str]:
    """The configuration and `proposed_by` of the study rebuilt from every trial."""
    dists = distributions(space, box)
    quiet = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
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
            inside = []
            for item in sorted(history, key=lambda e: e.number):
                params = to_params(space, item.config)
                if _inside(params, dists):
                    inside.append((item, params))
            counted = sum(item.kind != "running" for item, _ in inside)
            at = _fidelity([item for item, _ in inside], min(warmup, counted) or 1)
            for item, params in inside:
                study.add_trial(_frozen(item, params, dists, at))
            params = _suggest_all(space, fixed, study.ask(), dists)
    finally:
        optuna.logging.set_verbosity(quiet)
    return from_params(space, params, fixed), MODEL if counted >= warmup else WARM_UP


def _frozen(
    item: Evidence, params: Mapping[str, float | int], dists: Mapping[str, Any], at: int | None
) -> Any:
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
    decided: dict[str, Any] = dict(fixed)
    decided.update({n: p.from_unit(0.5) for n, p in space.params.items() if n not in dists})
    params: dict[str, float | int] = {}
    todo = list(space.dims)
    while todo:
        ready = [
            n for n in todo if not any(p in todo and p != n for p in space.conditions.get(n, {}))
        ]
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


# --- made-up histories ------------------------------------------------------------------

COURSE = Space(
    {
        "learning_rate": LogUniform(1e-4, 1.0),
        "dropout": Uniform(0.0, 0.5),
        "hidden_units": IntUniform(50, 100),
        "batch_size": PowerOfTwo(32, 256),
        "optimizer": Choice(("momentum", "adam")),
        "beta": OneMinusLogUniform(0.9, 0.999),
        "beta1": OneMinusLogUniform(0.8, 0.95),
    },
    {"beta": {"optimizer": ("momentum",)}, "beta1": {"optimizer": ("adam",)}},
)
MILESTONES = (1, 3, 9)


def made_up(finished: int, running: int, seed: int, milestones: bool = True) -> list[Evidence]:
    """`finished` ended or paused trials then `running` running ones: completed at epoch 9,
    paused or pruned at rung 1 or 3, diverged (no value), stopped with no value yet; each
    with its best up to every milestone it reached (none without `milestones`)."""
    rng = np.random.default_rng(seed)
    out = []
    for number in range(1, finished + running + 1):
        config = COURSE.decode(rng.random(len(COURSE.dims)))
        if number > finished:
            epochs = int(rng.integers(0, 4))
            at = {1: float(rng.random())} if epochs and milestones else {}
            out.append(Evidence(number, config, "running", epochs, math.nan, at))
            continue
        cost = float(rng.random())
        fate = int(rng.integers(0, 6))
        if fate == 0:  # diverged
            out.append(Evidence(number, config, "partial", 2, math.nan))
            continue
        if fate == 1:  # stopped before its first result
            out.append(Evidence(number, config, "partial", 0, math.nan))
            continue
        epochs = (9, 9, 1, 3)[fate - 2]
        kind = "complete" if epochs == 9 else "partial"
        at = {e: cost + 1 / e for e in MILESTONES if e <= epochs} if milestones else {}
        out.append(Evidence(number, config, kind, epochs, cost, at))
    return out


def zoomed(rng: np.random.Generator) -> Box:
    """A box around a random point, with one of the optimizers only half the time."""
    full = Box.full(len(COURSE.dims))
    lows = rng.random(len(COURSE.dims)) * 0.5
    allowed = list(full.allowed)
    if rng.random() < 0.5:
        allowed[COURSE.dims.index("optimizer")] = ("adam",)
    return Box(tuple(lows), tuple(lows + 0.5), tuple(allowed))


def plain(items: Sequence[Evidence]) -> list[tuple[Any, ...]]:
    """The evidence as comparable tuples (NaN as None)."""
    return [
        (
            e.number,
            dict(e.config),
            e.kind,
            e.epochs,
            None if math.isnan(e.value) else e.value,
            dict(e.at),
        )
        for e in items
    ]


@settings(max_examples=30, deadline=None)
@given(
    finished=st.integers(0, 60),
    running=st.integers(0, 6),
    seed=st.integers(0, 2**16),
    warmup=st.sampled_from((1, 4, 10)),
    milestones=st.booleans(),
    zoom=st.booleans(),
)
def test_a_proposal_is_the_rebuilt_studys_for_any_short_history(
    finished: int, running: int, seed: int, warmup: int, milestones: bool, zoom: bool
) -> None:
    history = made_up(finished, running, seed, milestones)
    box = zoomed(np.random.default_rng(seed)) if zoom else Box.full(len(COURSE.dims))
    got = suggest(COURSE, {"hidden_layers": 2}, box, history, finished + running + 1, seed, warmup)
    assert (got.config, got.proposed_by) == rebuilt(
        COURSE, {"hidden_layers": 2}, box, history, seed, warmup
    )


@pytest.mark.parametrize("running", [0, 8])
def test_up_to_keep_finished_trials_the_proposal_is_the_rebuilt_studys(running: int) -> None:
    history = made_up(KEEP, running, seed=11)
    box = Box.full(len(COURSE.dims))
    for seed in (1, 2):
        got = suggest(COURSE, {}, box, history, KEEP + running + 1, seed)
        assert (got.config, got.proposed_by) == rebuilt(COURSE, {}, box, history, seed)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), steps=st.integers(2, 6))
def test_a_model_fed_bit_by_bit_proposes_as_the_rebuilt_study_at_every_step(
    seed: int, steps: int
) -> None:
    # the trials arrive as running, then end; proposals in between, boxes changing
    final = made_up(40, 4, seed)
    rng = np.random.default_rng(seed)
    model = TpeModel(COURSE, {})
    known: dict[int, Evidence] = {}
    for chunk in np.array_split(rng.permutation(len(final)), steps):
        started = [replace(final[i], kind="running", value=math.nan, at={}) for i in chunk]
        model.update(started)
        known.update({e.number: e for e in started})
        model.update(final[i] for i in chunk[: len(chunk) // 2])
        known.update({final[i].number: final[i] for i in chunk[: len(chunk) // 2]})
        box = zoomed(rng) if rng.random() < 0.3 else Box.full(len(COURSE.dims))
        number = int(rng.integers(100, 1000))
        got = model.suggest(box, number, number, warmup=5)
        assert (got.config, got.proposed_by) == rebuilt(
            COURSE, {}, box, list(known.values()), number, warmup=5
        )


# --- in a running sweep -----------------------------------------------------------------


class Bowl:
    """Epochs whose cost falls towards the configuration's squared distance to a point of
    the space; learning rates above 0.1 diverge, at epoch 1 above 0.5, else at epoch 2."""

    def record(self, task: Any, epoch: int) -> dict[str, Any] | None:
        from orchestrator.execution.simulated import curve_record

        c = task.config
        blows = 0 if c["learning_rate"] <= 0.1 else 1 if c["learning_rate"] > 0.5 else 2
        if blows and epoch > blows:
            return None
        if epoch == blows:
            return curve_record(epoch, math.nan, 1.0)
        far = (math.log10(c["learning_rate"]) + 2.5) ** 2 + (c["dropout"] - 0.1) ** 2
        seconds = 0.5 + (task.seed[-1] * 0.37) % 1.0
        return curve_record(epoch, far + 1.0 / epoch, seconds)


class Flaky:
    """The simulated workers, except that trials numbered a multiple of 7 lose their worker
    at epoch 2 (once: they restart), and trial 13's own code raises at epoch 1 (it fails)."""

    def __init__(self, inner: SimulatedExecutor) -> None:
        self.inner = inner
        self.lost: set[str] = set()

    @property
    def slots(self) -> int:
        return self.inner.slots

    def free(self) -> int:
        return self.inner.free()

    def launch(self, task: Any) -> Any:
        return self.inner.launch(task)

    def request(self, trial_id: str, epoch: int, checkpoint: bool, keep: Any = NO_KEEP) -> None:
        self.inner.request(trial_id, epoch, checkpoint, keep)

    def poll(self, timeout: float) -> list[Any]:
        out: list[Any] = []
        for event in self.inner.poll(timeout):
            number, epoch = int(event.trial_id.split("-")[1]), int(event.record["epoch"])
            if number % 7 == 0 and epoch == 2 and event.trial_id not in self.lost:
                self.lost.add(event.trial_id)
                event = Crashed(event.trial_id, "worker lost", lost_worker=True)
            elif number == 13 and epoch == 1:
                event = Crashed(event.trial_id, "ValueError: boom", lost_worker=False)
            out.append(event)
        return out

    def release(self, trial_id: str) -> None:
        self.inner.release(trial_id)

    def shutdown(self) -> None:
        self.inner.shutdown()


@pytest.mark.parametrize(
    ("scheduler", "settings"),
    [("hyperband", {"reduction_factor": 3, "mode": "promote"}), ("asha", {"grace_period": 1})],
)
def test_in_a_sweep_every_proposal_is_the_rebuilt_studys_from_the_stored_trials(
    tmp_path: Any, monkeypatch: Any, scheduler: str, settings: dict[str, Any]
) -> None:
    # the evidence is kept without reading the store, and the proposal is the one the
    # rebuilt study makes from the store's trials: running, paused and promoted, pruned,
    # diverged (learning rates above 0.1), failed (trial 13), restarted, completed
    space = Space({"learning_rate": LogUniform(1e-4, 1.0), "dropout": Uniform(0.0, 0.5)})
    spec = replace(
        simulation_spec(60, 9, seed=5),
        space=space,
        stages=(Stage(60, sampler="tpe", warmup=6),),
        scheduler=check_scheduler(scheduler, settings, 9),
    )
    clock = SimulatedClock()
    store = Store.create(tmp_path / "run", spec.source, clock=clock)
    sweep = loop.Sweep(spec, store, Flaky(SimulatedExecutor(Bowl(), 4, clock)), clock=clock)
    propose_one, kinds = loop.propose_one, []

    def checking(spec: Any, index: int, box: Box, history: Any, number: int) -> Any:
        stored = evidence(store.trial_rows(), spec.sign, (), sweep._at)
        assert isinstance(history, TpeModel)
        assert plain(history.history()) == plain(stored)  # kept without reading the store
        made = propose_one(spec, index, box, history, number)
        seed = proposal_seed(spec.seed, number)
        assert (made.config, made.proposed_by) == rebuilt(space, {}, box, stored, seed, 6)
        kinds.append({e.kind for e in stored})
        return made

    monkeypatch.setattr(loop, "propose_one", checking)
    sweep.run()
    assert len(kinds) == 60
    assert {"running", "partial", "complete"} <= set().union(*kinds)
    states = {r.state for r in store.trial_rows()}
    assert {TrialState.FAILED, TrialState.DIVERGED, TrialState.COMPLETED} <= states
    assert any(r.restarts for r in store.trial_rows())

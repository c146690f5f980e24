"""What TPE sees of a long sweep: up to KEEP finished trials, all of them; beyond, the trials
Optuna's TPE splits off as good are exactly the whole history's, and so are its groups of
parameters, the candidates it draws, the newest trials it weighs in full and every running
trial, with a uniform sample of the older ones besides; and proposals still go where
results are good."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from typing import Any

import numpy as np
import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.samplers import TPESampler
from optuna.samplers._tpe.sampler import _split_trials, default_gamma
from optuna.search_space.group_decomposed import _GroupDecomposedSearchSpace
from optuna.trial import TrialState as OptunaState
from scipy.stats import chisquare, mannwhitneyu

from orchestrator.search.space import Box, Choice, LogUniform, OneMinusLogUniform, Space, Uniform
from orchestrator.search.tpe import BEST, KEEP, RECENT, Evidence, TpeModel, standing, to_params
from orchestrator.search.tpe.coordinates import distributions
from orchestrator.search.tpe.trials import ask, frozen

SPACE = Space(
    {
        "learning_rate": LogUniform(1e-4, 1.0),
        "dropout": Uniform(0.0, 0.5),
        "optimizer": Choice(("momentum", "adam")),
        "beta": OneMinusLogUniform(0.9, 0.999),
        "beta1": OneMinusLogUniform(0.8, 0.95),
    },
    {"beta": {"optimizer": ("momentum",)}, "beta1": {"optimizer": ("adam",)}},
)
FULL = Box.full(len(SPACE.dims))
DISTS = distributions(SPACE, FULL)


def long_history(finished: int, running: int, seed: int) -> list[Evidence]:
    """A third of the trials ran to epoch 9, most of the rest paused at rung 1 or 3, some
    diverged; momentum (and its beta) in the first trial, then in one in ten."""
    rng = np.random.default_rng(seed)
    out = []
    for number in range(1, finished + running + 1):
        u = rng.random(len(SPACE.dims))
        momentum = number == 1 or rng.random() < 0.1
        u[SPACE.dims.index("optimizer")] = 0.25 if momentum else 0.75
        config = SPACE.decode(u)
        if number > finished:
            out.append(Evidence(number, config, "running", 0, math.nan))
            continue
        cost, fate = float(rng.random()), rng.random()
        if fate < 0.05:
            out.append(Evidence(number, config, "partial", 2, math.nan))
        elif fate < 0.35:
            at = {1: cost + 1, 3: cost + 0.5, 9: cost}
            out.append(Evidence(number, config, "complete", 9, cost, at))
        else:
            epochs = 1 if fate < 0.7 else 3
            at = {e: cost + 1.0 / e for e in (1, 3) if e <= epochs}
            out.append(Evidence(number, config, "partial", epochs, min(at.values()), at))
    return out


def fed(history: list[Evidence], keep: int | None = KEEP) -> TpeModel:
    model = TpeModel(SPACE, {}, keep)
    model.update(history)
    return model


def numbers(items: list[Evidence]) -> list[int]:
    return [e.number for e in items]


@settings(max_examples=20, deadline=None)
@given(finished=st.integers(0, KEEP), running=st.integers(0, 5), seed=st.integers(0, 2**16))
def test_up_to_keep_finished_trials_tpe_sees_every_trial(finished, running, seed):
    history = long_history(finished, running, seed)
    assert numbers(fed(history).seen(FULL, seed)) == numbers(history)


@settings(max_examples=20, deadline=None)
@given(finished=st.integers(KEEP + 1, 3000), running=st.integers(0, 12), seed=st.integers(0, 2**16))
def test_beyond_keep_tpe_sees_the_best_the_newest_the_running_and_a_sample(finished, running, seed):
    history = long_history(finished, running, seed)
    model = fed(history)
    seen = model.seen(FULL, seed)
    got = numbers(seen)
    assert got == sorted(got)
    done = [e for e in history if e.kind != "running"]
    assert sum(e.kind != "running" for e in seen) == KEEP  # so TPE's γ is 25 for both
    assert {e.number for e in history if e.kind == "running"} <= set(got)
    assert set(numbers(done[-RECENT:])) <= set(got)
    # compared at epoch 9, which far more than WARMUP trials reached
    best = sorted(done, key=lambda e: (standing(e, 9).rank, e.number))[:BEST]
    assert set(numbers(best)) <= set(got)
    for group in {frozenset(to_params(SPACE, e.config)) for e in done}:  # momentum's too
        oldest = next(e for e in done if frozenset(to_params(SPACE, e.config)) == group)
        assert oldest.number in got
    # the same whatever the order the evidence came in, and a seed's own
    shuffled = fed(list(np.random.default_rng(seed).permutation(np.array(history, dtype=object))))
    assert numbers(shuffled.seen(FULL, seed)) == got
    assert numbers(model.seen(FULL, seed + 1)) != got


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_a_model_kept_up_to_date_sees_and_proposes_what_a_fresh_one_does(seed):
    # every trial first running, then ending bit by bit, proposals in between (in another
    # box too), one forgotten (it crashed): as a model fed the end state at once
    final = long_history(600, 6, seed)
    rng = np.random.default_rng(seed)
    model = TpeModel(SPACE, {})
    model.update(replace(e, kind="running", value=math.nan, at={}) for e in final)
    half = Box((0.5,) * len(SPACE.dims), (1.0,) * len(SPACE.dims), FULL.allowed)
    for chunk in np.array_split(rng.permutation(len(final)), 4):
        model.seen(FULL if rng.random() < 0.7 else half, seed)
        model.update(final[i] for i in chunk)
    model.update([], dropped=[final[0].number])
    fresh = fed(final[1:])
    assert numbers(model.seen(FULL, seed)) == numbers(fresh.seen(FULL, seed))
    assert model.suggest(FULL, 700, seed) == fresh.suggest(FULL, 700, seed)


def _trials(history: list[Evidence]) -> list[Any]:
    """`history` as TPE's trials, compared at epoch 9 (which far more than WARMUP reached)."""
    out = []
    for item in history:
        params = to_params(SPACE, item.config)
        out.append(frozen(standing(item, 9), params, {n: DISTS[n] for n in params}))
    return out


def _candidates(history: list[Evidence], seed: int, monkeypatch: Any) -> list[Any]:
    """The candidates TPE draws from l(x) for each group of parameters, in order, and the
    parameters it proposes, as Optuna's TPE (spied on) proposes from `history`."""
    drawn: list[Any] = []
    acquisition = TPESampler._compute_acquisition_func

    def spy(sampler: Any, samples: Any, below: Any, above: Any) -> Any:
        drawn.append({name: list(values) for name, values in samples.items()})
        return acquisition(sampler, samples, below, above)

    with monkeypatch.context() as patch:
        patch.setattr(TPESampler, "_compute_acquisition_func", spy)
        ask(SPACE, {}, _trials(history), DISTS, seed, 10)
    return drawn


@pytest.mark.parametrize(("finished", "seed"), [(300, 0), (2000, 1), (5000, 2)])
def test_optuna_splits_and_groups_the_kept_trials_as_all_and_draws_the_same_candidates(
    finished, seed, monkeypatch
):
    # Optuna's own code (its private split, grouping and acquisition) as the reference
    history = long_history(finished, 6, seed)
    seen = fed(history).seen(FULL, seed)
    found = []
    for items in (history, seen):
        study = optuna.create_study()
        study.add_trials(_trials(items))
        states = (OptunaState.COMPLETE, OptunaState.PRUNED, OptunaState.RUNNING)
        trials = study.get_trials(deepcopy=False, states=states)
        done = sum(t.state != OptunaState.RUNNING for t in trials)
        below, above = _split_trials(study, trials, default_gamma(done))
        groups = _GroupDecomposedSearchSpace(True).calculate(study).search_spaces
        found.append(
            (
                [items[t.number].number for t in below],
                [items[t.number].number for t in above],
                [sorted(group) for group in groups],
            )
        )
    (below_all, above_all, groups_all), (below_kept, above_kept, groups_kept) = found
    assert len(below_all) == BEST and below_kept == below_all
    assert above_kept[-25:] == above_all[-25:]  # default_weights: the newest 25 weigh 1
    assert groups_kept == groups_all  # momentum's beta, then adam's beta1, apart
    assert groups_all == [["dropout", "learning_rate", "optimizer"], ["beta"], ["beta1"]]
    assert _candidates(seen, seed, monkeypatch) == _candidates(history, seed, monkeypatch)


def test_the_older_trials_are_a_uniform_sample():
    # 1,000 finished trials: each older one not kept for its rank, its parameters or its
    # age is kept with the same chance, whatever its age
    history = long_history(1000, 0, seed=3)
    model = fed(history)
    counts: Counter[int] = Counter()
    seeds = 400
    for seed in range(seeds):
        counts.update(numbers(model.seen(FULL, seed)))
    always = {n for n, c in counts.items() if c == seeds}
    older = [e.number for e in history[:-RECENT] if e.number not in always]
    drawn = np.array([counts[n] for n in older])
    assert set(numbers(history[-RECENT:])) <= always
    assert drawn.sum() == seeds * (KEEP - len(always))
    assert chisquare(drawn).pvalue > 1e-3
    half = len(older) // 2
    assert abs(drawn[:half].mean() - drawn[half:].mean()) < 0.1 * drawn.mean()


TOY = Space({"x": Uniform(0.0, 1.0), "lr": LogUniform(1e-4, 1.0)})
OPTIMUM = np.array([0.2, 0.7])  # in unit coordinates


def _distance(config: dict[str, Any]) -> float:
    return float(np.linalg.norm(TOY.encode(config) - OPTIMUM))


def test_after_2000_results_proposals_still_go_near_the_optimum():
    rng = np.random.default_rng(0)
    history = []
    for number, u in enumerate(rng.random((2000, 2)), start=1):
        config = TOY.decode(u)
        history.append(Evidence(number, config, "complete", 10, _distance(config) ** 2))
    kept, every = TpeModel(TOY, {}), TpeModel(TOY, {}, keep=None)
    kept.update(history)
    every.update(history)
    box = Box.full(2)
    near = [_distance(kept.suggest(box, 2001, seed).config) for seed in range(30)]
    all_in = [_distance(every.suggest(box, 2001, seed).config) for seed in range(30)]
    random = [_distance(TOY.decode(u)) for u in np.random.default_rng(1).random((30, 2))]
    assert mannwhitneyu(near, random, alternative="less").pvalue < 1e-6
    assert np.median(near) < 0.1  # random ones lie about 0.4 away
    assert np.median(near) < 2 * np.median(all_in)  # about as close as with every trial

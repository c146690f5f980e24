"""The TPE sampler's adapter: every parameter type and condition to TPE's coordinates and
back, evidence from the store's rows, proposals that concentrate where results are good,
constant-liar proposals that differ across running trials, and reproducibility."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from caviar_common.states import TrialState
from orchestrator.search.space import (
    Box,
    Choice,
    Constant,
    IntUniform,
    LogInt,
    LogUniform,
    OneMinusLogUniform,
    PowerOfTwo,
    Space,
    Uniform,
)
from orchestrator.search.tpe import (
    MODEL,
    WARM_UP,
    Evidence,
    evidence,
    from_params,
    suggest,
    to_params,
)

COURSE = Space(
    {
        "learning_rate": LogUniform(1e-4, 1.0),
        "dropout": Uniform(0.0, 0.5),
        "hidden_units": IntUniform(50, 100),
        "width": LogInt(1, 100),
        "batch_size": PowerOfTwo(32, 256),
        "optimizer": Choice(("momentum", "adam")),
        "beta": OneMinusLogUniform(0.9, 0.999),
        "beta1": OneMinusLogUniform(0.8, 0.95),
        "lr_decay": Constant("inverse_time"),
    },
    {"beta": {"optimizer": ("momentum",)}, "beta1": {"optimizer": ("adam",)}},
)


# --- the mapping ---------------------------------------------------------------------


def test_each_parameter_type_maps_to_its_unit_coordinate_and_a_choice_to_its_index():
    config = {
        "learning_rate": 1e-2,  # 2 of 4 decades: 0.5
        "dropout": 0.125,  # a quarter of 0..0.5
        "hidden_units": 50,  # the first of 51 integers: the middle of its 1/51
        "width": 10,
        "batch_size": 64,  # 2**6, the second of 2**5..2**8: (1 + 0.5) / 4
        "optimizer": "momentum",
        "beta": 0.99,  # log10(1 - beta) = -2, halfway from -1 to -3
        "lr_decay": "inverse_time",
    }
    params = to_params(COURSE, config)
    assert params.keys() == {n for n in config if n != "lr_decay"}  # constants and beta1 out
    expected = {
        "learning_rate": 0.5,
        "dropout": 0.25,
        "hidden_units": 0.5 / 51,
        "width": (math.log(10) - math.log(0.5)) / (math.log(100.5) - math.log(0.5)),
        "batch_size": 0.375,
        "optimizer": 0,
        "beta": 0.5,
    }
    assert params == pytest.approx(expected)
    assert from_params(COURSE, params, {}) == pytest.approx(config)


def test_a_condition_that_fails_leaves_its_parameter_out_both_ways():
    adam = {
        "learning_rate": 0.1,
        "dropout": 0.0,
        "hidden_units": 100,
        "width": 1,
        "batch_size": 256,
        "optimizer": "adam",
        "beta1": 0.9,
        "lr_decay": "inverse_time",
    }
    params = to_params(COURSE, adam)
    assert "beta" not in params and params["optimizer"] == 1
    assert from_params(COURSE, params, {"hidden_layers": 2}) == pytest.approx(
        {**adam, "hidden_layers": 2}
    )


def test_proposals_respect_conditions_and_the_box():
    # the box keeps adam only and the upper half of the learning rate's unit range
    box = Box.full(len(COURSE.dims))
    lows, allowed = list(box.lows), list(box.allowed)
    lows[COURSE.dims.index("learning_rate")] = 0.5
    allowed[COURSE.dims.index("optimizer")] = ("adam",)
    box = Box(tuple(lows), box.highs, tuple(allowed))
    for number in range(1, 13):
        config = suggest(COURSE, {}, box, [], number, seed=number).config
        assert config["optimizer"] == "adam" and "beta" not in config and "beta1" in config
        assert 1e-2 <= config["learning_rate"] <= 1.0
        assert config["batch_size"] in (32, 64, 128, 256)
        assert config["lr_decay"] == "inverse_time"


# --- evidence ------------------------------------------------------------------------


def _row(number: int, state: str, epochs: int, best: float | None) -> SimpleNamespace:
    """What evidence() reads of a stored trial (a storage.TrialRow)."""
    return SimpleNamespace(number=number, state=state, epochs=epochs, best=best, config={})


def test_evidence_keeps_how_far_each_trial_got_and_drops_crashes():
    rows = [
        _row(1, TrialState.COMPLETED, 9, 0.5),
        _row(2, TrialState.PAUSED, 3, 0.7),
        _row(3, TrialState.PRUNED, 1, 0.9),
        _row(4, TrialState.DIVERGED, 2, 0.4),  # what it reported before blowing up is no good
        _row(5, TrialState.FAILED, 4, 0.3),  # the code raised: says nothing of the config
        _row(6, TrialState.RUNNING, 2, 0.8),
        _row(7, TrialState.STOPPED, 5, 0.6),
    ]
    got = {e.number: (e.kind, e.epochs, e.value) for e in evidence(rows, sign=-1.0)}
    assert got.keys() == {1, 2, 3, 4, 6, 7}
    assert got[1] == ("complete", 9, -0.5)  # maximising: values in minimise terms
    assert got[2] == ("partial", 3, -0.7) and got[3] == ("partial", 1, -0.9)
    assert got[4][:2] == ("partial", 2) and math.isnan(got[4][2])
    assert got[6][0] == "running" and got[7] == ("partial", 5, -0.6)


# --- what the model proposes ---------------------------------------------------------

TOY = Space({"x": Uniform(0.0, 1.0), "lr": LogUniform(1e-4, 1.0)})
OPTIMUM = np.array([0.2, 0.7])  # in unit coordinates


def _distance(config: dict[str, Any]) -> float:
    return float(np.linalg.norm(TOY.encode(config) - OPTIMUM))


def _toy_history(n: int, seed: int) -> list[Evidence]:
    rng = np.random.default_rng(seed)
    out = []
    for number, u in enumerate(rng.random((n, 2)), start=1):
        config = TOY.decode(u)
        out.append(Evidence(number, config, "complete", 10, _distance(config) ** 2))
    return out


def test_after_30_results_proposals_concentrate_near_the_optimum_unlike_random_ones():
    history = _toy_history(30, seed=0)
    box = Box.full(2)
    tpe = [_distance(suggest(TOY, {}, box, history, 31, seed=s).config) for s in range(40)]
    rng = np.random.default_rng(1)
    random = [_distance(TOY.decode(u)) for u in rng.random((40, 2))]
    assert mannwhitneyu(tpe, random, alternative="less").pvalue < 1e-4
    assert np.median(tpe) < 0.5 * np.median(random)


def test_a_trial_that_reached_a_later_rung_outranks_better_values_at_epoch_1():
    # near the optimum, trials went on to epoch 9 with middling values; far from it, trials
    # stopped at epoch 1 with lower ones: the model must follow the trials that got further
    rng = np.random.default_rng(2)
    history = []
    for number, u in enumerate(rng.random((30, 2)), start=1):
        config = TOY.decode(u)
        far = _distance(config) > 0.35
        kind, epochs, value = ("partial", 1, 0.1) if far else ("partial", 9, 0.8)
        history.append(Evidence(number, config, kind, epochs, value))
    box = Box.full(2)
    near = [_distance(suggest(TOY, {}, box, history, 31, seed=s).config) < 0.35 for s in range(30)]
    assert sum(near) >= 24


def test_running_trials_make_parallel_proposals_differ_and_same_inputs_repeat():
    history, box = _toy_history(30, seed=3), Box.full(2)
    first = suggest(TOY, {}, box, history, 31, seed=7)
    assert suggest(TOY, {}, box, history, 31, seed=7) == first  # same inputs, same proposal
    assert first.proposed_by == MODEL
    # the same seed, with the trials already proposed running: each proposal is new
    proposals, running = [first.config], list(history)
    for number in range(32, 36):
        running.append(Evidence(number - 1, proposals[-1], "running", 0, math.nan))
        proposals.append(suggest(TOY, {}, box, running, number, seed=7).config)
    keys = {tuple(sorted(p.items())) for p in proposals}
    assert len(keys) == len(proposals)


def test_proposals_are_warm_up_until_enough_trials_have_results():
    box = Box.full(2)
    history = _toy_history(4, seed=4)
    running = [Evidence(9, TOY.decode([0.5, 0.5]), "running", 0, math.nan)]
    assert suggest(TOY, {}, box, history + running, 10, seed=1, warmup=5).proposed_by == WARM_UP
    assert suggest(TOY, {}, box, history, 10, seed=1, warmup=4).proposed_by == MODEL


def test_evidence_outside_a_zoomed_box_is_left_out():
    history = _toy_history(30, seed=5)
    box = Box((0.5, 0.0), (1.0, 1.0), (None, None))  # x in the right half only
    inside = [e for e in history if TOY.encode(e.config)[0] >= 0.5]
    for seed in range(5):
        a = suggest(TOY, {}, box, history, 31, seed=seed)
        assert a == suggest(TOY, {}, box, inside, 31, seed=seed)
        assert TOY.encode(a.config)[0] >= 0.5

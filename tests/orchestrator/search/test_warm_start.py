"""A warm start's pure parts: which of an earlier sweep's configurations lie in a new space,
as the new sweep trains them; how the earlier trials rank; and TPE's evidence with them."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest

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
from orchestrator.search.tpe import MODEL, WARM_UP, evidence, suggest
from orchestrator.search.warm_start import first_configs, placed, ranked, within

NEW = Space(
    {
        "learning_rate": LogUniform(1e-4, 0.1),
        "hidden_units": IntUniform(8, 32),
        "optimizer": Choice(("momentum", "adam")),
        "beta": OneMinusLogUniform(0.9, 0.999),
        "lr_decay": Constant("inverse_time"),
    },
    {"beta": {"optimizer": ("momentum",)}},
)


@pytest.mark.parametrize(
    ("param", "inside", "outside"),
    [
        (Uniform(0.0, 0.5), [0.0, 0.25, 0.5, 0], [0.51, -0.01, math.nan, True, "0.2", None]),
        (LogUniform(1e-4, 0.1), [1e-4, 0.01, 0.1], [0.1001, 9e-5, 0.0, -1.0]),
        (OneMinusLogUniform(0.9, 0.999), [0.9, 0.99, 0.999], [0.8, 0.9995, 1.0, 1.5]),
        (IntUniform(8, 32), [8, 20, 32, 16.0], [7, 33, 12.5]),
        (LogInt(1, 100), [1, 10, 100], [0, 101, 2.5]),
        (PowerOfTwo(32, 256), [32, 64, 256], [96, 16, 512, 64.5]),
        (Choice(("momentum", "adam")), ["adam", "momentum"], ["sgd", None]),
        (Constant("inverse_time"), ["inverse_time"], ["none"]),
    ],
)
def test_a_value_lies_within_a_parameter_by_its_own_range_and_kind(
    param: Any, inside: list[Any], outside: list[Any]
) -> None:
    assert [within(param, v) for v in inside] == [True] * len(inside)
    assert [within(param, v) for v in outside] == [False] * len(outside)


def test_a_configuration_is_placed_with_the_new_sweeps_fixed_settings_and_constants() -> None:
    earlier = {
        "batch_size": 256,  # fixed there, fixed otherwise here
        "hidden_layers": 3,
        "learning_rate": 0.01,
        "hidden_units": 16.0,  # an integer all the same
        "optimizer": "adam",
        "beta1": 0.9,  # searched there, neither searched nor fixed here: the default applies
        "lr_decay": "none",  # a constant here
    }
    config = placed(NEW, {"hidden_layers": 1, "batch_size": 128}, earlier)
    assert config == {
        "hidden_layers": 1,
        "batch_size": 128,
        "learning_rate": 0.01,
        "hidden_units": 16,
        "optimizer": "adam",
        "lr_decay": "inverse_time",
    }
    assert config is not None and type(config["hidden_units"]) is int
    assert list(config) == list(NEW.decode([0.5] * 4, {"hidden_layers": 1, "batch_size": 128}))


def test_a_configuration_outside_the_new_space_is_left_out() -> None:
    good = {"learning_rate": 0.01, "hidden_units": 16, "optimizer": "momentum", "beta": 0.95}
    assert placed(NEW, {}, good) is not None
    assert placed(NEW, {}, {**good, "learning_rate": 0.2}) is None  # above the new high
    assert placed(NEW, {}, {**good, "hidden_units": 40}) is None
    assert placed(NEW, {}, {**good, "optimizer": "sgd"}) is None  # not a choice here
    assert placed(NEW, {}, {**good, "beta": 0.5}) is None
    missing = {k: v for k, v in good.items() if k != "beta"}
    assert placed(NEW, {}, missing) is None  # searched here and active, never set there
    # ... but a parameter its condition switches off need not be there
    assert placed(NEW, {}, {**missing, "optimizer": "adam"}) is not None
    assert placed(NEW, {}, {"hidden_units": 16, "optimizer": "adam"}) is None


def _row(number: int, best: float | None, **config: Any) -> SimpleNamespace:
    """What ranking and evidence read of a stored trial (a storage.TrialRow)."""
    return SimpleNamespace(
        number=number, best=best, config=config, state=TrialState.COMPLETED, epochs=4
    )


def test_trials_rank_by_best_value_then_when_they_reached_it_then_number() -> None:
    rows = [
        _row(1, 0.3),
        _row(2, None),  # never a finite value
        _row(3, 0.1),
        _row(4, 1e31),  # absurd: never ranks
        _row(5, 0.3),
        _row(6, 0.2),
        _row(7, 0.3),
    ]
    numbers = [r.number for r in ranked(rows, 1.0)]
    assert numbers == [3, 6, 1, 5, 7]
    # trial 7 reached its 0.3 at epoch 2, trial 1 at epoch 3, trial 5 at epoch 3 but sooner
    reached = {1: (3.0, 50.0), 5: (3.0, 20.0), 7: (2.0, 90.0)}
    assert [r.number for r in ranked(rows, 1.0, reached)] == [3, 6, 7, 5, 1]
    assert [r.number for r in ranked(rows, -1.0)] == [1, 5, 7, 6, 3]  # maximize


def test_the_first_configurations_are_the_best_distinct_ones() -> None:
    rows = [
        _row(1, 0.5, learning_rate=0.01),
        _row(2, 0.2, learning_rate=0.02),
        _row(3, 0.3, learning_rate=0.02),  # the same configuration as trial 2, here
        _row(4, 0.4, learning_rate=0.04),
    ]
    assert first_configs(rows, 2, 1.0) == [{"learning_rate": 0.02}, {"learning_rate": 0.04}]
    assert first_configs(rows, 9, 1.0) == [
        {"learning_rate": 0.02},
        {"learning_rate": 0.04},
        {"learning_rate": 0.01},
    ]
    assert first_configs(rows, 0, 1.0) == []


def test_earlier_trials_come_first_in_the_evidence_numbered_below_one() -> None:
    own = [_row(1, 0.4, learning_rate=0.01)]
    earlier = [
        _row(3, 0.5, learning_rate=0.02),
        SimpleNamespace(  # the earlier sweep was interrupted while it ran
            number=7, best=0.6, config={}, state=TrialState.RUNNING, epochs=2
        ),
        SimpleNamespace(number=8, best=0.1, config={}, state=TrialState.FAILED, epochs=1),
    ]
    found = evidence(own, -1.0, earlier)
    assert [(e.number, e.kind, e.value) for e in found] == [
        (3 - 8, "complete", -0.5),
        (7 - 8, "partial", -0.6),
        (1, "complete", -0.4),
    ]
    assert found[0].config == {"learning_rate": 0.02}
    assert evidence(own, -1.0) == found[2:]


def test_earlier_evidence_makes_the_first_proposal_a_model_one() -> None:
    space = Space({"learning_rate": LogUniform(1e-4, 1.0), "hidden_units": IntUniform(8, 64)})
    box = Box.full(2)
    # good results at small learning rates, bad ones at large
    earlier = [
        _row(i + 1, 0.1 * (i + 1), learning_rate=10 ** (-4 + 0.4 * i), hidden_units=8 + 5 * i)
        for i in range(10)
    ]
    history = evidence([], 1.0, earlier)
    warm = suggest(space, {}, box, history, 1, seed=7, warmup=5)
    cold = suggest(space, {}, box, [], 1, seed=7, warmup=5)
    assert warm.proposed_by == MODEL and cold.proposed_by == WARM_UP
    assert warm.config != cold.config

"""Coarse to fine: the box a later stage samples in closes on the best trials of the stage
before, in either direction, narrows categoricals, and stays inside the unit cube."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orchestrator.core.planner import Finished, propose, stage_box
from orchestrator.core.spec import Stage
from orchestrator.search.space import Box, Choice, LogUniform, OneMinusLogUniform, Space, Uniform
from orchestrator.search.zoom import top_k, zoom_box

# --- a synthetic sweep with a known optimum ------------------------------------------

SPACE = Space({"learning_rate": LogUniform(1e-4, 1.0), "beta": OneMinusLogUniform(0.9, 0.999)})
STAGES = [Stage(64), Stage(32, zoom_top_k=5, zoom_shrink=0.5)]
# lr = 10**-2.5 is 1.5 of the 4 decades from 1e-4: 0.375; beta = 0.99 has
# log10(1 - beta) = -2, halfway from -1 to -3: 0.5
OPTIMUM_UNIT = (0.375, 0.5)


def objective(config: dict) -> float:
    lr, beta = config["learning_rate"], config["beta"]
    return (math.log10(lr) + 2.5) ** 2 + (math.log10(1 - beta) + 2) ** 2


def _stage0(seed: int, sign: float = 1.0):
    box0 = stage_box(SPACE, STAGES, 0, [], [], sign)
    proposals = propose(SPACE, {}, STAGES[0], 0, box0, seed)
    finished = [Finished(p.config, sign * objective(p.config), 0) for p in proposals]
    return box0, proposals, finished


def test_the_objective_is_smallest_at_the_stated_optimum():
    assert objective({"learning_rate": 10**-2.5, "beta": 0.99}) == pytest.approx(0.0, abs=1e-20)
    assert SPACE.encode({"learning_rate": 10**-2.5, "beta": 0.99}) == pytest.approx(OPTIMUM_UNIT)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stage_1_box_closes_on_the_optimum_and_stage_1_samples_inside_it(seed):
    box0, proposals0, finished = _stage0(seed)
    assert box0 == Box.full(2)
    assert len(proposals0) == 64 and all(p.stage == 0 and p.box == box0 for p in proposals0)

    box1 = stage_box(SPACE, STAGES, 1, finished, [box0], 1.0)
    for lo, opt, hi in zip(box1.lows, OPTIMUM_UNIT, box1.highs, strict=True):
        assert lo <= opt <= hi
    widths = box1.widths()
    assert np.all(widths < 1.0)  # smaller than the full box in every dimension
    assert np.all(widths >= 0.5 - 1e-12)  # at most shrink x the old width where they agree
    assert all(0.0 <= lo < hi <= 1.0 for lo, hi in zip(box1.lows, box1.highs, strict=True))
    # the box holds every one of the five best stage-0 trials
    best5 = sorted(proposals0, key=lambda p: objective(p.config))[:5]
    for p in best5:
        for lo, u, hi in zip(box1.lows, p.unit, box1.highs, strict=True):
            assert lo - 1e-12 <= u <= hi + 1e-12

    proposals1 = propose(SPACE, {}, STAGES[1], 1, box1, seed)
    assert len(proposals1) == 32
    for p in proposals1:
        assert p.stage == 1 and p.box == box1  # lineage: which stage and box it came from
        for lo, u, hi in zip(box1.lows, p.unit, box1.highs, strict=True):
            assert lo - 1e-12 <= u <= hi + 1e-12
    best1 = min(objective(p.config) for p in proposals1)
    assert best1 <= float(np.median([f.value for f in finished]))


def test_maximising_the_negated_objective_gives_the_same_box():
    box0, _, minimised = _stage0(seed=4)
    _, _, maximised = _stage0(seed=4, sign=-1.0)
    assert [f.value for f in maximised] == [-f.value for f in minimised]
    box_min = stage_box(SPACE, STAGES, 1, minimised, [box0], 1.0)
    box_max = stage_box(SPACE, STAGES, 1, maximised, [box0], -1.0)
    assert box_max == box_min
    assert box_min != box0


def test_stage_box_without_a_zoom_keeps_the_parent_box():
    _, _, finished = _stage0(seed=5)
    parent = Box((0.25, 0.1), (0.75, 0.6), (None, None))
    stages = [Stage(64), Stage(32)]  # zoom_top_k None
    assert stage_box(SPACE, stages, 1, finished, [parent], 1.0) == parent


def test_only_the_previous_stages_finite_trials_steer_the_zoom():
    box0, _, finished = _stage0(seed=6)
    box1 = stage_box(SPACE, STAGES, 1, finished, [box0], 1.0)
    corner = {"learning_rate": 1.5e-4, "beta": 0.901}  # far from the optimum
    extra = [
        Finished(corner, -1e9, 1),  # a great value, but from another stage
        Finished(corner, math.nan, 0),  # diverged
        Finished(corner, -math.inf, 0),  # never had a finite value
    ]
    assert stage_box(SPACE, STAGES, 1, finished + extra, [box0], 1.0) == box1


# --- categorical narrowing and conditional parameters --------------------------------


def _optimizer_space() -> Space:
    return Space(
        {
            "optimizer": Choice(("sgd", "momentum", "rmsprop", "adam")),
            "beta": OneMinusLogUniform(0.9, 0.999),
            "learning_rate": LogUniform(1e-4, 1.0),
        },
        {"beta": {"optimizer": ("momentum",)}},
    )


def test_choices_narrow_to_those_the_top_trials_used_in_their_original_order():
    space = _optimizer_space()
    parent = Box((0.0, 0.2, 0.0), (1.0, 0.7, 1.0), (None, None, None))
    top = [
        {"optimizer": "adam", "learning_rate": 1e-2},
        {"optimizer": "sgd", "learning_rate": 1e-3},
        {"optimizer": "adam", "learning_rate": 1e-2},
    ]
    box = zoom_box(space, parent, top, 0.5)
    assert box.allowed == (("sgd", "adam"), None, None)
    # beta is inactive in every top trial: it keeps its parent range
    assert (box.lows[1], box.highs[1]) == (0.2, 0.7)
    # learning rates at units 0.5, 0.25, 0.5: spread 0.25 < 0.5 x 1, so width 0.5 around
    # the middle 0.375
    assert (box.lows[2], box.highs[2]) == pytest.approx((0.125, 0.625))

    configs = [p.config for p in propose(space, {}, Stage(200), 1, box, seed=8)]
    assert {c["optimizer"] for c in configs} == {"sgd", "adam"}
    assert not any("beta" in c for c in configs)
    lrs = [c["learning_rate"] for c in configs]
    assert min(lrs) >= 10**-3.5 * (1 - 1e-12) and max(lrs) <= 10**-1.5 * (1 + 1e-12)


def test_an_already_narrowed_choice_narrows_further():
    space = _optimizer_space()
    parent = Box((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (("sgd", "rmsprop", "adam"), None, None))
    top = [
        {"optimizer": "adam", "learning_rate": 1e-2},
        {"optimizer": "rmsprop", "learning_rate": 1e-2},
    ]
    assert zoom_box(space, parent, top, 0.5).allowed[0] == ("rmsprop", "adam")


def test_a_conditional_parameter_zooms_on_the_top_trials_where_it_is_active():
    space = _optimizer_space()
    top = [
        {"optimizer": "momentum", "beta": 0.99, "learning_rate": 1e-2},  # beta unit 0.5
        {"optimizer": "adam", "learning_rate": 1e-2},
    ]
    box = zoom_box(space, Box.full(3), top, 0.5)
    assert box.allowed[0] == ("momentum", "adam")
    assert (box.lows[1], box.highs[1]) == pytest.approx((0.25, 0.75))


# --- edges of the unit cube ------------------------------------------------------------


@pytest.mark.parametrize(
    ("parent", "xs", "expected"),
    [
        # top at units 0.95..1.0: a width of 0.5 centred on 0.975 is pushed back to [0.5, 1]
        ((0.0, 1.0), [9.5, 9.7, 10.0], (0.5, 1.0)),
        # top at units 0..0.05: pushed up to [0, 0.5]
        ((0.0, 1.0), [0.0, 0.2, 0.5], (0.0, 0.5)),
        # top at 0.1 and 0.9 disagree: wide enough to hold both
        ((0.0, 1.0), [1.0, 9.0], (0.1, 0.9)),
        # a parent of width 0.5: half of it, 0.25, centred on 0.65
        ((0.5, 1.0), [6.0, 7.0], (0.525, 0.775)),
    ],
)
def test_the_box_stays_inside_the_unit_interval(parent, xs, expected):
    space = Space({"x": Uniform(0.0, 10.0)})
    box = zoom_box(space, Box((parent[0],), (parent[1],), (None,)), [{"x": x} for x in xs], 0.5)
    assert (box.lows[0], box.highs[0]) == pytest.approx(expected)


def test_no_top_trials_keeps_the_parent():
    parent = Box((0.1,), (0.4,), (None,))
    assert zoom_box(Space({"x": Uniform(0.0, 1.0)}), parent, [], 0.5) == parent


# --- top_k -----------------------------------------------------------------------------


def test_top_k_ignores_nan_and_infinite_values():
    finished = [
        ({"id": "a"}, 3.0, 4),
        ({"id": "b"}, math.nan, 4),
        ({"id": "c"}, 1.0, 4),
        ({"id": "d"}, math.inf, 4),
        ({"id": "e"}, -math.inf, 4),
        ({"id": "f"}, 2.0, 4),
    ]
    assert [c["id"] for c in top_k(finished, 2, 1.0)] == ["c", "f"]
    assert [c["id"] for c in top_k(finished, 2, -1.0)] == ["a", "f"]
    # asking for more than there are finite values gives just those
    assert [c["id"] for c in top_k(finished, 10, 1.0)] == ["c", "f", "a"]
    assert top_k([({"id": "x"}, math.nan, 4)], 3, 1.0) == []


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_top_k_ties_keep_the_earlier_trial(sign):
    finished = [({"id": "first"}, 0.5, 3), ({"id": "second"}, 0.5, 3), ({"id": "third"}, 0.5, 3)]
    assert [c["id"] for c in top_k(finished, 2, sign)] == ["first", "second"]
    assert [c["id"] for c in top_k(finished[::-1], 1, sign)] == ["third"]


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_top_k_ranks_by_the_epochs_a_trial_reached_then_by_its_value(sign):
    # the early-stopped trial has the best value, but one epoch says little: the trials a
    # scheduler let train longer come first, each group ordered by value
    finished = [
        ({"id": "stopped at 1"}, sign * 0.1, 1),
        ({"id": "finished, worse"}, sign * 0.6, 9),
        ({"id": "paused at 3"}, sign * 0.3, 3),
        ({"id": "finished, better"}, sign * 0.5, 9),
        ({"id": "paused at 3, worse"}, sign * 0.4, 3),
    ]
    assert [c["id"] for c in top_k(finished, 5, sign)] == [
        "finished, better",
        "finished, worse",
        "paused at 3",
        "paused at 3, worse",
        "stopped at 1",
    ]

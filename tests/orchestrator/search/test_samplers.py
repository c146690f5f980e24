"""Samplers as a sweep uses them: Sobol' covers the cube more evenly than random draws,
points stay in the box a stage asks for, a seed fixes the plan, and a grid says how many
trials it implies."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import qmc

from orchestrator.core.planner import propose
from orchestrator.core.spec import Stage
from orchestrator.search.samplers import (
    GridSampler,
    RandomSampler,
    SobolSampler,
    SweepWarning,
    make_sampler,
)
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


def _cube(d: int) -> Space:
    return Space({f"x{i}": Uniform(0.0, 1.0) for i in range(d)})


def _sweep_space() -> Space:
    return Space(
        {
            "learning_rate": LogUniform(1e-4, 1.0),
            "beta": OneMinusLogUniform(0.9, 0.999),
            "batch_size": PowerOfTwo(32, 256),
            "optimizer": Choice(("sgd", "momentum", "adam")),
            "hidden_units": Constant(64),
        }
    )


@pytest.mark.parametrize("seed", range(5))
def test_sobol_points_cover_the_cube_more_evenly_than_random_ones(seed):
    space = _cube(4)
    sobol = SobolSampler().points(256, Box.full(4), space, np.random.default_rng(seed))
    random = RandomSampler().points(256, Box.full(4), space, np.random.default_rng(seed))
    assert sobol.shape == random.shape == (256, 4)
    assert qmc.discrepancy(sobol) < qmc.discrepancy(random)


@pytest.mark.parametrize("name", ["random", "sobol"])
def test_points_lie_inside_the_box_and_fill_it(name):
    box = Box((0.2, 0.5, 0.0, 0.9), (0.3, 0.75, 0.1, 1.0), (None,) * 4)
    points = make_sampler(name).points(256, box, _cube(4), np.random.default_rng(7))
    lows, highs = np.array(box.lows), np.array(box.highs)
    assert np.all(points >= lows) and np.all(points <= highs)
    # not bunched in a corner: each coordinate spans most of its range
    spans = points.max(axis=0) - points.min(axis=0)
    assert np.all(spans > 0.9 * (highs - lows))


@pytest.mark.parametrize("name", ["random", "sobol"])
def test_a_box_in_unit_coordinates_bounds_the_values_on_the_parameters_scale(name):
    space = Space({"learning_rate": LogUniform(1e-4, 1.0), "beta": OneMinusLogUniform(0.9, 0.999)})
    # a quarter to a half of log10 on [-4, 0] is 1e-3..1e-2; half to all of log10(1 - beta)
    # on [-1, -3] is beta from 0.99 to 0.999
    box = Box((0.25, 0.5), (0.5, 1.0), (None, None))
    proposals = propose(space, {}, Stage(200, sampler=name), 1, box, seed=3)
    assert len(proposals) == 200
    for p in proposals:
        assert 1e-3 * (1 - 1e-12) <= p.config["learning_rate"] <= 1e-2 * (1 + 1e-12)
        assert 0.99 * (1 - 1e-12) <= p.config["beta"] <= 0.999


@pytest.mark.parametrize("name", ["random", "sobol"])
def test_same_seed_same_configurations_different_seed_different_ones(name):
    space, stage, box = _sweep_space(), Stage(20, sampler=name), Box.full(4)

    def configs(seed: int, index: int = 0) -> list[dict]:
        return [p.config for p in propose(space, {"epochs": 5}, stage, index, box, seed)]

    first = configs(11)
    assert configs(11) == first
    assert all(c["epochs"] == 5 and c["hidden_units"] == 64 for c in first)
    other = configs(12)
    assert other != first
    assert {c["learning_rate"] for c in other}.isdisjoint(c["learning_rate"] for c in first)
    # a later stage of the same sweep draws afresh rather than repeating stage 0
    assert {c["learning_rate"] for c in configs(11, index=1)}.isdisjoint(
        c["learning_rate"] for c in first
    )


def test_grid_tries_the_product_of_levels_whatever_the_budget_and_says_so():
    space = Space(
        {
            "learning_rate": LogUniform(1e-4, 1.0),  # 3 levels
            "batch_size": PowerOfTwo(32, 256),  # 3 levels
            "optimizer": Choice(("sgd", "momentum", "adam")),  # 3 levels
            "hidden_layers": IntUniform(1, 2),  # only 2 values, each once
            "hidden_units": Constant(64),  # no dimension
        }
    )
    with pytest.warns(SweepWarning, match=r"implies 54 trials") as caught:
        proposals = propose(space, {}, Stage(10, sampler="grid"), 0, Box.full(4), seed=0)
    assert len(proposals) == 3 * 3 * 3 * 2 == 54
    message = str(caught[0].message)
    assert "stage 1" in message
    assert "learning_rate, batch_size, optimizer, hidden_layers" in message
    configs = [p.config for p in proposals]
    assert len({repr(sorted(c.items())) for c in configs}) == 54
    assert {c["optimizer"] for c in configs} == {"sgd", "momentum", "adam"}
    assert {c["hidden_layers"] for c in configs} == {1, 2}
    # three cells of log10 on [-4, 0], each at its middle: -4 + 4/6, -2, -4/6
    lrs = sorted({c["learning_rate"] for c in configs})
    assert lrs == pytest.approx([10 ** (-4 + 4 / 6), 1e-2, 10 ** (-4 / 6)])


def test_grid_drops_duplicates_that_a_condition_creates():
    space = Space(
        {
            "optimizer": Choice(("sgd", "momentum")),
            "beta": OneMinusLogUniform(0.9, 0.999),
        },
        {"beta": {"optimizer": ("momentum",)}},
    )
    # 2 x 3 grid points; the 3 sgd points lose beta and are one configuration: 1 + 3 trials
    with pytest.warns(SweepWarning, match=r"implies 4 trials"):
        proposals = propose(space, {}, Stage(6, sampler="grid"), 0, Box.full(2), seed=0)
    configs = [p.config for p in proposals]
    assert configs[0] == {"optimizer": "sgd"}
    assert [c["optimizer"] for c in configs[1:]] == ["momentum"] * 3
    # 1 - beta at the middles of three cells of log10 on [-1, -3]
    betas = [c["beta"] for c in configs[1:]]
    assert betas == pytest.approx([1 - 10 ** (-1 - 1 / 3), 0.99, 1 - 10 ** (-3 + 1 / 3)])
    assert math.isnan(proposals[0].unit[1])


@pytest.mark.parametrize(
    ("param", "values"),
    [
        (IntUniform(1, 3), [1, 2, 3]),
        (PowerOfTwo(32, 128), [32, 64, 128]),
        (Choice(("a", "b", "c")), ["a", "b", "c"]),
        (LogInt(1, 3), [1, 2, 3]),
    ],
    ids=["int_uniform", "power_of_two", "choice", "log_int"],
)
def test_grid_tries_each_value_of_a_parameter_with_fewer_values_than_points(param, values):
    space = Space({"w": param})
    with pytest.warns(SweepWarning) as caught:
        proposals = propose(space, {}, Stage(1, sampler="grid", grid_points=4), 0, Box.full(1), 0)
    assert [p.config["w"] for p in proposals] == values
    assert "implies 3 trials" in str(caught[0].message)


def test_grid_levels_sit_in_the_box():
    space = Space({"x": Uniform(0.0, 1.0), "y": Uniform(0.0, 1.0)})
    box = Box((0.5, 0.0), (1.0, 0.3), (None, None))
    points = GridSampler(2).points(0, box, space, np.random.default_rng(0))
    # two cells of [0.5, 1] and of [0, 0.3], each at its middle
    expected = [(0.625, 0.075), (0.625, 0.225), (0.875, 0.075), (0.875, 0.225)]
    assert np.allclose(sorted(map(tuple, points)), expected)


def test_make_sampler_rejects_an_unknown_name_and_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown sampler 'sobel'; samplers are random, sobol"):
        make_sampler("sobel")

"""Search-space parameter types: the scales a user relies on, round trips, validation and
conditional parameters.

Distribution tests draw a few thousand points from a fixed seed and check them with a
Kolmogorov-Smirnov or chi-square test at p > 0.01; next to each, the same test rejects a
sample on the wrong scale, so a broken scale would be caught.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from orchestrator.search.samplers import RandomSampler
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
    SpaceError,
    Uniform,
    make_param,
)

SEED = 20240917
N = 4000


def _units(n: int = N, seed: int = SEED) -> np.ndarray:
    return np.random.default_rng(seed).random(n)


def _within_binomial(count: int, n: int, p: float, sds: float = 3.0) -> bool:
    return abs(count - n * p) <= sds * math.sqrt(n * p * (1 - p))


# --- log-uniform learning rate -------------------------------------------------------


def test_log_uniform_learning_rate_is_uniform_in_log10():
    lr = LogUniform(1e-4, 1.0)
    values = np.array([lr.from_unit(u) for u in _units()])
    assert values.min() >= 1e-4 and values.max() < 1.0
    # log10 uniform on [-4, 0]: scipy's uniform takes (loc, scale)
    assert stats.kstest(np.log10(values), "uniform", args=(-4, 4)).pvalue > 0.01
    # the test can fail: plain uniform draws over the same range are far from log-uniform
    plain = np.random.default_rng(SEED).uniform(1e-4, 1.0, N)
    assert stats.kstest(np.log10(plain), "uniform", args=(-4, 4)).pvalue < 0.01


def test_log_uniform_learning_rate_through_the_random_sampler_and_decode():
    space = Space({"learning_rate": LogUniform(1e-4, 1.0)})
    points = RandomSampler().points(N, Box.full(1), space, np.random.default_rng(SEED))
    values = np.array([space.decode(p)["learning_rate"] for p in points])
    assert stats.kstest(np.log10(values), "uniform", args=(-4, 4)).pvalue > 0.01
    # each decade holds a quarter: as many in 1e-4..1e-3 as in 0.1..1
    low_decade = int(np.sum((values >= 1e-4) & (values < 1e-3)))
    top_decade = int(np.sum((values >= 0.1) & (values < 1.0)))
    assert _within_binomial(low_decade, N, 0.25)
    assert _within_binomial(top_decade, N, 0.25)
    # plain uniform would put (1e-3 - 1e-4) / (1 - 1e-4) = 0.09% of draws in the low decade
    plain = np.random.default_rng(SEED).uniform(1e-4, 1.0, N)
    assert not _within_binomial(int(np.sum(plain < 1e-3)), N, 0.25)


# --- 1 - beta on a log scale ---------------------------------------------------------


def _keras_tuner_reverse_log(u: float, low: float, high: float) -> float:
    """KerasTuner's `reverse_log` sampling: high + low - low * (high / low) ** (1 - u)."""
    return high + low - low * (high / low) ** (1 - u)


def test_one_minus_log_uniform_beta_splits_evenly_between_0_9_0_99_and_0_99_0_999():
    beta = OneMinusLogUniform(0.9, 0.999)
    values = np.array([beta.from_unit(u) for u in _units()])
    assert values.min() >= 0.9 and values.max() < 0.999
    upper_half = int(np.sum(values >= 0.99))
    assert _within_binomial(upper_half, N, 0.5)
    assert _within_binomial(N - upper_half, N, 0.5)
    # 1 - beta log-uniform on [1e-3, 1e-1]: log10(1 - beta) uniform on [-3, -1]
    assert stats.kstest(np.log10(1 - values), "uniform", args=(-3, 2)).pvalue > 0.01


def test_a_naive_reverse_log_or_plain_uniform_beta_fails_the_same_checks():
    units = _units()
    naive = np.array([_keras_tuner_reverse_log(u, 0.9, 0.999) for u in units])
    plain = 0.9 + units * (0.999 - 0.9)
    for values in (naive, plain):
        assert stats.kstest(np.log10(1 - values), "uniform", args=(-3, 2)).pvalue < 0.01
        # both put only about a tenth of the draws in 0.99..0.999
        assert not _within_binomial(int(np.sum(values >= 0.99)), N, 0.5)


# --- discrete types ------------------------------------------------------------------


def test_int_uniform_hits_each_of_its_51_values_equally_often():
    param = IntUniform(50, 100)
    n = 51 * 100
    values = [param.from_unit(u) for u in _units(n)]
    assert set(values) == set(range(50, 101))
    counts = np.bincount(np.array(values) - 50, minlength=51)
    assert stats.chisquare(counts).pvalue > 0.01  # each value 1/51
    # the test can fail: round(50 + 50u) gives the two end values half a share each
    rounded = [round(50 + 50 * u) for u in _units(n)]
    bad_counts = np.bincount(np.array(rounded) - 50, minlength=51)
    assert stats.chisquare(bad_counts).pvalue < 0.01


def test_power_of_two_gives_exactly_32_64_128_256_each_a_quarter_of_the_time():
    param = PowerOfTwo(32, 256)
    values = [param.from_unit(u) for u in _units()]
    assert set(values) == {32, 64, 128, 256}
    for v in (32, 64, 128, 256):
        assert _within_binomial(values.count(v), N, 0.25)


def test_log_int_stays_on_integers_from_1_to_1000_and_hits_every_one():
    param = LogInt(1, 1000)
    # the narrowest value, 1000, owns ln(1000.5/999.5)/ln(2001) = 1.3e-4 of the unit
    # interval, so a grid with step 5e-5 lands in every value's share
    dense = {param.from_unit(u) for u in np.arange(0.0, 1.0, 5e-5)}
    assert dense == set(range(1, 1001))
    values = [param.from_unit(u) for u in _units()]
    assert all(isinstance(v, int) and 1 <= v <= 1000 for v in values)


def test_log_int_puts_about_as_many_draws_in_each_full_decade():
    # integer k owns [k - 1/2, k + 1/2) on a log scale spanning [1/2, 1000 + 1/2], as in
    # Optuna's search-space transform; so a decade 10..99 has probability
    # ln(99.5 / 9.5) / ln(2001) = 0.3090 and 100..999 has ln(999.5 / 99.5) / ln(2001) = 0.3035
    param = LogInt(1, 1000)
    values = np.array([param.from_unit(u) for u in _units()])
    assert _within_binomial(int(np.sum((values >= 10) & (values <= 99))), N, 0.3090)
    assert _within_binomial(int(np.sum((values >= 100) & (values <= 999))), N, 0.3035)
    # plain uniform integers would put under 1% of draws in 10..99
    plain = np.random.default_rng(SEED).integers(1, 1001, N)
    assert not _within_binomial(int(np.sum((plain >= 10) & (plain <= 99))), N, 0.3090)


def test_choice_hits_every_value_and_nothing_else():
    param = Choice(("sgd", "momentum", "rmsprop", "adam"))
    values = [param.from_unit(u) for u in _units()]
    assert set(values) == {"sgd", "momentum", "rmsprop", "adam"}
    for v in param.values:
        assert _within_binomial(values.count(v), N, 0.25)


# --- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "param",
    [Uniform(-3.0, 5.0), LogUniform(1e-4, 1.0), OneMinusLogUniform(0.9, 0.999)],
    ids=lambda p: type(p).__name__,
)
def test_continuous_types_round_trip_through_the_unit_interval(param):
    for u in np.arange(0.0, 1.0, 1 / 64):
        assert param.to_unit(param.from_unit(u)) == pytest.approx(u, abs=1e-12)


def test_continuous_types_map_the_unit_interval_onto_their_bounds():
    assert LogUniform(1e-4, 1.0).from_unit(0.0) == pytest.approx(1e-4, rel=1e-12)
    assert LogUniform(1e-4, 1.0).from_unit(0.5) == pytest.approx(1e-2, rel=1e-12)
    assert OneMinusLogUniform(0.9, 0.999).from_unit(0.0) == pytest.approx(0.9, rel=1e-12)
    # halfway on the log scale of 1 - beta between 0.1 and 0.001 is 0.01
    assert OneMinusLogUniform(0.9, 0.999).from_unit(0.5) == pytest.approx(0.99, rel=1e-12)
    assert Uniform(-3.0, 5.0).from_unit(0.25) == pytest.approx(-1.0)


@pytest.mark.parametrize(
    ("param", "allowed"),
    [
        (IntUniform(50, 100), list(range(50, 101))),
        (LogInt(1, 1000), list(range(1, 1001))),
        (PowerOfTwo(32, 256), [32, 64, 128, 256]),
        (Choice(("sgd", "momentum", "adam")), ["sgd", "momentum", "adam"]),
        (Choice((0.0, 1e-4, 1e-2)), [0.0, 1e-4, 1e-2]),
    ],
    ids=["int_uniform", "log_int", "power_of_two", "choice_of_names", "choice_of_numbers"],
)
def test_discrete_types_round_trip_every_allowed_value(param, allowed):
    for v in allowed:
        u = param.to_unit(v)
        assert 0.0 <= u < 1.0
        assert param.from_unit(u) == v


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind", "spec", "where", "says"),
    [
        ("space.lr", "uniform", {"low": 1.0, "high": 1.0}, "space.lr.low", "low < high"),
        ("space.lr", "log_uniform", {"low": 0.1, "high": 1e-3}, "space.lr.low", "low < high"),
        ("space.lr", "log_uniform", {"low": 0, "high": 1}, "space.lr.low", "0 < low"),
        ("space.lr", "log_uniform", {"low": -1e-3, "high": 1}, "space.lr.low", "0 < low"),
        (
            "space.beta",
            "one_minus_log_uniform",
            {"low": 0.9, "high": 1.0},
            "space.beta.high",
            "0 <= low < high < 1",
        ),
        (
            "space.beta",
            "one_minus_log_uniform",
            {"low": -0.1, "high": 0.9},
            "space.beta.low",
            "0 <= low < high < 1",
        ),
        (
            "space.batch_size",
            "power_of_two",
            {"low": 48, "high": 256},
            "space.batch_size.low",
            "power of two, got low=48",
        ),
        (
            "space.batch_size",
            "power_of_two",
            {"low": 32, "high": 200},
            "space.batch_size.high",
            "power of two, got high=200",
        ),
        ("space.units", "log_int", {"low": 0, "high": 512}, "space.units.low", "low >= 1"),
        ("space.units", "int_uniform", {"low": 1.5, "high": 8}, "space.units.low", "integer"),
        ("space.opt", "choice", {"values": []}, "space.opt.values", "at least one value"),
        (
            "space.opt",
            "choice",
            {"values": ["adam", "sgd", "adam"]},
            "space.opt.values",
            "must not repeat",
        ),
        ("space.layers", "choice", {"values": [2, 2.0]}, "space.layers.values", "must not repeat"),
        ("space.opt", "choice", {"values": "adam"}, "space.opt.values", "must be a list"),
        (
            "space.lr",
            "loguniform",
            {"low": 1e-4, "high": 1},
            "space.lr.type",
            "did you mean 'log_uniform'",
        ),
        (
            "space.lr",
            "log_uniform",
            {"low": 1e-4, "hihg": 1},
            "space.lr.hihg",
            "unknown field (did you mean 'high'",
        ),
        ("space.lr", "log_uniform", {"low": 1e-4}, "space.lr.high", "is required"),
        ("space.opt", "choice", {}, "space.opt.values", "is required"),
        # YAML reads 1e-4 without a dot as a string
        ("space.lr", "log_uniform", {"low": "1e-4", "high": 1}, "space.lr.low", "number"),
        ("space.lr", "uniform", {"low": 0, "high": True}, "space.lr.high", "number"),
        ("space.lr", "uniform", {"low": 0, "high": math.nan}, "space.lr.high", "finite"),
    ],
)
def test_make_param_rejects_bad_definitions_naming_the_field(path, kind, spec, where, says):
    with pytest.raises(SpaceError) as caught:
        make_param(path, kind, spec)
    assert caught.value.path == where
    assert str(caught.value).startswith(f"{where}: ")
    assert says in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_make_param_error_shows_the_offending_values():
    with pytest.raises(SpaceError, match=r"low=0\.1, high=0\.001"):
        make_param("space.lr", "log_uniform", {"low": 0.1, "high": 1e-3})
    with pytest.raises(SpaceError, match=r"'1e-4' \(str\)"):
        make_param("space.lr", "log_uniform", {"low": "1e-4", "high": 1})


def test_make_param_builds_the_type_named():
    assert make_param("space.lr", "log_uniform", {"low": 1e-4, "high": 1}) == LogUniform(1e-4, 1)
    assert make_param("space.b", "power_of_two", {"low": 32, "high": 256}) == PowerOfTwo(32, 256)
    assert make_param("space.o", "choice", {"values": ["a", "b"]}) == Choice(("a", "b"))
    assert make_param("space.l2", "constant", {"value": 0.0}) == Constant(0.0)


# --- conditional parameters ----------------------------------------------------------


def _optimizer_space() -> Space:
    return Space(
        {
            "optimizer": Choice(("sgd", "momentum", "adam")),
            "beta": OneMinusLogUniform(0.9, 0.999),
            "learning_rate": LogUniform(1e-4, 1.0),
            "hidden_units": Constant(64),
        },
        {"beta": {"optimizer": ("momentum",)}},
    )


def test_a_conditional_parameter_appears_only_when_its_condition_holds():
    space = _optimizer_space()
    assert space.dims == ("optimizer", "beta", "learning_rate")  # a constant takes no dimension
    # optimizer's thirds of the unit interval: sgd, momentum, adam
    assert space.decode([0.1, 0.5, 0.5]) == {
        "optimizer": "sgd",
        "learning_rate": pytest.approx(1e-2),
        "hidden_units": 64,
    }
    assert space.decode([0.5, 0.5, 0.5]) == {
        "optimizer": "momentum",
        "beta": pytest.approx(0.99),
        "learning_rate": pytest.approx(1e-2),
        "hidden_units": 64,
    }
    assert "beta" not in space.decode([0.9, 0.5, 0.5])

    points = RandomSampler().points(500, Box.full(3), space, np.random.default_rng(SEED))
    configs = [space.decode(p) for p in points]
    assert all(("beta" in c) == (c["optimizer"] == "momentum") for c in configs)
    assert {c["optimizer"] for c in configs} == {"sgd", "momentum", "adam"}


def test_encode_gives_nan_for_an_inactive_parameter():
    space = _optimizer_space()
    sgd = space.encode({"optimizer": "sgd", "learning_rate": 1e-2, "hidden_units": 64})
    # sgd is the middle of the first third; 1e-2 is halfway between 1e-4 and 1 in log10
    assert sgd[0] == pytest.approx(1 / 6)
    assert math.isnan(sgd[1])
    assert sgd[2] == pytest.approx(0.5)
    momentum = space.encode({"optimizer": "momentum", "beta": 0.99, "learning_rate": 1e-3})
    assert momentum == pytest.approx([0.5, 0.5, 0.25])


@pytest.mark.parametrize("order", ["parent first", "child first"])
def test_a_parameter_whose_parent_is_inactive_is_inactive_too(order):
    # decay_every depends on lr_decay, which only exists for sgd; the sweep file may list
    # them in either order, and the configuration must not depend on that
    conditions = {
        "lr_decay": {"optimizer": ("sgd",)},
        "decay_every": {"lr_decay": ("staircase",)},
    }
    if order == "child first":
        conditions = dict(reversed(list(conditions.items())))
    space = Space(
        {
            "optimizer": Choice(("sgd", "adam")),
            "lr_decay": Choice(("none", "staircase")),
            "decay_every": IntUniform(1, 10),
        },
        conditions,
    )
    # optimizer adam (second half), lr_decay's coordinate on staircase (second half)
    config = space.decode([0.75, 0.75, 0.5])
    assert config == {"optimizer": "adam"}
    # with sgd both are active
    assert space.decode([0.25, 0.75, 0.5]) == {
        "optimizer": "sgd",
        "lr_decay": "staircase",
        "decay_every": 6,
    }

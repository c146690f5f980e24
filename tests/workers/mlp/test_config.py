"""Model settings: every bad value is refused with its key, its rule and the value."""

from __future__ import annotations

import pytest

from caviar_common.errors import ConfigError
from workers.mlp.config import ModelConfig, parse_assignment


def test_defaults_are_valid_and_round_trip():
    cfg = ModelConfig()
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.optimizer == "adam" and cfg.dtype == "float32" and cfg.bn_momentum == 0.9


def test_integers_are_accepted_for_floats_and_whole_floats_for_integers():
    cfg = ModelConfig.from_dict({"learning_rate": 1, "hidden_units": 64.0})
    assert cfg.learning_rate == 1.0 and isinstance(cfg.learning_rate, float)
    assert cfg.hidden_units == 64 and isinstance(cfg.hidden_units, int)


@pytest.mark.parametrize(
    ("settings", "pattern"),
    [
        ({"learning_rate": 0}, r"learning_rate: must be a number > 0, got 0\.0"),
        ({"learning_rate": "fast"}, r"learning_rate: must be a number > 0, got 'fast' \(str\)"),
        ({"learning_rate": float("nan")}, r"learning_rate: must be a number > 0, got nan"),
        ({"hidden_units": 0}, r"hidden_units: must be an integer >= 1, got 0"),
        ({"hidden_units": 2.5}, r"hidden_units: must be an integer >= 1, got 2\.5"),
        ({"hidden_layers": True}, r"hidden_layers: must be an integer >= 1, got True"),
        ({"beta": 1.0}, r"beta: must be a number in \[0, 1\), got 1\.0"),
        ({"beta2": -0.1}, r"beta2: must be a number in \[0, 1\), got -0\.1"),
        (
            {"optimizer": "sgd"},
            r"optimizer: must be one of \['gd', 'momentum', 'rmsprop', 'adam'\]",
        ),
        ({"dtype": "float16"}, r"dtype: must be one of \['float32', 'float64'\], got 'float16'"),
        ({"lr_decay": "exponential", "decay_rate": 1.5}, r"decay_rate: must be in \(0, 1\]"),
        ({"l2": -1}, r"l2: must be a number >= 0, got -1\.0"),
    ],
)
def test_bad_values_name_key_rule_and_value(settings: dict, pattern: str):
    with pytest.raises(ConfigError, match=pattern):
        ModelConfig.from_dict(settings)


def test_unknown_key_suggests_the_closest_one():
    with pytest.raises(
        ConfigError,
        match=r"learning_rat: unknown model setting \(did you mean "
        r"'learning_rate'\?\)",
    ) as info:
        ModelConfig.from_dict({"learning_rat": 0.1})
    assert info.value.key == "learning_rat"
    assert isinstance(info.value, ValueError)


def test_where_prefixes_the_path():
    with pytest.raises(ConfigError, match=r"^model\.beta1: must be") as info:
        ModelConfig.from_dict({"beta1": 2}, where="model.")
    assert info.value.key == "model.beta1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("learning_rate=1e-4", ("learning_rate", 1e-4)),
        ("hidden_units=64", ("hidden_units", 64)),
        (" optimizer = adam ", ("optimizer", "adam")),
    ],
)
def test_parse_assignment(text: str, expected: tuple):
    assert parse_assignment(text) == expected
    assert type(parse_assignment(text)[1]) is type(expected[1])


def test_parse_assignment_needs_an_equals_sign():
    with pytest.raises(ConfigError, match="must look like key=value, got 'learning_rate'"):
        parse_assignment("learning_rate")

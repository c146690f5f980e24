"""The model settings a worker accepts, with one validating rule per setting.

`ModelConfig.from_dict` is the single door through which settings enter a worker: the
CLI's ``--set`` pairs and the sweep file's fixed settings and sampled values all pass
here, so every bad value gets the same message naming the key, the rule and the value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from caviar_common.bounds import Bound
from caviar_common.errors import ConfigError, suggest

OPTIMIZERS = ("gd", "momentum", "rmsprop", "adam")
LR_DECAYS = ("none", "inverse_time", "exponential", "staircase")
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class Rule:
    """What one setting must be: its type, a check on the value, and how to say it."""

    kind: type
    check: Callable[[Any], bool]
    says: str
    help: str


_positive = Bound(exclusive_minimum=0)
_non_negative = Bound(minimum=0)
_at_least_one = Bound(minimum=1)
_unit_open = Bound(minimum=0, exclusive_maximum=1)


def _one_of(options: tuple[str, ...]) -> Bound:
    return Bound(options=options)


RULES: dict[str, Rule] = {
    "hidden_layers": Rule(int, _at_least_one, "an integer >= 1", "number of hidden layers L"),
    "hidden_units": Rule(int, _at_least_one, "an integer >= 1", "units in each hidden layer"),
    "learning_rate": Rule(float, _positive, "a number > 0", "initial learning rate alpha0"),
    "optimizer": Rule(str, _one_of(OPTIMIZERS), f"one of {list(OPTIMIZERS)}", "update rule"),
    "beta": Rule(float, _unit_open, "a number in [0, 1)", "momentum beta (optimizer=momentum)"),
    "beta1": Rule(float, _unit_open, "a number in [0, 1)", "Adam's first-moment beta1"),
    "beta2": Rule(float, _unit_open, "a number in [0, 1)", "RMSprop's and Adam's beta2"),
    "epsilon": Rule(float, _positive, "a number > 0", "RMSprop's and Adam's epsilon"),
    "batch_size": Rule(int, _at_least_one, "an integer >= 1", "mini-batch size"),
    "lr_decay": Rule(str, _one_of(LR_DECAYS), f"one of {list(LR_DECAYS)}", "learning-rate decay"),
    "decay_rate": Rule(
        float,
        _non_negative,
        "a number >= 0",
        "k in alpha0/(1+k*epoch); the base in alpha0*k**epoch (exponential, staircase)",
    ),
    "decay_every": Rule(int, _at_least_one, "an integer >= 1", "epochs per staircase step"),
    "l2": Rule(
        float, _non_negative, "a number >= 0", "L2 penalty lambda, cost + lambda/(2m)*sum W^2"
    ),
    "bn_momentum": Rule(
        float, _unit_open, "a number in [0, 1)", "weight of the old value in the running mean/var"
    ),
    "bn_epsilon": Rule(float, _positive, "a number > 0", "epsilon added to the batch variance"),
    "dtype": Rule(str, _one_of(DTYPES), f"one of {list(DTYPES)}", "floating-point precision"),
}


@dataclass(frozen=True)
class ModelConfig:
    """Every setting of one trial's network and optimizer, already validated."""

    hidden_layers: int = 2
    hidden_units: int = 64
    learning_rate: float = 0.01
    optimizer: str = "adam"
    beta: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    batch_size: int = 64
    lr_decay: str = "none"
    decay_rate: float = 1.0
    decay_every: int = 10
    l2: float = 0.0
    bn_momentum: float = 0.9
    bn_epsilon: float = 1e-5
    dtype: str = "float32"

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, check_setting(f.name, getattr(self, f.name)))
        _check_together(self)

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any], *, where: str = "") -> ModelConfig:
        """Build a config from user settings; unknown keys and bad values raise ConfigError.

        `where` prefixes the key in messages (for example ``"model."`` for a sweep file).
        """
        clean: dict[str, Any] = {}
        for key, value in settings.items():
            try:
                clean[key] = check_setting(key, value)
            except ConfigError as err:
                raise ConfigError(where + err.key, err.reason) from None
        try:
            return cls(**clean)
        except ConfigError as err:
            raise ConfigError(where + err.key, err.reason) from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_setting(key: str, value: Any) -> Any:
    """Validate and normalise one setting; raise ConfigError naming the key, rule and value."""
    rule = RULES.get(key)
    if rule is None:
        raise ConfigError(
            key,
            f"unknown model setting{suggest(key, list(RULES))}; "
            f"known settings are {', '.join(RULES)}",
        )
    value = _coerce(key, value, rule)
    if not rule.check(value):
        raise ConfigError(key, f"must be {rule.says}, got {value!r}")
    return value


def _coerce(key: str, value: Any, rule: Rule) -> Any:
    if rule.kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, f"must be {rule.says}, got {value!r} ({type(value).__name__})")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(key, f"must be {rule.says}, got {value!r}")
        return value
    if rule.kind is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"must be {rule.says}, got {value!r} ({type(value).__name__})")
        return int(value)
    if not isinstance(value, str):
        raise ConfigError(key, f"must be {rule.says}, got {value!r} ({type(value).__name__})")
    return value


def _check_together(cfg: ModelConfig) -> None:
    """Rules that tie two settings together."""
    if cfg.lr_decay in ("exponential", "staircase") and not 0 < cfg.decay_rate <= 1:
        raise ConfigError(
            "decay_rate",
            f"must be in (0, 1] when lr_decay={cfg.lr_decay!r} "
            f"(alpha = alpha0 * decay_rate**epoch), got {cfg.decay_rate!r}",
        )


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse a command-line ``key=value`` into a key and an int, float or string value."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key:
        raise ConfigError(text or "--set", f"must look like key=value, got {text!r}")
    for convert in (int, float):
        try:
            return key, convert(raw)
        except ValueError:
            pass
    return key, raw

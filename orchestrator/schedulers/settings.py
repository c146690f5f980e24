"""The schedulers a sweep can name and the settings each takes, with their defaults.

Kept apart from the schedulers themselves so that a sweep file is checked without building
one, and checked once: `check_scheduler` is the only place a setting is validated, and
what it returns, a `SchedulerSpec`, is what `make_scheduler` builds from. Errors are
ConfigErrors that name the setting. `check_settings` checks each setting by its own rule
alone; `check_scheduler` adds the rules that tie settings to each other and to the budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from caviar_common.bounds import Bound
from caviar_common.errors import ConfigError, suggest


@dataclass(frozen=True)
class Setting:
    kind: type
    default: Any
    check: Callable[[Any], bool]  # a Bound, so that the sweep file's schema can state it
    says: str


_GRACE = Setting(int, 1, Bound(minimum=1), "an integer >= 1 (epochs before any stop)")
_ETA = Setting(
    float, 3.0, Bound(exclusive_minimum=1), "a number > 1 (keep the top 1/eta at a rung)"
)
_RULE = Setting(
    str,
    "percentile",
    Bound(options=("percentile", "top")),
    "percentile (go on if no worse than the 1/eta quantile of the results before) or top "
    "(go on if among the best floor(n/eta), the newcomer counted)",
)
_MODE = Setting(
    str,
    "stop",
    Bound(options=("stop", "promote")),
    "stop (a weak trial ends at its rung) or promote (it pauses there and may be promoted later)",
)

SETTINGS: dict[str, dict[str, Setting]] = {
    "fifo": {},
    "asha": {
        "grace_period": _GRACE,
        "reduction_factor": _ETA,
        "brackets": Setting(int, 1, Bound(minimum=1), "an integer >= 1"),
        "mode": _MODE,
        "rule": _RULE,
    },
    "median": {
        "grace_period": _GRACE,
        "min_trials": Setting(
            int, 3, Bound(minimum=1), "an integer >= 1 (trials seen before any stop)"
        ),
    },
    "hyperband": {
        "grace_period": _GRACE,
        "reduction_factor": _ETA,
        "brackets": Setting(int, None, Bound(minimum=1), "an integer >= 1"),
        "mode": _MODE,
        "rule": _RULE,
    },
}
SCHEDULERS = tuple(SETTINGS)


@dataclass(frozen=True)
class SchedulerSpec:
    """A scheduler's name and its settings, checked and with every default filled in."""

    name: str = "fifo"
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        settings = ", ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.settings.items()
        )
        return f"SchedulerSpec({self.name!r}{', ' if settings else ''}{settings})"


def check_scheduler(name: str, given: Mapping[str, Any], max_epochs: int) -> SchedulerSpec:
    """The scheduler with its settings checked and defaults filled in; ConfigError names a
    bad one: one that breaks its own rule, a grace period beyond `max_epochs`, or more
    brackets than start within it."""
    settings = check_settings(name, given)
    grace = settings.get("grace_period")
    if grace is not None and grace > max_epochs:
        raise ConfigError(
            "grace_period", f"must be at most budget.max_epochs ({max_epochs}), got {grace}"
        )
    if "brackets" in settings:
        eta, grace = settings["reduction_factor"], settings["grace_period"]
        most = most_brackets(max_epochs, grace, eta)
        if settings["brackets"] is None:  # hyperband's default: every bracket there is room for
            settings["brackets"] = most
        elif settings["brackets"] > most:
            every = "; leave brackets out to get them all" if name == "hyperband" else ""
            raise ConfigError(
                "brackets",
                f"must be at most {most} with grace_period {grace}, reduction_factor {eta:g} "
                f"and budget.max_epochs {max_epochs}",
                settings["brackets"],
                f"bracket b starts judging at grace_period * reduction_factor**b epochs, and "
                f"only {most} start within max_epochs{every}",
            )
    return SchedulerSpec(name, settings)


def most_brackets(max_epochs: int, grace: int, eta: float) -> int:
    """The brackets that start within the budget: bracket b's grace period is grace * eta**b
    and the last is at most `max_epochs` (Hyperband's s = 0, which trains its trials to the
    end); with `grace` <= `max_epochs`, at least 1."""
    return int(math.floor(math.log(max_epochs / grace, eta) + 1e-9)) + 1


def check_settings(name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The scheduler's settings, each checked by its own rule, with every default filled
    in (hyperband's brackets: None, for `check_scheduler` to fill)."""
    if name not in SETTINGS:
        raise ConfigError(
            "name",
            f"unknown scheduler {name!r}{suggest(name, SCHEDULERS)}; schedulers are "
            f"{', '.join(SCHEDULERS)}",
        )
    rules = SETTINGS[name]
    settings: dict[str, Any] = {}
    for key, value in given.items():
        if key not in rules:
            takes = f"it takes {', '.join(rules)}" if rules else "it takes none"
            raise ConfigError(
                key, f"unknown setting for {name}{suggest(key, list(rules))}; {takes}"
            )
        rule = rules[key]
        if isinstance(value, float) and rule.kind is int and value.is_integer():
            value = int(value)
        numeric = (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )
        if (
            (rule.kind is str and not isinstance(value, str))
            or (rule.kind is not str and not numeric)
            or (rule.kind is int and not isinstance(value, int))
            or not rule.check(value)
        ):
            raise ConfigError(key, f"must be {rule.says}, got {value!r}")
        settings[key] = rule.kind(value)
    for key, rule in rules.items():
        settings.setdefault(key, rule.default)
    return settings

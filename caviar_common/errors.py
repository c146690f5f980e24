"""Caviar's errors: one root, `CaviarError`, and under it `InputError`, the one class for
"this key of this input breaks this rule"; and the "did you mean" hint a message may carry.

Bad input (a sweep file, a setting, a dataset, a command-line path) is an `InputError`:
the command line reports it in one line and exits 2. A bug is not a CaviarError, and
neither is a failure of the machine (a disk, a network); those keep their traceback.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Sequence
from typing import Any


class CaviarError(Exception):
    """The root of every error Caviar raises on purpose; `except caviar.CaviarError`
    catches them all, and nothing that is a bug."""


class _Unset(enum.Enum):
    """No value given (an enum member, so that it pickles as itself)."""

    UNSET = enum.auto()


UNSET = _Unset.UNSET


class InputError(CaviarError, ValueError):
    """Bad input: the entry `path` (``budget.max_epochs``, ``--out``, a file) breaks `rule`.

    The message is ``PATH: RULE[, got VALUE][; HINT]`` (without ``PATH: `` when the path is
    empty, as for a whole file). `value` is the value refused, when there is one; `hint`
    says how to put it right. A ValueError too, so ``except ValueError`` still catches it.

    Args:
        path: Where the bad value is: a dotted key path, a command-line option, a file.
        rule: The rule it breaks (``must be an integer >= 1``); may name the value itself.
        value: The value refused; given, the message ends the rule with ``, got VALUE``.
        hint: How to put it right, appended after ``; ``.
    """

    def __init__(self, path: str, rule: str, value: Any = UNSET, hint: str = "") -> None:
        reason = (
            rule + ("" if value is UNSET else f", got {value!r}") + (f"; {hint}" if hint else "")
        )
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.rule = rule
        self.value = value
        self.hint = hint
        self.reason = reason  # the message after "PATH: "

    @property
    def key(self) -> str:
        """The entry's name or path (the name `ConfigError` gave it)."""
        return self.path

    def __reduce__(self) -> tuple[Any, ...]:  # crosses process boundaries (Ray)
        return (type(self), (self.path, self.rule, self.value, self.hint))


# The names the same class had before there was one: a setting (workers, schedulers), a
# search-space parameter, a sweep file's entry.
ConfigError = InputError


def suggest(key: str, known: Sequence[str]) -> str:
    """A ' (did you mean ...?)' hint for a misspelt key, or ''."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    if not close and len(key) >= 3:  # a shortened name: "grace" for "grace_period"
        close = [k for k in known if k.startswith(key) or key.startswith(k)][:1]
    return f" (did you mean '{close[0]}'?)" if close else ""

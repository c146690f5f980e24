"""The sweep file's errors, and the small checks every section of the validator uses.

A check raises a SweepError naming the entry (``budget.max_epochs``), the rule and the
value; `Problems` collects them section by section, so that one reading of a file reports
every mistake in it, as one `SweepErrors`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from caviar_common.errors import InputError, suggest
from orchestrator.sweepfile.fields import Field, FieldError

P = ParamSpec("P")
T = TypeVar("T")


SweepError = InputError  # an entry of the sweep file that breaks a rule; `path` names it


class SweepErrors(SweepError):
    """Every problem found in a sweep file, in the order of the file, as one InputError.

    With one problem its message, path, rule, value and hint are that problem's own; with
    several the message lists them, one per line, and the path is empty.

    Args:
        problems: The problems, each an InputError naming its entry (`path`).

    Attributes:
        problems: The problems, as given.
    """

    def __init__(self, problems: Sequence[SweepError]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            only = self.problems[0]
            super().__init__(only.path, only.rule, only.value, only.hint)
            return
        message = f"{len(self.problems)} problems in the sweep file:\n" + "\n".join(
            f"  {p}" for p in self.problems
        )
        super().__init__("", message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems,))


class Problems:
    """The problems found so far in one sweep file."""

    def __init__(self) -> None:
        self.found: list[SweepError] = []

    def attempt(self, check: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """What `check` returns; None, with its problems recorded, when it raises."""
        try:
            return check(*args, **kwargs)
        except SweepError as err:
            self.add(err)
            return None

    def add(self, err: SweepError) -> None:
        self.found.extend(err.problems if isinstance(err, SweepErrors) else [err])

    def since(self, mark: int) -> bool:
        """Whether a problem was found after `mark` (a `len(found)` taken before)."""
        return len(self.found) > mark

    def raise_any(self, keys: Sequence[str], order: Sequence[str]) -> None:
        """Raise every problem as one SweepErrors, in the order of `keys` (the file's
        top-level keys, as they come in the file); a key the file lacks ranks after the
        one before it in `order` (all top-level keys). Within a key, the order found."""
        if not self.found:
            return
        rank: dict[str, float] = {key: i for i, key in enumerate(keys)}
        before = -1.0
        for key in order:
            before = rank.setdefault(key, before + 1e-3)  # absent: just after the one before
        ranked = sorted(self.found, key=lambda p: rank.get(top_key(p.path), -1.0))
        once = {str(p): p for p in ranked}  # stages that share budget.trials share its problem
        raise SweepErrors(list(once.values()))


def top_key(path: str) -> str:
    """The top-level key a path starts with: "stages" of "stages[1].zoom.shrink"."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def raise_all(errors: Sequence[SweepError]) -> None:
    """Raise the errors of one check, if any: one SweepError, or SweepErrors for several."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise SweepErrors(errors)


def mapping(path: str, raw: Any, says: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        where = path or "the sweep file"
        raise SweepError(path, f"{where} must be {says}, got {raw!r} ({type(raw).__name__})")
    return {str(k): v for k, v in raw.items()}


def known_keys(path: str, raw: Mapping[str, Any], known: Sequence[str]) -> None:
    """A problem for every key of `raw` not in `known`."""
    raise_all(
        [
            SweepError(
                f"{path}.{key}" if path else str(key),
                f"unknown key{suggest(str(key), list(known))}; "
                f"{'keys here are' if path else 'top-level keys are'} {', '.join(known)}",
            )
            for key in raw
            if key not in known
        ]
    )


def required(raw: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in raw:
        raise SweepError(f"{path}.{key}" if path else key, "is required")
    return raw[key]


def value(path: str, field: Field, raw: Any) -> Any:
    """`raw` checked and normalised by its field's rule."""
    try:
        return field.check(raw)
    except FieldError as err:
        raise SweepError(path, str(err)) from None


def get(raw: Mapping[str, Any], key: str, table: Mapping[str, Field], prefix: str = "") -> Any:
    """The entry `key` of the mapping `raw`, checked by its field in `table`, or the field's
    default; None for an entry with no default that is absent (or null, if nullable)."""
    field = table[key]
    if key not in raw and field.default is None:
        return None
    given = raw.get(key, field.default)
    if given is None and field.nullable:
        return None
    return value(f"{prefix}.{key}" if prefix else key, field, given)


def one_of(path: str, raw: Any, options: Sequence[str]) -> str:
    if raw not in options:
        raise SweepError(
            path,
            f"must be one of {', '.join(options)}, got {raw!r}{suggest(str(raw), list(options))}",
        )
    return str(raw)

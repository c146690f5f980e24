"""A check on a setting's value that can also state its limits, for the rules the workers
apply and the sweep file's JSON Schema (orchestrator/sweepfile/json_schema.py) alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bound:
    """A check on a value that can also state itself: inclusive or exclusive limits, or the
    values allowed. The sweep file's JSON Schema (orchestrator/sweepfile/json_schema.py) reads the
    same limits the check applies, so the two cannot drift apart."""

    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    options: tuple[Any, ...] = ()

    def __call__(self, value: Any) -> bool:
        if self.options:
            return value in self.options
        return (
            (self.minimum is None or value >= self.minimum)
            and (self.maximum is None or value <= self.maximum)
            and (self.exclusive_minimum is None or value > self.exclusive_minimum)
            and (self.exclusive_maximum is None or value < self.exclusive_maximum)
        )

    def keywords(self) -> dict[str, Any]:
        """The limits as JSON Schema keywords (``minimum``, ``exclusiveMaximum``, ``enum``)."""
        out: dict[str, Any] = {"enum": list(self.options)} if self.options else {}
        for keyword, limit in (
            ("minimum", self.minimum),
            ("maximum", self.maximum),
            ("exclusiveMinimum", self.exclusive_minimum),
            ("exclusiveMaximum", self.exclusive_maximum),
        ):
            if limit is not None:
                out[keyword] = limit
        return out

"""The error a bad setting raises, and the "did you mean" hint every message may carry."""

from __future__ import annotations

import difflib
from collections.abc import Sequence


class ConfigError(ValueError):
    """A setting that breaks its rule; `key` is the setting's name (or path)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.reason = message

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # crosses process boundaries
        return (type(self), (self.key, self.reason))


def suggest(key: str, known: Sequence[str]) -> str:
    """A ' (did you mean ...?)' hint for a misspelt key, or ''."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    if not close and len(key) >= 3:  # a shortened name: "grace" for "grace_period"
        close = [k for k in known if k.startswith(key) or key.startswith(k)][:1]
    return f" (did you mean '{close[0]}'?)" if close else ""

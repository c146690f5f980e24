"""The error of a store that cannot be used as asked."""

from __future__ import annotations

from caviar_common.errors import CaviarError


class StoreError(CaviarError, ValueError):
    """A results directory that cannot be used as asked (it holds another sweep, say)."""

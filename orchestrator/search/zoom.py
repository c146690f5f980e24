"""Coarse to fine: the box a later stage samples in, drawn around the best trials so far.

Boxes live in unit coordinates, so a log-scaled learning rate or a 1-beta momentum zooms on
its own scale. Each dimension's new range is centred on the top trials, at most `shrink`
times the old width where those trials agree, wide enough to hold every one of them, and
kept inside the original bounds; a categorical keeps only the values the top trials used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from orchestrator.search.space import Box, Space


def top_k(
    finished: Sequence[tuple[Mapping[str, Any], float, int]], k: int, sign: float
) -> list[Mapping[str, Any]]:
    """Configurations of the k best (config, value, epochs reached) trials: first by the
    epochs they reached (a trial a scheduler let train on beats one it stopped at epoch 1,
    whose early value says little), then by value; sign +1 minimises, -1 maximises.

    Trials without a finite value (diverged, failed) never count among the best.
    """
    scored = [(-e, sign * v, i, c) for i, (c, v, e) in enumerate(finished) if math.isfinite(v)]
    scored.sort(key=lambda t: t[:3])
    return [t[3] for t in scored[:k]]


def zoom_box(space: Space, parent: Box, top: Sequence[Mapping[str, Any]], shrink: float) -> Box:
    """The box around the `top` configurations, inside `parent`'s dimensions' bounds."""
    if not top:
        return parent
    units = np.array([space.encode(c) for c in top]).reshape(len(top), len(space.dims))
    lows, highs, allowed = list(parent.lows), list(parent.highs), list(parent.allowed)
    for j, name in enumerate(space.dims):
        param = space.params[name]
        seen = [c[name] for c in top if name in c]
        if not seen:
            continue  # inactive in every top trial: nothing to learn about it
        if not param.ordered:
            values: tuple[Any, ...] = allowed[j] or param.values  # type: ignore[attr-defined]
            allowed[j] = tuple(v for v in values if v in seen)
            continue
        col = units[:, j][~np.isnan(units[:, j])]
        lo, hi = float(col.min()), float(col.max())
        width = min(1.0, max(shrink * (parent.highs[j] - parent.lows[j]), hi - lo))
        lows[j], highs[j] = _inside_unit((lo + hi) / 2 - width / 2, width)
    return Box(tuple(lows), tuple(highs), tuple(allowed))


def _inside_unit(low: float, width: float) -> tuple[float, float]:
    low = min(max(low, 0.0), 1.0 - width)
    return low, low + width

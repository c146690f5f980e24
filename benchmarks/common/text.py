"""Table cells and the machine's load, as every benchmark prints them."""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def spread(values: Sequence[float | None], digits: int, scale: float = 1.0, unit: str = "") -> str:
    """Median, with the range in brackets when there is more than one value."""
    clean = [v * scale for v in values if v is not None and math.isfinite(v)]
    if not clean:
        return "n/a"
    text = f"{statistics.median(clean):.{digits}f}{unit}"
    if len(clean) > 1 and min(clean) != max(clean):
        text += f" ({min(clean):.{digits}f}–{max(clean):.{digits}f})"
    return text

"""quality.py's measures: the regret of a run's best value so far, on a scale per task and
seed, at shares of random + FIFO's epochs and simulated time; IQMs and bootstrap intervals
over seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.tuning.methods import REFERENCE, Settings

Table = dict[str, dict[str, list[dict[str, float]]]]  # task -> method -> one entry per seed


def best_at(run: dict[str, Any], limit: float, column: int) -> float:
    """The run's best value once `column` (0: epochs spent, 1: time) reached `limit`."""
    best = math.inf
    for step in run["best"]:
        if step[column] > limit:
            break
        best = step[2]
    return best


@dataclass(frozen=True)
class Scale:
    """One task and seed's regret scale: 0 at the best value any method found, 1 at the
    median first epoch of random + FIFO's trials."""

    low: float
    high: float
    fifo_best: float
    fifo_epochs: int
    fifo_makespan: float

    @classmethod
    def of(cls, pair: dict[str, Any]) -> Scale:
        import numpy as np

        runs = [r for r in pair["runs"].values() if "skipped" not in r and r["best"]]
        low = min(r["best"][-1][2] for r in runs)
        fifo = pair["runs"][REFERENCE]
        firsts = [v for v in fifo["first"] if v is not None]
        high = float(np.median(firsts)) if firsts else low + 1.0
        return cls(low, high, fifo["best"][-1][2], fifo["epochs"], fifo["makespan"])

    def regret(self, value: float) -> float:
        """Clipped to [0, 1]: no result yet, or one worse than a typical first epoch, is 1."""
        return min(1.0, max(0.0, (value - self.low) / max(self.high - self.low, 1e-12)))


TIME_SHARES = {"t10": 0.10, "t25": 0.25, "t50": 0.50, "t100": 1.00}  # of FIFO's makespan


def measures(pair: dict[str, Any], settings: Settings) -> dict[str, dict[str, float]]:
    """Per method: regret at 25 % and 100 % of the FIFO budget in epochs and at 10, 25, 50
    and 100 % of its time (TIME_SHARES), the share of FIFO's epochs (and time) it needed
    to reach FIFO's final best, and the trials it started."""
    scale = Scale.of(pair)
    out = {}
    for method, run in pair["runs"].items():
        if "skipped" in run or not run["best"]:
            continue
        reach = next((s for s in run["best"] if s[2] <= scale.fifo_best), None)
        out[method] = {
            "e25": scale.regret(best_at(run, 0.25 * settings.budget, 0)),
            "e100": scale.regret(best_at(run, settings.budget, 0)),
            **{
                key: scale.regret(best_at(run, share * scale.fifo_makespan, 1))
                for key, share in TIME_SHARES.items()
            },
            "reach": math.inf if reach is None else reach[0] / scale.fifo_epochs,
            "reach_time": math.inf if reach is None else reach[1] / scale.fifo_makespan,
            "used": run["epochs"] / settings.budget,
            "trials": run["trials"],
        }
    return out


def curve(pair: dict[str, Any], method: str, grid: Any, column: int, settings: Settings) -> Any:
    """Regret on a grid of budget fractions: of the FIFO budget's epochs (column 0) or of
    FIFO's makespan (column 1)."""
    import numpy as np

    scale = Scale.of(pair)
    whole = settings.budget if column == 0 else scale.fifo_makespan
    run = pair["runs"][method]
    return np.array([scale.regret(best_at(run, f * whole, column)) for f in grid])


def iqm(values: Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle half."""
    from scipy.stats import trim_mean

    return float(trim_mean(values, 0.25))


def bootstrap(values: Sequence[float], reps: int = 2000) -> tuple[float, float]:
    """A 95 % percentile bootstrap interval of the IQM over seeds."""
    import numpy as np
    from scipy.stats import trim_mean

    x = np.asarray(values, dtype=float)
    rng = np.random.default_rng(0)
    samples = trim_mean(x[rng.integers(0, len(x), (reps, len(x)))], 0.25, axis=1)
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return float(lo), float(hi)


def median(values: Sequence[float]) -> float:
    import numpy as np

    return float(np.median(values)) if len(values) else math.nan


def regret_cell(values: Sequence[float]) -> str:
    """A table cell: median · IQM [95 % bootstrap interval of the IQM]."""
    lo, hi = bootstrap(values)
    return f"{median(values):.4f} · {iqm(values):.4f} [{lo:.4f}–{hi:.4f}]"

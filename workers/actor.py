"""The Ray actor around `TrialHost`: a long-lived worker that runs many trials in turn.

Each epoch is one actor call, named after its trial and epoch, so the Ray dashboard shows
what every worker is doing; per-trial gauges go to Ray's metrics (Prometheus) endpoint.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import ray
from ray.util import metrics

from workers.host import StepResult, TrialHost

BLAS_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def blas_env(cpus: float) -> dict[str, str]:
    """Environment that holds every BLAS to the worker's CPUs, so trials do not fight."""
    threads = str(max(1, int(cpus)))
    return {name: threads for name in BLAS_VARIABLES}


class TrialWorker:
    def __init__(self, name: str, sweep: str) -> None:
        self.name = name
        self.sweep = sweep
        self.host = TrialHost()
        tags = ("sweep", "trial")
        self._epoch = metrics.Gauge("caviar_trial_epoch", "epochs trained", tag_keys=tags)
        self._value = metrics.Gauge(
            "caviar_trial_val_cost", "latest validation cost", tag_keys=tags
        )
        self._best = metrics.Gauge(
            "caviar_trial_best_val_cost", "best validation cost so far", tag_keys=tags
        )
        self._best_so_far: dict[str, float] = {}

    def where(self) -> dict[str, Any]:
        context = ray.get_runtime_context()
        return {"worker": self.name, "node": context.get_node_id(), "pid": os.getpid()}

    def begin(
        self,
        trial_id: str,
        config: Mapping[str, Any],
        data: Mapping[str, Any],
        seed: tuple[int, ...],
        checkpoint: bytes | None,
    ) -> int:
        self._best_so_far.pop(trial_id, None)
        return self.host.begin(trial_id, config, data, seed, checkpoint)

    def step(self, trial_id: str, checkpoint: bool) -> StepResult:
        result = self.host.step(trial_id, checkpoint)
        record, tags = result.record, {"sweep": self.sweep, "trial": trial_id}
        self._epoch.set(record["epoch"], tags=tags)
        cost = record["val_cost"]
        if math.isfinite(cost):
            self._value.set(cost, tags=tags)
            best = min(cost, self._best_so_far.get(trial_id, math.inf))
            self._best_so_far[trial_id] = best
            self._best.set(best, tags=tags)
        return result

    def end(self, trial_id: str) -> None:
        self.host.end(trial_id)
        self._best_so_far.pop(trial_id, None)

    def __repr__(self) -> str:
        return f"TrialWorker({self.name!r}, {self.host!r})"

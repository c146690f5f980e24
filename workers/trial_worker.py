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
from threadpoolctl import threadpool_info, threadpool_limits

from workers.host import StepResult, TrialHost


class TrialWorker:
    def __init__(self, name: str, sweep: str, cpus: float = 1.0) -> None:
        # numpy's BLAS is loaded already in a Ray worker, so size its pool directly (a
        # runtime_env with thread variables would cost a fresh worker process per actor)
        self._limits = threadpool_limits(limits=max(1, int(cpus)))
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
        info = threadpool_info()
        threads = max((pool["num_threads"] for pool in info), default=1)
        return {
            "worker": self.name,
            "node": context.get_node_id(),
            "pid": os.getpid(),
            "blas_threads": threads,
        }

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

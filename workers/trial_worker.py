"""The Ray actor around `TrialHost`: a long-lived worker that runs many trials in turn.

Each call trains a run of epochs of one trial and is named after the trial and its epochs,
so the Ray dashboard shows what every worker is doing; per-trial gauges of the sweep's
metric go to Ray's metrics (Prometheus) endpoint after every epoch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import ray
from ray.util import metrics
from threadpoolctl import threadpool_info, threadpool_limits

from caviar_common.curves import diverged
from caviar_common.keeping import NO_KEEP, KeepBar
from caviar_common.seeds import SeedKey
from workers.host import StepResult, TrialHost
from workers.protocol import DEFAULT_TRAINER, check_metric
from workers.threads import size_torch


def best_so_far(best: float | None, value: float, sign: float) -> float | None:
    """The better of `best` (None before the first) and `value`, `sign` being +1 when
    smaller is better and -1 when larger is. A diverged value (NaN, infinite or absurd)
    is never the best."""
    if diverged(value):
        return best
    if best is None or sign * value < sign * best:
        return value
    return best


class TrialWorker:
    """A worker process: a `TrialHost`, its BLAS pool, and its trials' gauges.

    `metric` is the record field the sweep optimises and `sign` its direction (+1 to
    minimise, -1 to maximise); the gauges report that metric's latest value and its best
    so far in that direction.
    """

    def __init__(
        self,
        name: str,
        sweep: str,
        cpus: float = 1.0,
        metric: str = "val_cost",
        sign: float = 1.0,
        trainer: str = DEFAULT_TRAINER,
    ) -> None:
        check_metric(metric, trainer)
        if sign not in (1.0, -1.0):
            raise ValueError(f"sign: must be +1 (minimise) or -1 (maximise), got {sign!r}")
        # numpy's BLAS is loaded already in a Ray worker, so size its pool directly (a
        # runtime_env with thread variables would cost a fresh worker process per actor)
        if not ray.get_runtime_context().get_accelerator_ids().get("GPU"):
            # Ray leaves CUDA_VISIBLE_DEVICES alone for an actor that reserved no GPU: hide
            # them, so that its trials never train on a device another trial reserved
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
        self.threads = max(1, int(cpus))
        self._limits = threadpool_limits(limits=self.threads)
        self.name = name
        self.sweep = sweep
        self.metric = metric
        self.sign = float(sign)
        self.host = TrialHost(trainer=trainer, metric=metric)
        tags = ("sweep", "trial")
        self._epoch = metrics.Gauge("caviar_trial_epoch", "epochs trained", tag_keys=tags)
        self._value = metrics.Gauge(
            "caviar_trial_metric", "latest value of the sweep's metric", tag_keys=(*tags, "metric")
        )
        self._best = metrics.Gauge(
            "caviar_trial_best_metric",
            "best value of the sweep's metric so far, in the sweep's direction",
            tag_keys=(*tags, "metric"),
        )
        self._best_so_far: dict[str, float] = {}

    def where(self) -> dict[str, Any]:
        context = ray.get_runtime_context()
        info = threadpool_info()
        threads = max((pool["num_threads"] for pool in info), default=1)
        gpus = context.get_accelerator_ids().get("GPU", [])
        return {
            "worker": self.name,
            "node": context.get_node_id(),
            "pid": os.getpid(),
            "blas_threads": threads,
            # the GPUs Ray gave this worker, as it set CUDA_VISIBLE_DEVICES ("" for none)
            "devices": os.environ.get("CUDA_VISIBLE_DEVICES", "") if gpus else "",
        }

    def begin(
        self,
        trial_id: str,
        config: Mapping[str, Any],
        data: Mapping[str, Any],
        seed: SeedKey,
        checkpoint: bytes | None,
    ) -> int:
        self._best_so_far.pop(trial_id, None)
        epoch = self.host.begin(trial_id, config, data, seed, checkpoint)
        size_torch(self.threads)  # a torch trainer's module is imported by now
        return epoch

    def step(self, trial_id: str, checkpoint: bool) -> StepResult:
        result = self.host.step(trial_id, checkpoint)
        self._gauge(trial_id, result.record)
        return result

    def run(
        self,
        trial_id: str,
        first: int,
        last: int,
        checkpoint_at: int | None,
        end: bool = False,
        data: Mapping[str, Any] | None = None,
        setup: tuple[Mapping[str, Any], SeedKey, bytes | None] | None = None,
        keep: KeepBar = NO_KEEP,
    ) -> list[StepResult]:
        """What a trial needs next, in one call: with `setup` (its configuration, seed and
        checkpoint) and `data`, its setup (see `begin`); epochs `first`..`last` (see
        `TrialHost.steps`, and `keep`, the bar an epoch's value must beat for its weights to
        come back); with `end`, its end. `data` is an argument of its own so that
        Ray hands over the dataset an object reference points to."""
        if setup is not None and data is not None:
            config, seed, checkpoint = setup
            self.begin(trial_id, config, data, seed, checkpoint)
        results = self.host.steps(trial_id, first, last, checkpoint_at, keep=keep)
        for result in results:
            self._gauge(trial_id, result.record)
        if end:
            self.end(trial_id)
        return results

    def _gauge(self, trial_id: str, record: Mapping[str, Any]) -> None:
        tags = {"sweep": self.sweep, "trial": trial_id}
        self._epoch.set(record["epoch"], tags=tags)
        value = math.nan if record.get("diverged") else float(record[self.metric])
        tags = {**tags, "metric": self.metric}
        if not diverged(value):  # a diverged epoch leaves the last value shown
            self._value.set(value, tags=tags)
        best = best_so_far(self._best_so_far.get(trial_id), value, self.sign)
        if best is not None:
            self._best_so_far[trial_id] = best
            self._best.set(best, tags=tags)

    def end(self, trial_id: str) -> None:
        self.host.end(trial_id)
        self._best_so_far.pop(trial_id, None)

    def close(self) -> None:
        """Exit this worker process; exiting, Ray sends its gauges' last values on."""
        ray.actor.exit_actor()

    def __repr__(self) -> str:
        direction = "minimize" if self.sign > 0 else "maximize"
        return f"TrialWorker({self.name!r}, {self.metric} {direction}, {self.host!r})"

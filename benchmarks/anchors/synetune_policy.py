"""Syne Tune's baselines (ASHA, BOHB, ASHACQR) as a clock policy, called as Syne Tune's own
`Tuner` calls a scheduler: `suggest()` for a free worker, `on_trial_add` when a trial
starts, `on_trial_result` on every epoch (CONTINUE, PAUSE or STOP; STOP and PAUSE followed
by `on_trial_remove`), `on_trial_complete` when a trial ends by itself, `on_trial_error`
when it diverged. A resumed trial goes on from its checkpoint: its job starts past the epochs
it has, so only the new epochs cost time. (Syne Tune 0.16's baselines stop trials and never
pause them; the adapter resumes any that a scheduler pauses.)
"""

from __future__ import annotations

import datetime
import math
import sys
import types
from collections.abc import Callable
from typing import Any

from benchmarks.anchors.clock import Job, Report
from benchmarks.anchors.space_map import Described, caviar_config, synetune_space

BASELINES = {"synetune-asha": "ASHA", "synetune-bohb": "BOHB", "synetune-ashacqr": "ASHACQR"}
METRIC, TIME_ATTR = "val_cost", "epoch"
CONTINUE, PAUSE, STOP = "CONTINUE", "PAUSE", "STOP"  # Syne Tune's SchedulerDecision values
START = datetime.datetime(2000, 1, 1)  # simulated time 0, as a trial's creation time


class SyneTunePolicy:
    """A Syne Tune scheduler on the clock; trial id k trains as Caviar's trial k + 1."""

    def __init__(
        self,
        scheduler: Any,
        space: Described,
        max_epochs: int,
        make_trial: Callable[[int, dict[str, Any], datetime.datetime], Any],
    ) -> None:
        self.scheduler, self.space, self.max_epochs = scheduler, space, max_epochs
        self.make_trial = make_trial  # syne_tune.backend.trial_status.Trial, or a test's fake
        self.trials: list[Any] = []  # by trial id
        self.paused: dict[int, int] = {}  # trial id -> the last epoch it ended

    def __repr__(self) -> str:
        name = type(self.scheduler).__name__
        return f"SyneTunePolicy({name}, {len(self.trials)} trials, {len(self.paused)} paused)"

    def next_job(self, room: int, now: float) -> Job | None:
        if room <= 0 and not self.paused:
            return None  # nothing to resume and no new trial allowed: ask for nothing
        suggestion = self.scheduler.suggest()
        if suggestion is None:
            return None
        if not suggestion.spawn_new_trial_id:
            return self._resume(suggestion)
        if suggestion.checkpoint_trial_id is not None:
            raise NotImplementedError("a new trial from another trial's checkpoint")
        if room <= 0:
            return None
        when = START + datetime.timedelta(seconds=now)
        trial = self.make_trial(len(self.trials), dict(suggestion.config), when)
        self.trials.append(trial)
        self.scheduler.on_trial_add(trial)
        config = caviar_config(trial.config, self.space)
        return Job(trial.trial_id + 1, config, 1, self.max_epochs, trial)

    def _resume(self, suggestion: Any) -> Job:
        trial = self.trials[suggestion.checkpoint_trial_id]
        epoch = self.paused.pop(trial.trial_id)  # KeyError: it was not paused
        if suggestion.config is not None and dict(suggestion.config) != trial.config:
            raise NotImplementedError("resuming a trial with a new configuration")
        config = caviar_config(trial.config, self.space)
        return Job(trial.trial_id + 1, config, epoch + 1, self.max_epochs, trial)

    def on_epoch(self, job: Job, report: Report) -> bool:
        trial = job.handle
        if math.isnan(report.value):
            self.scheduler.on_trial_error(trial)
            return False
        result = {METRIC: report.value, TIME_ATTR: report.epoch}
        decision = self.scheduler.on_trial_result(trial, result)
        if decision in (STOP, PAUSE):
            self.scheduler.on_trial_remove(trial)
            if decision == PAUSE:
                self.paused[trial.trial_id] = report.epoch
            return False
        if report.epoch >= job.last:  # the trial's script ends by itself
            self.scheduler.on_trial_complete(trial, result)
            return False
        return True


def _placeholder_xgboost() -> None:
    """Syne Tune's conformal searcher imports a module that imports xgboost (for transfer
    learning), and builds an `XGBRegressor()` as a default argument there; ASHACQR never
    fits one (its quantile regression is scikit-learn's). Rather than install xgboost and
    its NCCL wheel, a placeholder module whose models fail at their first use."""
    if "xgboost" in sys.modules:
        return

    class _Absent:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def __getattr__(self, name: str) -> Any:
            raise RuntimeError(f"xgboost is not installed in .venv-anchors (asked for {name})")

    module = types.ModuleType("xgboost", "placeholder: xgboost is not installed")
    module.XGBRegressor = module.XGBClassifier = _Absent  # type: ignore[attr-defined]
    sys.modules["xgboost"] = module


def synetune_policy(method: str, space: Described, max_epochs: int, seed: int) -> SyneTunePolicy:
    """The baseline `method` names (ASHA, BOHB or ASHACQR): grace period 1 and reduction
    factor 3, as Caviar's ASHA, one bracket (Syne Tune's default), minimizing val_cost."""
    _placeholder_xgboost()
    import numpy as np
    from syne_tune.backend.trial_status import Trial
    from syne_tune.optimizer import baselines

    np.random.seed(seed)  # ASHA draws each trial's bracket from numpy's global generator
    scheduler = getattr(baselines, BASELINES[method])(
        synetune_space(space),
        metric=METRIC,
        time_attr=TIME_ATTR,
        max_t=max_epochs,
        do_minimize=True,
        random_seed=seed,
        grace_period=1,
        reduction_factor=3,
    )
    return SyneTunePolicy(scheduler, space, max_epochs, Trial)

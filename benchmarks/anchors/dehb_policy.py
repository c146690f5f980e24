"""DEHB (differential evolution over Hyperband's brackets) as a clock policy, through its
ask-and-tell interface: `ask()` for a free worker gives a configuration and a fidelity, the
job trains that configuration from scratch to the fidelity's epochs, and `tell()` gets the
last epoch's val_cost and the job's simulated seconds. Every epoch of every job costs time:
a configuration promoted to a higher fidelity is trained again from epoch 1, as DEHB does
(the epoch cache serves those epochs, the clock charges them all).
"""

from __future__ import annotations

import math
from typing import Any

from benchmarks.anchors.clock import Job, Report
from benchmarks.anchors.space_map import Described, configspace_space, from_configspace

ETA = 3  # Hyperband's reduction factor, as Caviar's and Syne Tune's ASHA


def fidelity_epochs(fidelity: float, max_epochs: int) -> int:
    """The epochs a DEHB fidelity trains: DEHB spaces its fidelities geometrically from the
    maximum down (40/27, 40/9, 40/3, 40), so they are rounded to the nearest epoch."""
    return max(1, min(max_epochs, math.floor(fidelity + 0.5)))


class DEHBPolicy:
    """DEHB on the clock. Each configuration DEHB names (its `config_id`) is one curve, with
    Caviar's seed key of trial k for the k-th configuration that came up, so a promotion
    trains the same network again."""

    def __init__(self, dehb: Any, space: Described, max_epochs: int) -> None:
        self.dehb, self.space, self.max_epochs = dehb, space, max_epochs
        self.curves: dict[int, int] = {}  # DEHB's config_id -> trial number
        self.exhausted = False  # DEHB asked for a new configuration with no room left

    def __repr__(self) -> str:
        return f"DEHBPolicy({len(self.curves)} configurations, exhausted={self.exhausted})"

    def next_job(self, room: int, now: float) -> Job | None:
        if self.exhausted:
            return None
        info = self.dehb.ask()
        trial = self.curves.get(int(info["config_id"]))
        if trial is None:
            if room <= 0:  # an ask cannot be taken back: this job never runs, nor any after
                self.exhausted = True
                return None
            trial = self.curves[int(info["config_id"])] = len(self.curves) + 1
        config = from_configspace(dict(info["config"]), self.space)
        return Job(trial, config, 1, fidelity_epochs(info["fidelity"], self.max_epochs), info)

    def on_epoch(self, job: Job, report: Report) -> bool:
        if report.epoch < job.last and not math.isnan(report.value):
            return True
        fitness = math.inf if math.isnan(report.value) else report.value
        self.dehb.tell(job.handle, {"fitness": fitness, "cost": report.spent})
        return False


def dehb_policy(space: Described, max_epochs: int, seed: int, workdir: str) -> DEHBPolicy:
    """DEHB with its defaults (mutation 0.5, crossover 0.5, rand1_bin), fidelities 1 to
    `max_epochs` epochs with eta 3, asked one job at a time (one Dask-free worker: the clock
    runs the jobs); its log goes to `workdir`, and it saves nothing else there."""
    from dehb import DEHB

    return DEHBPolicy(
        DEHB(
            cs=configspace_space(space, seed),
            min_fidelity=1,
            max_fidelity=max_epochs,
            eta=ETA,
            n_workers=1,
            seed=seed,
            output_path=workdir,
            save_freq="end",
            log_level="WARNING",
        ),
        space,
        max_epochs,
    )

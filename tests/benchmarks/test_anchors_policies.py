"""The anchors' adapters with fake libraries, in the project's venv: Syne Tune's scheduler is
called as its Tuner calls it and a resumed trial pays only its new epochs; DEHB's jobs train
from scratch, are charged every epoch and DEHB is told what they cost; both libraries'
configurations come back as Caviar's (inactive parameters dropped, 1-β back to β)."""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from benchmarks.anchors.clock import Record, run_on_clock
from benchmarks.anchors.dehb_policy import DEHBPolicy, fidelity_epochs
from benchmarks.anchors.space_map import caviar_config, from_configspace
from benchmarks.anchors.synetune_policy import SyneTunePolicy

SPACE = {
    "params": [
        {"name": "learning_rate", "kind": "log_uniform", "low": 1e-4, "high": 1.0},
        {"name": "optimizer", "kind": "choice", "values": ["momentum", "adam"]},
        {"name": "beta", "kind": "one_minus_log_uniform", "low": 0.9, "high": 0.999},
        {"name": "beta1", "kind": "one_minus_log_uniform", "low": 0.8, "high": 0.95},
    ],
    "conditions": {"beta": {"optimizer": ["momentum"]}, "beta1": {"optimizer": ["adam"]}},
    "fixed": {"lr_decay": "inverse_time"},
}
MOMENTUM = {"learning_rate": 0.01, "optimizer": "momentum", "beta": 0.9, "beta1": 0.85}
CAVIAR_MOMENTUM = {
    "lr_decay": "inverse_time",
    "learning_rate": 0.01,
    "optimizer": "momentum",
    "beta": 0.9,
}


def epoch_seconds(trial: int, config: Mapping[str, Any], epoch: int) -> Record:
    """Every curve: epoch e costs e seconds; val_cost 10 * trial + e."""
    return {
        "epoch": epoch,
        "val_cost": 10.0 * trial + epoch,
        "seconds": float(epoch),
        "diverged": False,
    }


def times(ended: list[list[Any]]) -> list[tuple[float, int, int]]:
    return [(t, trial, epoch) for t, _, trial, epoch in ended]


# -- Syne Tune --------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:  # the fields of syne_tune's TrialSuggestion the adapter reads
    spawn_new_trial_id: bool
    checkpoint_trial_id: int | None
    config: dict[str, Any] | None


@dataclass
class Trial:  # syne_tune.backend.trial_status.Trial
    trial_id: int
    config: dict[str, Any]
    creation_time: datetime.datetime


class PausingScheduler:
    """Starts trial 0, pauses it after epoch 2, starts trial 1 and stops it after epoch 1,
    resumes trial 0 and lets it complete; records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.suggestions = [
            Suggestion(True, None, MOMENTUM),
            Suggestion(True, None, {**MOMENTUM, "optimizer": "adam"}),
            Suggestion(False, 0, None),
        ]

    def suggest(self) -> Suggestion | None:
        self.calls.append(("suggest",))
        return self.suggestions.pop(0) if self.suggestions else None

    def on_trial_add(self, trial: Trial) -> None:
        self.calls.append(("add", trial.trial_id))

    def on_trial_result(self, trial: Trial, result: dict[str, Any]) -> str:
        self.calls.append(("result", trial.trial_id, result["epoch"], result["val_cost"]))
        return {(0, 2): "PAUSE", (1, 1): "STOP"}.get((trial.trial_id, result["epoch"]), "CONTINUE")

    def on_trial_remove(self, trial: Trial) -> None:
        self.calls.append(("remove", trial.trial_id))

    def on_trial_complete(self, trial: Trial, result: dict[str, Any]) -> None:
        self.calls.append(("complete", trial.trial_id, result["epoch"]))

    def on_trial_error(self, trial: Trial) -> None:
        self.calls.append(("error", trial.trial_id))


def test_a_syne_tune_trial_resumed_from_its_checkpoint_pays_only_its_new_epochs():
    scheduler = PausingScheduler()
    policy = SyneTunePolicy(scheduler, SPACE, 3, Trial)
    ended = run_on_clock(policy, epoch_seconds, workers=1, trials=2)
    # trial 1 (id 0): 1, 1+2 = 3, paused; trial 2: 3+1 = 4, stopped; trial 1 resumes at
    # epoch 3: 4+3 = 7 (from scratch it would end at 4+1+2+3 = 10)
    assert times(ended) == [(1, 1, 1), (3, 1, 2), (4, 2, 1), (7, 1, 3)]
    assert scheduler.calls == [
        ("suggest",),
        ("add", 0),
        ("result", 0, 1, 11.0),
        ("result", 0, 2, 12.0),
        ("remove", 0),
        ("suggest",),
        ("add", 1),
        ("result", 1, 1, 21.0),
        ("remove", 1),
        ("suggest",),  # resumes trial 0, though no room is left for a new trial
        ("result", 0, 3, 13.0),
        ("complete", 0, 3),  # its script ends by itself at max_t
    ]  # and no suggest after: no room, nothing paused
    assert policy.paused == {}


def test_a_syne_tune_trial_that_diverges_is_an_error_not_a_result():
    scheduler = PausingScheduler()
    policy = SyneTunePolicy(scheduler, SPACE, 3, Trial)

    def diverges(trial: int, config: Mapping[str, Any], epoch: int) -> Record:
        return {**epoch_seconds(trial, config, epoch), "val_cost": math.nan, "diverged": True}

    run_on_clock(policy, diverges, workers=1, trials=1)
    assert scheduler.calls == [("suggest",), ("add", 0), ("error", 0)]


def test_a_syne_tune_trial_trains_caviars_configuration_with_the_next_trials_seed():
    policy = SyneTunePolicy(PausingScheduler(), SPACE, 3, Trial)
    job = policy.next_job(room=1, now=2.5)
    assert job is not None
    assert (job.trial, dict(job.config), job.first, job.last) == (1, CAVIAR_MOMENTUM, 1, 3)
    assert job.handle.creation_time == datetime.datetime(2000, 1, 1, 0, 0, 2, 500000)


# -- DEHB -------------------------------------------------------------------------------


class FakeDEHB:
    """Asks: configuration 46 at fidelity 1, 47 at 1, 46 again at 3 (a promotion), then a
    new one, 48; records what it is told."""

    def __init__(self) -> None:
        adam = {"learning_rate": 0.01, "optimizer": "adam", "1-beta1": 0.1}
        self.asks = [
            {"config_id": 46, "fidelity": 1.0, "config": {**adam, "learning_rate": 0.1}},
            {"config_id": 47, "fidelity": 1.0, "config": adam},
            {"config_id": 46, "fidelity": 3.0, "config": {**adam, "learning_rate": 0.1}},
            {"config_id": 48, "fidelity": 1.0, "config": adam},
        ]
        self.asked = 0
        self.told: list[tuple[int, float, dict[str, float]]] = []

    def ask(self) -> dict[str, Any]:
        self.asked += 1
        return self.asks[self.asked - 1]

    def tell(self, info: dict[str, Any], result: dict[str, float]) -> None:
        self.told.append((info["config_id"], info["fidelity"], result))


def test_dehb_trains_a_promoted_configuration_again_from_scratch_and_pays_for_it():
    dehb = FakeDEHB()
    policy = DEHBPolicy(dehb, SPACE, 3)
    ended = run_on_clock(policy, epoch_seconds, workers=1, trials=2)
    # config 46 is trial 1, 47 trial 2; 46 at fidelity 3 trains epochs 1, 2, 3 of trial 1
    # again: 2+1 = 3, 3+2 = 5, 5+3 = 8; config 48 would be a third trial: none starts
    assert times(ended) == [(1, 1, 1), (2, 2, 1), (3, 1, 1), (5, 1, 2), (8, 1, 3)]
    assert dehb.told == [
        (46, 1.0, {"fitness": 11.0, "cost": 1.0}),
        (47, 1.0, {"fitness": 21.0, "cost": 1.0}),
        (46, 3.0, {"fitness": 13.0, "cost": 6.0}),  # 1 + 2 + 3 seconds: every epoch
    ]
    assert dehb.asked == 4 and policy.exhausted  # the ask of 48 cannot be undone
    assert policy.next_job(room=5, now=9.0) is None and dehb.asked == 4


def test_dehb_is_told_a_diverged_job_is_infinitely_bad():
    dehb = FakeDEHB()
    policy = DEHBPolicy(dehb, SPACE, 3)

    def diverges(trial: int, config: Mapping[str, Any], epoch: int) -> Record:
        return {**epoch_seconds(trial, config, epoch), "val_cost": math.nan, "diverged": True}

    run_on_clock(policy, diverges, workers=1, trials=1)
    assert dehb.told[0] == (46, 1.0, {"fitness": math.inf, "cost": 1.0})


@pytest.mark.parametrize(
    ("fidelity", "max_epochs", "epochs"),
    [
        (40 / 27, 40, 1),
        (40 / 9, 40, 4),
        (40 / 3, 40, 13),
        (40.0, 40, 40),
        (1.0, 3, 1),
        (2.5, 3, 3),
        (0.4, 3, 1),
        (41.0, 40, 40),
    ],
)
def test_a_dehb_fidelity_trains_the_nearest_whole_number_of_epochs(fidelity, max_epochs, epochs):
    assert fidelity_epochs(fidelity, max_epochs) == epochs


# -- the configurations -----------------------------------------------------------------


def test_a_syne_tune_configuration_loses_its_inactive_parameters():
    assert caviar_config(MOMENTUM, SPACE) == CAVIAR_MOMENTUM


def test_a_configspace_configuration_gets_beta_back_from_one_minus_beta():
    got = from_configspace({"learning_rate": 0.01, "optimizer": "adam", "1-beta1": 0.1}, SPACE)
    assert got == {
        "lr_decay": "inverse_time",
        "learning_rate": 0.01,
        "optimizer": "adam",
        "beta1": pytest.approx(0.9),
    }


def test_a_configuration_without_an_active_parameter_is_refused():
    with pytest.raises(ValueError, match="space.beta: active in .*but the library left it out"):
        from_configspace({"learning_rate": 0.01, "optimizer": "momentum"}, SPACE)

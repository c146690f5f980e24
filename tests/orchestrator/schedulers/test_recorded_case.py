"""The case that made Caviar's ASHA stop final no longer: digits, seed 2 (benchmarks/
compare.py). Thirty-two real trials of the built-in sweep were trained to the end and their
curves kept (tests/data/digits-seed2.json, made by benchmarks/record_curves.py). Replayed on
a simulated clock with two workers, ASHA's former stop rule (`rule: top`) ends at epoch 1
the trial that turns out best of all; the percentile rule (now the default) and promotion
keep it and train it to the end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from orchestrator.execution.simulated import RecordedCurves, Relay, simulate
from orchestrator.schedulers import Decision, Scheduler, check_scheduler, make_scheduler

DATA = Path(__file__).resolve().parents[2] / "data" / "digits-seed2.json"
TRIALS, EPOCHS, WORKERS = 32, 30, 2
WINNER = "trial-0009"  # curve 8, from 0


class Reached(Relay):
    """Passes every call on, and keeps the last epoch each trial reported."""

    def __init__(self, inner: Scheduler) -> None:
        super().__init__(inner)
        self.epochs: dict[str, int] = {}

    def on_result(self, trial_id: str, epoch: int, value: float) -> Decision:
        self.epochs[trial_id] = max(epoch, self.epochs.get(trial_id, 0))
        return self.inner.on_result(trial_id, epoch, value)


@pytest.fixture(scope="module")
def curves() -> RecordedCurves:
    data = json.loads(DATA.read_text())
    values = np.array([[np.nan if v is None else v for v in c] for c in data["val_cost"]])
    assert values.shape == (TRIALS, EPOCHS)
    return RecordedCurves.of(values, np.array(data["seconds_per_epoch"]))


def _replay(curves: RecordedCurves, mode: str, rule: str = "percentile") -> tuple[dict, int]:
    settings = {"grace_period": 1, "reduction_factor": 3, "mode": mode, "rule": rule}
    spec = check_scheduler("asha", settings, EPOCHS)
    seen = Reached(make_scheduler(spec, EPOCHS, 1.0, np.random.default_rng(0)))
    result = simulate(seen, TRIALS, WORKERS, EPOCHS, seed=0, curves=curves)
    return seen.epochs, result.best_trial


def test_the_winner_of_the_full_search_is_the_one_stop_ends_at_epoch_one(curves):
    best = np.nanmin(curves.values, axis=1)  # each trial's best over all 30 epochs
    winner = int(np.argmin(best))
    assert winner == 8  # trial-0009: 0.047, the next best 0.057
    # at epoch 1 it is only sixth of 32 (0.69; the leaders 0.19, 0.20, 0.36, 0.38, 0.51)
    assert int(np.argsort(curves.values[:, 0]).tolist().index(winner)) == 5
    reached, _ = _replay(curves, "stop", rule="top")
    assert reached[WINNER] == 1  # its epoch-1 result came ninth: fourth of nine, top 3 kept


def test_the_percentile_stop_rule_keeps_the_winner_to_the_end(curves):
    # at its arrival the eight results before it, sorted 0.187, 0.2, 0.507, 1.135, ..., have
    # a 1/3 quantile at position 7/3: 0.507 + (1.135 - 0.507) / 3 = 0.716; 0.693 goes on
    reached, best_trial = _replay(curves, "stop", rule="percentile")
    assert reached[WINNER] == EPOCHS and best_trial == 8


def test_promotion_keeps_the_winner_and_trains_it_to_the_end(curves):
    reached, best_trial = _replay(curves, "promote")
    assert reached[WINNER] == EPOCHS
    assert best_trial == 8  # and of the trials that completed, it ends best

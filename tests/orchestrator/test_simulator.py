"""Schedulers over 1,000 simulated trials: pruning saves epochs without losing the best.

"Within 1 %" compares the noiseless final value of the trial each search picked: the
full search picks the minimum of 1,000 noisy last values, a minimum biased low by the
noise itself, so comparing observed values would reward luck rather than the choice.
"""

from __future__ import annotations

import numpy as np
import pytest

from orchestrator.schedulers import Fifo, make_scheduler
from orchestrator.simulator import make_curves, simulate

TRIALS, WORKERS, EPOCHS = 1000, 100, 81


def _run(name: str, seed: int, settings: dict | None = None, sign: float = 1.0):
    curves = make_curves(TRIALS, EPOCHS, seed)
    scheduler = make_scheduler(name, settings or {}, EPOCHS, sign, np.random.default_rng(seed))
    return simulate(scheduler, TRIALS, WORKERS, EPOCHS, seed, curves), curves


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_asha_finds_the_full_searchs_best_within_1_percent_with_a_quarter_of_the_epochs(seed):
    full, curves = _run("fifo", seed)
    asha, _ = _run("asha", seed, {"grace_period": 1, "reduction_factor": 3})
    assert asha.best_true <= full.best_true * 1.01
    assert asha.epochs <= 0.25 * full.epochs
    # and sooner: the full search needs every trial trained before it can say
    assert asha.time_to_best < full.makespan


def test_fifo_trains_every_trial_to_the_end():
    full, _ = _run("fifo", 0)
    assert full.epochs == TRIALS * EPOCHS  # 81,000
    assert full.completed == TRIALS and full.stopped == 0


def test_the_full_search_picks_the_trial_with_the_best_observed_final_value():
    full, curves = _run("fifo", 4)
    finals = [curves.value(t, EPOCHS) for t in range(TRIALS)]
    assert full.best_trial == int(np.argmin(finals))
    assert full.best_final == pytest.approx(min(finals))


@pytest.mark.parametrize("name", ["median", "hyperband"])
def test_median_stopping_and_hyperband_save_epochs_and_keep_a_good_trial(name):
    full, _ = _run("fifo", 1)
    pruned, _ = _run(name, 1)
    assert pruned.epochs < 0.75 * full.epochs
    assert pruned.best_true <= full.best_true * 1.02


def test_maximising_the_negated_metric_makes_the_same_decisions():
    low, _ = _run("asha", 2)
    high, _ = _run("asha", 2, sign=-1.0)
    assert (high.epochs, high.best_trial, high.stopped) == (low.epochs, low.best_trial, low.stopped)


def test_same_seed_same_simulation_different_seed_different():
    a, _ = _run("hyperband", 5)
    b, _ = _run("hyperband", 5)
    c, _ = _run("hyperband", 6)
    assert a == b
    assert (a.epochs, a.best_trial) != (c.epochs, c.best_trial)


def test_curves_depend_on_the_seed_alone():
    one, two = make_curves(50, 10, 3), make_curves(50, 10, 3)
    assert np.array_equal(one.noise, two.noise) and np.array_equal(one.final, two.final)
    simulate(Fifo(), 50, 5, 10, 3, one)  # running a scheduler does not touch them
    assert np.array_equal(one.noise, two.noise)


def test_curves_fall_from_the_start_towards_their_final_value():
    curves = make_curves(20, 200, 0, noise=0.0)
    for t in range(20):
        assert curves.value(t, 1) > curves.value(t, 10) > curves.value(t, 200)
        assert curves.value(t, 200) == pytest.approx(curves.final[t], abs=1e-6)

"""The trainer: learns digits, is reproducible, survives a save/restore, reports divergence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workers.data.datasets import load_dataset
from workers.mlp.trainer import Trainer, state_from_bytes, state_to_bytes

SANE = {
    "hidden_layers": 2,
    "hidden_units": 64,
    "optimizer": "adam",
    "learning_rate": 0.01,
    "batch_size": 64,
}


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


@pytest.fixture(scope="module")
def moons():
    return load_dataset("moons:rows=203", seed=0)


def _curve(trainer: Trainer, epochs: int) -> list[tuple[float, ...]]:
    return [
        (r.train_cost, r.val_cost, r.val_accuracy, *r.batch_costs)
        for r in (trainer.step() for _ in range(epochs))
    ]


def test_a_sane_configuration_learns_digits(digits):
    trainer = Trainer(SANE, digits, seed=0)
    records = [trainer.step() for _ in range(30)]
    assert max(r.val_accuracy for r in records) >= 0.95
    assert records[-1].train_cost < records[0].train_cost / 5
    assert [r.epoch for r in records] == list(range(1, 31))


def test_every_optimizer_learns_moons(moons):
    for optimizer, lr in [("gd", 0.1), ("momentum", 0.1), ("rmsprop", 0.01), ("adam", 0.01)]:
        trainer = Trainer(
            {"optimizer": optimizer, "learning_rate": lr, "batch_size": 32}, moons, seed=1
        )
        first = trainer.step()
        for _ in range(29):
            last = trainer.step()
        assert last.val_cost < first.val_cost, optimizer
        assert last.val_accuracy > 0.85, (optimizer, last)


def test_same_seed_gives_bit_identical_curves_and_another_seed_does_not(digits):
    a = _curve(Trainer(SANE, digits, seed=7), 3)
    b = _curve(Trainer(SANE, digits, seed=7), 3)
    c = _curve(Trainer(SANE, digits, seed=8), 3)
    assert a == b
    assert a != c


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
def test_restore_mid_training_reproduces_the_uninterrupted_curve(moons, optimizer):
    cfg = {
        "optimizer": optimizer,
        "learning_rate": 0.05,
        "batch_size": 16,
        "lr_decay": "inverse_time",
        "decay_rate": 0.3,
    }
    straight = _curve(Trainer(cfg, moons, seed=3), 6)

    first = Trainer(cfg, moons, seed=3)
    head = _curve(first, 3)
    state = state_from_bytes(state_to_bytes(first.state_dict()))
    second = Trainer(cfg, moons, seed=99)  # a different seed: everything must come from the state
    second.load_state_dict(state)
    assert second.epoch == 3
    assert head + _curve(second, 3) == straight


def test_restore_refuses_a_checkpoint_of_another_configuration(moons):
    state = Trainer({"hidden_units": 8}, moons, seed=0).state_dict()
    with pytest.raises(ValueError, match="checkpoint: its model configuration differs"):
        Trainer({"hidden_units": 9}, moons, seed=0).load_state_dict(state)


def test_partial_last_batch_and_batch_of_one(moons):
    n = moons.n_train  # 162 rows: 5 batches of 32 and one of 2
    assert n % 32 != 0
    record = Trainer({"batch_size": 32}, moons, seed=0).step()
    assert len(record.batch_costs) == math.ceil(n / 32)
    sizes = [32] * (n // 32) + [n % 32]
    assert record.train_cost == pytest.approx(np.dot(record.batch_costs, sizes) / n)
    ones = Trainer({"batch_size": 1, "learning_rate": 0.001}, moons, seed=0).step()
    assert len(ones.batch_costs) == n and math.isfinite(ones.val_cost)


def test_a_huge_learning_rate_ends_the_trial_as_diverged(moons):
    trainer = Trainer({"optimizer": "gd", "learning_rate": 1e30}, moons, seed=0)
    records = []
    for _ in range(5):
        records.append(trainer.step())
        if records[-1].diverged:
            break
    last = records[-1]
    assert last.diverged and trainer.diverged
    assert math.isnan(last.val_cost) and math.isnan(last.train_cost)
    assert "cost became" in last.message and "learning_rate=1e+30" in last.message
    with pytest.raises(RuntimeError, match="diverged"):
        trainer.step()


def test_learning_rate_decay_reaches_the_records(moons):
    trainer = Trainer(
        {"learning_rate": 0.1, "lr_decay": "staircase", "decay_rate": 0.5, "decay_every": 2},
        moons,
        seed=0,
    )
    rates = [trainer.step().decayed_learning_rate for _ in range(5)]
    assert rates == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


def test_seconds_come_from_the_injected_clock(moons):
    ticks = iter([10.0, 12.5, 20.0, 20.25])
    trainer = Trainer({}, moons, seed=0, clock=lambda: next(ticks))
    assert trainer.step().seconds == 2.5
    assert trainer.step().seconds == 0.25


def test_float64_training_keeps_float64(moons):
    trainer = Trainer({"dtype": "float64"}, moons, seed=0)
    trainer.step()
    assert trainer.model.flat_params.dtype == np.float64
    assert trainer.state_dict()["params"].dtype == np.float64

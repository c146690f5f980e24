"""Each update rule and decay schedule against numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workers.mlp.config import ModelConfig
from workers.mlp.optimizers import learning_rate, make_optimizer


def _run(optimizer: str, steps: int, lr: float = 0.1, **settings: float) -> np.ndarray:
    cfg = ModelConfig(optimizer=optimizer, dtype="float64", **settings)  # type: ignore[arg-type]
    opt = make_optimizer(cfg, 2, np.dtype("float64"))
    p = np.array([1.0, -2.0])
    for _ in range(steps):
        opt.update_params(p, np.array([0.5, -1.0]), lr)  # the same gradient every step
    return p


def test_gradient_descent():
    # p - 0.1 * g = [1 - 0.05, -2 + 0.1]
    np.testing.assert_allclose(_run("gd", 1), [0.95, -1.9], rtol=1e-15)


def test_momentum_two_steps():
    # v1 = 0.1 g = [0.05, -0.1] -> p = [0.995, -1.99]
    # v2 = 0.9 v1 + 0.1 g = [0.095, -0.19] -> p = [0.995 - 0.0095, -1.99 + 0.019]
    np.testing.assert_allclose(_run("momentum", 1, beta=0.9), [0.995, -1.99], rtol=1e-14)
    np.testing.assert_allclose(_run("momentum", 2, beta=0.9), [0.9855, -1.971], rtol=1e-14)


def test_rmsprop_one_step():
    # s = 0.001 g^2 = [0.00025, 0.001]; step = 0.1 g / (sqrt(s) + 1e-8)
    # sqrt(0.00025) = 0.0158113883..., 0.05 / 0.0158113883 = sqrt(10); same for the other
    p = _run("rmsprop", 1, beta2=0.999, epsilon=1e-8)
    np.testing.assert_allclose(p, [1 - math.sqrt(10), -2 + math.sqrt(10)], rtol=1e-6)


def test_adam_steps_by_the_learning_rate_under_a_constant_gradient():
    # step 1: v = 0.1 g, s = 0.001 g^2; bias-corrected v^ = g, s^ = g^2 -> p -= 0.1 * sign(g)
    # step 2: v = 0.19 g, s = 0.001999 g^2; v^ = 0.19/0.19 g, s^ = g^2 again -> another 0.1
    np.testing.assert_allclose(_run("adam", 1), [0.9, -1.9], rtol=1e-7)
    np.testing.assert_allclose(_run("adam", 2), [0.8, -1.8], rtol=1e-7)


def test_adam_epsilon_sits_outside_the_square_root():
    # with g = 0.5 and eps = 0.5: p = 1 - 0.1 * 0.5 / (0.5 + 0.5) = 0.95
    p = _run("adam", 1, epsilon=0.5)
    assert p[0] == pytest.approx(0.95, rel=1e-12)


@pytest.mark.parametrize(
    ("decay", "rate", "every", "epoch", "expected"),
    [
        ("none", 1.0, 10, 7, 0.2),
        ("inverse_time", 0.5, 10, 2, 0.1),  # 0.2 / (1 + 0.5 * 2)
        ("exponential", 0.5, 10, 3, 0.025),  # 0.2 * 0.5**3
        ("staircase", 0.5, 2, 3, 0.1),  # 0.2 * 0.5**(3 // 2)
        ("staircase", 0.5, 2, 4, 0.05),  # 0.2 * 0.5**(4 // 2)
    ],
)
def test_learning_rate_decay(decay: str, rate: float, every: int, epoch: int, expected: float):
    cfg = ModelConfig(learning_rate=0.2, lr_decay=decay, decay_rate=rate, decay_every=every)
    assert learning_rate(cfg, epoch) == pytest.approx(expected, rel=1e-12)


def test_optimizer_state_round_trips():
    cfg = ModelConfig(optimizer="adam", dtype="float64")
    a = make_optimizer(cfg, 2, np.dtype("float64"))
    p = np.array([1.0, 2.0])
    a.update_params(p, np.array([0.3, -0.1]), 0.1)
    b = make_optimizer(cfg, 2, np.dtype("float64"))
    b.load_state({k: v.copy() for k, v in a.state().items()})
    q = p.copy()
    a.update_params(p, np.array([0.2, 0.4]), 0.1)
    b.update_params(q, np.array([0.2, 0.4]), 0.1)
    np.testing.assert_array_equal(p, q)
    assert b.t == 2

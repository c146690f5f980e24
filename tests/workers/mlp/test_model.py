"""Backprop through batch norm against central finite differences, and the running statistics."""

from __future__ import annotations

import numpy as np
import pytest

from workers.mlp.model import MLP


def _net(hidden_layers: int, n_classes: int, seed: int = 0) -> tuple[MLP, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((16, 5))
    y = rng.integers(0, n_classes, size=16)
    y[:n_classes] = np.arange(n_classes)  # every class present
    net = MLP(5, n_classes, hidden_layers, 4, rng=rng, dtype="float64")
    # move gamma and beta off their initial 1 and 0 so their gradients are generic
    for i in range(hidden_layers):
        _, gamma, beta = net.layer(i)
        gamma[...] = rng.uniform(0.5, 1.5, gamma.shape)
        beta[...] = rng.uniform(-0.5, 0.5, beta.shape)
    net.params[-1][...] = rng.uniform(-0.5, 0.5, net.params[-1].shape)
    return net, X, y


def _relative_errors(net: MLP, X: np.ndarray, y: np.ndarray, l2: float) -> dict[str, float]:
    net.loss_and_grads(X, y, l2)
    analytic = net.flat_grads.copy()
    numeric = np.zeros_like(analytic)
    h = 1e-6
    for j in range(net.flat_params.size):
        keep = net.flat_params[j]
        net.flat_params[j] = keep + h
        plus = net.loss_and_grads(X, y, l2)
        net.flat_params[j] = keep - h
        minus = net.loss_and_grads(X, y, l2)
        net.flat_params[j] = keep
        numeric[j] = (plus - minus) / (2 * h)
    errors, start = {}, 0
    for name, p in zip(net.names, net.params, strict=True):
        a, n = analytic[start : start + p.size], numeric[start : start + p.size]
        errors[name] = float(np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n)))
        start += p.size
    return errors


@pytest.mark.parametrize("hidden_layers", [1, 2, 3])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_backprop_matches_central_differences(hidden_layers: int, n_classes: int, l2: float):
    net, X, y = _net(hidden_layers, n_classes)
    errors = _relative_errors(net, X, y, l2)
    expected = [f"W{i}" for i in range(1, hidden_layers + 1)]
    assert set(expected) <= set(errors) and {"W_out", "b_out", "gamma1", "beta1"} <= set(errors)
    assert max(errors.values()) < 1e-6, errors


def test_output_kind_follows_the_number_of_classes():
    rng = np.random.default_rng(0)
    assert MLP(3, 2, 1, 4, rng=rng).params[-1].shape == (1,)  # sigmoid unit
    assert MLP(3, 5, 1, 4, rng=rng).params[-1].shape == (5,)  # softmax over five


def test_softmax_cost_matches_a_hand_computation():
    net, X, y = _net(1, 3)
    cost = net.loss_and_grads(X, y)
    # recompute the train-mode forward pass independently
    w, gamma, beta = net.layer(0)
    z = X @ w
    z_hat = (z - z.mean(0)) / np.sqrt(z.var(0) + net.bn_epsilon)
    a = np.maximum(gamma * z_hat + beta, 0)
    logits = a @ net.params[-2] + net.params[-1]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert cost == pytest.approx(-np.log(p[np.arange(len(y)), y]).mean(), rel=1e-12)


def test_running_statistics_converge_to_the_training_data_statistics():
    rng = np.random.default_rng(1)
    X = rng.normal(3.0, 2.0, size=(512, 6))
    y = rng.integers(0, 3, size=512)
    net = MLP(6, 3, 1, 5, rng=rng, dtype="float64", bn_momentum=0.9)
    w = net.layer(0)[0].copy()
    z = X @ w  # the pre-normalisation activations the running stats should track
    for _ in range(300):  # whole-batch passes, no parameter update
        net.loss_and_grads(X, y)
    np.testing.assert_allclose(net.running_mean[0], z.mean(0), rtol=1e-9)
    np.testing.assert_allclose(net.running_var[0], z.var(0), rtol=1e-9)

    net2 = MLP(6, 3, 1, 5, rng=np.random.default_rng(1), dtype="float64")
    net2.layer(0)[0][...] = w
    for _ in range(40):  # mini-batches of 64: an average of batch statistics
        for lo in range(0, 512, 64):
            net2.loss_and_grads(X[lo : lo + 64], y[lo : lo + 64])
    np.testing.assert_allclose(net2.running_mean[0], z.mean(0), atol=0.1 * z.std(0).max())
    np.testing.assert_allclose(net2.running_var[0], z.var(0), rtol=0.15)


def test_evaluation_uses_running_statistics_and_leaves_them_alone():
    net, X, y = _net(2, 3)
    for _ in range(5):
        net.loss_and_grads(X, y)
    mean = [m.copy() for m in net.running_mean]
    var = [v.copy() for v in net.running_var]
    logits = net.logits(X[:1])  # a single row: batch statistics would be degenerate
    for before, after in zip(mean + var, net.running_mean + net.running_var, strict=True):
        np.testing.assert_array_equal(before, after)
    w, gamma, beta = net.layer(0)
    a = np.maximum(gamma * (X[:1] @ w - mean[0]) / np.sqrt(var[0] + 1e-5) + beta, 0)
    w2, gamma2, beta2 = net.layer(1)
    a = np.maximum(gamma2 * (a @ w2 - mean[1]) / np.sqrt(var[1] + 1e-5) + beta2, 0)
    np.testing.assert_allclose(logits, a @ net.params[-2] + net.params[-1], rtol=1e-12)


def test_a_batch_of_one_stays_finite():
    net, X, y = _net(2, 3)
    cost = net.loss_and_grads(X[:1], y[:1])
    assert np.isfinite(cost) and np.all(np.isfinite(net.flat_grads))


def test_repr_names_the_shape():
    net, _, _ = _net(2, 3)
    assert repr(net).startswith("MLP(5 -> 4 -> 4 -> 3, batchnorm, softmax")

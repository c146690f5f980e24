"""Output losses: each takes logits and integer labels, returns the mean cost and dcost/dlogits.

As in the course (and workers/mlp/model.py), m is the number of rows in the mini-batch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

LossFn = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Multiclass: logits (m, K), y (m,) codes in [0, K). Reuses logits as the grad."""
    m = logits.shape[0]
    rows = _arange(m)
    logits -= np.maximum.reduce(logits, axis=1, keepdims=True)  # stable exp
    true = logits[rows, y]  # (m,) shifted logit of the true class
    np.exp(logits, out=logits)
    total = np.add.reduce(logits, axis=1, keepdims=True)  # (m, 1)
    cost = (float(np.log(total).sum()) - float(true.sum())) / m  # mean of log(total) - true
    total *= m
    logits /= total  # softmax probabilities / m
    logits[rows, y] -= 1.0 / m
    return cost, logits


_ARANGE = np.arange(1024)


def _arange(n: int) -> np.ndarray:
    return _ARANGE[:n] if n <= _ARANGE.size else np.arange(n)


def sigmoid_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Binary: logits (m, 1), y (m,) in {0, 1}. Returns the mean cost and a new grad array."""
    z = logits[:, 0]  # (m,)
    yf = y.astype(logits.dtype)
    # log(1 + e^z) - y z, written so that neither branch overflows
    cost = float(np.mean(np.maximum(z, 0) - z * yf + np.log1p(np.exp(-np.abs(z)))))
    grad = (_sigmoid(z) - yf) / z.shape[0]  # (m,)
    return cost, grad[:, None]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def softmax_predict(logits: np.ndarray) -> np.ndarray:
    return logits.argmax(axis=1)


def sigmoid_predict(logits: np.ndarray) -> np.ndarray:
    return (logits[:, 0] > 0).astype(np.int64)


LOSSES: dict[str, LossFn] = {
    "softmax": softmax_cross_entropy,
    "sigmoid": sigmoid_cross_entropy,
}
PREDICT: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "softmax": softmax_predict,
    "sigmoid": sigmoid_predict,
}

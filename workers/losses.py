"""Output losses: each takes logits and integer labels, returns the mean cost and dcost/dlogits."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

LossFn = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Multiclass: logits (B, K), y (B,) codes in [0, K). Reuses logits as the grad."""
    b = logits.shape[0]
    rows = np.arange(b)
    logits -= logits.max(axis=1, keepdims=True)  # stable exp
    np.exp(logits, out=logits)
    total = logits.sum(axis=1)
    p_true = logits[rows, y] / total
    cost = float(-np.log(p_true).mean())
    logits /= total[:, None]  # softmax probabilities
    logits[rows, y] -= 1.0
    logits *= 1.0 / b
    return cost, logits


def sigmoid_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Binary: logits (B, 1), y (B,) in {0, 1}. Returns the mean cost and a new grad array."""
    z = logits[:, 0]
    yf = y.astype(logits.dtype)
    # log(1 + e^z) - y z, written so that neither branch overflows
    cost = float(np.mean(np.maximum(z, 0) - z * yf + np.log1p(np.exp(-np.abs(z)))))
    grad = (_sigmoid(z) - yf) / z.shape[0]
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

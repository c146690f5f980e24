"""Update rules and learning-rate decay, as taught in the course.

Every optimizer updates one flat parameter array from one flat gradient array in place
(`MLP.flat_params`, `MLP.flat_grads`), and may overwrite the gradient as scratch space.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from workers.mlp.config import ModelConfig


class Optimizer:
    """Plain gradient descent: p -= alpha * g."""

    name = "gd"

    def __init__(self, size: int, dtype: np.dtype, cfg: ModelConfig) -> None:
        self.t = 0  # update steps taken, for Adam's bias correction

    def update_params(self, params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        self.t += 1
        grads *= lr
        params -= grads

    def state(self) -> dict[str, np.ndarray]:
        return {"t": np.array(self.t, dtype=np.int64)}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.t = int(state["t"])
        for key, arr in self._buffers().items():
            arr[...] = state[key]

    def _buffers(self) -> dict[str, np.ndarray]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(t={self.t})"


class Momentum(Optimizer):
    """v = beta v + (1 - beta) g;  p -= alpha v."""

    name = "momentum"

    def __init__(self, size: int, dtype: np.dtype, cfg: ModelConfig) -> None:
        super().__init__(size, dtype, cfg)
        self.beta = cfg.beta
        self.v = np.zeros(size, dtype)

    def update_params(self, params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        self.t += 1
        self.v *= self.beta
        grads *= 1 - self.beta
        self.v += grads
        np.multiply(self.v, lr, out=grads)
        params -= grads

    def state(self) -> dict[str, np.ndarray]:
        return {**super().state(), "v": self.v}

    def _buffers(self) -> dict[str, np.ndarray]:
        return {"v": self.v}


class RMSprop(Optimizer):
    """s = beta2 s + (1 - beta2) g^2;  p -= alpha g / (sqrt(s) + eps)."""

    name = "rmsprop"

    def __init__(self, size: int, dtype: np.dtype, cfg: ModelConfig) -> None:
        super().__init__(size, dtype, cfg)
        self.beta2, self.eps = cfg.beta2, cfg.epsilon
        self.s = np.zeros(size, dtype)
        self._tmp = np.zeros(size, dtype)

    def update_params(self, params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        self.t += 1
        tmp = self._tmp
        self.s *= self.beta2
        np.multiply(grads, grads, out=tmp)
        tmp *= 1 - self.beta2
        self.s += tmp
        np.sqrt(self.s, out=tmp)
        tmp += self.eps
        np.divide(grads, tmp, out=tmp)
        tmp *= lr
        params -= tmp

    def state(self) -> dict[str, np.ndarray]:
        return {**super().state(), "s": self.s}

    def _buffers(self) -> dict[str, np.ndarray]:
        return {"s": self.s}


class Adam(Optimizer):
    """Momentum and RMSprop with bias correction at step t:

    v = b1 v + (1-b1) g;  s = b2 s + (1-b2) g^2;
    p -= alpha * (v / (1-b1^t)) / (sqrt(s / (1-b2^t)) + eps).

    It keeps v / (1-b1) and s / (1-b2) instead (`v_scaled`, `s_scaled` in its state),
    which update in fewer passes over the parameters.
    """

    name = "adam"

    def __init__(self, size: int, dtype: np.dtype, cfg: ModelConfig) -> None:
        super().__init__(size, dtype, cfg)
        self.beta1, self.beta2, self.eps = cfg.beta1, cfg.beta2, cfg.epsilon
        self._v = np.zeros(size, dtype)  # v / (1 - b1)
        self._s = np.zeros(size, dtype)  # s / (1 - b2)

    def update_params(self, params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        self.t += 1
        b1, b2, v, s = self.beta1, self.beta2, self._v, self._s
        v *= b1
        v += grads
        s *= b2
        grads *= grads
        s += grads
        # sqrt(s_hat) + eps = c * (sqrt(s / (1-b2)) + eps / c), with c = sqrt((1-b2)/(1-b2^t))
        c = np.sqrt((1 - b2) / (1 - b2**self.t))
        tmp = grads  # the gradient is spent: reuse it as scratch
        np.sqrt(s, out=tmp)
        tmp += self.eps / c
        np.divide(v, tmp, out=tmp)
        tmp *= lr * (1 - b1) / (1 - b1**self.t) / c
        params -= tmp

    def state(self) -> dict[str, np.ndarray]:
        return {**super().state(), "v_scaled": self._v, "s_scaled": self._s}

    def _buffers(self) -> dict[str, np.ndarray]:
        return {"v_scaled": self._v, "s_scaled": self._s}


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (Optimizer, Momentum, RMSprop, Adam)
}


def make_optimizer(cfg: ModelConfig, size: int, dtype: np.dtype) -> Optimizer:
    return OPTIMIZERS[cfg.optimizer](size, dtype, cfg)


DECAYS: dict[str, Callable[[float, float, int, int], float]] = {
    "none": lambda a0, k, every, e: a0,
    "inverse_time": lambda a0, k, every, e: a0 / (1.0 + k * e),
    "exponential": lambda a0, k, every, e: a0 * k**e,
    "staircase": lambda a0, k, every, e: a0 * k ** (e // every),
}


def learning_rate(cfg: ModelConfig, epoch_index: int) -> float:
    """The learning rate used during epoch `epoch_index` (0 for the first epoch)."""
    return DECAYS[cfg.lr_decay](cfg.learning_rate, cfg.decay_rate, cfg.decay_every, epoch_index)

"""A multilayer perceptron with batch normalization, forward and backward in numpy.

Each hidden layer is ``Linear (no bias) -> BatchNorm(gamma, beta) -> ReLU``; the output is
a linear layer with bias, fed to softmax (K classes) or sigmoid (two classes) cross-entropy.
All parameters live in one flat array and all gradients in another, the per-layer arrays
being views into them, so an optimizer updates the whole network in a handful of numpy
calls per mini-batch.
"""

from __future__ import annotations

import numpy as np

from workers.losses import LOSSES, PREDICT


class MLP:
    """The network's parameters, running statistics and one forward/backward pass."""

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden_layers: int,
        hidden_units: int,
        *,
        rng: np.random.Generator,
        bn_momentum: float = 0.9,
        bn_epsilon: float = 1e-5,
        dtype: str | np.dtype = "float32",
    ) -> None:
        self.dtype = np.dtype(dtype)
        self.output = "sigmoid" if n_classes == 2 else "softmax"
        n_out = 1 if n_classes == 2 else n_classes
        widths = [n_features] + [hidden_units] * hidden_layers
        shapes: list[tuple[str, tuple[int, ...]]] = []
        for i in range(hidden_layers):
            shapes += [
                (f"W{i + 1}", (widths[i], widths[i + 1])),
                (f"gamma{i + 1}", (widths[i + 1],)),
                (f"beta{i + 1}", (widths[i + 1],)),
            ]
        shapes += [("W_out", (widths[-1], n_out)), ("b_out", (n_out,))]
        self.names = [name for name, _ in shapes]
        size = sum(int(np.prod(shape)) for _, shape in shapes)
        self.flat_params = np.zeros(size, dtype=self.dtype)
        self.flat_grads = np.zeros(size, dtype=self.dtype)
        self.params = _views(self.flat_params, shapes)
        self.grads = _views(self.flat_grads, shapes)
        self.n_hidden = hidden_layers
        self.bn_momentum = bn_momentum
        self.bn_epsilon = bn_epsilon
        self.running_mean = [np.zeros(hidden_units, self.dtype) for _ in range(hidden_layers)]
        self.running_var = [np.ones(hidden_units, self.dtype) for _ in range(hidden_layers)]
        for i in range(hidden_layers):  # He initialisation; gamma 1, beta 0
            w = self.params[3 * i]
            w[...] = rng.standard_normal(w.shape) * np.sqrt(2.0 / w.shape[0])
            self.params[3 * i + 1][...] = 1.0
        w_out = self.params[-2]
        w_out[...] = rng.standard_normal(w_out.shape) * np.sqrt(2.0 / w_out.shape[0])

    def __repr__(self) -> str:
        widths = [self.params[3 * i].shape[0] for i in range(self.n_hidden)]
        widths += [self.params[-2].shape[0], self.params[-1].shape[0]]
        arrow = " -> ".join(map(str, widths))
        return (
            f"MLP({arrow}, batchnorm, {self.output}, {self.flat_params.size} parameters, "
            f"{self.dtype.name})"
        )

    def layer(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(W, gamma, beta) of hidden layer i (0-based)."""
        w, g, b = self.params[3 * i : 3 * i + 3]
        return w, g, b

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray, l2: float = 0.0) -> float:
        """Train-mode pass over one mini-batch: fill `flat_grads`, update running stats.

        Returns the mini-batch cost, mean cross-entropy plus l2/(2m) * sum of squared weights.
        """
        m = X.shape[0]
        cache: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        a = X  # (m, n_features)
        for i in range(self.n_hidden):
            w, gamma, beta = self.layer(i)
            z = a @ w  # (m, n)
            mu = z.mean(axis=0)
            z -= mu
            var = np.einsum("ij,ij->j", z, z) / m  # biased, as in the course
            inv_std = 1.0 / np.sqrt(var + self.bn_epsilon)
            z *= inv_std  # z is now z_hat
            out = z * gamma
            out += beta
            np.maximum(out, 0, out=out)  # ReLU
            cache.append((a, z, inv_std))
            mom = self.bn_momentum
            self.running_mean[i] *= mom
            self.running_mean[i] += (1 - mom) * mu
            self.running_var[i] *= mom
            self.running_var[i] += (1 - mom) * var
            a = out
        w_out, b_out = self.params[-2], self.params[-1]
        logits = a @ w_out
        logits += b_out
        cost, dlogits = LOSSES[self.output](logits, y)

        np.matmul(a.T, dlogits, out=self.grads[-2])
        np.sum(dlogits, axis=0, out=self.grads[-1])
        da = dlogits @ w_out.T
        for i in reversed(range(self.n_hidden)):
            a_prev, z_hat, inv_std = cache[i]
            w, gamma, _ = self.layer(i)
            gw, ggamma, gbeta = self.grads[3 * i : 3 * i + 3]
            relu_out = cache[i + 1][0] if i + 1 < self.n_hidden else a
            da *= relu_out > 0  # back through ReLU: da is now d(gamma z_hat + beta)
            np.sum(da, axis=0, out=gbeta)
            np.einsum("ij,ij->j", da, z_hat, out=ggamma)
            # back through batch norm: dz = gamma/std * (dout - mean(dout) - z_hat*mean(dout z_hat))
            z_hat *= ggamma / m
            da -= z_hat
            da -= gbeta / m
            da *= gamma * inv_std
            np.matmul(a_prev.T, da, out=gw)
            if i > 0:  # the input needs no gradient
                da = da @ w.T
        if l2:
            cost += self._add_l2(l2, m)
        return cost

    def _add_l2(self, l2: float, m: int) -> float:
        weights = [self.params[3 * i] for i in range(self.n_hidden)] + [self.params[-2]]
        grads = [self.grads[3 * i] for i in range(self.n_hidden)] + [self.grads[-2]]
        for w, g in zip(weights, grads, strict=True):
            g += (l2 / m) * w
        return float(l2 / (2 * m) * sum(float(np.vdot(w, w)) for w in weights))

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Evaluation mode: batch norm uses the running mean and variance, left unchanged."""
        a = X
        for i in range(self.n_hidden):
            w, gamma, beta = self.layer(i)
            scale = gamma / np.sqrt(self.running_var[i] + self.bn_epsilon)
            shift = beta - self.running_mean[i] * scale
            a = a @ w
            a *= scale
            a += shift
            np.maximum(a, 0, out=a)
        out = a @ self.params[-2]
        out += self.params[-1]
        return out

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Mean cross-entropy (no L2 term) and accuracy in evaluation mode."""
        logits = self.logits(X)
        predicted = PREDICT[self.output](logits)
        cost, _ = LOSSES[self.output](logits, y)
        return cost, float(np.mean(predicted == y))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class codes for the rows of X."""
        return PREDICT[self.output](self.logits(X))


def _views(flat: np.ndarray, shapes: list[tuple[str, tuple[int, ...]]]) -> list[np.ndarray]:
    views, start = [], 0
    for _, shape in shapes:
        size = int(np.prod(shape))
        views.append(flat[start : start + size].reshape(shape))
        start += size
    return views

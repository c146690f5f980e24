"""A multilayer perceptron with batch normalization, forward and backward in numpy.

Each hidden layer is ``Linear (no bias) -> BatchNorm(gamma, beta) -> ReLU``; the output is
a linear layer with bias, fed to softmax (K classes) or sigmoid (two classes) cross-entropy.
All parameters live in one flat array and all gradients in another, the per-layer arrays
being views into them, so an optimizer updates the whole network in a handful of numpy
calls per mini-batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workers.mlp.losses import LOSSES, PREDICT


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
        units = [(f"{i}", (hidden_units,)) for i in range(hidden_layers)]
        n_units = hidden_units * hidden_layers
        self._running_mean_flat = np.zeros(n_units, self.dtype)
        self._running_var_flat = np.ones(n_units, self.dtype)
        self._batch_sum_flat = np.zeros(n_units, self.dtype)  # scratch for batch statistics
        self._batch_sq_flat = np.zeros(n_units, self.dtype)
        self.running_mean = _views(self._running_mean_flat, units)
        self.running_var = _views(self._running_var_flat, units)
        self._batch_sum = _views(self._batch_sum_flat, units)
        self._batch_sq = _views(self._batch_sq_flat, units)
        self._layers = [
            (*self.params[3 * i : 3 * i + 3], *self.grads[3 * i : 3 * i + 3])
            for i in range(hidden_layers)
        ]
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
        w, gamma, beta = self.params[3 * i : 3 * i + 3]
        return w, gamma, beta

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray, l2: float = 0.0) -> float:
        """Train-mode pass over one mini-batch: fill `flat_grads`, update running stats.

        X is (m, n_features) for a mini-batch of m rows, y (m,) class codes. Returns the
        mini-batch cost, mean cross-entropy plus l2/(2m) * sum of squared weights. Written
        for few numpy calls per layer: on small layers their overhead, not the arithmetic,
        is what a mini-batch costs. Shapes: n is a hidden layer's width, n_in its input's
        (n_features for the first), K the output units.
        """
        m = X.shape[0]
        eps_m, sqrt_m = self.bn_epsilon * m, np.sqrt(m)
        sums, squares = self._batch_sum, self._batch_sq  # (L * n,) flat, per-layer views
        cache: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        a = X  # (m, n_features)
        for i, (w, gamma, beta, _, _, _) in enumerate(self._layers):
            z = np.dot(a, w)  # (m, n); np.dot: less call overhead than @ at small shapes
            mu, sq = sums[i], squares[i]
            np.add.reduce(z, axis=0, out=mu)
            mu *= 1.0 / m
            z -= mu  # centred
            np.einsum("ij,ij->j", z, z, out=sq)  # m * biased variance
            inv_std = sq + eps_m
            np.sqrt(inv_std, out=inv_std)
            np.divide(sqrt_m, inv_std, out=inv_std)  # 1 / sqrt(var + eps)
            scale = gamma * inv_std
            out = z * scale  # gamma * z_hat
            out += beta
            np.maximum(out, 0, out=out)  # ReLU
            cache.append((a, z, inv_std, scale))  # (m, n_in), (m, n), (n,), (n,)
            a = out
        # exponentially weighted running statistics, all layers in one go
        mom = self.bn_momentum
        self._running_mean_flat *= mom
        self._batch_sum_flat *= 1 - mom
        self._running_mean_flat += self._batch_sum_flat
        self._running_var_flat *= mom
        self._batch_sq_flat *= (1 - mom) / m
        self._running_var_flat += self._batch_sq_flat

        w_out, b_out = self.params[-2], self.params[-1]
        logits = np.dot(a, w_out)  # (m, K)
        logits += b_out
        cost, dlogits = LOSSES[self.output](logits, y)

        np.dot(a.T, dlogits, out=self.grads[-2])  # (n, K)
        np.add.reduce(dlogits, axis=0, out=self.grads[-1])  # (K,)
        da = np.dot(dlogits, w_out.T)  # (m, n)
        for i in reversed(range(self.n_hidden)):
            a_prev, zc, inv_std, scale = cache[i]  # (m, n_in), (m, n), (n,), (n,)
            w, _, _, gw, ggamma, gbeta = self._layers[i]
            relu_out = cache[i + 1][0] if i + 1 < self.n_hidden else a  # (m, n)
            da *= relu_out > 0  # back through ReLU: da is now d(gamma z_hat + beta), (m, n)
            np.add.reduce(da, axis=0, out=gbeta)  # (n,)
            np.einsum("ij,ij->j", da, zc, out=ggamma)  # (n,)
            ggamma *= inv_std  # sum(da * z_hat)
            # back through batch norm: dz = scale * (da - mean(da) - z_hat * mean(da z_hat))
            coef = ggamma * inv_std  # (n,)
            coef *= 1.0 / m
            zc *= coef  # (m, n); the centred z is spent, so reuse it
            da -= zc
            da -= gbeta * (1.0 / m)
            da *= scale  # dz, (m, n)
            np.dot(a_prev.T, da, out=gw)  # (n_in, n)
            if i > 0:  # the input needs no gradient
                da = np.dot(da, w.T)  # (m, n_in)
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
            a = np.dot(a, w)
            a *= scale
            a += shift
            np.maximum(a, 0, out=a)
        out = np.dot(a, self.params[-2])
        out += self.params[-1]
        return out

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Mean cross-entropy (no L2 term) and accuracy in evaluation mode."""
        logits = self.logits(X)
        predicted = PREDICT[self.output](logits)
        cost, _ = LOSSES[self.output](logits, y)
        return cost, float(np.mean(predicted == y))


def _views(flat: np.ndarray, shapes: Sequence[tuple[str, tuple[int, ...]]]) -> list[np.ndarray]:
    views, start = [], 0
    for _, shape in shapes:
        size = int(np.prod(shape))
        views.append(flat[start : start + size].reshape(shape))
        start += size
    return views

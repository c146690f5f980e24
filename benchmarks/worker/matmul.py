"""The matrix products of one training epoch timed alone, at the shapes and with the
transposed views `workers/mlp/model.py` uses: the rate the numpy worker's epoch is held to."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.worker.cases import Case, Data

Matmul = tuple[np.ndarray, np.ndarray, np.ndarray]  # (left, right, out)


def step_matmuls(widths: Sequence[int], rows: int, rng: np.random.Generator) -> list[Matmul]:
    """The matmuls of one training step on `rows` rows, laid out as workers/mlp/model.py has them.

    Per layer: forward a @ W, dW = a.T @ dz, and dA = dz @ W.T except for the first layer,
    whose input needs no gradient (neither the worker nor PyTorch computes it).
    """
    ops: list[Matmul] = []
    for i, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        a = _randn(rng, rows, d_in)  # (B, d_in) the layer's input
        w = _randn(rng, d_in, d_out)  # (d_in, d_out)
        dz = _randn(rng, rows, d_out)  # (B, d_out)
        ops.append((a, w, np.empty((rows, d_out), np.float32)))
        ops.append((a.T, dz, np.empty((d_in, d_out), np.float32)))
        if i > 0:
            ops.append((dz, w.T, np.empty((rows, d_in), np.float32)))
    return ops


def first_layer_da(widths: Sequence[int], rows: int, rng: np.random.Generator) -> list[Matmul]:
    dz, w = _randn(rng, rows, widths[1]), _randn(rng, widths[0], widths[1])
    return [(dz, w.T, np.empty((rows, widths[0]), np.float32))]


def eval_matmuls(widths: Sequence[int], rows: int, rng: np.random.Generator) -> list[Matmul]:
    """The forward matmuls of evaluating `rows` validation rows."""
    return [
        (_randn(rng, rows, d_in), _randn(rng, d_in, d_out), np.empty((rows, d_out), np.float32))
        for d_in, d_out in zip(widths[:-1], widths[1:], strict=True)
    ]


def _randn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32)


def flops(ops: Sequence[Matmul]) -> int:
    return sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b, _ in ops)


def time_matmuls(ops: Sequence[Matmul], rounds: int, min_round: float = 0.05) -> float:
    """Median seconds for one pass over `ops`, each round long enough to time reliably.

    Both numpy products are timed and the faster taken as the reference: at small shapes
    `np.dot` calls BLAS with less overhead than `np.matmul` (about 14 us against 20 us for
    64x100 @ 100x100 here), and the worker uses `np.dot`.
    """

    def run(product: Any, loops: int) -> float:
        start = time.perf_counter()
        for _ in range(loops):
            for a, b, out in ops:
                product(a, b, out=out)
        return time.perf_counter() - start

    best = math.inf
    for product in (np.matmul, np.dot):
        run(product, 1)
        loops = max(1, math.ceil(min_round / max(run(product, 1), 1e-7)))
        best = min(best, statistics.median(run(product, loops) / loops for _ in range(rounds)))
    return best


@dataclass(frozen=True)
class MatmulEpoch:
    """Seconds the matmuls of one epoch take alone."""

    train: float  # every training step's forward, dW and dA matmuls
    first_da: float  # layer 1's dA, which no one computes, over the epoch
    val: float  # the validation forward matmuls
    train_flops: int


def matmul_epoch(case: Case, data: Data, rounds: int) -> MatmulEpoch:
    rng = np.random.default_rng(0)
    widths = [data.X_train.shape[1]] + [case.hidden_units] * case.hidden_layers
    widths.append(data.n_classes)
    n, b = data.X_train.shape[0], case.batch_size
    full, rest = divmod(n, b)
    train_ops = step_matmuls(widths, b, rng)
    train = full * time_matmuls(train_ops, rounds)
    train_flops = full * flops(train_ops)
    first_da = full * time_matmuls(first_layer_da(widths, b, rng), rounds)
    if rest:
        rest_ops = step_matmuls(widths, rest, rng)
        train += time_matmuls(rest_ops, rounds)
        train_flops += flops(rest_ops)
        first_da += time_matmuls(first_layer_da(widths, rest, rng), rounds)
    val = time_matmuls(eval_matmuls(widths, data.X_val.shape[0], rng), rounds)
    return MatmulEpoch(train, first_da, val, train_flops)

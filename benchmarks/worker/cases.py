"""What bench_worker.py times: each case (a dataset and a network), the arrays both sides
train on, and one run's timed epochs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

LEARNING_RATE, BETAS, ADAM_EPS = 1e-3, (0.9, 0.999), 1e-8


@dataclass(frozen=True)
class Case:
    """One dataset and network to time, with its numpy/PyTorch target."""

    label: str
    spec: str  # for workers.data.datasets.load_dataset
    hidden_layers: int
    hidden_units: int
    batch_size: int
    epochs: int  # timed epochs per run, after one warm-up epoch
    quick_epochs: int
    target: float  # numpy seconds / PyTorch seconds should be at most this

    def config(self) -> dict[str, Any]:
        return {
            "hidden_layers": self.hidden_layers,
            "hidden_units": self.hidden_units,
            "batch_size": self.batch_size,
            "optimizer": "adam",
            "learning_rate": LEARNING_RATE,
            "beta1": BETAS[0],
            "beta2": BETAS[1],
            "epsilon": ADAM_EPS,
            "dtype": "float32",
        }


CASES = (
    Case("digits 3x100 b64", "digits", 3, 100, 64, epochs=40, quick_epochs=15, target=0.6),
    Case(
        "synthetic 60000x784 2x256 b128",
        "synthetic:rows=60000,features=784,classes=10",
        2,
        256,
        128,
        epochs=5,
        quick_epochs=2,
        target=1.0,
    ),
)


# --smoke: the same code on a few hundred rows, one timed epoch each
SMOKE_CASES = (
    Case("digits 3x100 b64", "digits", 3, 100, 64, epochs=1, quick_epochs=1, target=0.6),
    Case(
        "synthetic 2000x784 2x256 b128",
        "synthetic:rows=2000,features=784,classes=10",
        2,
        256,
        128,
        epochs=1,
        quick_epochs=1,
        target=1.0,
    ),
)


@dataclass(frozen=True)
class Data:
    """The arrays both sides train on; float32 copies, made once and not timed."""

    X_train: np.ndarray  # (n, d) float32
    y_train: np.ndarray  # (n,) int64
    X_val: np.ndarray  # (n_val, d) float32
    y_val: np.ndarray  # (n_val,) int64
    n_classes: int
    source: str

    def __repr__(self) -> str:
        return (
            f"Data(train={self.X_train.shape}, val={self.X_val.shape}, "
            f"classes={self.n_classes}, from {self.source})"
        )


@dataclass(frozen=True)
class Run:
    """Timed epochs of one run and the validation accuracy after its last epoch."""

    seconds: tuple[float, ...]
    val_accuracy: float


# -- data ---------------------------------------------------------------------------------


def load(spec: str, seed: int = 0) -> Data:
    """The dataset from `workers.data.datasets`, or an equivalent built here if that fails."""
    try:
        from workers.data.datasets import load_dataset

        ds = load_dataset(spec, seed=seed)
        arrays: tuple[np.ndarray, ...] = (ds.X_train, ds.y_train, ds.X_val, ds.y_val)
        n_classes, source = ds.n_classes, "workers.data.datasets.load_dataset"
    except Exception as err:  # a module being written elsewhere: do not let it stop us
        print(f"  workers.data.datasets.load_dataset({spec!r}) failed ({err!r}); building it here")
        arrays, n_classes = _fallback(spec, seed)
        source = "the benchmark's fallback"
    X, y, Xv, yv = arrays
    return Data(
        np.array(X, dtype=np.float32),
        np.array(y, dtype=np.int64),
        np.array(Xv, dtype=np.float32),
        np.array(yv, dtype=np.int64),
        n_classes,
        source,
    )


def _fallback(spec: str, seed: int) -> tuple[tuple[np.ndarray, ...], int]:
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(seed)
    if spec == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
    else:
        opts = dict(kv.split("=") for kv in spec.partition(":")[2].split(","))
        rows, d, k = int(opts["rows"]), int(opts["features"]), int(opts["classes"])
        y = np.arange(rows) % k
        centres = rng.standard_normal((k, d)) * (3.0 / math.sqrt(d))  # (K, d)
        X = rng.standard_normal((rows, d)) + centres[y]  # (rows, d)
    X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed)
    mean, std = X_tr.mean(axis=0), X_tr.std(axis=0)
    std[std == 0] = 1.0
    return ((X_tr - mean) / std, y_tr, (X_val - mean) / std, y_val), int(y.max()) + 1

"""One trial's training, an epoch at a time: `Trainer.step()` returns a plain record.

The trainer knows nothing of Ray or of schedulers. Its randomness comes from one seed
(initial weights and mini-batch shuffling each get a child of it), its clock is injected,
and its whole state round-trips through `state_dict()` as numpy arrays, so a trial
restored after epoch k trains epochs k+1.. exactly as if it had never stopped.
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from caviar_common.curves import EpochRecord
from workers.mlp.config import ModelConfig
from workers.mlp.model import MLP
from workers.mlp.optimizers import learning_rate, make_optimizer

if TYPE_CHECKING:
    from workers.data.datasets import Dataset


class Trainer:
    """Trains one MLP on one dataset with one configuration, an epoch per `step()`."""

    def __init__(
        self,
        config: ModelConfig | Mapping[str, Any],
        dataset: Dataset,
        seed: int | np.random.SeedSequence = 0,
        *,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.config = config if isinstance(config, ModelConfig) else ModelConfig.from_dict(config)
        cfg = self.config
        dtype = np.dtype(cfg.dtype)
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        init_seq, shuffle_seq = seq.spawn(2)
        self.dataset = dataset
        self.X = np.ascontiguousarray(dataset.X_train, dtype=dtype)
        self.y = np.asarray(dataset.y_train, dtype=np.int64)
        self.X_val = np.ascontiguousarray(dataset.X_val, dtype=dtype)
        self.y_val = np.asarray(dataset.y_val, dtype=np.int64)
        self.model = MLP(
            self.X.shape[1],
            dataset.n_classes,
            cfg.hidden_layers,
            cfg.hidden_units,
            rng=np.random.default_rng(init_seq),
            bn_momentum=cfg.bn_momentum,
            bn_epsilon=cfg.bn_epsilon,
            dtype=dtype,
        )
        self.optimizer = make_optimizer(cfg, self.model.flat_params.size, dtype)
        self.rng = np.random.default_rng(shuffle_seq)
        self.clock = clock
        self.epoch = 0
        self.diverged = False
        self._X_shuffled = np.empty_like(self.X)
        self._y_shuffled = np.empty_like(self.y)

    def __repr__(self) -> str:
        state = "diverged" if self.diverged else f"epoch {self.epoch}"
        return f"Trainer({self.model!r}, {self.config.optimizer}, {state})"

    def step(self) -> EpochRecord:
        """Train one epoch over reshuffled mini-batches and evaluate on the validation set."""
        if self.diverged:
            raise RuntimeError("this trial diverged; it cannot train further")
        start = self.clock()
        cfg, model = self.config, self.model
        lr = learning_rate(cfg, self.epoch)
        n, b = self.X.shape[0], cfg.batch_size
        perm = self.rng.permutation(n)
        X = np.take(self.X, perm, axis=0, out=self._X_shuffled)
        y = np.take(self.y, perm, out=self._y_shuffled)
        costs: list[float] = []
        with np.errstate(all="ignore"):  # overflow is detected below as a non-finite cost
            for lo in range(0, n, b):
                cost = model.loss_and_grads(X[lo : lo + b], y[lo : lo + b], cfg.l2)
                costs.append(cost)
                if not math.isfinite(cost):
                    return self._diverge(start, lr, costs, cost, f"at mini-batch {len(costs)}")
                self.optimizer.update_params(model.flat_params, model.flat_grads, lr)
            val_cost, val_accuracy = model.evaluate(self.X_val, self.y_val)
        if not math.isfinite(val_cost):
            return self._diverge(start, lr, costs, val_cost, "on the validation set")
        self.epoch += 1
        sizes = [min(b, n - lo) for lo in range(0, n, b)]
        return EpochRecord(
            epoch=self.epoch,
            train_cost=float(np.dot(costs, sizes) / n),
            batch_costs=tuple(costs),
            val_cost=val_cost,
            val_accuracy=val_accuracy,
            seconds=self.clock() - start,
            decayed_learning_rate=lr,
        )

    def _diverge(
        self, start: float, lr: float, costs: list[float], value: float, where: str
    ) -> EpochRecord:
        self.diverged = True
        self.epoch += 1
        message = (
            f"cost became {value} {where} of epoch {self.epoch} "
            f"(decayed_learning_rate={lr:g}); the trial stopped"
        )
        return EpochRecord(
            epoch=self.epoch,
            train_cost=math.nan,
            batch_costs=tuple(costs),
            val_cost=math.nan,
            val_accuracy=math.nan,
            seconds=self.clock() - start,
            decayed_learning_rate=lr,
            diverged=True,
            message=message,
        )

    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything needed to continue exactly: numpy arrays only (np.savez, no pickle)."""
        state = {
            "config": np.array(json.dumps(self.config.to_dict(), sort_keys=True)),
            "epoch": np.array(self.epoch, dtype=np.int64),
            "diverged": np.array(self.diverged),
            "params": self.model.flat_params.copy(),
            "rng": _rng_to_array(self.rng),
        }
        for i in range(self.model.n_hidden):
            state[f"running_mean{i + 1}"] = self.model.running_mean[i].copy()
            state[f"running_var{i + 1}"] = self.model.running_var[i].copy()
        for key, value in self.optimizer.state().items():
            state[f"optimizer.{key}"] = np.array(value, copy=True)
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore a `state_dict()` taken from a trainer with the same configuration."""
        saved = json.loads(str(state["config"]))
        if saved != json.loads(json.dumps(self.config.to_dict(), sort_keys=True)):
            raise ValueError(
                "checkpoint: its model configuration differs from this trainer's "
                f"(checkpoint {saved}, trainer {self.config.to_dict()})"
            )
        if state["params"].shape != self.model.flat_params.shape:
            raise ValueError(
                f"checkpoint: params has shape {state['params'].shape}, this network needs "
                f"{self.model.flat_params.shape} (a different dataset?)"
            )
        self.epoch = int(state["epoch"])
        self.diverged = bool(state["diverged"])
        self.model.flat_params[...] = state["params"]
        for i in range(self.model.n_hidden):
            self.model.running_mean[i][...] = state[f"running_mean{i + 1}"]
            self.model.running_var[i][...] = state[f"running_var{i + 1}"]
        prefix = "optimizer."
        self.optimizer.load_state(
            {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        )
        self.rng.bit_generator.state = _rng_from_array(state["rng"])


_MASK64 = (1 << 64) - 1


def _rng_to_array(rng: np.random.Generator) -> np.ndarray:
    """PCG64 state as six uint64 words: state hi/lo, inc hi/lo, has_uint32, uinteger."""
    st = rng.bit_generator.state
    if st["bit_generator"] != "PCG64":
        raise ValueError(f"rng: only PCG64 generators can be saved, got {st['bit_generator']}")
    s, inc = st["state"]["state"], st["state"]["inc"]
    words = [s >> 64, s & _MASK64, inc >> 64, inc & _MASK64, st["has_uint32"], st["uinteger"]]
    return np.array(words, dtype=np.uint64)


def _rng_from_array(words: np.ndarray) -> dict[str, Any]:
    w = [int(x) for x in words]
    return {
        "bit_generator": "PCG64",
        "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
        "has_uint32": w[4],
        "uinteger": w[5],
    }


def state_to_bytes(state: Mapping[str, np.ndarray]) -> bytes:
    """A `state_dict()` as the bytes of an .npz file (no pickle inside)."""
    buffer = io.BytesIO()
    arrays: dict[str, Any] = dict(state)
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def state_from_bytes(data: bytes) -> dict[str, np.ndarray]:
    """Read back `state_to_bytes`; object arrays are refused rather than unpickled."""
    with np.load(io.BytesIO(data), allow_pickle=False) as saved:
        return {key: saved[key] for key in saved.files}

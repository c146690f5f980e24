"""A Caviar trainer in PyTorch: the course's batch-norm MLP, an epoch per `step()`, on a GPU
when torch sees one (Ray shows a trial that reserves GPUs only its own, through
CUDA_VISIBLE_DEVICES), else on the CPU.

Each hidden layer is ``Linear (no bias) -> BatchNorm1d (gamma, beta) -> ReLU``, the output a
``Linear`` fed to softmax cross-entropy, trained by mini-batch gradient descent, momentum,
RMSprop or Adam. The settings are the built-in MLP's (workers/mlp/config.py) where they
mean the same. A sweep file names it ``trainer: torch_mlp:TorchTrainer``.

All randomness comes from the trial's seed: the initial weights from a torch generator, the
mini-batch order from a numpy generator whose state the checkpoint keeps, so a trial
restored from a checkpoint trains on exactly as an unbroken one (bit for bit on the CPU).
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# gd: p -= alpha g. momentum: v = beta v + (1 - beta) g; p -= alpha v (dampening = beta,
# from a zero buffer, see TorchTrainer). rmsprop and adam: torch's, which are the course's.
OPTIMIZERS: dict[str, Callable[[Iterable[nn.Parameter], TorchConfig], torch.optim.Optimizer]] = {
    "gd": lambda params, c: torch.optim.SGD(params, lr=c.learning_rate),
    "momentum": lambda params, c: torch.optim.SGD(
        params, lr=c.learning_rate, momentum=c.beta, dampening=c.beta
    ),
    "rmsprop": lambda params, c: torch.optim.RMSprop(
        params, lr=c.learning_rate, alpha=c.beta2, eps=c.epsilon
    ),
    "adam": lambda params, c: torch.optim.Adam(
        params, lr=c.learning_rate, betas=(c.beta1, c.beta2), eps=c.epsilon
    ),
}
# the learning rate of epoch e (0 for the first), from alpha0 and decay_rate k
DECAYS: dict[str, Callable[[float, float, int], float]] = {
    "none": lambda a0, k, e: a0,
    "inverse_time": lambda a0, k, e: a0 / (1.0 + k * e),
}
_KINDS: dict[str, type] = {"int": int, "float": float, "str": str}


@dataclass(frozen=True)
class TorchConfig:
    """A trial's settings: names, defaults and meaning as the built-in MLP has them."""

    hidden_layers: int = 2
    hidden_units: int = 64
    learning_rate: float = 0.01  # alpha0
    optimizer: str = "adam"  # gd, momentum, rmsprop or adam
    beta: float = 0.9  # momentum's
    beta1: float = 0.9  # Adam's first moment
    beta2: float = 0.999  # RMSprop's and Adam's second moment
    epsilon: float = 1e-8
    batch_size: int = 64
    lr_decay: str = "none"  # or inverse_time: alpha0 / (1 + decay_rate * epoch)
    decay_rate: float = 1.0
    l2: float = 0.0  # cost + l2 / (2 m) * sum of squared weights (not gamma, beta, biases)

    def __post_init__(self) -> None:
        if self.batch_size < 2:
            raise ValueError(
                f"TorchTrainer: batch_size must be at least 2 (batch norm needs two rows), "
                f"got {self.batch_size}"
            )
        for key, options in (("optimizer", OPTIMIZERS), ("lr_decay", DECAYS)):
            if getattr(self, key) not in options:
                raise ValueError(
                    f"TorchTrainer: {key} must be one of {list(options)}, "
                    f"got {getattr(self, key)!r}"
                )

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any]) -> TorchConfig:
        kinds = {f.name: _KINDS[str(f.type)] for f in fields(cls)}
        unknown = sorted(set(settings) - set(kinds))
        if unknown:
            raise ValueError(f"TorchTrainer: unknown settings {unknown}; it takes {list(kinds)}")
        return cls(**{key: _setting(key, kinds[key], value) for key, value in settings.items()})


def _setting(key: str, kind: type, value: Any) -> Any:
    """`value` as an int, float or str, or a ValueError naming the key (64.0 is an int)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is str and isinstance(value, str) or kind is float and number:
        return kind(value)
    if kind is int and number and float(value).is_integer():
        return int(value)
    says = {int: "an integer", float: "a number", str: "a string"}[kind]
    raise ValueError(f"TorchTrainer: {key} must be {says}, got {value!r}")


def make_mlp(
    n_features: int, n_classes: int, cfg: TorchConfig, generator: torch.Generator
) -> nn.Sequential:
    """The network, He-initialised as the numpy MLP is: W ~ N(0, 2 / n_in), gamma 1, beta 0."""
    widths = [n_features] + [cfg.hidden_units] * cfg.hidden_layers
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for i in range(1, cfg.hidden_layers + 1):
        layers[f"linear{i}"] = nn.Linear(widths[i - 1], widths[i], bias=False)
        layers[f"norm{i}"] = nn.BatchNorm1d(widths[i], momentum=0.1)  # 0.9 old, as the MLP
        layers[f"relu{i}"] = nn.ReLU()
    layers["out"] = nn.Linear(widths[-1], n_classes)
    model = nn.Sequential(layers)
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                n_out, n_in = layer.weight.shape
                std = math.sqrt(2.0 / n_in)
                layer.weight.copy_(torch.randn(n_out, n_in, generator=generator) * std)
                if layer.bias is not None:
                    layer.bias.zero_()
    return model


class TorchTrainer:
    """Trains one batch-norm MLP on one dataset with one configuration, an epoch per step()."""

    def __init__(
        self,
        config: Mapping[str, Any],
        dataset: Any,
        seed: int | np.random.SeedSequence = 0,
        *,
        device: str | None = None,  # default: cuda when torch sees a GPU, else cpu
    ) -> None:
        self.config = cfg = TorchConfig.from_dict(config)
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        init_seq, shuffle_seq = seq.spawn(2)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.X = _tensor(dataset.X_train, torch.float32, self.device)  # (n, d)
        self.y = _tensor(dataset.y_train, torch.int64, self.device)  # (n,)
        self.X_val = _tensor(dataset.X_val, torch.float32, self.device)  # (n_val, d)
        self.y_val = _tensor(dataset.y_val, torch.int64, self.device)  # (n_val,)
        # weights drawn on the CPU, so a GPU trial starts from the same ones
        generator = torch.Generator().manual_seed(int(init_seq.generate_state(1, np.uint64)[0]))
        self.model = make_mlp(self.X.shape[1], dataset.n_classes, cfg, generator).to(self.device)
        self.weights = [m.weight for m in self.model if isinstance(m, nn.Linear)]  # for L2
        self.optimizer = OPTIMIZERS[cfg.optimizer](self.model.parameters(), cfg)
        if cfg.optimizer == "momentum":  # torch starts v at g; the course at 0, so v1 = (1-beta) g
            for p in self.model.parameters():
                self.optimizer.state[p]["momentum_buffer"] = torch.zeros_like(p)
        self.rng = np.random.default_rng(shuffle_seq)  # the mini-batch order
        self.epoch = 0

    def __repr__(self) -> str:
        cfg = self.config
        return (
            f"TorchTrainer({cfg.hidden_layers}x{cfg.hidden_units} batchnorm MLP, "
            f"{cfg.optimizer}, {self.device}, epoch {self.epoch})"
        )

    def step(self) -> dict[str, Any]:
        """Train one epoch over reshuffled mini-batches and evaluate on the validation set."""
        cfg, model = self.config, self.model
        lr = DECAYS[cfg.lr_decay](cfg.learning_rate, cfg.decay_rate, self.epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        n, b = self.X.shape[0], cfg.batch_size
        order = torch.from_numpy(self.rng.permutation(n)).to(self.device)  # (n,)
        total = torch.zeros((), device=self.device)  # summed on the device: no sync per batch
        rows = 0
        model.train()
        for lo in range(0, n, b):
            batch = order[lo : lo + b]  # (m,)
            m = batch.shape[0]
            if m < 2:  # batch norm needs two rows: a last mini-batch of one is left out
                break
            cost = F.cross_entropy(model(self.X[batch]), self.y[batch])  # logits (m, K)
            if cfg.l2:
                cost = cost + cfg.l2 / (2 * m) * sum(w.square().sum() for w in self.weights)
            self.optimizer.zero_grad(set_to_none=True)
            cost.backward()
            self.optimizer.step()
            total += cost.detach() * m
            rows += m
        train_cost = total.item() / rows
        val_cost, val_accuracy = self.evaluate()
        self.epoch += 1
        finite = math.isfinite(train_cost) and math.isfinite(val_cost)
        return {
            "epoch": self.epoch,
            "train_cost": train_cost,  # mean mini-batch cost, L2 term included
            "val_cost": val_cost,
            "val_accuracy": val_accuracy,
            "decayed_learning_rate": lr,
            "intra_op_threads": torch.get_num_threads(),  # what the worker gave torch
            "diverged": not finite,
        }

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """Cross-entropy (no L2 term) and accuracy on the validation set, batch norm in
        evaluation mode (running mean and variance)."""
        self.model.eval()
        logits = self.model(self.X_val)  # (n_val, K)
        cost = F.cross_entropy(logits, self.y_val).item()
        correct = (logits.argmax(dim=1) == self.y_val).sum().item()
        return cost, correct / self.y_val.shape[0]

    def state_dict(self) -> dict[str, np.ndarray]:
        """Weights, running statistics, optimizer buffers, epoch and shuffle generator."""
        state = {f"model.{k}": _array(v) for k, v in self.model.state_dict().items()}
        for i, buffers in self.optimizer.state_dict()["state"].items():
            state.update({f"optimizer.{i}.{k}": _array(v) for k, v in buffers.items()})
        state["epoch"] = np.array(self.epoch, dtype=np.int64)
        state["shuffle_rng"] = np.array(json.dumps(self.rng.bit_generator.state))
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore a `state_dict()` onto this trainer's device."""
        prefix = "model."
        weights = {
            k[len(prefix) :]: torch.tensor(v) for k, v in state.items() if k.startswith(prefix)
        }
        self.model.load_state_dict(weights)  # copied into the tensors on the device
        buffers: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in state.items():
            if key.startswith("optimizer."):
                _, i, name = key.split(".")
                buffers.setdefault(int(i), {})[name] = torch.tensor(value)
        groups = self.optimizer.state_dict()["param_groups"]
        self.optimizer.load_state_dict({"state": buffers, "param_groups": groups})
        self.epoch = int(state["epoch"])
        self.rng.bit_generator.state = json.loads(str(state["shuffle_rng"]))


def _tensor(array: np.ndarray, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.tensor(np.asarray(array), dtype=dtype, device=device)  # a copy


def _array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()  # a copy: on the CPU .numpy() shares memory

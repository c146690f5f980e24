"""The trainers bench_worker.py times on each case: Caviar's numpy worker
(`workers.mlp.trainer.Trainer`), the same network in a plain PyTorch loop, and the example
PyTorch trainer (examples/torch_trainer's `TorchTrainer`) as a sweep would run it."""

from __future__ import annotations

import sys
import time
from typing import Any

from benchmarks.common.entry import ROOT
from benchmarks.worker.cases import ADAM_EPS, BETAS, LEARNING_RATE, Case, Data, Run
from workers.mlp.trainer import Trainer

TORCH_VERSION = "2.13.0"
TORCH_EXAMPLE = ROOT / "examples" / "torch_trainer"


def _timed_steps(trainer: Any, epochs: int) -> tuple[tuple[float, ...], Any]:
    """The seconds of each of `epochs` steps after one warm-up step, and the last record."""
    trainer.step()  # warm-up
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        record = trainer.step()
        seconds.append(time.perf_counter() - start)
    return tuple(seconds), record


def run_numpy(case: Case, data: Data, seed: int, epochs: int) -> Run:
    trainer = Trainer(case.config(), data, seed)  # type: ignore[arg-type]  # duck-typed
    seconds, record = _timed_steps(trainer, epochs)
    return Run(seconds, record.val_accuracy)


def run_torch(torch: Any, case: Case, data: Data, seed: int, epochs: int) -> Run:
    nn = torch.nn
    X, y = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    X_val, y_val = torch.from_numpy(data.X_val), torch.from_numpy(data.y_val)
    n, d = X.shape
    h, b = case.hidden_units, case.batch_size
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the global RNG
        torch.manual_seed(seed)
        layers: list[Any] = []
        for i in range(case.hidden_layers):
            layers += [
                nn.Linear(d if i == 0 else h, h, bias=False),
                nn.BatchNorm1d(h, eps=1e-5, momentum=0.1),  # = 0.9 in the worker's terms
                nn.ReLU(),
            ]
        model = nn.Sequential(*layers, nn.Linear(h, data.n_classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, betas=BETAS, eps=ADAM_EPS)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)

    def epoch() -> float:
        model.train()
        perm = torch.randperm(n, generator=generator)
        total = 0.0
        for lo in range(0, n, b):
            idx = perm[lo : lo + b]
            xb, yb = X[idx], y[idx]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)  # the worker also reports each batch's cost
        model.eval()
        with torch.no_grad():
            logits = model(X_val)
            loss_fn(logits, y_val).item()
            return float((logits.argmax(dim=1) == y_val).float().mean().item())

    epoch()  # warm-up
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        accuracy = epoch()
        seconds.append(time.perf_counter() - start)
    return Run(tuple(seconds), accuracy)


def run_torch_trainer(case: Case, data: Data, seed: int, epochs: int) -> Run:
    """`TorchTrainer.step()` on the CPU, imported as a sweep file beside it imports it."""
    from orchestrator.sweepfile.trainers import search_path
    from workers.protocol import load_trainer_class

    with search_path(TORCH_EXAMPLE):
        cls = load_trainer_class("torch_mlp:TorchTrainer")
    config = {k: v for k, v in case.config().items() if k != "dtype"}  # float32 only
    trainer = cls(config, data, seed, device="cpu")
    seconds, record = _timed_steps(trainer, epochs)
    return Run(seconds, record["val_accuracy"])


def import_torch() -> Any | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    return torch


def install_hint() -> str:
    pip = ROOT / ".venv" / "bin" / "pip"
    command = f"{pip} install" if pip.exists() else f"{sys.executable} -m pip install"
    return (
        "PyTorch is not installed, so only the numpy side was timed. Install the CPU build "
        f"kept on disk (no other version: an unpinned torch pulls a multi-GB CUDA build):\n"
        f"    {command} torch=={TORCH_VERSION}"
    )

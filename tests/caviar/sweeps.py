"""The small sweeps the tests of `caviar` from Python and from a notebook run."""

from __future__ import annotations

from typing import Any


def tiny_sweep(name: str, trials: int, epochs: int, *, slow: bool = False) -> dict[str, Any]:
    """A few trials of a small MLP. `slow`: digits in mini-batches of 4, epochs of tens of
    milliseconds, so that the sweep still runs when a test interrupts it."""
    return {
        "name": name,
        "dataset": "digits" if slow else "synthetic:rows=60,features=4,classes=2",
        "seed": 7,
        "model": {"optimizer": "adam", "hidden_layers": 1, "batch_size": 4 if slow else 16},
        "space": {
            "learning_rate": {"type": "log_uniform", "low": 0.003, "high": 0.03},
            "hidden_units": {"type": "int_uniform", "low": 4, "high": 16},
        },
        "scheduler": "fifo",
        "budget": {"trials": trials, "max_epochs": epochs},
    }

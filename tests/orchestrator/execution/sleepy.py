"""A trainer that sleeps through its epochs, for tests of scheduling on real Ray: no CPU
used, so trials truly run at once on two cores. Each epoch records when it ran and the
device Ray gave its worker (CUDA_VISIBLE_DEVICES; -1 for none). Tests copy this file next
to their sweep file (`trainer: sleepy:Sleepy`), so Caviar ships it to the workers."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

EPOCH_SECONDS = 0.5


class Sleepy:
    def __init__(self, config: dict[str, Any], dataset: Any, seed: Any) -> None:
        self.x, self.epoch = float(config["x"]), 0

    def step(self) -> dict[str, float]:
        began = time.time()
        time.sleep(EPOCH_SECONDS)
        self.epoch += 1
        seen = os.environ.get("CUDA_VISIBLE_DEVICES", "")
        return {
            "epoch": self.epoch,
            "score": self.x,
            "began": began,
            "ended": time.time(),
            "device": float(seen) if seen.isdigit() else -1.0,
        }

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"epoch": np.array(self.epoch)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.epoch = int(state["epoch"])

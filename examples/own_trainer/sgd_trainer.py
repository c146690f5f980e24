"""A Caviar trainer that is not the batch-norm MLP: scikit-learn's SGDClassifier, one
`partial_fit` pass over the shuffled training set per epoch.

A trainer is a class built as ``cls(config, dataset, seed)`` with ``step()``,
``state_dict()`` and ``load_state_dict(state)``; the sweep file names it with
``trainer: sgd_trainer:SGDTrainer``. The state is the model's coefficients, intercepts
and step count as numpy arrays, and each epoch's shuffle is drawn from the trial's seed
and the epoch number, so a trial restored from a checkpoint trains on exactly as if it had
never stopped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.linear_model import SGDClassifier

# What a trial trains with when the sweep's model: and space: leave a setting out.
DEFAULTS: dict[str, Any] = {
    "loss": "log_loss",
    "penalty": "l2",
    "alpha": 1e-4,
    "l1_ratio": 0.15,
    "learning_rate": "optimal",
    "eta0": 0.01,
}


class SGDTrainer:
    """A linear classifier trained by stochastic gradient descent, an epoch per step()."""

    def __init__(self, config: Mapping[str, Any], dataset: Any, seed: np.random.SeedSequence):
        unknown = sorted(set(config) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"SGDTrainer: unknown settings {unknown}; it takes {list(DEFAULTS)}")
        settings = {**DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
        self.model = SGDClassifier(**settings, shuffle=False, random_state=0)
        self.X, self.y = dataset.X_train, dataset.y_train
        self.X_val, self.y_val = dataset.X_val, dataset.y_val
        self.classes = np.arange(dataset.n_classes)
        self.words = seed.generate_state(2)  # the trial's seed, for each epoch's shuffle
        self.epoch = 0

    def step(self) -> dict[str, float]:
        order = np.random.default_rng([*self.words, self.epoch]).permutation(len(self.y))
        self.model.partial_fit(self.X[order], self.y[order], classes=self.classes)
        self.epoch += 1
        return {
            "epoch": self.epoch,
            "val_accuracy": float(self.model.score(self.X_val, self.y_val)),
            "train_accuracy": float(self.model.score(self.X, self.y)),  # an extra column
        }

    def state_dict(self) -> dict[str, np.ndarray]:
        state = {"epoch": np.array(self.epoch)}
        if self.epoch:
            state["coef"] = self.model.coef_.copy()
            state["intercept"] = self.model.intercept_.copy()
            state["t"] = np.array(self.model.t_)  # the learning-rate schedule's step count
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        self.epoch = int(state["epoch"])
        if self.epoch:
            self.model.coef_ = state["coef"].copy()
            self.model.intercept_ = state["intercept"].copy()
            self.model.t_ = float(state["t"])
            self.model.classes_ = self.classes  # a fitted model: partial_fit goes on from here
            self.model.n_features_in_ = self.X.shape[1]

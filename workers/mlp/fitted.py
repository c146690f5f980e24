"""A trained MLP a user can call: raw features in, class labels or probabilities out.

`FittedMLP` is rebuilt from the built-in trainer's `state_dict()` and the dataset's
standardisation (`Dataset.mean`, `Dataset.scale`) and labels (`Dataset.classes`). It
standardises raw rows with the same arithmetic `load_dataset` uses and evaluates with
`MLP.evaluate` itself, so a kept model scored on the validation part gives back the
trainer's recorded val_cost and val_accuracy to the last bit. `to_arrays`/`from_arrays`
(and `save`/`load`) keep the whole model in one .npz file: numbers and strings, no pickle.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from caviar_common.errors import InputError
from workers.mlp.config import ModelConfig
from workers.mlp.losses import PREDICT
from workers.mlp.model import MLP

FORMAT = "caviar.fitted_mlp.v1"  # the `format` entry of to_arrays(), checked on the way back


class FittedMLP:
    """A trained network with its standardisation and labels; `predict` takes raw rows.

    Attributes:
        config: The trial's model settings.
        model: The network, used in evaluation mode only.
        mean, scale: (d,) the training part's standardisation: x -> (x - mean) / scale.
        classes_: (K,) the original labels, index = the code the network predicts.
        feature_names: The columns X must have, in order (may be empty: not recorded).
        epoch: The epoch the weights are from (0 when the state did not say).
    """

    def __init__(
        self,
        config: ModelConfig,
        model: MLP,
        mean: np.ndarray,
        scale: np.ndarray,
        classes: np.ndarray,
        feature_names: tuple[str, ...] = (),
        epoch: int = 0,
    ) -> None:
        self.config = config
        self.model = model
        self.mean = _frozen(mean)
        self.scale = _frozen(scale)
        self.classes_ = _frozen(classes)
        self.feature_names = feature_names
        self.epoch = epoch

    @classmethod
    def from_state(
        cls,
        state: Mapping[str, np.ndarray],
        *,
        mean: np.ndarray | Sequence[float],
        scale: np.ndarray | Sequence[float],
        classes: Sequence[Any] | np.ndarray,
        feature_names: Sequence[str] = (),
    ) -> FittedMLP:
        """The model of a `Trainer.state_dict()` (from a checkpoint or a kept model), with
        the dataset's `mean`, `scale`, `classes` and `feature_names` (`Dataset` fields).

        Raises:
            ValueError: The state is not the built-in trainer's, or its weights do not fit
                a network of len(mean) features and len(classes) classes.
        """
        if "config" not in state or "params" not in state:
            raise InputError(
                "state", "must be a state_dict() of the built-in MLP trainer (config and params)"
            )
        config = ModelConfig.from_dict(json.loads(str(state["config"])))
        mean_, scale_ = _statistics(mean, scale)
        labels = _labels(classes)
        n_features, n_classes = mean_.shape[0], labels.shape[0]
        if n_classes < 2:
            raise InputError("classes", "must hold at least 2 labels", labels.tolist())
        if feature_names and len(feature_names) != n_features:
            raise InputError(
                "feature_names",
                f"must name the {n_features} features of mean and scale",
                len(feature_names),
            )
        model = MLP(
            n_features,
            n_classes,
            config.hidden_layers,
            config.hidden_units,
            rng=np.random.default_rng(0),  # every weight is overwritten below
            bn_momentum=config.bn_momentum,
            bn_epsilon=config.bn_epsilon,
            dtype=config.dtype,
        )
        _load_weights(model, state, n_features, n_classes)
        epoch = int(state["epoch"]) if "epoch" in state else 0
        return cls(config, model, mean_, scale_, labels, tuple(map(str, feature_names)), epoch)

    def __repr__(self) -> str:
        shown = ", ".join(repr(c) for c in self.classes_[:6].tolist())
        more = ", ..." if self.n_classes > 6 else ""
        return (
            f"FittedMLP({self.model!r}, epoch {self.epoch}, "
            f"classes={self.n_classes}: ({shown}{more}))"
        )

    @property
    def n_features(self) -> int:
        return int(self.mean.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.classes_.shape[0])

    # -- raw rows ---------------------------------------------------------------------

    def standardise(self, X: Any) -> np.ndarray:
        """Raw rows (n, d) as `load_dataset` standardises them: (X - mean) / scale, float64."""
        X_std = np.array(_rows(X, self.n_features, self.feature_names), dtype=np.float64)
        X_std -= self.mean  # in place, as load_dataset does: the same two roundings
        X_std /= self.scale
        return X_std

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, K) class probabilities of raw rows, columns in the order of `classes_`; each
        row sums to 1 (for two classes, [1 - p, p] with p the sigmoid of the logit)."""
        z = self._logits(self.standardise(X)).astype(np.float64)  # (n, K) or (n, 1)
        if self.model.output == "sigmoid":
            p = _sigmoid(z[:, 0])  # (n,)
            return np.column_stack([1.0 - p, p])
        z -= np.max(z, axis=1, keepdims=True)  # stable exp
        np.exp(z, out=z)
        z /= np.sum(z, axis=1, keepdims=True)
        return z

    def predict(self, X: Any) -> np.ndarray:
        """(n,) the labels (values of `classes_`) of raw rows, chosen from the logits as
        `MLP.evaluate` chooses them, so the accuracy is the one the trainer records."""
        return self.classes_[self._codes(self.standardise(X))]

    def score(self, X: Any, y: Any) -> float:
        """Accuracy on raw rows `X` with labels `y` (values of `classes_`)."""
        codes = self.encode(y)
        predicted = self._codes(self.standardise(X))
        if predicted.shape != codes.shape:
            raise InputError("y", f"must hold a label per row of X ({len(predicted)})", len(codes))
        return float(np.mean(predicted == codes))

    def encode(self, y: Any) -> np.ndarray:
        """(n,) int64 codes of labels `y`; a label the model was not trained on is an error."""
        labels = np.asarray(y)
        if labels.ndim != 1:
            raise InputError("y", "must be a 1-d array of labels, one per row", labels.shape)
        code = {label: i for i, label in enumerate(self.classes_.tolist())}
        unknown = sorted({str(v) for v in labels.tolist() if v not in code})
        if unknown:
            raise InputError(
                "y",
                f"must hold only the labels the model was trained on, {self.classes_.tolist()}",
                unknown[:5],
            )
        return np.array([code[v] for v in labels.tolist()], dtype=np.int64)

    # -- standardised rows, as the trainer sees them ------------------------------------

    def evaluate_standardised(self, X_std: Any, y_codes: Any) -> tuple[float, float]:
        """(mean cross-entropy, accuracy) on already standardised rows and integer codes,
        such as `Dataset.X_val`, `Dataset.y_val`: exactly the trainer's evaluation, so a
        model kept at epoch k gives back that epoch's val_cost and val_accuracy."""
        X = np.ascontiguousarray(_rows(X_std, self.n_features, ()), dtype=self.model.dtype)
        y = np.asarray(y_codes, dtype=np.int64)
        if y.shape != (X.shape[0],):
            raise InputError("y_codes", f"must have shape ({X.shape[0]},), a code per row", y.shape)
        if y.size and not (y.min() >= 0 and y.max() < self.n_classes):
            bad = y[(y < 0) | (y >= self.n_classes)]
            raise InputError("y_codes", f"must be codes in [0, {self.n_classes})", bad[0].item())
        with np.errstate(all="ignore"):  # as in Trainer.step: a bad model gives a NaN cost
            return self.model.evaluate(X, y)

    def _logits(self, X_std: np.ndarray) -> np.ndarray:
        return self.model.logits(np.ascontiguousarray(X_std, dtype=self.model.dtype))

    def _codes(self, X_std: np.ndarray) -> np.ndarray:
        return PREDICT[self.model.output](self._logits(X_std))

    # -- one file -------------------------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The whole model as named numpy arrays of numbers and strings (np.savez, no pickle)."""
        arrays = {
            "format": np.array(FORMAT),
            "config": np.array(json.dumps(self.config.to_dict(), sort_keys=True)),
            "epoch": np.array(self.epoch, dtype=np.int64),
            "params": self.model.flat_params.copy(),
            "mean": self.mean.copy(),
            "scale": self.scale.copy(),
            "classes": self.classes_.copy(),
            "feature_names": np.array(self.feature_names, dtype=np.str_),
        }
        for i in range(self.model.n_hidden):
            arrays[f"running_mean{i + 1}"] = self.model.running_mean[i].copy()
            arrays[f"running_var{i + 1}"] = self.model.running_var[i].copy()
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> FittedMLP:
        """Read back `to_arrays()`."""
        if "format" not in arrays or str(arrays["format"]) != FORMAT:
            got = str(arrays["format"]) if "format" in arrays else "none"
            raise InputError("format", f"must be {FORMAT!r} (a FittedMLP's arrays)", got)
        return cls.from_state(
            arrays,
            mean=arrays["mean"],
            scale=arrays["scale"],
            classes=arrays["classes"],
            feature_names=tuple(arrays["feature_names"].tolist()),
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to one .npz file."""
        with open(path, "wb") as out:
            out.write(self.to_bytes())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FittedMLP:
        """Read a model `save` wrote; nothing in the file is unpickled."""
        with open(path, "rb") as source:
            return cls.from_bytes(source.read())

    def to_bytes(self) -> bytes:
        """The bytes of the .npz file `save` writes."""
        buffer = io.BytesIO()
        arrays: dict[str, Any] = self.to_arrays()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FittedMLP:
        with np.load(io.BytesIO(data), allow_pickle=False) as saved:
            return cls.from_arrays({key: saved[key] for key in saved.files})


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


def _statistics(mean: Any, scale: Any) -> tuple[np.ndarray, np.ndarray]:
    """`mean` and `scale` as (d,) float64 arrays of one length, the scale all > 0."""
    m, s = np.asarray(mean, dtype=np.float64), np.asarray(scale, dtype=np.float64)
    if m.ndim != 1 or m.size == 0:
        raise InputError("mean", "must be a 1-d array of d >= 1 numbers (Dataset.mean)", m.shape)
    if s.shape != m.shape:
        raise InputError("scale", f"must have the shape of mean, {m.shape}", s.shape)
    if not np.all(s > 0):
        raise InputError("scale", "must be > 0 everywhere (Dataset.scale)", s[~(s > 0)][0].item())
    return m, s


def _labels(classes: Any) -> np.ndarray:
    """The labels as a numeric or unicode array, sorted as `np.unique` leaves them."""
    labels = np.asarray(classes)
    if labels.ndim != 1 or labels.dtype.kind not in "biufU":
        raise InputError(
            "classes",
            "must be a 1-d sequence of numbers or of strings (Dataset.classes)",
            f"{labels.dtype} array of shape {labels.shape}",
        )
    if labels.size > 1 and not np.all(labels[:-1] < labels[1:]):
        raise InputError(
            "classes", "must be sorted and distinct, as Dataset.classes are", labels.tolist()
        )
    return labels


def _load_weights(model: MLP, state: Mapping[str, np.ndarray], d: int, k: int) -> None:
    """Copy the state's parameters and running statistics into `model`, checking shapes."""
    params = np.asarray(state["params"])
    if params.shape != model.flat_params.shape:
        raise InputError(
            "params",
            f"must hold the {model.flat_params.size} weights of {model!r} ({d} features, "
            f"{k} classes)",
            params.shape,
            "a state of a different dataset, or mean and classes of another?",
        )
    model.flat_params[...] = params
    stats = {"running_mean": model.running_mean, "running_var": model.running_var}
    for i in range(model.n_hidden):
        for name, views in stats.items():
            key = f"{name}{i + 1}"
            if key not in state or np.shape(state[key]) != views[i].shape:
                raise InputError(key, f"must be in the state, of shape {views[i].shape}")
            views[i][...] = state[key]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z), written so that neither branch overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _rows(X: Any, d: int, names: tuple[str, ...]) -> np.ndarray:
    """X as a 2-d float64 array of `d` columns; a clear error otherwise."""
    try:
        a = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("X", f"must be an array of numbers with {d} columns") from None
    if a.ndim != 2 or a.shape[1] != d:
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        columns = f" ({shown})" if names else ""
        hint = "for one row, use X.reshape(1, -1)" if a.shape == (d,) else ""
        raise InputError(
            "X", f"must have shape (rows, {d}), a column per feature{columns}", a.shape, hint
        )
    return a

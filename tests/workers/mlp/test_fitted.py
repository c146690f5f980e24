"""FittedMLP: a trainer's state as a model a user calls on raw rows, scoring exactly as the
trainer recorded, and kept whole in one .npz file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits

from caviar_common.curves import EpochRecord
from workers.data.datasets import Dataset, load_dataset
from workers.mlp.fitted import FittedMLP
from workers.mlp.trainer import Trainer

EPOCHS = 3


@dataclass(frozen=True)
class Trained:
    """A dataset, its raw rows and labels as scikit-learn gives them, and after each epoch
    the trainer's record and state."""

    ds: Dataset
    X_raw: np.ndarray
    y_raw: np.ndarray
    records: list[EpochRecord]
    states: list[dict[str, np.ndarray]]

    def fitted(self, epoch: int = EPOCHS) -> FittedMLP:
        ds = self.ds
        return FittedMLP.from_state(
            self.states[epoch - 1],
            mean=ds.mean,
            scale=ds.scale,
            classes=ds.classes,
            feature_names=ds.feature_names,
        )


def _train(ds: Dataset, config: dict[str, Any], raw: Any) -> Trained:
    trainer = Trainer(config, ds, seed=11)
    records, states = [], []
    for _ in range(EPOCHS):
        records.append(trainer.step())
        states.append(trainer.state_dict())
    return Trained(ds, raw.data, raw.target, records, states)


@pytest.fixture(
    scope="module",
    params=[
        ("digits", {"hidden_units": 32, "dtype": "float32"}),
        ("breast_cancer", {"hidden_units": 16, "dtype": "float64", "optimizer": "momentum"}),
    ],
    ids=["digits-softmax-float32", "breast_cancer-sigmoid-float64"],
)
def trained(request: pytest.FixtureRequest) -> Trained:
    name, config = request.param
    raw = load_digits() if name == "digits" else load_breast_cancer()
    ds = load_dataset(name, seed=4, test_fraction=0.2)
    return _train(ds, {"hidden_layers": 2, "learning_rate": 0.01, **config}, raw)


def test_it_scores_the_validation_part_exactly_as_the_trainer_recorded_each_epoch(
    trained: Trained,
) -> None:
    ds = trained.ds
    for epoch, record in enumerate(trained.records, start=1):
        got = trained.fitted(epoch).evaluate_standardised(ds.X_val, ds.y_val)
        assert got == (record.val_cost, record.val_accuracy)  # to the last bit


def test_raw_rows_score_exactly_as_the_trainer_recorded(trained: Trained) -> None:
    ds, model = trained.ds, trained.fitted()
    X, y = trained.X_raw[ds.val_indices], trained.y_raw[ds.val_indices]
    assert np.array_equal(model.standardise(X), ds.X_val)  # the loader's arithmetic
    assert model.score(X, y) == trained.records[-1].val_accuracy
    # and the test part, held out from every epoch, scores the same either way
    X_test, y_test = trained.X_raw[ds.test_indices], trained.y_raw[ds.test_indices]
    assert model.score(X_test, y_test) == model.evaluate_standardised(ds.X_test, ds.y_test)[1]


def test_probabilities_sum_to_one_and_predict_takes_the_likeliest_label(trained: Trained) -> None:
    ds, model = trained.ds, trained.fitted()
    X = trained.X_raw[ds.val_indices]
    proba = model.predict_proba(X)
    assert proba.shape == (ds.n_val, ds.n_classes)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    top2 = np.sort(proba, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-6  # rows without a near tie
    assert clear.mean() > 0.9
    predicted = model.predict(X)
    assert np.array_equal(predicted[clear], model.classes_[proba.argmax(axis=1)][clear])
    assert list(model.classes_) == list(ds.classes)


def test_the_npz_file_gives_back_the_same_model(trained: Trained, tmp_path: Path) -> None:
    ds, model = trained.ds, trained.fitted()
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as saved:  # numbers and strings, nothing pickled
        assert all(saved[k].dtype.kind in "biufU" for k in saved.files)
    back = FittedMLP.load(path)
    X = trained.X_raw[ds.test_indices]
    assert np.array_equal(back.predict_proba(X), model.predict_proba(X))
    assert np.array_equal(back.predict(X), model.predict(X))
    assert back.evaluate_standardised(ds.X_val, ds.y_val) == model.evaluate_standardised(
        ds.X_val, ds.y_val
    )
    assert back.feature_names == ds.feature_names and back.epoch == EPOCHS
    assert repr(back) == repr(model) and repr(model).startswith("FittedMLP(MLP(")


def test_string_labels_come_back_as_strings_from_the_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    species = np.array(["cat"] * 40 + ["dog"] * 40 + ["emu"] * 40)
    X = rng.normal(size=(120, 3)) + np.repeat(np.eye(3) * 3, 40, axis=0)
    data = tmp_path / "animals.npz"
    np.savez(data, X=X, y=species)
    ds = load_dataset(str(data), seed=0, test_fraction=0.25)
    trainer = Trainer({"hidden_units": 8, "batch_size": 16}, ds, seed=0)
    record = [trainer.step() for _ in range(5)][-1]
    model = FittedMLP.from_state(
        trainer.state_dict(), mean=ds.mean, scale=ds.scale, classes=ds.classes
    )
    assert model.score(X[ds.val_indices], species[ds.val_indices]) == record.val_accuracy
    back = FittedMLP.from_bytes(model.to_bytes())
    assert back.classes_.dtype.kind == "U" and set(back.predict(X)) <= {"cat", "dog", "emu"}
    assert np.array_equal(back.predict(X), model.predict(X))
    with pytest.raises(ValueError, match=r"^y: must hold only the labels"):
        model.score(X[:2], ["cat", "yak"])


def test_rows_of_the_wrong_shape_are_refused_saying_what_was_expected(trained: Trained) -> None:
    model = trained.fitted()
    d = trained.ds.n_features
    X = trained.X_raw[:5]
    with pytest.raises(ValueError, match=rf"^X: must have shape \(rows, {d}\).*got \(5, {d - 1}\)"):
        model.predict(X[:, 1:])
    with pytest.raises(ValueError, match=r"X\.reshape\(1, -1\)"):
        model.predict_proba(X[0])
    with pytest.raises(ValueError, match=rf"must have shape \(rows, {d}\)"):
        model.evaluate_standardised(trained.ds.X_val[:, :2], trained.ds.y_val)


def test_a_state_that_does_not_fit_the_dataset_is_refused(trained: Trained) -> None:
    ds = trained.ds
    state = trained.states[-1]
    with pytest.raises(ValueError, match=r"^params: must hold the"):
        FittedMLP.from_state(state, mean=ds.mean[:-1], scale=ds.scale[:-1], classes=ds.classes)
    with pytest.raises(ValueError, match=r"^scale: must have the shape of mean"):
        FittedMLP.from_state(state, mean=ds.mean, scale=ds.scale[:-1], classes=ds.classes)
    with pytest.raises(ValueError, match=r"^state: must be a state_dict\(\)"):
        FittedMLP.from_state({}, mean=ds.mean, scale=ds.scale, classes=ds.classes)

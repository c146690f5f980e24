"""The test part of a split (`test_fraction`): held out from training and validation,
stratified, standardised with the training statistics, and absent (the split bit-for-bit
unchanged) when the fraction is 0."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from caviar_common.errors import InputError
from workers.data.datasets import Dataset, load_dataset, split_parts

RAW = {"digits": load_digits(), "breast_cancer": load_breast_cancer()}


def _rows_of(ds: Dataset) -> list[np.ndarray]:
    return [ds.train_indices, ds.val_indices, ds.test_indices]


@pytest.mark.parametrize(
    ("spec", "val_fraction", "test_fraction"),
    [("digits", 0.2, 0.2), ("digits", 0.1, 0.5), ("breast_cancer", 0.3, 0.15)],
)
def test_the_parts_are_disjoint_cover_every_row_and_no_test_row_is_trained_or_validated_on(
    spec: str, val_fraction: float, test_fraction: float
) -> None:
    ds = load_dataset(spec, seed=5, val_fraction=val_fraction, test_fraction=test_fraction)
    n = len(RAW[spec].target)
    train, val, test = _rows_of(ds)
    assert not set(test) & set(train) and not set(test) & set(val) and not set(train) & set(val)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(n))
    # each part holds the rows its indices name, with their labels
    for rows, y in zip(_rows_of(ds), (ds.y_train, ds.y_val, ds.y_test), strict=True):
        assert np.array_equal(y, RAW[spec].target[rows])
    # both shares are of all rows, rounded up: the validation part keeps its size
    assert (ds.n_train, ds.n_val, ds.n_test) == (
        n - math.ceil(val_fraction * n) - math.ceil(test_fraction * n),
        math.ceil(val_fraction * n),
        math.ceil(test_fraction * n),
    )
    assert ds.n_val == load_dataset(spec, seed=5, val_fraction=val_fraction).n_val
    assert split_parts(n, val_fraction, test_fraction) == (ds.n_train, ds.n_val, ds.n_test)


def test_each_class_gives_each_part_its_share_to_within_one_row() -> None:
    ds = load_dataset("digits", seed=2, val_fraction=0.25, test_fraction=0.3)
    counts = np.bincount(RAW["digits"].target)  # 174 to 183 rows a digit
    n = counts.sum()
    test = np.bincount(ds.y_test, minlength=10)
    assert np.all(np.abs(test - counts * ds.n_test / n) < 1)
    rest = counts - test  # train and validation split what the test part leaves
    val = np.bincount(ds.y_val, minlength=10)
    assert np.all(np.abs(val - rest * ds.n_val / rest.sum()) < 1)
    assert np.array_equal(np.bincount(ds.y_train, minlength=10), rest - val)


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("val_fraction", [0.2, 0.35])
def test_no_test_part_is_the_split_made_before_test_parts_existed(
    seed: int, val_fraction: float
) -> None:
    # the split as load_dataset has always drawn it: scikit-learn's stratified
    # train_test_split of all rows, its random state from the second child of the seed
    raw = RAW["digits"]
    n = len(raw.target)
    random_state = int(np.random.SeedSequence(seed).spawn(2)[1].generate_state(1)[0])
    train, val = train_test_split(
        np.arange(n),
        test_size=math.ceil(val_fraction * n),
        stratify=raw.target,
        random_state=random_state,
    )
    ds = load_dataset("digits", seed=seed, val_fraction=val_fraction)
    explicit = load_dataset("digits", seed=seed, val_fraction=val_fraction, test_fraction=0)
    for got in (ds, explicit):
        assert np.array_equal(got.train_indices, train) and np.array_equal(got.val_indices, val)
        assert np.array_equal(got.y_train, raw.target[train])
        assert np.array_equal(got.y_val, raw.target[val])
        assert got.n_test == 0
    # standardised with statistics of the training rows only, each value (x - mean) / scale
    scaler = StandardScaler().fit(raw.data[train])
    np.testing.assert_allclose(ds.mean, scaler.mean_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ds.scale, scaler.scale_, rtol=1e-12)
    assert np.array_equal(ds.X_train, (raw.data[train] - ds.mean) / ds.scale)
    assert np.array_equal(ds.X_val, (raw.data[val] - ds.mean) / ds.scale)
    for a, b in zip(_arrays(ds), _arrays(explicit), strict=True):
        assert a.tobytes() == b.tobytes() and a.dtype == b.dtype


def _arrays(ds: Dataset) -> list[np.ndarray]:
    return [ds.X_train, ds.y_train, ds.X_val, ds.y_val, ds.X_test, ds.y_test, ds.mean, ds.scale]


def test_the_test_part_is_standardised_with_the_training_statistics() -> None:
    raw = RAW["breast_cancer"]
    ds = load_dataset("breast_cancer", seed=1, test_fraction=0.25)
    train = raw.data[ds.train_indices]
    scaler = StandardScaler().fit(train)  # the training rows alone: not validation, not test
    np.testing.assert_allclose(ds.mean, scaler.mean_, rtol=1e-12)
    np.testing.assert_allclose(ds.scale, scaler.scale_, rtol=1e-12)
    assert not np.allclose(ds.mean, raw.data.mean(axis=0), rtol=1e-6)
    assert np.array_equal(ds.X_test, (raw.data[ds.test_indices] - ds.mean) / ds.scale)
    np.testing.assert_allclose(ds.X_test, scaler.transform(raw.data[ds.test_indices]), atol=1e-9)


def test_without_a_test_part_its_arrays_are_empty_and_everything_is_read_only() -> None:
    ds = load_dataset("breast_cancer", seed=0)
    assert ds.X_test.shape == (0, 30) and ds.X_test.dtype == np.float64
    assert ds.y_test.shape == (0,) and ds.y_test.dtype == np.int64
    assert ds.test_indices.shape == (0,) and ds.mean.shape == ds.scale.shape == (30,)
    assert "test=" not in repr(ds)
    held = load_dataset("breast_cancer", seed=0, test_fraction=0.2)
    assert "test=(114, 30)" in repr(held)  # ceil(0.2 * 569) rows
    for a in [*_arrays(held), *_rows_of(held)]:
        with pytest.raises(ValueError, match="read-only"):
            a[0] = 0


def test_a_file_s_test_rows_are_its_own_rows_and_the_same_seed_draws_them_again(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(0)
    ids = np.arange(90.0)
    species = np.array(["cat"] * 45 + ["dog"] * 30 + ["emu"] * 15)
    path = tmp_path / "animals.npz"
    np.savez(path, X=np.column_stack([ids, rng.normal(size=90)]), y=species)
    ds = load_dataset(str(path), seed=4, test_fraction=0.2)
    again = load_dataset(str(path), seed=4, test_fraction=0.2)
    other = load_dataset(str(path), seed=5, test_fraction=0.2)
    for rows, X, y in [
        (ds.train_indices, ds.X_train, ds.y_train),
        (ds.val_indices, ds.X_val, ds.y_val),
        (ds.test_indices, ds.X_test, ds.y_test),
    ]:
        assert np.array_equal(np.rint(X[:, 0] * ds.scale[0] + ds.mean[0]), rows)
        assert [ds.classes[c] for c in y] == species[rows].tolist()
    assert np.array_equal(ds.test_indices, again.test_indices)
    assert not np.array_equal(np.sort(ds.test_indices), np.sort(other.test_indices))
    assert np.bincount(ds.y_test).tolist() == [9, 6, 3]  # a fifth of 45, 30 and 15


@pytest.mark.parametrize(
    ("test_fraction", "says"),
    [
        (-0.1, "must be in [0, 1)"),
        (1, "must be in [0, 1)"),
        (1.5, "must be in [0, 1)"),
        (float("nan"), "must be in [0, 1)"),
        (True, "must be a number"),
        ("0.1", "must be a number"),
        (0.8, "val_fraction + test_fraction must be < 1"),  # with val_fraction 0.2
    ],
)
def test_a_bad_test_fraction_is_refused_naming_it(test_fraction: Any, says: str) -> None:
    with pytest.raises(InputError, match=r"^test_fraction: ") as info:
        load_dataset("digits", test_fraction=test_fraction)
    assert info.value.path == "test_fraction" and says in info.value.rule


def test_a_test_part_that_leaves_a_part_without_every_class_is_refused(tmp_path: Path) -> None:
    # 6 rows in 3 classes at 0.5 + 0.3: ceil(3) validation, ceil(1.8) = 2 test and 1
    # training row, for 3 classes
    with pytest.raises(InputError, match="at least one row per class") as info:
        load_dataset("spirals:rows=6,classes=3", val_fraction=0.5, test_fraction=0.3)
    assert info.value.path == "test_fraction" and "1 training" in info.value.hint
    # 2 cats among 42 rows at test_fraction 0.3: 13 test rows may take ceil(2 * 13 / 42) = 1
    # cat, leaving one for training and validation to share
    path = tmp_path / "few_cats.npz"
    np.savez(path, X=np.arange(42.0)[:, None], y=np.array(["cat"] * 2 + ["dog"] * 40))
    with pytest.raises(InputError, match="at least 2 rows of every class") as info:
        load_dataset(str(path), test_fraction=0.3)
    assert info.value.path == "test_fraction" and "['cat']" in info.value.hint
    load_dataset(str(path), val_fraction=0.2)  # without a test part it splits

"""Tests for workers.data.datasets: built-ins, files, the split, standardisation and bad input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier

from caviar_common.errors import ConfigError
from workers.data import datafiles
from workers.data.datasets import Dataset, load_dataset, split_sizes

SMALL_SYNTHETIC = "synthetic:rows=500,features=7,classes=4"


def _counts(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    k = ds.n_classes
    return np.bincount(ds.y_train, minlength=k), np.bincount(ds.y_val, minlength=k)


def _animals(n: int = 60, seed: int = 1) -> pd.DataFrame:
    """A table with string labels (30 cat, 20 dog, 10 emu) and an `id` column 0..n-1."""
    rng = np.random.default_rng(seed)
    species = np.array(["cat"] * 30 + ["dog"] * 20 + ["emu"] * 10)[:n]
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.float64),
            "weight": rng.normal(5.0, 2.0, n),
            "legs": np.where(species == "emu", 2.0, 4.0),
            "species": species,
        }
    )


def _write(frame: pd.DataFrame, tmp_path: Path, fmt: str, label: str = "species") -> Path:
    path = tmp_path / f"data.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        np.savez(path, X=frame.drop(columns=[label]).to_numpy(), y=frame[label].to_numpy(str))
    return path


def _knn_accuracy(ds: Dataset, k: int) -> float:
    """Validation accuracy of k-nearest neighbours fitted on the training part."""
    return float(KNeighborsClassifier(k).fit(ds.X_train, ds.y_train).score(ds.X_val, ds.y_val))


def _raw_rows(ds: Dataset, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The original ids of the train and val rows, recovered from standardised column 0.

    Standardisation is one increasing affine map per column for both parts, so the rank of
    a row's value among all rows is the rank of its original id.
    """
    both = np.concatenate([ds.X_train[:, 0], ds.X_val[:, 0]])
    original = np.empty(len(both), dtype=ids.dtype)
    original[np.argsort(both)] = np.sort(ids)
    return original[: ds.n_train], original[ds.n_train :]


# --- built-ins ---------------------------------------------------------------------------


def test_builtin_names() -> None:
    # the names a user may give without a file, as an unknown name's message lists them
    builtins = "digits, breast_cancer, moons, spirals, synthetic"
    with pytest.raises(ValueError, match=f"built-in datasets are {builtins}, and a file path"):
        load_dataset("mnist")


def test_digits_shape() -> None:
    # scikit-learn docs: 1797 samples, 64 features (8x8 pixels), 10 classes.
    ds = load_dataset("digits")
    assert ds.n_train + ds.n_val == 1797
    assert ds.n_val == 360  # ceil(0.2 * 1797)
    assert ds.n_features == 64 and len(ds.feature_names) == 64
    assert ds.classes == tuple(range(10))


def test_breast_cancer_shape_and_class_counts() -> None:
    # scikit-learn docs: 569 samples, 30 features, 212 malignant (0) and 357 benign (1).
    ds = load_dataset("breast_cancer")
    assert (ds.n_train + ds.n_val, ds.n_features) == (569, 30)
    assert ds.classes == (0, 1)
    train, val = _counts(ds)
    assert list(train + val) == [212, 357]
    assert "mean radius" in ds.feature_names


def test_moons_shape() -> None:
    ds = load_dataset("moons:rows=200,noise=0.1")
    train, val = _counts(ds)
    assert ds.n_features == 2 and ds.classes == (0, 1)
    assert list(train + val) == [100, 100]


def test_spirals_have_one_arm_per_class_of_near_equal_size() -> None:
    ds = load_dataset("spirals:rows=301,classes=3")
    train, val = _counts(ds)
    assert ds.n_features == 2 and ds.n_classes == 3
    assert sorted(train + val) == [100, 100, 101]


def test_small_synthetic_shape() -> None:
    ds = load_dataset(SMALL_SYNTHETIC)
    train, val = _counts(ds)
    assert (ds.n_train, ds.n_val, ds.n_features) == (400, 100, 7)
    assert list(train + val) == [125] * 4


def test_synthetic_default_size_is_60000_by_784_with_10_classes() -> None:
    ds = load_dataset("synthetic")
    assert ds.X_train.shape == (48000, 784) and ds.X_val.shape == (12000, 784)
    train, val = _counts(ds)
    assert list(train) == [4800] * 10 and list(val) == [1200] * 10


@pytest.mark.parametrize("spec", ["digits", "moons", "spirals", SMALL_SYNTHETIC])
def test_arrays_have_the_promised_types(spec: str) -> None:
    ds = load_dataset(spec)
    assert ds.X_train.dtype == ds.X_val.dtype == np.float64
    assert ds.y_train.dtype == ds.y_val.dtype == np.int64
    assert ds.y_train.shape == (ds.n_train,) and ds.y_val.shape == (ds.n_val,)
    assert set(np.unique(ds.y_train)) == set(range(ds.n_classes))
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_val).all()


@pytest.mark.parametrize(
    ("spec", "low", "high"),
    [("spirals:rows=1000,noise=0.01", 0.95, 1.0), ("spirals:rows=1000,noise=2.0", 0.0, 0.75)],
)
def test_spiral_noise_sets_how_learnable_the_arms_are(spec: str, low: float, high: float) -> None:
    assert low <= _knn_accuracy(load_dataset(spec), 5) <= high


def test_synthetic_classes_sit_around_separate_centres() -> None:
    clean = load_dataset("synthetic:rows=400,features=20,classes=4,noise=0.1")
    blurred = load_dataset("synthetic:rows=400,features=20,classes=4,noise=20")
    assert _knn_accuracy(clean, 1) == 1.0
    assert _knn_accuracy(blurred, 1) < 0.6  # chance is 0.25


# --- split and standardisation -----------------------------------------------------------


@pytest.mark.parametrize("spec", ["digits", "breast_cancer", "spirals:rows=301,classes=3"])
@pytest.mark.parametrize("val_fraction", [0.2, 0.33])
def test_split_is_stratified_to_within_one_row(spec: str, val_fraction: float) -> None:
    ds = load_dataset(spec, val_fraction=val_fraction)
    train, val = _counts(ds)
    share = (train + val) / (ds.n_train + ds.n_val)
    assert np.all(np.abs(train - ds.n_train * share) <= 1)
    assert np.all(np.abs(val - ds.n_val * share) <= 1)


def test_train_part_is_standardised_and_constant_columns_become_zero() -> None:
    ds = load_dataset("digits")
    constant = load_digits().data.std(axis=0) == 0  # constant in the whole set, so in train
    assert constant.any()
    assert np.all(ds.X_train[:, constant] == 0) and np.all(ds.X_val[:, constant] == 0)
    varying = ds.X_train.std(axis=0) > 0
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train[:, varying].std(axis=0), 1, rtol=1e-12)


def test_validation_part_uses_the_training_statistics(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 50
    ids = np.arange(n, dtype=np.float64)
    raw = np.column_stack([ids, rng.normal(3.0, 2.0, n), np.full(n, 5.0)])  # (n, 3)
    y = np.arange(n) % 2
    np.savez(tmp_path / "d.npz", X=raw, y=y)
    ds = load_dataset(str(tmp_path / "d.npz"), val_fraction=0.3)
    train_ids, val_ids = _raw_rows(ds, ids)
    train_raw, val_raw = raw[train_ids.astype(int)], raw[val_ids.astype(int)]
    mean, std = train_raw.mean(axis=0), train_raw.std(axis=0)
    std[2] = 1.0  # the constant column: nothing to divide by
    mean[2] = 5.0
    np.testing.assert_allclose(ds.X_val, (val_raw - mean) / std, atol=1e-12)
    np.testing.assert_allclose(ds.X_train, (train_raw - mean) / std, atol=1e-12)
    assert not np.allclose(ds.X_val[:, 1].mean(), 0, atol=1e-3)  # not refitted on val
    assert list(ds.y_val) == list(y[val_ids.astype(int)])


def test_same_seed_gives_identical_arrays() -> None:
    for spec in ("digits", SMALL_SYNTHETIC):
        a, b = load_dataset(spec, seed=3), load_dataset(spec, seed=3)
        for name in ("X_train", "y_train", "X_val", "y_val"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_different_seed_gives_a_different_split() -> None:
    a, b = load_dataset("digits", seed=3), load_dataset("digits", seed=4)
    assert not np.array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.X_val, b.X_val)
    c, d = load_dataset(SMALL_SYNTHETIC, seed=3), load_dataset(SMALL_SYNTHETIC, seed=4)
    assert not np.array_equal(c.X_train, d.X_train)


def test_global_random_state_is_left_alone() -> None:
    np.random.seed(12345)
    before = np.random.random()
    np.random.seed(12345)
    load_dataset("moons:rows=100")
    load_dataset("spirals:rows=100")
    assert np.random.random() == before


def test_arrays_are_read_only_and_repr_is_short() -> None:
    ds = load_dataset(SMALL_SYNTHETIC)
    with pytest.raises(ValueError, match="read-only"):
        ds.X_train[0, 0] = 1.0
    text = repr(ds)
    assert "synthetic" in text and "(400, 7)" in text and "(100, 7)" in text
    assert len(text) < 120


# --- files and spec forms ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet", "npz"])
def test_file_round_trip_keeps_string_labels_with_their_rows(tmp_path: Path, fmt: str) -> None:
    frame = _animals()
    path = _write(frame, tmp_path, fmt)
    ds = load_dataset(str(path), label=None if fmt == "npz" else "species")
    assert ds.classes == ("cat", "dog", "emu")
    assert ds.n_train + ds.n_val == 60 and ds.n_features == 3
    if fmt != "npz":
        assert ds.feature_names == ("id", "weight", "legs")
    train_ids, val_ids = _raw_rows(ds, frame["id"].to_numpy())
    labels = np.array(ds.classes)
    assert list(labels[ds.y_train]) == list(frame["species"].to_numpy()[train_ids.astype(int)])
    assert list(labels[ds.y_val]) == list(frame["species"].to_numpy()[val_ids.astype(int)])
    train, val = _counts(ds)
    assert list(train + val) == [30, 20, 10]


def test_mapping_specs_match_string_specs(tmp_path: Path) -> None:
    a = load_dataset("synthetic:rows=300,features=4,classes=3,noise=0.5", seed=2)
    options = {"rows": 300, "features": 4, "classes": 3, "noise": 0.5}
    b = load_dataset({"name": "synthetic", **options}, seed=2)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    path = _write(_animals(), tmp_path, "csv")
    c = load_dataset({"path": str(path), "label": "species"})
    d = load_dataset(path, label="species")
    np.testing.assert_array_equal(c.X_val, d.X_val)


# --- bad input ---------------------------------------------------------------------------


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    with pytest.raises(ValueError, match="no such file.*nowhere.csv"):
        load_dataset(str(path), label="y")


def test_csv_without_label_argument_asks_for_it(tmp_path: Path) -> None:
    path = _write(_animals(), tmp_path, "csv")
    with pytest.raises(ValueError, match="label.*needs the label column"):
        load_dataset(str(path))


def test_missing_label_column_lists_the_columns(tmp_path: Path) -> None:
    path = _write(_animals(), tmp_path, "parquet")
    with pytest.raises(ValueError, match=r"no column 'specie'.*did you mean 'species'.*'weight'"):
        load_dataset(str(path), label="specie")


def test_non_numeric_feature_columns_are_named(tmp_path: Path) -> None:
    frame = _animals().assign(colour="red")
    path = _write(frame, tmp_path, "csv")
    with pytest.raises(ValueError, match=r"must be numeric, but \['colour'\]"):
        load_dataset(str(path), label="species")


def test_nan_in_a_csv_column_names_it_and_counts_rows(tmp_path: Path) -> None:
    frame = _animals()
    frame.loc[[3, 8], "weight"] = np.nan
    path = _write(frame, tmp_path, "csv")
    with pytest.raises(ValueError, match=r"NaN or infinite values in 2 row\(s\).*\['weight'\]"):
        load_dataset(str(path), label="species")


def test_infinite_value_in_npz_names_x_and_counts_rows(tmp_path: Path) -> None:
    X = np.ones((20, 3))
    X[4, 1] = np.inf
    np.savez(tmp_path / "d.npz", X=X, y=np.arange(20) % 2)
    with pytest.raises(ValueError, match=r"X: NaN or infinite values in 1 row"):
        load_dataset(str(tmp_path / "d.npz"))


def test_missing_labels_are_reported(tmp_path: Path) -> None:
    frame = _animals()
    frame.loc[5, "species"] = None
    path = _write(frame, tmp_path, "csv")
    with pytest.raises(ValueError, match=r"'species'.*1 missing value"):
        load_dataset(str(path), label="species")


def test_a_single_class_is_rejected(tmp_path: Path) -> None:
    frame = _animals().assign(species="cat")
    path = _write(frame, tmp_path, "csv")
    with pytest.raises(ValueError, match="at least 2 classes.*'cat'"):
        load_dataset(str(path), label="species")


def test_fewer_rows_than_classes_is_rejected() -> None:
    with pytest.raises(ValueError, match="rows=5 and classes=10"):
        load_dataset("synthetic:rows=5,features=3,classes=10")


def test_a_class_with_one_row_is_named(tmp_path: Path) -> None:
    frame = _animals()
    frame.loc[0, "species"] = "yak"
    path = _write(frame, tmp_path, "csv")
    with pytest.raises(ValueError, match=r"at least 2 rows per class.*\['yak'\]"):
        load_dataset(str(path), label="species")


def test_validation_part_too_small_for_every_class(tmp_path: Path) -> None:
    path = _write(_animals(), tmp_path, "csv")
    with pytest.raises(ValueError, match="val_fraction=0.02 of 60 rows gives 2 validation"):
        load_dataset(str(path), label="species", val_fraction=0.02)


@pytest.mark.parametrize("val_fraction", [0.0, 1.0, -0.1, 1.5])
def test_val_fraction_outside_the_open_unit_interval(val_fraction: float) -> None:
    with pytest.raises(ValueError, match=rf"val_fraction: must be in \(0, 1\), got {val_fraction}"):
        load_dataset("moons", val_fraction=val_fraction)


def test_npz_length_mismatch(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", X=np.zeros((30, 2)), y=np.arange(29) % 2)
    with pytest.raises(ValueError, match="same rows, got 30 and 29"):
        load_dataset(str(tmp_path / "d.npz"))


def test_npz_x_must_be_two_dimensional(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", X=np.zeros(30), y=np.arange(30) % 2)
    with pytest.raises(ValueError, match=r"X must be 2-D.*\(30,\)"):
        load_dataset(str(tmp_path / "d.npz"))


def test_npz_without_y_lists_what_it_found(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", X=np.zeros((30, 2)), labels=np.arange(30) % 2)
    with pytest.raises(ValueError, match=r"missing \['y'\].*'labels'"):
        load_dataset(str(tmp_path / "d.npz"))


def test_unknown_dataset_name_suggests_and_lists_builtins() -> None:
    with pytest.raises(ValueError, match="unknown name 'digit'.*did you mean 'digits'.*spirals"):
        load_dataset("digit")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("synthetic:row=50", "unknown option 'row'.*did you mean 'rows'"),
        ("moons:features=3", "unknown option 'features'.*options are rows, noise"),
        ("digits:rows=100", "unknown option 'rows'.*takes none"),
        ("synthetic:rows=abc", "option 'rows' must be an integer >= 2, got 'abc'"),
        ("spirals:classes=1", "option 'classes' must be an integer >= 2, got 1"),
        ("spirals:classes=2.5", "option 'classes' must be an integer >= 2, got 2.5"),
        ("moons:noise=-0.1", "option 'noise' must be a finite number >= 0, got -0.1"),
        ("moons:rows", "'rows' in 'moons:rows' must look like key=value"),
    ],
)
def test_bad_options_name_the_option_rule_and_value(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_dataset(spec)


def test_mapping_option_values_are_checked_too() -> None:
    with pytest.raises(ValueError, match="option 'rows' must be an integer >= 2, got True"):
        load_dataset({"name": "moons", "rows": True})


def test_label_is_refused_for_a_builtin() -> None:
    with pytest.raises(ValueError, match="label: applies only to CSV and Parquet"):
        load_dataset("digits", label="target")


def test_negative_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="seed: must be an integer >= 0, got -1"):
        load_dataset("moons", seed=-1)


# --- reading a file's header only (what a sweep checks before it starts) ----------------


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 1 << 16])
def test_count_lines_counts_every_line_end_across_chunk_boundaries(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(datafiles, "CHUNK", chunk)
    cases = [b"", b"a", b"a\n", b"a\nb", b"a\r\nb\r\n", b"a\rb\rc", b"\n\n", b"x\r", b"\r\n\r"]
    cases.append(b"a,b\r\n1,2\r\n\r\n3,4\r5,6\n7,8")
    for data in cases:  # bytes.splitlines splits at \n, \r\n and \r, as pandas does
        assert datafiles.count_lines(io.BytesIO(data)) == len(data.splitlines()), data


def test_count_lines_stops_reading_once_it_has_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datafiles, "CHUNK", 16)
    stream = io.BytesIO(b"1.5,2.5,0\n" * 1000)  # 10 bytes a line, 10,000 bytes
    assert datafiles.count_lines(stream, enough=20) >= 20
    assert stream.tell() <= 20 * 10 + 16  # the lines it needed and at most one chunk more


@pytest.mark.parametrize("fmt", ["csv", "parquet", "npz"])
def test_peek_file_counts_rows_up_to_enough(tmp_path: Path, fmt: str) -> None:
    path = _write(_animals(), tmp_path, fmt)
    label = None if fmt == "npz" else "species"
    assert datafiles.peek_file(path, label, enough=1000) == 60
    assert datafiles.peek_file(path, label, enough=7) == 7


def _bad_files(tmp_path: Path) -> list[tuple[Path, str | None]]:
    """Files (and labels) that break a rule the header alone decides."""
    cases: list[tuple[Path, str | None]] = []
    for fmt in ("csv", "parquet"):
        folder = tmp_path / fmt
        folder.mkdir()
        path = _write(_animals(), folder, fmt)
        cases += [(path, "specie"), (path, None), (path, "Species")]
        only = folder / f"only.{fmt}"
        frame = _animals()[["species"]]
        frame.to_csv(only, index=False) if fmt == "csv" else frame.to_parquet(only, index=False)
        cases.append((only, "species"))
    npz = _write(_animals(), tmp_path, "npz")
    cases.append((npz, "species"))
    X = np.zeros((30, 2))
    for name, arrays in [
        ("no_y", {"X": X, "labels": np.zeros(30)}),
        ("short_y", {"X": X, "y": np.zeros(29)}),
        ("flat_x", {"X": np.zeros(30), "y": np.zeros(30)}),
        ("text_x", {"X": np.full((30, 2), "a"), "y": np.zeros(30)}),
        ("object_x", {"X": np.full((30, 2), None, dtype=object), "y": np.zeros(30)}),
    ]:
        np.savez(tmp_path / f"{name}.npz", **arrays)  # type: ignore[arg-type]
        cases.append((tmp_path / f"{name}.npz", None))
    return cases


def test_peek_file_refuses_what_read_file_refuses_with_the_same_message(tmp_path: Path) -> None:
    for path, label in _bad_files(tmp_path):
        with pytest.raises(ValueError) as read:
            datafiles.read_file(path, label)
        with pytest.raises(ValueError) as peeked:
            datafiles.peek_file(path, label, enough=10)
        told, said = str(peeked.value), str(read.value)
        # peek_file has read the columns when it asks for the label, so it lists them too
        assert told == said or told.startswith(f"{said}; its columns are ["), (path, label)


def test_peek_file_names_the_columns_and_a_close_one(tmp_path: Path) -> None:
    path = _write(_animals(), tmp_path, "csv")
    with pytest.raises(ConfigError) as info:
        datafiles.peek_file(path, "specie", enough=10)
    assert info.value.key == "label"
    assert info.value.reason == (
        f"no column 'specie' in {path} (did you mean 'species'?); "
        "columns are ['id', 'weight', 'legs', 'species']"
    )
    with pytest.raises(ConfigError, match=r"label column's name .*its columns are \['id'"):
        datafiles.peek_file(path, None, enough=10)
    with pytest.raises(ConfigError, match="must be a column name .* got 3"):
        datafiles.peek_file(path, 3, enough=10)


def test_peek_file_reads_the_header_and_counts_lines_but_parses_no_row(tmp_path: Path) -> None:
    path = tmp_path / "tail.csv"
    rows = b"".join(b"%d,%d,%d\n" % (i, i * i, i % 2) for i in range(6))
    path.write_bytes(b"x,x2,label\n" + rows + b"1,2,3,4,5\n\xff\xfe not a row\n")
    # eight lines after the header: the garbage counts as lines, but is never parsed
    assert datafiles.peek_file(path, "label", enough=100) == 8
    with pytest.raises(ValueError):  # reading the rows finds the garbage
        datafiles.read_file(path, "label")


def test_peek_file_names_a_file_it_cannot_read(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.csv: cannot read its header"):
        datafiles.peek_file(empty, "y", enough=10)
    fake = tmp_path / "fake.parquet"
    fake.write_text("a,y\n1,0\n")
    with pytest.raises(ValueError, match=r"fake\.parquet: cannot read its header"):
        datafiles.peek_file(fake, "y", enough=10)
    zipless = tmp_path / "zipless.npz"
    zipless.write_text("X,y\n")
    with pytest.raises(ValueError, match=r"zipless\.npz: cannot read its arrays' headers"):
        datafiles.peek_file(zipless, None, enough=10)


def test_split_sizes_round_the_validation_part_up_as_scikit_learn_does() -> None:
    from sklearn.model_selection import train_test_split

    for rows in (10, 11, 60, 101):
        for val_fraction in (0.01, 0.1, 0.2, 0.25, 0.5, 0.9):
            train, val = train_test_split(np.arange(rows), test_size=val_fraction)
            assert split_sizes(rows, val_fraction) == (len(train), len(val))

"""Load the data a worker trains on: a built-in set or a user's file, split and standardised.

`load_dataset(spec, seed=...)` is the single door. Every source ends the same way: labels
encoded to codes 0..K-1, a stratified train/validation split drawn from `seed` (and, with
`test_fraction`, a test part held out first), and features standardised with statistics
fitted on the training part only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from caviar_common.errors import InputError, suggest
from workers.data.datafiles import Raw, read_file

FILE_SUFFIXES = (".csv", ".parquet", ".npz")
_SPIRAL_TURNS = 1.5  # turns of each spiral arm from the centre to radius 1
_CENTRE_SPREAD = 3.0  # synthetic class centres lie ~3*sqrt(2) apart; noise is per feature


@dataclass(frozen=True, eq=False)
class Dataset:
    """A split, standardised classification set; the arrays are read-only.

    The test part is empty, (0, d) and (0,), unless the dataset was loaded with a
    `test_fraction`: its rows are seen by no trial, for scoring the kept models once at
    the end. `mean` and `scale` are the training part's statistics every part was
    standardised with, so a raw row x maps to (x - mean) / scale; the `*_indices` are each
    part's rows' positions in the data as loaded, in the order of the part's rows.
    """

    name: str
    X_train: np.ndarray  # (n_train, d) float64, standardised with train-only mean/std
    y_train: np.ndarray  # (n_train,) int64 codes in [0, n_classes)
    X_val: np.ndarray  # (n_val, d) float64, standardised with the *train* statistics
    y_val: np.ndarray  # (n_val,) int64
    classes: tuple[Any, ...]  # the original label values, index = code
    feature_names: tuple[str, ...]
    X_test: np.ndarray  # (n_test, d) float64, standardised with the *train* statistics
    y_test: np.ndarray  # (n_test,) int64
    mean: np.ndarray  # (d,) float64, subtracted from every part
    scale: np.ndarray  # (d,) float64, then divided into it
    train_indices: np.ndarray  # (n_train,) int64 row positions in the loaded data
    val_indices: np.ndarray  # (n_val,) int64
    test_indices: np.ndarray  # (n_test,) int64

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[0])

    @property
    def n_val(self) -> int:
        return int(self.X_val.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.X_test.shape[0])

    def __repr__(self) -> str:
        shown = ", ".join(repr(c) for c in self.classes[:6])
        more = ", ..." if self.n_classes > 6 else ""
        test = f", test={self.X_test.shape}" if self.n_test else ""
        return (
            f"Dataset({self.name!r}, train={self.X_train.shape}, val={self.X_val.shape}{test}, "
            f"classes={self.n_classes}: ({shown}{more}))"
        )


@dataclass(frozen=True)
class _Option:
    """What one built-in dataset option must be."""

    kind: type
    check: Callable[[Any], bool]
    says: str


OPTIONS: dict[str, _Option] = {
    "rows": _Option(int, lambda v: v >= 2, "an integer >= 2"),
    "features": _Option(int, lambda v: v >= 1, "an integer >= 1"),
    "classes": _Option(int, lambda v: v >= 2, "an integer >= 2"),
    "noise": _Option(float, lambda v: 0 <= v < math.inf, "a finite number >= 0"),
}


@dataclass(frozen=True)
class _Builtin:
    make: Callable[[Mapping[str, Any], np.random.Generator], Raw]
    defaults: Mapping[str, Any]
    # rows per class, as `make` draws them from these options (known without making them)
    sizes: Callable[[Mapping[str, Any]], tuple[int, ...]]


def _digits(opts: Mapping[str, Any], rng: np.random.Generator) -> Raw:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data, bunch.target, tuple(map(str, bunch.feature_names))


def _breast_cancer(opts: Mapping[str, Any], rng: np.random.Generator) -> Raw:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    return bunch.data, bunch.target, tuple(map(str, bunch.feature_names))


def _moons(opts: Mapping[str, Any], rng: np.random.Generator) -> Raw:
    from sklearn.datasets import make_moons

    seed = int(rng.integers(2**32))
    X, y = make_moons(n_samples=opts["rows"], noise=opts["noise"], random_state=seed)
    return X, y, ("x0", "x1")


def _balanced_labels(rows: int, classes: int) -> np.ndarray:
    """Labels 0..classes-1 in sorted blocks whose sizes differ by at most one."""
    return np.repeat(np.arange(classes), _balanced_sizes({"rows": rows, "classes": classes}))


def _balanced_sizes(opts: Mapping[str, Any]) -> tuple[int, ...]:
    rows, k = opts["rows"], opts["classes"]
    return tuple(rows // k + (c < rows % k) for c in range(k))


def _spirals(opts: Mapping[str, Any], rng: np.random.Generator) -> Raw:
    rows, k = opts["rows"], opts["classes"]
    y = _balanced_labels(rows, k)
    r = np.sqrt(rng.uniform(size=rows))  # sqrt: points spread evenly along each arm
    angle = 2 * np.pi * (_SPIRAL_TURNS * r + y / k)  # arm k starts k/K of a turn further on
    X = np.column_stack([r * np.cos(angle), r * np.sin(angle)])  # (rows, 2)
    X += opts["noise"] * rng.standard_normal(X.shape)
    return X, y, ("x0", "x1")


def _synthetic(opts: Mapping[str, Any], rng: np.random.Generator) -> Raw:
    rows, d, k = opts["rows"], opts["features"], opts["classes"]
    y = _balanced_labels(rows, k)
    centres = rng.standard_normal((k, d)) * (_CENTRE_SPREAD / math.sqrt(d))  # (K, d)
    X = rng.standard_normal((rows, d))  # (rows, d); the one big allocation
    X *= opts["noise"]
    starts = np.searchsorted(y, np.arange(k + 1))
    for c in range(k):  # rows are sorted by class, so each block is a view
        X[starts[c] : starts[c + 1]] += centres[c]
    return X, y, tuple(f"x{i}" for i in range(d))


# scikit-learn's digits and breast cancer sets, rows per class (digit 0..9; malignant, benign)
_DIGITS_SIZES = (178, 182, 177, 183, 181, 182, 181, 179, 174, 180)
_BREAST_CANCER_SIZES = (212, 357)


def _moons_sizes(opts: Mapping[str, Any]) -> tuple[int, ...]:
    rows = opts["rows"]
    return (rows // 2, rows - rows // 2)  # make_moons: the outer moon, then the inner


_BUILTINS: dict[str, _Builtin] = {
    "digits": _Builtin(_digits, MappingProxyType({}), lambda _: _DIGITS_SIZES),
    "breast_cancer": _Builtin(_breast_cancer, MappingProxyType({}), lambda _: _BREAST_CANCER_SIZES),
    "moons": _Builtin(_moons, MappingProxyType({"rows": 1000, "noise": 0.2}), _moons_sizes),
    "spirals": _Builtin(
        _spirals,
        MappingProxyType({"rows": 1000, "classes": 2, "noise": 0.05}),
        _balanced_sizes,
    ),
    "synthetic": _Builtin(
        _synthetic,
        MappingProxyType({"rows": 60000, "features": 784, "classes": 10, "noise": 1.0}),
        _balanced_sizes,
    ),
}


def load_dataset(
    spec: str | os.PathLike[str] | Mapping[str, Any],
    *,
    seed: int = 0,
    val_fraction: float = 0.2,
    label: str | None = None,
    test_fraction: float = 0.0,
) -> Dataset:
    """Load, encode, split and standardise one dataset; bad input raises InputError.

    `spec` is a built-in name (``"digits"``), a name with options
    (``"synthetic:rows=5000,features=20,classes=3"``), a mapping (``{"name": "moons",
    "noise": 0.3}`` or ``{"path": "d.csv", "label": "y"}``) or a path ending in .csv,
    .parquet or .npz. `label` names the label column of a CSV or Parquet file.

    `val_fraction` and `test_fraction` are both shares of all rows (see `split_parts`), so
    adding a test part takes its rows from training and leaves the validation part's size
    as it was. With `test_fraction` 0 the split is the one made before test parts existed.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError("seed", "must be an integer >= 0", seed)
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, int | float):
        raise InputError("val_fraction", "must be a number in (0, 1)", val_fraction)
    if not 0 < val_fraction < 1:
        raise InputError("val_fraction", "must be in (0, 1)", val_fraction)
    check_test_fraction(test_fraction, val_fraction)
    # a third child for the test part: the first two are those of a split without one
    data_seq, split_seq, test_seq = np.random.SeedSequence(int(seed)).spawn(3)
    name, source = _parse_spec(spec, label)
    if isinstance(source, Path):
        X, y, feature_names = read_file(source, label if label is not None else _label(spec))
    else:
        X, y, feature_names = _BUILTINS[name].make(source, np.random.default_rng(data_seq))
    fractions = (val_fraction, float(test_fraction))
    return _prepare(name, X, y, feature_names, fractions, (split_seq, test_seq))


def check_test_fraction(test_fraction: Any, val_fraction: float) -> None:
    """A test share is a number in [0, 1) that leaves training rows beside `val_fraction`
    (a valid validation share); an InputError naming `test_fraction` says which fails."""
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, int | float):
        raise InputError("test_fraction", "must be a number in [0, 1)", test_fraction)
    if not 0 <= test_fraction < 1:
        raise InputError("test_fraction", "must be in [0, 1)", test_fraction)
    if not val_fraction + test_fraction < 1:
        raise InputError(
            "test_fraction",
            f"val_fraction + test_fraction must be < 1 so rows are left for training, "
            f"but val_fraction is {val_fraction}",
            test_fraction,
        )


def check_dataset_spec(spec: str | os.PathLike[str] | Mapping[str, Any]) -> str:
    """Check a dataset spec without loading it (a file must exist); return its name."""
    name, _ = _parse_spec(spec, None)
    return name


def class_sizes(spec: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[int, ...] | None:
    """Rows per class of a built-in dataset `spec` with its options, known without making
    it; None for a file, whose rows are only known by reading it."""
    name, source = _parse_spec(spec, None)
    if isinstance(source, Path):
        return None
    return _BUILTINS[name].sizes(source)


def _label(spec: Any) -> str | None:
    return spec.get("label") if isinstance(spec, Mapping) else None


def _parse_spec(spec: Any, label: str | None) -> tuple[str, Mapping[str, Any] | Path]:
    """Return (name, options) for a built-in or (name, path) for a file."""
    if isinstance(spec, Mapping):
        spec = dict(spec)
        if "path" in spec:
            extra = sorted(set(spec) - {"path", "label"})
            if extra:
                raise InputError(
                    "dataset", f"a file mapping takes only 'path' and 'label', got {extra}"
                )
            if label is not None and spec.get("label", label) != label:
                raise InputError(
                    "label",
                    f"given twice with different values, {spec['label']!r} in the "
                    f"mapping and {label!r} as an argument",
                )
            return _parse_path(spec["path"])
        if "name" not in spec:
            raise InputError(
                "dataset",
                f"a mapping needs 'name' (one of {', '.join(_BUILTINS)}) or 'path', "
                f"got keys {sorted(spec)}",
            )
        name, options = spec.pop("name"), spec
    elif isinstance(spec, os.PathLike) or (
        isinstance(spec, str) and spec.strip().lower().endswith(FILE_SUFFIXES)
    ):
        return _parse_path(spec)
    elif isinstance(spec, str):
        name, _, text = spec.partition(":")
        options = _parse_options(text, spec)
    else:
        raise InputError(
            "dataset", f"must be a name, a path or a mapping, got {spec!r} ({type(spec).__name__})"
        )
    name = _check_name(name)
    if label is not None:
        raise InputError("label", f"applies only to CSV and Parquet files, not to {name!r}")
    return name, _check_options(name, options)


def _parse_path(path: Any) -> tuple[str, Path]:
    if not isinstance(path, str | os.PathLike):
        raise InputError("path", f"must be a file path, got {path!r} ({type(path).__name__})")
    p = Path(path).expanduser()
    if p.suffix.lower() not in FILE_SUFFIXES:
        raise InputError("path", f"must end in {', '.join(FILE_SUFFIXES)}", str(path))
    if not p.is_file():
        raise InputError("path", f"no such file {str(p)!r}")
    return str(path), p


def _parse_options(text: str, spec: str) -> dict[str, Any]:
    """Parse ``rows=5000,noise=0.1`` into {"rows": 5000, "noise": 0.1}."""
    options: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = part.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key:
            raise InputError("", f"dataset option {part!r} in {spec!r} must look like key=value")
        if key in options:
            raise InputError("", f"dataset option {key!r} is given twice in {spec!r}")
        options[key] = _number(raw)
    return options


def _number(raw: str) -> int | float | str:
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    return raw


def _check_name(name: Any) -> str:
    key = str(name).strip().lower()
    if key not in _BUILTINS:
        raise InputError(
            "dataset",
            f"unknown name {name!r}{suggest(key, list(_BUILTINS))}; built-in "
            f"datasets are {', '.join(_BUILTINS)}, and a file path must end in "
            f"{', '.join(FILE_SUFFIXES)}",
        )
    return key


def _check_options(name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The built-in's defaults overridden by `given`, each option checked against its rule."""
    defaults = _BUILTINS[name].defaults
    options = dict(defaults)
    for key, value in given.items():
        if key not in defaults:
            takes = f"its options are {', '.join(defaults)}" if defaults else "it takes none"
            raise InputError(
                name, f"unknown option {key!r}{suggest(str(key), list(defaults))}; {takes}"
            )
        options[key] = _check_option(name, key, value)
    if "classes" in options and options["rows"] < options["classes"]:
        raise InputError(
            name,
            "rows must be at least classes so every class has rows, got "
            f"rows={options['rows']} and classes={options['classes']}",
        )
    return options


def _check_option(name: str, key: str, value: Any) -> Any:
    rule = OPTIONS[key]
    ok_type = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool
    )
    if ok_type and rule.kind is int and float(value).is_integer():
        value = int(value)
    elif ok_type and rule.kind is float:
        value = float(value)
    if not ok_type or not isinstance(value, rule.kind) or not rule.check(value):
        raise InputError(name, f"option {key!r} must be {rule.says}", value)
    return value


def _prepare(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    feature_names: tuple[str, ...],
    fractions: tuple[float, float],
    seqs: tuple[np.random.SeedSequence, np.random.SeedSequence],
) -> Dataset:
    """Encode, split and standardise; `fractions` are (val, test), `seqs` their streams."""
    if len(X) == 0:
        raise InputError(name, "has no rows")
    try:
        classes, codes = np.unique(y, return_inverse=True)
    except TypeError:
        raise InputError(name, "labels mix types that cannot be sorted") from None
    codes = codes.reshape(-1).astype(np.int64, copy=False)
    (val_fraction, test_fraction), (split_seq, test_seq) = fractions, seqs
    rows = stratified_parts(
        codes,
        classes,
        val_fraction,
        split_seq,
        name,
        test_fraction=test_fraction,
        test_seq=test_seq,
    )
    train_idx, val_idx, test_idx = (r.astype(np.int64, copy=False) for r in rows)
    X_train, X_val, X_test = (np.asarray(X[r], np.float64) for r in (train_idx, val_idx, test_idx))
    mean, scale = fit_scaler(X_train)
    for part in (X_train, X_val, X_test):  # fresh copies from the split, so scale in place
        part -= mean
        part /= scale
    parts = {
        "X_train": X_train,
        "y_train": codes[train_idx],
        "X_val": X_val,
        "y_val": codes[val_idx],
        "X_test": X_test,
        "y_test": codes[test_idx],
        "mean": mean,
        "scale": scale,
        "train_indices": train_idx,
        "val_indices": val_idx,
        "test_indices": test_idx,
    }
    for a in parts.values():
        a.setflags(write=False)  # shared by every trial, as in Ray's object store
    return Dataset(name, classes=tuple(classes.tolist()), feature_names=feature_names, **parts)


def stratified_split(
    codes: np.ndarray,
    classes: np.ndarray,
    val_fraction: float,
    seq: np.random.SeedSequence,
    name: str = "dataset",
) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation row indices with each class's share kept to within one row."""
    train_idx, val_idx, _ = stratified_parts(codes, classes, val_fraction, seq, name)
    return train_idx, val_idx


def stratified_parts(
    codes: np.ndarray,
    classes: np.ndarray,
    val_fraction: float,
    seq: np.random.SeedSequence,
    name: str = "dataset",
    *,
    test_fraction: float = 0.0,
    test_seq: np.random.SeedSequence | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, validation and test row indices, sized by `split_parts`, each stratified.

    The test rows are held out first, drawn from `test_seq`: each class gives its share of
    all rows to within one row. Train and validation then split the rest, drawn from `seq`,
    each class giving its share of the rest to within one row. With `test_fraction` 0 the
    test part is empty, `test_seq` is not drawn from, and the train/validation split is the
    one made before test parts existed (stored sweeps rely on it).
    """
    counts = np.bincount(codes, minlength=len(classes)).tolist()
    check_split(counts, val_fraction, name, classes.tolist(), test_fraction=test_fraction)
    _, n_val, n_test = split_parts(len(codes), val_fraction, test_fraction)
    rest = np.arange(len(codes))
    test_idx = rest[:0]
    if n_test:
        if test_seq is None:
            raise TypeError("stratified_parts: a test part needs its own stream, test_seq")
        rest, test_idx = _stratified_draw(rest, codes, n_test, test_seq)
    train_idx, val_idx = _stratified_draw(rest, codes[rest], n_val, seq)
    return train_idx, val_idx, test_idx


def _stratified_draw(
    rows: np.ndarray, codes: np.ndarray, n: int, seq: np.random.SeedSequence
) -> tuple[np.ndarray, np.ndarray]:
    """(the rows kept, `n` rows drawn) of `rows`, whose classes are `codes`, stratified."""
    from sklearn.model_selection import train_test_split

    random_state = int(seq.generate_state(1)[0])
    kept, drawn = train_test_split(rows, test_size=n, stratify=codes, random_state=random_state)
    return kept, drawn


def check_split(
    counts: Sequence[int],
    val_fraction: float | None,
    name: str = "dataset",
    labels: Sequence[Any] | None = None,
    *,
    test_fraction: float = 0.0,
) -> None:
    """What a stratified split needs of a dataset with `counts` rows per class (`labels`:
    the classes' values, for the message; by default their codes): two classes or more,
    two rows of each, and, unless `val_fraction` is None, a row of every class in both
    parts. An InputError naming `name` says which fails.

    With a `test_fraction` (and a `val_fraction`), also a row of every class in each of
    the three parts, and two rows of every class left for training and validation after
    the test part is drawn; an InputError naming `test_fraction` says which fails.
    """
    labels = list(range(len(counts))) if labels is None else list(labels)
    k, n = len(counts), sum(counts)
    if k < 2:
        raise InputError(name, f"needs at least 2 classes, but every label is {labels[0]!r}")
    if min(counts) < 2:
        few = [label for label, count in zip(labels, counts, strict=True) if count < 2]
        raise InputError(
            name, f"a stratified split needs at least 2 rows per class, but class(es) {few} have 1"
        )
    if val_fraction is None:
        return
    n_val = split_sizes(n, val_fraction)[1]
    if min(n_val, n - n_val) < k:
        raise InputError(
            name,
            f"val_fraction={val_fraction} of {n} rows gives {n_val} validation and "
            f"{n - n_val} training rows; each part needs at least one row per class ({k})",
        )
    if test_fraction:
        _check_test_part(counts, labels, val_fraction, test_fraction, name)


def _check_test_part(
    counts: Sequence[int],
    labels: Sequence[Any],
    val_fraction: float,
    test_fraction: float,
    name: str,
) -> None:
    """The test part's own needs (the validation part's are checked before)."""
    k, n = len(counts), sum(counts)
    n_train, n_val, n_test = split_parts(n, val_fraction, test_fraction)
    if min(n_train, n_test) < k:
        raise InputError(
            "test_fraction",
            f"must leave at least one row per class ({k}) in each part of {name}",
            test_fraction,
            f"with val_fraction={val_fraction} its {n} rows split into {n_train} training, "
            f"{n_val} validation and {n_test} test rows",
        )
    # a class gives the test part its share of the rows, rounded up at most
    left = [count - -(-count * n_test // n) for count in counts]
    few = [label for label, rest in zip(labels, left, strict=True) if rest < 2]
    if few:
        raise InputError(
            "test_fraction",
            f"must leave at least 2 rows of every class of {name} for training and validation",
            test_fraction,
            f"class(es) {few} would keep only 1",
        )


def split_sizes(rows: int, val_fraction: float) -> tuple[int, int]:
    """(training rows, validation rows) of a split; validation rounds up, as in
    train_test_split."""
    n_val = math.ceil(val_fraction * rows)
    return rows - n_val, n_val


def split_parts(rows: int, val_fraction: float, test_fraction: float = 0.0) -> tuple[int, int, int]:
    """(training, validation, test) rows of a split; both fractions are shares of all `rows`,
    rounded up as in train_test_split, and training keeps what is left (it may be < 1 for
    fractions that `check_split` refuses)."""
    n_train, n_val = split_sizes(rows, val_fraction)
    n_test = math.ceil(test_fraction * rows)
    return n_train - n_test, n_val, n_test


def fit_scaler(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and std of X; a constant column gets its value and 1, so it maps to 0."""
    mean, scale = X.mean(axis=0), X.std(axis=0)  # (d,), (d,)
    lo, hi = X.min(axis=0), X.max(axis=0)
    constant = lo == hi  # exact test: a rounded std of a constant column need not be 0
    mean[constant] = lo[constant]
    scale[constant] = 1.0
    return mean, scale

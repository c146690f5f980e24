"""Read a user's dataset file (CSV, Parquet or .npz) as raw features, labels and names.

Only data is read: .npz files are loaded without pickle, and every problem with the file
is a ValueError that names the file and what is wrong.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from caviar_common.errors import suggest

Raw = tuple[np.ndarray, np.ndarray, tuple[str, ...]]  # X (n, d), y (n,), feature names


def read_file(path: Path, label: str | None) -> Raw:
    if path.suffix.lower() == ".npz":
        if label is not None:
            raise ValueError(f"label: an .npz file holds arrays 'X' and 'y', got label={label!r}")
        return _read_npz(path)
    if label is None:
        raise ValueError(f"label: a CSV or Parquet file needs the label column's name ({path})")
    import pandas as pd

    frame = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    frame.columns = [str(c) for c in frame.columns]
    if label not in frame.columns:
        raise ValueError(
            f"label: no column {label!r} in {path}{suggest(label, list(frame.columns))}; "
            f"columns are {list(frame.columns)}"
        )
    features = frame.drop(columns=[label])
    text = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if text:
        raise ValueError(f"{path}: feature columns must be numeric, but {text} are not")
    if features.shape[1] == 0:
        raise ValueError(f"{path}: no feature columns besides the label {label!r}")
    missing = frame[label].isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"label: column {label!r} in {path} has {int(missing.sum())} missing value(s), "
            f"first at row {int(np.argmax(missing))}"
        )
    X = features.to_numpy(dtype=np.float64)
    _check_finite(X, tuple(features.columns), str(path))
    return X, frame[label].to_numpy(), tuple(features.columns)


def _read_npz(path: Path) -> Raw:
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in ("X", "y") if k not in npz.files]
            if missing:
                raise ValueError(
                    f"{path}: an .npz dataset needs arrays 'X' and 'y'; missing {missing}, "
                    f"found {npz.files}"
                )
            X, y = npz["X"], npz["y"]
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise ValueError(f"{path}: holds object arrays, which are not loaded") from None
        raise
    if X.ndim != 2:
        raise ValueError(f"{path}: X must be 2-D (rows, features), got shape {X.shape}")
    if y.ndim != 1:
        raise ValueError(f"{path}: y must be 1-D (rows,), got shape {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"{path}: X and y must have the same rows, got {len(X)} and {len(y)}")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"{path}: X must be numeric, got dtype {X.dtype}")
    X = np.asarray(X, dtype=np.float64)
    names = tuple(f"x{i}" for i in range(X.shape[1]))
    _check_finite(X, names, f"{path}: X")
    if np.issubdtype(y.dtype, np.floating) and not np.isfinite(y).all():
        raise ValueError(f"{path}: y has {int((~np.isfinite(y)).sum())} NaN or infinite value(s)")
    return X, y, names


def _check_finite(X: np.ndarray, names: tuple[str, ...], where: str) -> None:
    bad = ~np.isfinite(X)  # (n, d)
    if bad.any():
        cols = [names[j] for j in np.flatnonzero(bad.any(axis=0))]
        raise ValueError(
            f"{where}: NaN or infinite values in {int(bad.any(axis=1).sum())} row(s), "
            f"in column(s) {cols}"
        )

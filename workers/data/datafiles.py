"""Read a user's dataset file (CSV, Parquet or .npz) as raw features, labels and names.

Only data is read: .npz files are loaded without pickle, and every problem with the file
is an InputError that names the file and what is wrong. `peek_file` checks what a file's
header tells (the label, the columns, the number of rows) without reading its rows, with
the same rules `read_file` applies, so a sweep can refuse a file before anything starts.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from caviar_common.errors import InputError, suggest

Raw = tuple[np.ndarray, np.ndarray, tuple[str, ...]]  # X (n, d), y (n,), feature names
CHUNK = 1 << 16  # bytes read at a time when counting a CSV file's lines


def read_file(path: Path, label: str | None) -> Raw:
    label = check_label(path, label)
    if label is None:
        return _read_npz(path)
    import pandas as pd

    frame = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    frame.columns = [str(c) for c in frame.columns]
    check_columns(path, tuple(frame.columns), label)
    features = frame.drop(columns=[label])
    text = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if text:
        raise InputError(str(path), f"feature columns must be numeric, but {text} are not")
    missing = frame[label].isna().to_numpy()
    if missing.any():
        raise InputError(
            "label",
            f"column {label!r} in {path} has {int(missing.sum())} missing value(s), "
            f"first at row {int(np.argmax(missing))}",
        )
    X = features.to_numpy(dtype=np.float64)
    _check_finite(X, tuple(features.columns), str(path))
    return X, frame[label].to_numpy(), tuple(features.columns)


def check_label(path: Path, label: object, columns: Sequence[str] | None = None) -> str | None:
    """The label column's name for a CSV or Parquet file, None for an .npz file.

    A table needs its label column named and an .npz file (arrays X and y) takes none;
    `columns`, when known, are listed in the message.
    """
    if path.suffix.lower() == ".npz":
        if label is not None:
            raise InputError("label", f"an .npz file holds arrays 'X' and 'y', got label={label!r}")
        return None
    if label is None:
        found = f"; its columns are {list(columns)}" if columns is not None else ""
        raise InputError(
            "label", f"a CSV or Parquet file needs the label column's name ({path}){found}"
        )
    if not isinstance(label, str):
        raise InputError(
            "label", f"must be a column name (a string; quote a number), got {label!r}"
        )
    return label


def check_columns(path: Path, columns: Sequence[str], label: str) -> None:
    """The label is one of a table's columns, and at least one feature column is left."""
    if label not in columns:
        raise InputError(
            "label",
            f"no column {label!r} in {path}{suggest(label, list(columns))}; "
            f"columns are {list(columns)}",
        )
    if len(columns) < 2:
        raise InputError(str(path), f"no feature columns besides the label {label!r}")


def peek_file(path: Path, label: object, enough: int) -> int:
    """Check a dataset file as far as its header tells, and count its rows up to `enough`.

    Reads a CSV file's header line and counts its lines (stopping at `enough`), a Parquet
    file's footer, an .npz file's array headers; no row is parsed. The count is exact for
    Parquet and .npz and at least the number of rows for CSV (blank lines and quoted line
    breaks count too), so a file refused for too few rows is refused by `read_file` too.
    """
    if path.suffix.lower() == ".npz":
        check_label(path, label)
        rows = _peek_npz(path)
        return enough if rows is None else min(rows, enough)
    columns, rows = _peek_table(path, enough)
    name = check_label(path, label, columns)
    if name is not None:  # always, for a table
        check_columns(path, columns, name)
    return rows


def count_lines(stream: IO[bytes], enough: int | None = None) -> int:
    """Lines in a binary stream, ended by \\n, \\r\\n or \\r (a last line need not be ended).

    Reads CHUNK bytes at a time and stops once `enough` lines are seen (then returns at
    least `enough`); pandas reads the same three line ends.
    """
    lines, last, after_cr = 0, b"", False
    while chunk := stream.read(CHUNK):
        lines += chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
        if after_cr and chunk.startswith(b"\n"):
            lines -= 1  # a \r\n split between two chunks is one line end
        after_cr, last = chunk.endswith(b"\r"), chunk[-1:]
        if enough is not None and lines >= enough:
            return lines
    return lines + (last not in (b"", b"\n", b"\r"))


def _peek_table(path: Path, enough: int) -> tuple[tuple[str, ...], int]:
    """A CSV or Parquet file's column names, as pandas reads them, and its rows up to `enough`."""
    import pandas as pd

    try:
        if path.suffix.lower() == ".csv":
            columns = pd.read_csv(path, nrows=0).columns
            with path.open("rb") as stream:
                rows = max(count_lines(stream, enough + 1) - 1, 0)  # less the header line
        else:
            import pyarrow.parquet as pq

            with pq.ParquetFile(path) as parquet:
                columns = parquet.schema_arrow.empty_table().to_pandas().columns
                rows = parquet.metadata.num_rows
    except (ValueError, OSError) as err:  # an empty file, bad quoting, not Parquet at all
        raise InputError(str(path), f"cannot read its header: {err}") from None
    return tuple(str(c) for c in columns), min(rows, enough)


def _peek_npz(path: Path) -> int | None:
    """The rows of an .npz dataset from the headers of its arrays X and y (None: unknown)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n.removesuffix(".npy") for n in archive.namelist()]
            headers = {
                n.removesuffix(".npy"): _npy_header(archive, n)
                for n in archive.namelist()
                if n in ("X.npy", "y.npy")
            }
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise InputError(str(path), f"cannot read its arrays' headers: {err}") from None
    _check_npz_names(path, names)
    x, y = headers.get("X"), headers.get("y")
    if x is None or y is None:  # stored in a format whose header is not read here
        return None
    (x_shape, x_dtype), (y_shape, y_dtype) = x, y
    if x_dtype.hasobject or y_dtype.hasobject:
        raise InputError(str(path), "holds object arrays, which are not loaded")
    _check_npz_shapes(path, x_shape, y_shape, x_dtype)
    return x_shape[0]


def _npy_header(archive: zipfile.ZipFile, name: str) -> tuple[tuple[int, ...], np.dtype] | None:
    """Shape and dtype of one array in an .npz archive; None for a .npy format other than
    1.0 and 2.0 (3.0 is written only for structured dtypes with non-Latin-1 field names)."""
    from numpy.lib import format as npy

    with archive.open(name) as f:
        version = npy.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            return None
        read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, _, dtype = read(f)
    return shape, dtype


def _read_npz(path: Path) -> Raw:
    try:
        with np.load(path, allow_pickle=False) as npz:
            _check_npz_names(path, npz.files)
            X, y = npz["X"], npz["y"]
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise InputError(str(path), "holds object arrays, which are not loaded") from None
        raise
    _check_npz_shapes(path, X.shape, y.shape, X.dtype)
    X = np.asarray(X, dtype=np.float64)
    names = tuple(f"x{i}" for i in range(X.shape[1]))
    _check_finite(X, names, f"{path}: X")
    if np.issubdtype(y.dtype, np.floating) and not np.isfinite(y).all():
        raise InputError(
            str(path), f"y has {int((~np.isfinite(y)).sum())} NaN or infinite value(s)"
        )
    return X, y, names


def _check_npz_names(path: Path, files: Sequence[str]) -> None:
    missing = [k for k in ("X", "y") if k not in files]
    if missing:
        raise InputError(
            str(path),
            f"an .npz dataset needs arrays 'X' and 'y'; missing {missing}, found {list(files)}",
        )


def _check_npz_shapes(
    path: Path, x_shape: tuple[int, ...], y_shape: tuple[int, ...], x_dtype: np.dtype
) -> None:
    if len(x_shape) != 2:
        raise InputError(str(path), f"X must be 2-D (rows, features), got shape {x_shape}")
    if len(y_shape) != 1:
        raise InputError(str(path), f"y must be 1-D (rows,), got shape {y_shape}")
    if x_shape[0] != y_shape[0]:
        raise InputError(
            str(path), f"X and y must have the same rows, got {x_shape[0]} and {y_shape[0]}"
        )
    if not (np.issubdtype(x_dtype, np.number) or np.issubdtype(x_dtype, np.bool_)):
        raise InputError(str(path), f"X must be numeric, got dtype {x_dtype}")


def _check_finite(X: np.ndarray, names: tuple[str, ...], where: str) -> None:
    bad = ~np.isfinite(X)  # (n, d)
    if bad.any():
        cols = [names[j] for j in np.flatnonzero(bad.any(axis=0))]
        raise InputError(
            where,
            f"NaN or infinite values in {int(bad.any(axis=1).sum())} row(s), in column(s) {cols}",
        )

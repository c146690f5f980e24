"""The sweep file's `dataset:`: checked before Ray starts, a file by its header and length
(read without reading its rows), a built-in by the rows per class its options give, both
by the rules the worker's loader applies."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from caviar_common.errors import InputError
from orchestrator.sweepfile.checks import SweepError
from orchestrator.sweepfile.fields import TOP
from workers.data.datafiles import peek_file
from workers.data.datasets import (
    FILE_SUFFIXES,
    check_dataset_spec,
    check_split,
    class_sizes,
    split_sizes,
)

# Each part of the split needs a row of every class, and a dataset has at least 2 classes
# (workers/data/datasets.py: stratified_split).
MIN_SPLIT_PART = 2


def check_dataset(raw: Any, base_dir: Path, val_fraction: float | None) -> str | Mapping[str, Any]:
    """The dataset spec with a file's path taken from `base_dir`; with `val_fraction` None
    (itself a problem) a file's length is not checked against it."""
    spec = raw
    if isinstance(spec, str) and spec.lower().endswith(FILE_SUFFIXES):
        spec = str(_resolve(spec, base_dir))
    elif isinstance(spec, Mapping) and "path" in spec:
        spec = {**spec, "path": str(_resolve(spec["path"], base_dir))}
    try:
        name = check_dataset_spec(spec)
        sizes = class_sizes(spec)
    except InputError as err:
        raise SweepError("dataset", str(err)) from None
    if sizes is not None:
        _check_builtin_split(name, sizes, val_fraction)
    elif isinstance(spec, str) and spec.lower().endswith(FILE_SUFFIXES):
        _check_data_file(Path(spec), None, "dataset", val_fraction, raw)
    elif isinstance(spec, Mapping) and "path" in spec:
        _check_data_file(Path(spec["path"]), spec.get("label"), "dataset.label", val_fraction)
    return spec


def _check_builtin_split(name: str, sizes: tuple[int, ...], val_fraction: float | None) -> None:
    """A built-in whose options leave too few rows per class for any split is a problem of
    `dataset`; one whose split at this val_fraction leaves a part without a row of every
    class, of `val_fraction`. With `val_fraction` None (itself a problem) only the first."""
    try:
        check_split(sizes, None, name)
    except InputError as err:
        # the built-ins with a rows option deal rows out evenly: two a class from 2k rows
        raise SweepError("dataset", f"{err}; give it at least {2 * len(sizes)} rows") from None
    if val_fraction is None:
        return
    try:
        check_split(sizes, val_fraction, name)
    except InputError as err:
        raise SweepError("val_fraction", f"{err}; choose a val_fraction nearer 0.5") from None


def _check_data_file(
    path: Path,
    label: Any,
    label_key: str,
    val_fraction: float | None,
    written: str | None = None,
) -> None:
    """The worker's rules for a dataset file that its header and length decide, reading no row.

    `written` is a bare file name as the sweep file gives it, for the hint to name its label.
    """
    needed = rows_needed(TOP["val_fraction"].default if val_fraction is None else val_fraction)
    try:
        rows = peek_file(path, label, needed)
    except InputError as err:
        if err.key != "label":  # a problem with the file, which the message names
            raise SweepError("dataset", str(err)) from None
        hint = f"; write dataset: {{path: {written}, label: COLUMN}}" if written else ""
        raise SweepError(label_key, err.reason + hint) from None
    if rows >= needed:
        return
    each = (
        f"each part needs at least {MIN_SPLIT_PART} rows (a row of every class, and a dataset "
        f"has at least {MIN_SPLIT_PART} classes)"
    )
    if rows < 2 * MIN_SPLIT_PART:
        raise SweepError(
            "dataset", f"{path} has at most {rows} data row(s), too few to split: {each}"
        )
    if val_fraction is None:  # its own problem; the rows it needs are not known
        return
    n_train, n_val = split_sizes(rows, val_fraction)
    raise SweepError(
        "val_fraction",
        f"{val_fraction} of the {rows} rows in {path} gives {n_val} validation and {n_train} "
        f"training rows; {each}, so at this val_fraction the file needs at least {needed} rows",
    )


def rows_needed(val_fraction: float) -> int:
    """The fewest rows whose split at `val_fraction` leaves MIN_SPLIT_PART rows in each part.

    Both parts only grow with the rows, so every larger dataset splits too.
    """

    def splits(rows: int) -> bool:
        return min(split_sizes(rows, val_fraction)) >= MIN_SPLIT_PART

    low, high = 2 * MIN_SPLIT_PART - 1, 2 * MIN_SPLIT_PART  # low fails, high is to be found
    while not splits(high):
        if high >= 2**62:  # a val_fraction so small that no file splits
            return high
        low, high = high, 2 * high
    while high - low > 1:  # bisect: low fails, high splits
        mid = (low + high) // 2
        low, high = (low, mid) if splits(mid) else (mid, high)
    return high


def _resolve(path: Any, base_dir: Path) -> Path | Any:
    if not isinstance(path, str):
        return path
    p = Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p

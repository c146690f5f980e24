"""The sweep file's `dataset:`: checked before Ray starts, a file by its header and length
(read without reading its rows), a built-in by the rows per class its options give, both
by the rules the worker's loader applies; and `test_fraction` beside `val_fraction`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    check_test_fraction,
    class_sizes,
    split_parts,
    split_sizes,
)

# Each part of the split needs a row of every class, and a dataset has at least 2 classes
# (workers/data/datasets.py: stratified_parts).
MIN_SPLIT_PART = 2


def check_fractions(val_fraction: float | None, test_fraction: float | None) -> float | None:
    """`test_fraction`, once val_fraction + test_fraction < 1 holds (so rows are left for
    training): the worker's rule, a problem of `test_fraction`. Either None (itself a
    problem) checks nothing."""
    if val_fraction is not None and test_fraction is not None:
        check_test_fraction(test_fraction, val_fraction)
    return test_fraction


def check_dataset(
    raw: Any, base_dir: Path, val_fraction: float | None, test_fraction: float | None = 0.0
) -> str | Mapping[str, Any]:
    """The dataset spec with a file's path taken from `base_dir`; with `val_fraction` None
    (itself a problem) a file's length is not checked against it, and with `test_fraction`
    None (a problem too) the split is checked as one without a test part."""
    test_fraction = (test_fraction or 0.0) if val_fraction is not None else 0.0
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
        _check_builtin_split(name, sizes, val_fraction, test_fraction)
    elif isinstance(spec, str) and spec.lower().endswith(FILE_SUFFIXES):
        _check_data_file(Path(spec), None, "dataset", val_fraction, raw, test_fraction)
    elif isinstance(spec, Mapping) and "path" in spec:
        path, label = Path(spec["path"]), spec.get("label")
        _check_data_file(path, label, "dataset.label", val_fraction, test_fraction=test_fraction)
    return spec


def _check_builtin_split(
    name: str, sizes: tuple[int, ...], val_fraction: float | None, test_fraction: float = 0.0
) -> None:
    """A built-in whose options leave too few rows per class for any split is a problem of
    `dataset`; one whose split at this val_fraction leaves a part without a row of every
    class, of `val_fraction`; one that has enough for that but not for the test part too,
    of `test_fraction`. With `val_fraction` None (itself a problem) only the first."""
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
    if not test_fraction:
        return
    try:
        check_split(sizes, val_fraction, name, test_fraction=test_fraction)
    except InputError as err:  # names test_fraction: the validation part was checked above
        hint = f"{err.hint}; choose a smaller test_fraction"
        raise SweepError(err.path, err.rule, err.value, hint) from None


def _check_data_file(
    path: Path,
    label: Any,
    label_key: str,
    val_fraction: float | None,
    written: str | None = None,
    test_fraction: float = 0.0,
) -> None:
    """The worker's rules for a dataset file that its header and length decide, reading no row.

    `written` is a bare file name as the sweep file gives it, for the hint to name its label.
    """
    val = TOP["val_fraction"].default if val_fraction is None else val_fraction
    needed = rows_needed(val, test_fraction)
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
    needed_val = rows_needed(val_fraction)  # <= needed, so `rows` is exact below it
    if rows < needed_val:
        n_train, n_val = split_sizes(rows, val_fraction)
        raise SweepError(
            "val_fraction",
            f"{val_fraction} of the {rows} rows in {path} gives {n_val} validation and "
            f"{n_train} training rows; {each}, so at this val_fraction the file needs at least "
            f"{needed_val} rows",
        )
    n_train, n_val, n_test = split_parts(rows, val_fraction, test_fraction)
    if min(n_train, n_test) < MIN_SPLIT_PART:
        raise SweepError(
            "test_fraction",
            f"{test_fraction} of the {rows} rows in {path} gives {n_test} test, {n_val} "
            f"validation and {n_train} training rows; {each}",
            hint="choose a smaller test_fraction",
        )


def rows_needed(val_fraction: float, test_fraction: float = 0.0) -> int:
    """The fewest rows from which on a split at these fractions leaves MIN_SPLIT_PART rows in
    each part.

    Without a test part these are the fewest rows that split: both parts only grow with the
    rows. With one, training keeps the rows less two rounded-up parts, which may lose a row
    as the rows grow; so these are the fewest from which it surely keeps enough (it keeps
    more than rows * (1 - val_fraction - test_fraction) - 2), and fewer rows may still split,
    as `split_parts` tells.
    """
    if not test_fraction:

        def splits(rows: int) -> bool:
            return min(split_sizes(rows, val_fraction)) >= MIN_SPLIT_PART

        return _first_rows(splits)
    keep = 1 - val_fraction - test_fraction

    def surely_splits(rows: int) -> bool:
        _, n_val, n_test = split_parts(rows, val_fraction, test_fraction)
        return min(n_val, n_test) >= MIN_SPLIT_PART and rows * keep >= MIN_SPLIT_PART + 1

    return _first_rows(surely_splits)


def _first_rows(splits: Callable[[int], bool]) -> int:
    """The fewest rows for which `splits`, a test that holds from some count on, holds."""
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

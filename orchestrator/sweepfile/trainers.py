"""The trainer a sweep file names: found and checked before anything starts, and the code
that has to travel with the sweep so that workers elsewhere can import it.

A module is looked up in the sweep file's folder first, then on the Python path. One that
is installed (under site-packages) is left where it is; any other is shipped to the
workers: the module's file, or the whole top-level package it belongs to.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from workers.protocol import DEFAULT_TRAINER, load_trainer_class, split_name


@dataclass(frozen=True)
class TrainerRef:
    """A checked trainer: its name, the file it was imported from, and what to ship."""

    name: str  # "module:Class"
    file: Path | None  # the module's source file
    ship: Path | None  # the top-level module file or package folder; None: installed

    def __repr__(self) -> str:
        where = f" from {self.file}" if self.file else ""
        return f"TrainerRef({self.name!r}{where})"


def check_trainer(name: str, base_dir: Path) -> TrainerRef:
    """Import the trainer `name` with `base_dir` (the sweep file's folder) first on the
    path; a ConfigError on ``trainer`` says what is wrong."""
    if name != DEFAULT_TRAINER:
        with search_path(base_dir):
            where = f"the sweep file's folder ({Path(base_dir).resolve()}) or on the Python path"
            load_trainer_class(name, where)
    return imported(name)


def imported(name: str) -> TrainerRef:
    """The trainer `name` as `check_trainer` imported it (its module stays in sys.modules;
    else it is imported from the Python path)."""
    if name == DEFAULT_TRAINER:
        return TrainerRef(name, None, None)
    module_name, _ = split_name(name)
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    source = getattr(module, "__file__", None)
    file = Path(source).resolve() if source else None
    return TrainerRef(name, file, _to_ship(module_name, file))


def shipped(name: str) -> Path | None:
    """What of the trainer `name` goes to the workers: None for the built-in MLP or an
    installed module."""
    return imported(name).ship


@contextlib.contextmanager
def search_path(folder: Path) -> Iterator[None]:
    """`folder` first on sys.path while importing; modules imported stay imported."""
    entry = str(Path(folder).resolve())
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def _to_ship(module_name: str, file: Path | None) -> Path | None:
    """The top-level module or package of `module_name`, unless it is installed."""
    if file is None:
        return None
    installed = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    if any(file.is_relative_to(Path(p).resolve()) for p in installed):
        return None
    depth = module_name.count(".")
    is_package = file.name == "__init__.py"
    if depth == 0 and not is_package:
        return file
    top = file.parent
    for _ in range(depth if is_package else depth - 1):
        top = top.parent
    return top

"""The trainer protocol: what a worker drives, and the checks on what a trainer gives back.

A trainer is a class built as ``cls(config, dataset, seed)`` — its settings (a dict), the
split dataset (`workers.data.datasets.Dataset`) and the trial's `np.random.SeedSequence` — with

- ``step() -> record``: train one epoch; a dict (or an object with ``to_dict()``) holding at
  least ``epoch`` (1 for the first) and the sweep's metric. Other numeric fields are kept
  as extra curve columns; ``diverged: True`` (or a non-finite metric) stops the trial.
- ``state_dict() -> dict[str, np.ndarray]``: everything needed to go on exactly, as numpy
  arrays (checkpoints are .npz files, read without pickle).
- ``load_state_dict(state)``: restore it, on a fresh instance built the same way.

`workers.mlp.trainer:Trainer` (the batch-norm MLP) is the reference implementation.
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from caviar_common.curves import VALUE_COLUMNS, is_extra
from caviar_common.errors import ConfigError, suggest

DEFAULT_TRAINER = "workers.mlp.trainer:Trainer"
# Names the built-in trainer had in earlier versions: sweep files and stores that name it so
# still read as the built-in MLP.
FORMER_NAMES = frozenset({"workers.trainer:Trainer"})


def canonical_trainer(name: Any) -> Any:
    """The trainer's current name: the built-in MLP's former names become DEFAULT_TRAINER."""
    return DEFAULT_TRAINER if isinstance(name, str) and name in FORMER_NAMES else name


METHODS = ("step", "state_dict", "load_state_dict")
RESERVED = "caviar."  # state keys the worker adds to a checkpoint (the epoch, the flag)
_DOTTED = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
TRAINER_NAME = re.compile(rf"^({_DOTTED}):({_DOTTED})$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_metric(metric: Any, trainer: str = DEFAULT_TRAINER) -> str:
    """The metric a trainer's records must carry: a curve column of the built-in trainer's
    records, or for another trainer any field name it reports."""
    if trainer == DEFAULT_TRAINER:
        if metric not in VALUE_COLUMNS:
            raise ConfigError(
                "metric",
                f"must be one of {', '.join(VALUE_COLUMNS)}, got {metric!r}"
                f"{suggest(str(metric), VALUE_COLUMNS)}",
            )
    elif not isinstance(metric, str) or not _FIELD.match(metric):
        raise ConfigError(
            "metric", f"must be the name of a field the trainer's step() returns, got {metric!r}"
        )
    return metric


def split_name(name: Any) -> tuple[str, str]:
    """("package.module", "Class") of "package.module:Class"; a ConfigError otherwise."""
    match = TRAINER_NAME.match(name) if isinstance(name, str) else None
    if match is None:
        raise ConfigError(
            "trainer",
            f"must be 'module:Class' (such as mypackage.models:MyTrainer), got {name!r}",
        )
    return match.group(1), match.group(2)


def load_trainer_class(name: str, looked_in: str = "the Python path") -> type:
    """Import the class `name` ("module:Class") names and check it has the three methods.

    Every failure is a ConfigError on ``trainer`` that says what was looked for, and a
    module not found, where (`looked_in`).
    """
    module_name, qualname = split_name(name)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name is not None and module_name.startswith(err.name):
            raise ConfigError(
                "trainer",
                f"no module named {err.name!r} (from {name!r}) in {looked_in}",
            ) from None
        raise ConfigError(
            "trainer", f"importing {module_name!r} failed: {type(err).__name__}: {err}"
        ) from None
    except Exception as err:  # the module's own code raised while it was imported
        raise ConfigError(
            "trainer", f"importing {module_name!r} failed: {type(err).__name__}: {err}"
        ) from None
    found: Any = module
    for part in qualname.split("."):
        if not hasattr(found, part):
            classes = [n for n, v in vars(module).items() if inspect.isclass(v)]
            raise ConfigError(
                "trainer",
                f"module {module_name!r} ({getattr(module, '__file__', '?')}) has no "
                f"{part!r}{suggest(part, classes)}",
            )
        found = getattr(found, part)
    if not inspect.isclass(found):
        raise ConfigError(
            "trainer", f"{name} is a {type(found).__name__}, not a class; name the class"
        )
    missing = [m for m in METHODS if not callable(getattr(found, m, None))]
    if missing:
        raise ConfigError(
            "trainer",
            f"{name} has no {', '.join(m + '()' for m in missing)}; a trainer needs "
            f"{', '.join(m + '()' for m in METHODS)}",
        )
    return found


def check_state(name: str, state: Any) -> dict[str, np.ndarray]:
    """A `state_dict()` as a checkpoint may hold it: string keys, numeric numpy arrays."""
    if not isinstance(state, Mapping):
        raise ValueError(
            f"{name}.state_dict() must return a dict of numpy arrays, got {type(state).__name__}"
        )
    checked: dict[str, np.ndarray] = {}
    for key, value in state.items():
        if not isinstance(key, str) or not key or key.startswith(RESERVED):
            raise ValueError(
                f"{name}.state_dict(): key {key!r} is not allowed; keys are non-empty "
                f"strings, and names starting with {RESERVED!r} are the worker's own"
            )
        if not isinstance(value, np.ndarray) or value.dtype.hasobject:
            kind = "an object array" if isinstance(value, np.ndarray) else type(value).__name__
            raise ValueError(
                f"{name}.state_dict()[{key!r}] must be a numpy array of numbers, strings or "
                f"booleans, got {kind}; checkpoints are .npz files read without pickle "
                f"(wrap a number as np.array(x), a list as np.asarray(x))"
            )
        checked[key] = value
    return checked


def epoch_record(name: str, raw: Any, metric: str, epoch: int, seconds: float) -> dict[str, Any]:
    """What one `step()` returned, as the record the driver stores: `epoch` (checked to be
    the one due), the standard curve columns (NaN where the trainer gives none; `seconds`
    timed here when it gives none), the divergence flag and message, and every other
    numeric field as an extra column."""
    fields = raw.to_dict() if hasattr(raw, "to_dict") and not isinstance(raw, Mapping) else raw
    if not isinstance(fields, Mapping):
        raise ValueError(
            f"{name}.step() must return a dict with 'epoch' and {metric!r}, got "
            f"{type(raw).__name__}"
        )
    if fields.get("epoch") != epoch:
        raise ValueError(
            f"{name}.step() returned epoch {fields.get('epoch')!r}; this was epoch {epoch} "
            "(count epochs from 1, and restore the count in load_state_dict)"
        )
    if metric not in fields:
        raise ValueError(
            f"{name}.step() returned no {metric!r}, the sweep's metric; it returned "
            f"{', '.join(map(str, fields))}{suggest(metric, [str(k) for k in fields])}"
        )
    value = _number(fields[metric])
    if value is None:
        raise ValueError(
            f"{name}.step() returned {metric}={fields[metric]!r}; the sweep's metric must "
            "be a number"
        )
    record: dict[str, Any] = {"epoch": epoch}
    for column in VALUE_COLUMNS:
        number = _number(fields.get(column))
        record[column] = math.nan if number is None else number
    if _number(fields.get("seconds")) is None:
        record["seconds"] = seconds
    for key, field in fields.items():
        number = _number(field)
        if number is not None and is_extra(str(key)):
            record[str(key)] = number
    record["diverged"] = bool(fields.get("diverged", False)) or not math.isfinite(value)
    record["message"] = str(fields.get("message", "")) or (
        f"{metric} became {value} at epoch {epoch}; the trial stopped"
        if not math.isfinite(value)
        else ""
    )
    return record


def _number(value: Any) -> float | None:
    """A float of a plain or numpy number (not a bool); None for anything else."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return None
    if isinstance(value, np.number) and not np.isrealobj(value):
        return None
    return float(value)

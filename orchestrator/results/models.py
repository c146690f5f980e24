"""The trained models a sweep kept, given back: rebuilt, scored on the test split, exported.

A sweep keeps its best trials' weights, each at the epoch of its best value (the value the
leaderboard shows; see caviar_common/keeping.py). `rebuild` turns one back into a model:
for the built-in batch-norm MLP a `FittedMLP` (raw rows in: it standardises them with the
training split's statistics and uses batch norm's running statistics), for a trainer of
one's own a fresh instance built as the trial built it, with its `load_state_dict` applied.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from caviar_common.errors import InputError
from caviar_common.seeds import sequence, trial_seed
from orchestrator.core.spec import SweepSpec
from orchestrator.results.overwrite import refuse_clash
from orchestrator.sweepfile.trainers import search_path
from workers.data.datasets import Dataset
from workers.mlp.fitted import FittedMLP
from workers.mlp.trainer import state_from_bytes
from workers.protocol import DEFAULT_TRAINER, RESERVED, load_trainer_class

MODEL_FILE = "weights.npz"
INFO_FILE = "model.json"


def rebuild(
    spec: SweepSpec,
    dataset: Dataset,
    config: Mapping[str, Any],
    number: int,
    data: bytes,
    base_dir: Path = Path("."),
) -> Any:
    """The model the kept weights `data` of trial `number` (with `config`) are; a trainer
    of one's own is imported with `base_dir` (the sweep file's folder) first on the path."""
    state = state_from_bytes(data)
    epoch = int(state.pop(RESERVED + "epoch", state.get("epoch", 0)))
    state.pop(RESERVED + "diverged", None)
    if spec.trainer == DEFAULT_TRAINER:
        fitted = FittedMLP.from_state(
            state,
            mean=dataset.mean,
            scale=dataset.scale,
            classes=np.asarray(dataset.classes),
            feature_names=dataset.feature_names,
        )
        fitted.epoch = epoch
        return fitted
    with search_path(base_dir):
        cls = load_trainer_class(spec.trainer)
    model = cls(dict(config), dataset, sequence(trial_seed(spec.seed, number)))
    model.load_state_dict(state)
    return model


def held_out_scores(model: Any, dataset: Dataset) -> tuple[float, float]:
    """(cost, accuracy) of a rebuilt model on the dataset's test split: the built-in MLP's
    as its validation figures are computed; a trainer of one's own scores through its
    `evaluate(X, y) -> (cost, accuracy)` if it has one (NaN otherwise)."""
    if isinstance(model, FittedMLP):
        return model.evaluate_standardised(dataset.X_test, dataset.y_test)
    evaluate = getattr(model, "evaluate", None)
    if not callable(evaluate):
        return math.nan, math.nan
    cost, accuracy = evaluate(dataset.X_test, dataset.y_test)
    return float(cost), float(accuracy)


HeldOutScorer = Callable[[Mapping[str, Any], int, bytes], tuple[float, float]]


def held_out_scorer(spec: SweepSpec, dataset: Dataset, base_dir: Path = Path(".")) -> HeldOutScorer:
    """What the tuning loop calls once the sweep has ended, for each kept model: its test
    cost and accuracy, from the trial's configuration, number and kept weights."""

    def score(config: Mapping[str, Any], number: int, data: bytes) -> tuple[float, float]:
        return held_out_scores(rebuild(spec, dataset, config, number, data, base_dir), dataset)

    return score


def pick(kept: list[str], ranked: list[str], which: str | int) -> str:
    """The trial id `which` names among the kept ones: "best" (the best-ranked trial with
    a kept model), a trial id ("trial-0007") or a number (7)."""
    if not kept:
        raise InputError(
            "model",
            "the sweep kept no model (it ran with keep: 0, or with a Caviar from before "
            "models were kept)",
        )
    if which == "best":
        return next(t for t in ranked if t in kept)
    number = isinstance(which, int | np.integer) and not isinstance(which, bool)
    digits = isinstance(which, str) and which.isdigit()
    tid = f"trial-{int(which):04d}" if number or digits else str(which)
    if tid not in kept:
        raise InputError(
            "model",
            f"no model kept of {which!r}; the sweep kept {', '.join(sorted(kept))} (its "
            "best `keep` trials) — or 'best'",
        )
    return tid


def write_export(
    out: Path, model: Any, info: Mapping[str, Any], data: bytes, force: bool = False
) -> list[Path]:
    """Write the model's weights (npz, no pickle) and its description (JSON) into `out`;
    earlier files there are overwritten only with `force`."""
    files = [out / MODEL_FILE, out / INFO_FILE]
    refuse_clash(files, force)
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(model, FittedMLP):
        model.save(files[0])
    else:  # a trainer of one's own: its state as the sweep kept it
        files[0].write_bytes(data)
    files[1].write_text(json.dumps(dict(info), indent=2, sort_keys=True, default=_plain) + "\n")
    return files


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, tuple | set):
        return list(value)
    return str(value)

"""The YAML sweep file: read safely (loader.py: a key given twice is refused), checked
strictly, turned into a SweepSpec.

Every mistake is a SweepError whose message starts with the path of the offending entry in
the file (``space.learning_rate.low``), then the rule and the value. The whole file is
checked before anything is reported, and every problem found is raised together as one
`SweepErrors` (a SweepError); a section that depends on one with a problem (the sampled
configurations on the space, a data file's length on val_fraction) is not checked.

The keys, their defaults and their limits are the table in orchestrator/sweepfile/fields.py,
which `caviar schema` also reads. Everything that can be checked before Ray starts is
checked here: a dataset file's header and length, the trainer's import, and a budget that
could ever end.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from caviar_common.errors import ConfigError
from orchestrator.core.spec import METRICS, SweepSpec
from orchestrator.schedulers.settings import (
    SCHEDULERS,
    SchedulerSpec,
    check_scheduler,
    check_settings,
)
from orchestrator.sweepfile.checks import (
    Problems,
    SweepError,
    SweepErrors,
    get,
    known_keys,
    mapping,
    one_of,
    raise_all,
    required,
    value,
)
from orchestrator.sweepfile.data import (
    MIN_SPLIT_PART,
    check_dataset,
    check_fractions,
    rows_needed,
)
from orchestrator.sweepfile.fields import (
    BUDGET,
    CUSTOM_METRIC,
    MAX_EPOCHS,
    MAX_TRIALS,
    TOP,
    TOP_KEYS,
)
from orchestrator.sweepfile.loader import SweepLoader as _Loader
from orchestrator.sweepfile.resources_section import resources_of
from orchestrator.sweepfile.space_section import check_model, check_sampled_configs, check_space
from orchestrator.sweepfile.stages_section import check_epoch_budget
from orchestrator.sweepfile.stages_section import sampler as sampler_of
from orchestrator.sweepfile.stages_section import stages as stages_of
from orchestrator.sweepfile.trainers import check_trainer
from orchestrator.sweepfile.warm_start import check_warm_start
from workers.protocol import DEFAULT_TRAINER, canonical_trainer, split_name

__all__ = [
    "MAX_EPOCHS",
    "MAX_TRIALS",
    "MIN_SPLIT_PART",
    "TOP_KEYS",
    "SweepError",
    "SweepErrors",
    "load_sweep",
    "parse_sweep",
    "rows_needed",
]


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and check a sweep file; a relative dataset path is taken from the file's folder.

    The results directory, like any command-line path, is relative to the working directory.
    Raises `SweepErrors` listing every problem: a missing file, bad YAML or a key given
    twice, else every mistake in the sweep.
    """
    path = Path(path)
    if not path.is_file():
        raise SweepErrors([SweepError("", f"no sweep file at {str(path)!r}")])
    try:
        raw = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as err:
        raise SweepErrors([SweepError("", f"{path} is not valid YAML: {err}")]) from None
    return parse_sweep(raw, base_dir=path.parent)


def parse_sweep(raw: Any, base_dir: Path = Path("."), *, import_trainer: bool = True) -> SweepSpec:
    """Check a sweep read from YAML (a mapping) and build its SweepSpec; `base_dir` (the
    file's folder) is where a relative dataset path and a trainer's module are looked for.
    With `import_trainer` False, a trainer's name is checked but its module not imported
    (reading a finished sweep's shape for its report runs none of its code), and a warm
    start's earlier store is not read (orchestrator/sweepfile/warm_start.py).

    Raises `SweepErrors` listing every problem, in the order of the file's keys.
    """
    try:
        top = mapping("", raw, "the sweep file")
    except SweepError as err:
        raise SweepErrors([err]) from None
    problems = Problems()
    problems.attempt(known_keys, "", top, TOP_KEYS)
    name = problems.attempt(lambda: value("name", TOP["name"], required(top, "name", "")))
    trainer, custom = _trainer(top, base_dir, problems, import_trainer)
    val_fraction = problems.attempt(get, top, "val_fraction", TOP)
    test_fraction = problems.attempt(get, top, "test_fraction", TOP)
    test_fraction = problems.attempt(check_fractions, val_fraction, test_fraction)
    dataset = problems.attempt(
        check_dataset,
        top.get("dataset", TOP["dataset"].default),
        base_dir,
        val_fraction,
        test_fraction,
    )
    seed = problems.attempt(get, top, "seed", TOP)
    metric = problems.attempt(get, top, "metric", {"metric": CUSTOM_METRIC} if custom else TOP)
    direction = problems.attempt(_direction, top, metric)
    mark = len(problems.found)
    model = problems.attempt(check_model, top.get("model", {}), custom)
    fixed = [str(k) for k in top["model"]] if isinstance(top.get("model"), Mapping) else []
    space = problems.attempt(check_space, top.get("space"), fixed, custom)
    model_and_space_ok = not problems.since(mark)
    sampler = problems.attempt(sampler_of, "sampler", top.get("sampler", TOP["sampler"].default))
    budget = problems.attempt(_section, top, "budget", BUDGET, problems) or {}
    # budget.trials is checked even when every stage gives its own trials: a value given
    # is never let through for being unused (its problem, if any, is reported once)
    problems.attempt(get, budget, "trials", BUDGET, "budget")
    stages = problems.attempt(stages_of, top.get("stages"), budget, sampler, space)
    max_epochs = problems.attempt(get, budget, "max_epochs", BUDGET, "budget")
    epoch_budget = problems.attempt(get, budget, "epochs", BUDGET, "budget")
    problems.attempt(check_epoch_budget, epoch_budget, max_epochs)
    time_limit = problems.attempt(get, budget, "time_limit", BUDGET, "budget")
    scheduler = problems.attempt(
        _scheduler, top.get("scheduler", TOP["scheduler"].default), max_epochs
    )
    resources = problems.attempt(resources_of, top.get("resources"))
    results = problems.attempt(get, top, "results", TOP)
    keep = problems.attempt(get, top, "keep", TOP)
    own = Path(results).expanduser() / name if results is not None and name is not None else None
    warm_start = problems.attempt(
        check_warm_start,
        top.get("warm_start"),
        base_dir,
        space if model_and_space_ok else None,
        model,
        (metric, direction) if metric is not None and direction is not None else None,
        own,
        read=import_trainer,
    )
    if not custom and model_and_space_ok and space is not None and model is not None:
        problems.attempt(check_sampled_configs, space, model, seed or 0)
    problems.raise_any(list(top), TOP_KEYS)
    # every value is known now: a problem in any of them was raised above
    assert name is not None and dataset is not None and seed is not None
    assert metric is not None and direction is not None and model is not None
    assert space is not None and stages is not None and scheduler is not None
    assert max_epochs is not None and resources is not None and results is not None
    assert val_fraction is not None and keep is not None and test_fraction is not None
    return SweepSpec(
        name=name,
        dataset=dataset,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
        metric=metric,
        direction=direction,
        model=model,
        space=space,
        stages=stages,
        scheduler=scheduler,
        max_epochs=max_epochs,
        time_limit=time_limit,
        resources=resources,
        results=Path(results).expanduser(),
        source=top,
        trainer=trainer,
        keep=keep,
        warm_start=warm_start,
        epoch_budget=epoch_budget,
    )


# -- sections -----------------------------------------------------------------------------


def _trainer(
    top: Mapping[str, Any], base_dir: Path, problems: Problems, imports: bool = True
) -> tuple[str, bool]:
    """The trainer's name, and whether it is one of the user's own (`custom`): then the
    model's settings and the space's keys are its own too. A trainer that fails to import
    is reported and still counts as custom, so that its settings are not called unknown."""
    if "trainer" not in top:
        return DEFAULT_TRAINER, False
    name = canonical_trainer(top["trainer"])
    try:
        if imports:
            check_trainer(name, base_dir)
        else:
            split_name(name)
    except ConfigError as err:
        problems.add(SweepError("trainer", err.reason))
    return (name if isinstance(name, str) else DEFAULT_TRAINER), name != DEFAULT_TRAINER


def _direction(top: Mapping[str, Any], metric: str | None) -> str | None:
    """The direction given, else the metric's own; a metric only the trainer knows needs
    one. None when the metric itself is a problem."""
    if "direction" in top:
        return str(value("direction", TOP["direction"], top["direction"]))
    if metric is None:
        return None
    if metric not in METRICS:
        raise SweepError(
            "direction",
            f"is required for metric {metric!r}, which the trainer reports: write "
            "direction: minimize or maximize",
        )
    return METRICS[metric]


def _section(
    top: Mapping[str, Any], key: str, table: Mapping[str, Any], problems: Problems
) -> dict[str, Any]:
    """A mapping of settings (budget, resources); a key outside its table is a problem, and
    the keys in it are still checked."""
    section = mapping(key, top.get(key, {}), "a mapping")
    problems.attempt(known_keys, key, section, tuple(table))
    return section


def _scheduler(raw: Any, max_epochs: int | None) -> SchedulerSpec:
    """The scheduler with each of its settings checked on its own; with `max_epochs` None
    (a problem of its own) no grace period is compared with it."""
    limit = MAX_EPOCHS if max_epochs is None else max_epochs
    if isinstance(raw, Mapping):
        fields = {str(k): v for k, v in raw.items()}
        name = one_of("scheduler.name", required(fields, "name", "scheduler"), SCHEDULERS)
        fields.pop("name")
    else:
        name, fields = one_of("scheduler", raw, SCHEDULERS), {}
    errors = []
    for key, setting in fields.items():  # each by its own rule; then the rules that tie them
        try:
            check_settings(name, {key: setting})
        except ConfigError as err:
            errors.append(SweepError(f"scheduler.{err.key}", err.rule, err.value, err.hint))
    raise_all(errors)
    try:
        return check_scheduler(name, fields, limit)
    except ConfigError as err:
        raise SweepError(f"scheduler.{err.key}", err.rule, err.value, err.hint) from None

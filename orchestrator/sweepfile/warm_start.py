"""The sweep file's `warm_start:` section: an earlier sweep to start from, checked and read
before anything runs.

`from` names the earlier sweep's run directory, taken from the sweep file's folder as a
dataset file is. Its store is read here, once, through orchestrator.storage (read-only, in
one snapshot), and its trials placed in this sweep's space (orchestrator/search/warm_start.py)
into the spec's `WarmStart`, so the tuning loop reads no file. A missing directory, one
without a store, a store this Caviar cannot read, this sweep's own directory, or a sweep
that optimised another metric or direction is a problem of `warm_start.from`: `caviar
validate` refuses it and nothing is written. A sweep of another metric is refused rather
than half used: none of its values could be compared with this sweep's, so it would only
give configurations, ranked by a number this sweep does not optimise.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from caviar_common.states import TrialState
from orchestrator.core.spec import WarmStart, default_direction, sign_of
from orchestrator.search.space import Space
from orchestrator.search.warm_start import first_configs, placed
from orchestrator.storage import DB_NAME, Reader, StoreError, SweepMeta, TrialRow, database
from orchestrator.sweepfile.checks import (
    Problems,
    SweepError,
    get,
    known_keys,
    mapping,
    raise_all,
    required,
    value,
)
from orchestrator.sweepfile.fields import TOP, WARM_START

SECTION = "warm_start"
FROM = f"{SECTION}.from"
Reached = dict[int, tuple[float, float]]  # trial number -> (epoch, time) it reached its best


def check_warm_start(
    raw: Any,
    base_dir: Path,
    space: Space | None,
    fixed: Mapping[str, Any] | None,
    objective: tuple[str, str] | None,
    own: Path | None = None,
    *,
    read: bool = True,
) -> WarmStart | None:
    """The warm start of `warm_start: {from, top_k}` (None when the key is absent or null).

    `space`, `fixed` (the model's settings) and `objective` (metric, direction) are None
    when they have problems of their own; then what depends on them is not checked, and
    None is returned. `own` is this sweep's run directory, which cannot be its own warm
    start. With `read` False (a recorded sweep read back for its report) the section is
    checked but the earlier store not opened: the result carries no trials.
    """
    if raw is None:
        return None
    section = mapping(SECTION, raw, "a mapping {from: RUN_DIR, top_k: K}")
    problems = Problems()
    problems.attempt(known_keys, SECTION, section, tuple(WARM_START))
    given = problems.attempt(
        lambda: value(FROM, WARM_START["from"], required(section, "from", SECTION))
    )
    top_k = problems.attempt(get, section, "top_k", WARM_START, SECTION)
    raise_all(problems.found)
    assert given is not None and top_k is not None
    path = _resolve(given, base_dir)
    if not read:
        return WarmStart(given, path, top_k)
    _check_directory(given, path, own)
    try:
        reader = Reader.open(path)
    except StoreError as err:
        raise SweepError(
            FROM,
            "must hold a sweep store this Caviar can read",
            given,
            str(err).removeprefix("run: "),
        ) from None
    with reader:
        if objective is not None:
            _check_objective(given, path, reader.meta(), objective)
        if space is None or fixed is None or objective is None:
            return None
        rows = reader.trials()
        inside = [r for r in (_placed(row, space, fixed) for row in rows) if r is not None]
        reached = _reached(reader, objective[0], inside) if top_k > 0 else {}
    ended = [r for r in inside if r.state != TrialState.FAILED]
    return WarmStart(
        given,
        path,
        top_k,
        evidence=tuple(ended),
        first=tuple(first_configs(inside, top_k, sign_of(objective[1]), reached)),
        outside=len(rows) - len(inside),
        failed=len(inside) - len(ended),
    )


def _resolve(given: str, base_dir: Path) -> Path:
    """The run directory, a relative one taken from the sweep file's folder."""
    path = Path(given).expanduser()
    return path if path.is_absolute() else base_dir / path


def _check_directory(given: str, path: Path, own: Path | None) -> None:
    """An existing directory holding a store, and not this sweep's own."""
    rule = f"must be the run directory of an earlier sweep (holding its {DB_NAME})"
    if not path.is_dir():
        raise SweepError(FROM, rule, given, f"there is no directory {path}")
    if own is not None and path.resolve() == own.expanduser().resolve():
        raise SweepError(FROM, rule, given, "that is this sweep's own run directory")
    if not database(path).is_file():
        raise SweepError(
            FROM,
            rule,
            given,
            f"{path} has no {DB_NAME}; name the folder `caviar run` wrote (RESULTS/NAME)",
        )


def _check_objective(given: str, path: Path, meta: SweepMeta, objective: tuple[str, str]) -> None:
    """The earlier sweep optimised the same metric in the same direction as this one."""
    metric = str(meta.source.get("metric", TOP["metric"].default))
    direction = str(meta.source.get("direction") or default_direction(metric))
    if (metric, direction) != objective:
        raise SweepError(
            FROM,
            "must be a sweep of the same metric and direction as this one",
            given,
            f"{path} optimised {metric} ({direction}) and this sweep {objective[0]} "
            f"({objective[1]}): their values cannot be compared",
        )


def _placed(row: TrialRow, space: Space, fixed: Mapping[str, Any]) -> TrialRow | None:
    """The trial with its configuration as this sweep trains it, and its coordinates in
    this sweep's unit cube; None outside the space."""
    config = placed(space, fixed, row.config)
    if config is None:
        return None
    return replace(row, config=config, unit=tuple(float(u) for u in space.encode(config)))


def _reached(reader: Reader, metric: str, rows: list[TrialRow]) -> Reached:
    """Of trials whose best value another shares, the first epoch at which each recorded
    it, and when: how `Run.best` breaks such ties. Only ties need the curves read."""
    counts = Counter(r.best for r in rows if r.best is not None)
    tied = {r.trial_id: r for r in rows if r.best is not None and counts[r.best] > 1}
    out: Reached = {}
    if not tied:
        return out
    for point in reader.points():
        row = tied.get(point.trial_id)
        if row is None or point.value(metric) != row.best:
            continue
        when = (float(point.epoch), math.inf if point.at is None else point.at)
        out[row.number] = min(out.get(row.number, when), when)
    return out

"""Which configurations a stage of a sweep tries: the sampler's points, decoded, with lineage.

The first stage samples the whole unit cube; each later stage with a zoom samples the box
around the best trials of the stage before. Random, Sobol and grid stages are planned
whole, every random choice coming from the sweep's master seed and the stage's number, so
the same seed plans the same sweep; a TPE stage proposes each trial when a worker is free
(`propose_one`), from the results so far.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from caviar_common.errors import InputError
from caviar_common.seeds import proposal_seed, sampler_seed
from orchestrator.core.spec import Stage, SweepSpec
from orchestrator.search.proposed_by import WARM_START
from orchestrator.search.samplers import SweepWarning, make_sampler
from orchestrator.search.space import Box, Space
from orchestrator.search.tpe import Evidence, TpeModel, suggest
from orchestrator.search.zoom import top_k, zoom_box

OPEN_SHOWN = 20  # the configurations `caviar sample` shows of an open first stage


@dataclass(frozen=True)
class Proposal:
    """A configuration to try, with the stage and box it came from."""

    config: dict[str, Any]
    stage: int
    box: Box
    unit: tuple[float, ...]  # the configuration's own unit coordinates (NaN: inactive)
    proposed_by: str = ""  # the sampler, or for tpe: "tpe" (the model) or "warm-up"


@dataclass(frozen=True)
class Finished:
    """What planning needs to know of a finished trial."""

    config: Mapping[str, Any]
    value: float  # its best metric value; NaN or inf if it never had a finite one
    stage: int
    epochs: int = 0  # epochs it reached: a trial pruned at epoch 1 ranks below a finished one


def stage_box(
    space: Space,
    stages: Sequence[Stage],
    index: int,
    finished: Sequence[Finished],
    boxes: Sequence[Box],
    sign: float,
) -> Box:
    """The box stage `index` samples in, given the boxes of the stages before it."""
    if index == 0:
        return Box.full(len(space.dims))
    stage, parent = stages[index], boxes[index - 1]
    if stage.zoom_top_k is None:
        return parent
    previous = [(f.config, f.value, f.epochs) for f in finished if f.stage == index - 1]
    return zoom_box(space, parent, top_k(previous, stage.zoom_top_k, sign), stage.zoom_shrink)


def propose(
    space: Space,
    fixed: Mapping[str, Any],
    stage: Stage,
    index: int,
    box: Box,
    seed: int,
    count: int | None = None,
    start: int = 0,
) -> list[Proposal]:
    """The configurations stage `index` tries inside `box`: its trials, or `count` of them
    from the `start`-th on (an open stage's next ones). A sampler's points are one sequence
    for the stage, so they come out the same however they are asked for; a grid is always
    whole."""
    n = stage.trials if count is None else count
    if n is None and stage.sampler != "grid":
        raise ValueError(f"stage {index + 1} is open: ask for a count of its trials")
    rng = np.random.default_rng(sampler_seed(seed, index))
    sampler = make_sampler(stage.sampler, stage.grid_points)
    points = sampler.points(start + (n or 0), box, space, rng)
    if stage.sampler != "grid":
        points = points[start:]
    proposals, seen = [], set()
    for point in points:
        config = space.decode(point, fixed, box)
        key = repr(sorted(config.items()))
        if stage.sampler == "grid" and key in seen:
            continue  # a grid over a parameter that its condition switched off
        seen.add(key)
        proposals.append(_proposal(space, config, index, box, stage.sampler))
    if stage.sampler == "grid":
        warnings.warn(
            f"sampler: the grid of stage {index + 1} implies {len(proposals)} trials over "
            f"{', '.join(space.dims)}, whatever the budget says; random or sobol sampling "
            "tries more values of each hyperparameter for the same number of trials",
            SweepWarning,
            stacklevel=2,
        )
    return proposals


def _proposal(space: Space, config: dict[str, Any], index: int, box: Box, by: str) -> Proposal:
    unit = tuple(float(u) for u in space.encode(config))
    return Proposal(config, index, box, unit, by)


def propose_one(
    spec: SweepSpec, index: int, box: Box, history: Sequence[Evidence] | TpeModel, number: int
) -> Proposal:
    """Trial `number` of sequential stage `index`, from the evidence so far: a list of it,
    or the model a running sweep keeps up to date (the same evidence, the same proposal)."""
    stage = spec.stages[index]
    seed = proposal_seed(spec.seed, number)
    if isinstance(history, TpeModel):
        made = history.suggest(box, number, seed, stage.warmup)
    else:
        made = suggest(spec.space, spec.model, box, history, number, seed, stage.warmup)
    return _proposal(spec.space, made.config, index, box, made.proposed_by)


def stage_boxes(
    space: Space, stages: Sequence[Stage], index: int, finished: Sequence[Finished], sign: float
) -> list[Box]:
    """The boxes of stages 0..index, recomputed from the history of finished trials."""
    boxes: list[Box] = []
    for i in range(index + 1):
        boxes.append(stage_box(space, stages, i, finished, boxes, sign))
    return boxes


def plan_stage(
    space: Space,
    fixed: Mapping[str, Any],
    stages: Sequence[Stage],
    index: int,
    finished: Sequence[Finished],
    sign: float,
    seed: int,
) -> list[Proposal]:
    """Stage `index`'s configurations from the history of finished trials and the seed.

    The boxes of the stages before it are recomputed from the same history, so planning
    keeps no state between stages (and a resumed sweep plans exactly what it would have).
    A sequential stage (tpe) has no plan: its trials are proposed one at a time.
    """
    if stages[index].sequential:
        return []
    box = stage_boxes(space, stages, index, finished, sign)[index]
    return propose(space, fixed, stages[index], index, box, seed)


def warm_proposals(spec: SweepSpec, index: int) -> list[Proposal]:
    """A warm start's configurations, best first: the first trials of the first stage (in
    its full box), besides the stage's own; none for a later stage."""
    if spec.warm_start is None or index != 0:
        return []
    full = Box.full(len(spec.space.dims))
    return [_proposal(spec.space, dict(c), 0, full, WARM_START) for c in spec.warm_start.first]


def first_stage(spec: SweepSpec, count: int | None = None) -> list[Proposal]:
    """The configurations the sweep's first stage tries (`count` of them, if given).

    Later stages depend on results, so this is all of a sweep that can be planned before it
    runs: what `caviar sample` prints and `caviar validate` checks. Of a TPE stage, that is
    its random warm-up.
    """
    if count is not None and count < 1:
        raise InputError("count", "must be an integer >= 1", count)
    stage = spec.stages[0]
    if count is not None or stage.trials is None:
        stage = replace(stage, trials=count or OPEN_SHOWN)
    box = stage_box(spec.space, spec.stages, 0, [], [], spec.sign)
    assert stage.trials is not None
    if stage.sequential:  # its warm-up: what comes after depends on results
        known = min(stage.trials, max(1, stage.warmup))
        return [propose_one(spec, 0, box, [], number) for number in range(1, known + 1)]
    return propose(spec.space, spec.model, stage, 0, box, spec.seed)

"""Plain-text views of a sweep for the terminal: its summary and a table of configurations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from orchestrator.core.planner import Proposal
from orchestrator.core.spec import SweepSpec, WarmStart
from orchestrator.search.space import Choice, Constant, Param


def describe_param(param: Param) -> str:
    if isinstance(param, Choice):
        return f"choice {list(param.values)}"
    if isinstance(param, Constant):
        return f"constant {param.value!r}"
    low, high = getattr(param, "low"), getattr(param, "high")  # noqa: B009
    return f"{param.kind} [{low:g}, {high:g}]"


def describe_sweep(spec: SweepSpec) -> list[str]:
    """A few lines that say what the sweep will do."""
    settings = ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in spec.scheduler.settings.items()
    )
    lines = [
        f"sweep {spec.name!r} on dataset {spec.dataset!r}; results in {spec.run_dir}",
        f"metric {spec.metric} ({spec.direction}); at most {spec.max_epochs} epochs per trial; "
        f"each trial reserves {spec.resources}",
        describe_budget(spec),
        f"scheduler {spec.scheduler.name}" + (f" ({settings})" if settings else ""),
    ]
    if spec.model:
        lines.append("fixed: " + ", ".join(f"{k}={v}" for k, v in spec.model.items()))
    lines.append(f"space ({len(spec.space.dims)} sampled):")
    for name, param in spec.space.params.items():
        when = spec.space.conditions.get(name)
        cond = ""
        if when:
            cond = "  when " + ", ".join(f"{k} in {list(v)}" for k, v in when.items())
        lines.append(f"  {name:<14} {describe_param(param)}{cond}")
    for i, stage in enumerate(spec.stages):
        zoom = ""
        if stage.zoom_top_k is not None:
            zoom = f", zoomed around the top {stage.zoom_top_k} (shrink {stage.zoom_shrink:g})"
        sampler = stage.sampler + (
            f" ({stage.grid_points} points)" if stage.sampler == "grid" else ""
        )
        first = len(spec.warm_start.first) if spec.warm_start and i == 0 else 0
        warm = f"{first} warm-start trials, then " if first else ""
        lines.append(f"stage {i + 1}: {warm}{_stage_size(spec, i)}, {sampler}{zoom}")
    if spec.warm_start is not None:
        lines.append(describe_warm_start(spec.warm_start))
    return lines


def describe_budget(spec: SweepSpec) -> str:
    """What the budget means: how many trials, how much compute, when it stops."""
    total = spec.total_trials
    if total is not None:
        text = f"budget: {total:,} trials (at most {total * spec.max_epochs:,} epochs)"
    else:
        spend = []
        if spec.epoch_budget is not None:
            spend.append(f"{spec.epoch_budget:,} epochs in all are trained")
        if spec.time_limit is not None:
            spend.append(f"{spec.time_limit:g} s have passed")
        text = f"budget: trials open, proposed until {' or '.join(spend)}"
        if spec.epoch_budget is not None:
            full = -(-spec.epoch_budget // spec.max_epochs)
            text += (
                f" ({full:,} trials if each trains all {spec.max_epochs} epochs; more where "
                "the scheduler stops trials early)"
            )
    if total is not None and spec.epoch_budget is not None:
        text += f"; or until {spec.epoch_budget:,} epochs in all are trained"
    if total is not None and spec.time_limit is not None:
        text += f"; or until {spec.time_limit:g} s have passed"
    if spec.time_limit is not None:
        text += "; time counts over every run of the sweep (a resume has the time left)"
    if spec.by_compute:
        text += "; then no trial starts and running trials stop"
    return text


def _stage_size(spec: SweepSpec, index: int) -> str:
    """A stage's trials, or the part of the budget it proposes trials in."""
    stage = spec.stages[index]
    if stage.trials is not None:
        return f"{stage.trials} trials"
    shares = [s.share for s in spec.stages[: index + 1] if s.share is not None]
    if stage.share is None:
        return "trials until the budget is spent" if not shares else "the rest of the budget"
    begin = sum(shares[:-1])
    return f"trials until {100 * (begin + stage.share):g} % of the budget is spent" + (
        f" (a share of {100 * stage.share:g} %)" if begin > 0 else ""
    )


def describe_warm_start(warm: WarmStart) -> str:
    """What a warm start brings: the earlier trials TPE learns from, those left out and
    why, and how many of its best configurations are trained first."""
    left_out = [f"{warm.outside} outside the new space"]
    left_out += [f"{warm.failed} failed"] if warm.failed else []
    first = len(warm.first)
    trained = f"top {first} trained first" if first else "none trained first"
    if first < warm.top_k:
        trained += f" (top_k {warm.top_k}: only {first} in the new space with a result)"
    return (
        f"warm start from {warm.source}: {len(warm.evidence)} trials as evidence "
        f"({' and '.join(left_out)} left out), {trained}"
    )


def proposals_table(proposals: Sequence[Proposal], names: Sequence[str]) -> str:
    """One row per configuration, one column per sampled setting ('-' where inactive)."""
    rows = [
        {"trial": i + 1, "stage": p.stage + 1, **{n: _cell(p.config.get(n)) for n in names}}
        for i, p in enumerate(proposals)
    ]
    return pd.DataFrame(rows).to_string(index=False)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)

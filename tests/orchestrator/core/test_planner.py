"""Planning before a sweep runs: `first_stage`, what `caviar sample` and `validate` show."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.core.planner import first_stage, plan_stage
from orchestrator.search.space import Box
from orchestrator.sweepfile.parse import parse_sweep


def test_the_first_stage_is_what_the_sweep_will_run(mixed_raw: dict[str, Any]) -> None:
    spec = parse_sweep(mixed_raw)
    proposals = first_stage(spec)
    assert len(proposals) == 8  # the mixed sweep's first stage
    assert {p.stage for p in proposals} == {0}
    assert all(p.box == Box.full(len(spec.space.dims)) for p in proposals)
    planned = plan_stage(spec.space, spec.model, spec.stages, 0, [], spec.sign, spec.seed)
    assert [p.config for p in proposals] == [p.config for p in planned]


@pytest.mark.parametrize("sampler", ["random", "sobol"])
def test_a_count_gives_the_first_configurations_of_the_stage(
    mixed_raw: dict[str, Any], sampler: str
) -> None:
    mixed_raw["stages"][0]["sampler"] = sampler
    spec = parse_sweep(mixed_raw)
    five = first_stage(spec, 5)
    assert len(five) == 5
    assert [p.config for p in five] == [p.config for p in first_stage(spec)][:5]
    assert len(first_stage(spec, 20)) == 20  # more than the stage's own 8


def test_the_seed_decides_the_configurations(mixed_raw: dict[str, Any]) -> None:
    configs = []
    for seed in (3, 3, 4):
        mixed_raw["seed"] = seed
        configs.append([p.config for p in first_stage(parse_sweep(mixed_raw))])
    assert configs[0] == configs[1]
    assert configs[0] != configs[2]


def test_a_count_below_one_is_refused(mixed_raw: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="count: must be an integer >= 1, got 0"):
        first_stage(parse_sweep(mixed_raw), 0)

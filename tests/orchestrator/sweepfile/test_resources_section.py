"""`resources:` in a sweep file: CPUs, GPUs (fractions below 1, whole numbers above),
memory with units and a cluster's own resources; each mistake named by its path, rule
and value, from the parser, from `caviar validate` (exit 2) and in the JSON Schema."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from orchestrator.cli import main
from orchestrator.core.resources import TrialResources
from orchestrator.sweepfile.parse import SweepError, parse_sweep

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[3] / "schema" / "sweep.schema.json").read_text()
)
BASE = {
    "name": "t",
    "dataset": "digits",
    "space": {"learning_rate": {"type": "log_uniform", "low": 1e-4, "high": 1}},
    "budget": {"trials": 4, "max_epochs": 3},
}


def _sweep(resources: object) -> dict:
    raw = copy.deepcopy(BASE)
    raw["resources"] = resources
    return raw


def test_every_resource_is_read_into_what_a_trial_reserves() -> None:
    spec = parse_sweep(
        _sweep(
            {
                "cpus_per_trial": 2,
                "gpus_per_trial": 0.5,
                "memory_per_trial": "4GiB",
                "custom": {"spot": 1, "accelerator_type:A100": 0.01},
            }
        ),
        Path("."),
    )
    assert spec.resources == TrialResources(
        cpus=2.0,
        gpus=0.5,
        memory=4 * 2**30,
        custom=(("spot", 1.0), ("accelerator_type:A100", 0.01)),
    )
    assert spec.cpus_per_trial == 2.0


def test_without_resources_a_trial_takes_one_cpu_and_nothing_else() -> None:
    spec = parse_sweep(copy.deepcopy(BASE), Path("."))
    assert spec.resources == TrialResources(cpus=1.0)
    assert spec.resources.ray_options() == {"num_cpus": 1.0}


@pytest.mark.parametrize(
    ("resources", "path", "says"),
    [
        ({"gpus_per_trial": 1.5}, "resources.gpus_per_trial", "a whole number, got 1.5"),
        ({"gpus_per_trial": -1}, "resources.gpus_per_trial", "must be a number >= 0, got -1"),
        ({"memory_per_trial": "4 gigs"}, "resources.memory_per_trial", "got '4 gigs'"),
        ({"memory_per_trial": 0}, "resources.memory_per_trial", "at least 1 byte"),
        ({"custom": {"spot": 0}}, "resources.custom.spot", "an amount > 0, got 0"),
        ({"custom": {"spot": 2.5}}, "resources.custom.spot", "a whole number, got 2.5"),
        ({"custom": {"GPU": 1}}, "resources.custom.GPU", "gpus_per_trial"),
        ({"custom": [1]}, "resources.custom", "must be a mapping"),
        ({"gpu_per_trial": 1}, "resources.gpu_per_trial", "did you mean 'gpus_per_trial'"),
    ],
)
def test_a_bad_resource_names_its_path_rule_and_value(
    resources: dict, path: str, says: str
) -> None:
    with pytest.raises(SweepError) as caught:
        parse_sweep(_sweep(resources), Path("."))
    assert caught.value.path == path
    assert says in str(caught.value)
    # the JSON Schema an editor checks against refuses the same file
    assert list(Draft202012Validator(SCHEMA).iter_errors(_sweep(resources)))


def test_every_problem_in_the_section_is_reported_at_once() -> None:
    with pytest.raises(SweepError) as caught:
        parse_sweep(_sweep({"gpus_per_trial": 3.5, "custom": {"spot": -1}}), Path("."))
    text = str(caught.value)
    assert "resources.gpus_per_trial" in text and "resources.custom.spot" in text


def test_the_schema_takes_what_the_parser_takes() -> None:
    good = _sweep({"gpus_per_trial": 2, "memory_per_trial": "512MiB", "custom": {"spot": 1}})
    assert not list(Draft202012Validator(SCHEMA).iter_errors(good))
    parse_sweep(good, Path("."))


def test_validate_exits_2_and_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(_sweep({"gpus_per_trial": 1.5})))
    assert main(["validate", str(path)]) == 2
    assert "resources.gpus_per_trial" in capsys.readouterr().err

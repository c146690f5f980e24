"""The check a run makes after connecting and before any worker starts: a trial no node
can ever hold is refused (a ResourcesError, exit 2), unless the cluster autoscales, which
only warns. Ray's node list is faked: the rule is what is tested here; the real cluster's
refusal is in test_trial_resources_on_ray.py."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import ray

from caviar_common.errors import InputError
from orchestrator.core.resources import ResourcesError
from orchestrator.execution import runner
from orchestrator.sweepfile.parse import parse_sweep

NODES = [
    {"Alive": True, "Resources": {"CPU": 4.0, "GPU": 1.0, "memory": 8 * 2**30}},
    {"Alive": True, "Resources": {"CPU": 8.0, "GPU": 1.0, "memory": 16 * 2**30}},
    {"Alive": False, "Resources": {"CPU": 64.0, "GPU": 8.0}},  # a dead node counts for nothing
]


def _spec(resources: dict[str, Any]) -> Any:
    raw = {
        "name": "t",
        "dataset": "digits",
        "space": {"learning_rate": {"type": "log_uniform", "low": 1e-4, "high": 1}},
        "budget": {"trials": 4, "max_epochs": 3},
        "resources": resources,
    }
    return parse_sweep(copy.deepcopy(raw), Path("."))


@pytest.fixture
def nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray, "nodes", lambda: NODES)


def test_what_a_node_holds_passes(nodes: None) -> None:
    said: list[str] = []
    runner.check_resources(_spec({"cpus_per_trial": 8, "gpus_per_trial": 1}), said.append)
    assert said == []


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (
            {"gpus_per_trial": 2},
            "resources.gpus_per_trial: asks 2 GPU(s) per trial; the largest node has 1; "
            "no trial could ever start on this cluster, so none was started",
        ),
        (
            {"memory_per_trial": "20GiB"},
            "resources.memory_per_trial: asks 20 GiB of memory per trial; the largest node "
            "has 16 GiB",
        ),
        (
            {"cpus_per_trial": 16, "custom": {"spot": 1}},
            "resources.cpus_per_trial: asks 16 CPU(s) per trial; the largest node has 8; "
            "resources.custom.spot: asks 1 of 'spot' per trial; the largest node has 0",
        ),
    ],
)
def test_a_trial_no_node_holds_is_refused_naming_key_ask_and_largest(
    nodes: None, resources: dict[str, Any], message: str
) -> None:
    with pytest.raises(ResourcesError) as caught:
        runner.check_resources(_spec(resources), print)
    assert message in str(caught.value)
    assert isinstance(caught.value, InputError)  # the command line's exit 2


def test_an_autoscaling_cluster_only_warns(nodes: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "_autoscaling", lambda: True)
    said: list[str] = []
    runner.check_resources(_spec({"gpus_per_trial": 4}), said.append)
    assert len(said) == 1
    assert said[0].startswith("warning: resources.gpus_per_trial: asks 4 GPU(s) per trial")
    assert "autoscaler may add a node" in said[0]


@pytest.mark.ray
def test_a_plain_local_cluster_does_not_autoscale(ray_local: dict[str, str]) -> None:
    assert runner._autoscaling() is False

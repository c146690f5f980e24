"""What a trial reserves, and how many trials a cluster's nodes hold: hand-worked cases,
fractional GPUs counted per device as Ray places them (ray-project/ray#5902)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.core.resources import (
    TrialResources,
    cluster_slots,
    node_slots,
    parse_memory,
    shortfalls,
)

GPU_BOX = {"CPU": 8.0, "GPU": 2.0, "memory": 32 * 2**30}


@pytest.mark.parametrize(
    ("gpus", "slots"),
    [
        (0.5, 4),  # two per device, two devices
        (0.4, 4),  # 0.8 of each device; a fifth would straddle two: not 5
        (0.3, 6),  # three per device
        (1.0, 2),
        (2.0, 1),
    ],
)
def test_fractional_gpus_are_packed_per_device(gpus: float, slots: int) -> None:
    assert node_slots(GPU_BOX, TrialResources(cpus=1, gpus=gpus)) == slots


def test_the_scarcest_resource_bounds_a_node() -> None:
    node = {"CPU": 3.0, "GPU": 2.0}
    assert node_slots(node, TrialResources(cpus=1, gpus=0.5)) == 3  # CPUs: 3, GPUs: 4
    assert node_slots(node, TrialResources(cpus=0.5, gpus=0.5)) == 4  # CPUs: 6, GPUs: 4


def test_memory_and_custom_resources_count_by_quantity() -> None:
    node = {"CPU": 16.0, "memory": 10 * 2**30, "spot": 3.0}
    assert node_slots(node, TrialResources(cpus=1, memory=4 * 2**30)) == 2
    assert node_slots(node, TrialResources(cpus=1, custom=(("spot", 1.0),))) == 3
    assert node_slots(node, TrialResources(cpus=1, custom=(("a100", 1.0),))) == 0


def test_a_cluster_holds_the_sum_of_its_nodes_never_a_trial_across_two() -> None:
    nodes = [{"CPU": 2.0, "GPU": 1.0}, {"CPU": 2.0, "GPU": 1.0}]
    assert cluster_slots(nodes, TrialResources(cpus=1, gpus=0.5)) == 4
    # 2 GPUs in all, but no node has 2: no trial of 2 GPUs fits anywhere
    assert cluster_slots(nodes, TrialResources(cpus=1, gpus=2)) == 0


def test_shortfalls_name_the_key_what_is_asked_and_the_largest_node() -> None:
    nodes = [{"CPU": 4.0, "GPU": 1.0}, {"CPU": 8.0, "GPU": 1.0}]
    (gpu,) = shortfalls(nodes, TrialResources(cpus=1, gpus=2))
    assert str(gpu) == ("resources.gpus_per_trial: asks 2 GPU(s) per trial; the largest node has 1")
    (spot,) = shortfalls(nodes, TrialResources(cpus=1, custom=(("spot", 1.0),)))
    assert spot.key == "resources.custom.spot" and spot.largest == 0
    assert shortfalls(nodes, TrialResources(cpus=8)) == []


def test_resources_on_different_nodes_but_never_together_are_a_shortfall() -> None:
    nodes = [{"CPU": 4.0, "GPU": 1.0}, {"CPU": 4.0, "spot": 1.0}]
    found = shortfalls(nodes, TrialResources(cpus=1, gpus=1, custom=(("spot", 1.0),)))
    assert [f.key for f in found] == ["resources.custom.spot"]  # the GPU node lacks spot
    assert "nodes that have it lack the rest" in str(found[0])


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        (1024, 1024),
        ("4GiB", 4 * 2**30),
        ("512 MiB", 512 * 2**20),
        ("2GB", 2 * 10**9),
        ("1.5G", 1_500_000_000),
        ("300m", 300_000_000),
        ("64Ki", 65_536),
    ],
)
def test_memory_takes_bytes_or_a_unit(text: object, amount: int) -> None:
    assert parse_memory(text) == amount


@pytest.mark.parametrize("bad", ["4 GiBs", "lots", "", -5, 0.2, True, "1e9", None])
def test_memory_refuses_anything_else_and_says_the_rule(bad: object) -> None:
    with pytest.raises(ValueError, match="must be a number of bytes.*got"):
        parse_memory(bad)


def test_ray_options_ask_only_for_what_is_reserved() -> None:
    plain = TrialResources(cpus=2)
    assert plain.ray_options() == {"num_cpus": 2}
    full = TrialResources(cpus=1, gpus=0.5, memory=2**30, custom=(("spot", 1.0),))
    assert full.ray_options() == {
        "num_cpus": 1,
        "num_gpus": 0.5,
        "memory": 2**30,
        "resources": {"spot": 1.0},
    }
    assert str(full) == "1 CPU, 0.5 GPU, 1 GiB memory, spot: 1"


@given(
    st.lists(
        st.fixed_dictionaries(
            {"CPU": st.integers(0, 16).map(float), "GPU": st.integers(0, 8).map(float)}
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from([0.1, 0.25, 0.3, 0.5, 1.0, 2.0]),
    st.sampled_from([0.5, 1.0, 2.0]),
)
def test_slots_never_overbook_a_device_or_a_node(
    nodes: list[dict[str, float]], gpus: float, cpus: float
) -> None:
    """Placing the counted trials one by one, first fit, on each node's devices and CPUs
    always succeeds, and one more never fits: the count is what the node holds."""
    wanted = TrialResources(cpus=cpus, gpus=gpus)
    for node in nodes:
        count = node_slots(node, wanted)
        devices = [1.0] * int(node["GPU"])
        cpus_left = node["CPU"]
        for _ in range(count):
            cpus_left -= cpus
            assert cpus_left >= -1e-9
            need = gpus
            if need < 1:
                spot = next(i for i, free in enumerate(devices) if free >= need - 1e-9)
                devices[spot] -= need
            else:
                whole = [i for i, free in enumerate(devices) if free >= 1 - 1e-9][: int(need)]
                assert len(whole) == int(need)
                for i in whole:
                    devices[i] = 0.0
        gpu_room = (
            any(free >= gpus - 1e-9 for free in devices)
            if gpus < 1
            else sum(free >= 1 - 1e-9 for free in devices) >= gpus
        )
        assert not (cpus_left >= cpus - 1e-9 and gpu_room)  # a further trial would not fit

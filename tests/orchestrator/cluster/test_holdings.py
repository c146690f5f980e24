"""What `caviar status` prints of a cluster's resources and of the running sweeps'
holdings, from hand-made nodes and actors as Ray reports them: no Ray here."""

from __future__ import annotations

from orchestrator.cluster.holdings import (
    GIB,
    MIB,
    Holding,
    Node,
    Worker,
    holding_line,
    holdings,
    node_lines,
    nodes_section,
    sweeps_section,
)

HEAD = "e524c82cb1f8f71ce3edce30003ba0458e6a1caac6c13776424e78ec"


def _node(total: dict[str, float], available: dict[str, float], head: bool = True) -> Node:
    # what Ray adds to every node (and to the head), never shown
    marks = {"node:127.0.0.1": 1.0, "object_store_memory": 2.0 * GIB}
    if head:
        marks["node:__internal_head__"] = 1.0
    return Node(HEAD, "127.0.0.1", {**marks, **total}, {**marks, **available})


def test_a_node_lists_cpu_gpu_memory_and_its_custom_resources_in_total_and_available() -> None:
    node = _node(
        {"CPU": 2, "GPU": 2, "memory": 16.5 * GIB, "spot": 1, "accelerator_type:T4": 1},
        {"CPU": 1, "GPU": 1.5, "memory": 16.5 * GIB - 100 * MIB, "spot": 0.5},
    )
    assert node_lines(node) == [
        f"node {HEAD} (127.0.0.1, head):",
        "  resource     total  available",
        "  CPU              2          1",
        "  GPU              2        1.5",
        "  memory    16.5 GiB   16.4 GiB",  # 16.5 GiB - 100 MiB = 16.402 GiB
        "  spot             1        0.5",
    ]


def test_a_node_without_gpus_shows_none_and_custom_resources_come_by_name() -> None:
    node = _node(
        {"CPU": 4, "memory": 512 * MIB, "zeta": 2, "alpha": 3},
        {"CPU": 4, "memory": 512 * MIB, "zeta": 2, "alpha": 0},
        head=False,
    )
    assert node_lines(node) == [
        f"node {HEAD} (127.0.0.1):",
        "  resource    total  available",
        "  CPU             4          4",
        "  GPU             0          0",
        "  memory    512 MiB    512 MiB",
        "  alpha           3          0",
        "  zeta            2          2",
    ]
    assert nodes_section([node, node])[0].startswith("resources of each alive node")
    assert len(nodes_section([node, node])) == 1 + 2 * 7


def test_workers_are_summed_per_sweep_namespace_and_other_actors_left_out() -> None:
    workers = [
        Worker("caviar-worker-1", "caviar-digits", {"CPU": 1.0, "GPU": 0.5}),
        Worker("caviar-worker-2", "caviar-digits", {"CPU": 1.0, "GPU": 0.5}),
        Worker("caviar-worker-7", "caviar-a", {"CPU": 0.25, "memory": 1.5 * GIB, "spot": 1}),
        Worker("JobSupervisor", "caviar-digits", {"CPU": 0.0}),  # not a worker
        Worker("caviar-worker-1", "_ray_internal_job_actor", {"CPU": 1.0}),  # not a sweep's
        Worker("caviar-worker-1", "caviar-", {"CPU": 1.0}),  # no sweep name
    ]
    assert holdings(workers) == [
        Holding("a", 1, {"CPU": 0.25, "memory": 1.5 * GIB, "spot": 1.0}),
        Holding("digits", 2, {"CPU": 2.0, "GPU": 1.0}),
    ]
    assert [holding_line(h) for h in holdings(workers)] == [
        "sweep a: 1 worker, 0.25 CPU, 1.5 GiB memory, 1 spot",
        "sweep digits: 2 workers, 2 CPU, 1 GPU",
    ]


def test_the_sweeps_section_says_when_no_sweep_runs() -> None:
    assert sweeps_section([]) == ["no sweep is running"]
    assert sweeps_section([Worker("x", "caviar-x", {"CPU": 1.0})]) == ["no sweep is running"]
    worker = Worker("caviar-worker-3", "caviar-demo", {"CPU": 1.0, "GPU": 0.5})
    assert sweeps_section([worker]) == [
        "running sweeps and what their workers hold:",
        "  sweep demo: 1 worker, 1 CPU, 0.5 GPU",
    ]

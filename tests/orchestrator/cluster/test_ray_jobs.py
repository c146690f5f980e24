"""Which Jobs API `caviar submit`, `jobs`, `logs` and `stop` talk to: --address, else
RAY_API_SERVER_ADDRESS, else the dashboard of the cluster `caviar up` keeps running, else
the default port. Without Ray: a record of a cluster that no longer runs is stale."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.cluster import local as lc
from orchestrator.cluster import ray_jobs as jobs
from orchestrator.cluster import sessions
from tests.conftest import free_port

NO_SUCH_PID = 4_194_400  # above Linux's largest pid_max (2**22): never a process


def _record(tmp: Path, pid: int = NO_SUCH_PID) -> lc.ClusterRecord:
    """A record whose GCS is `pid`: this process stands for a cluster that is up."""
    started = sessions.started_ticks(pid) or 1
    return lc.ClusterRecord(
        address="127.0.0.1:6379",
        dashboard="http://127.0.0.1:40123",
        client="ray://127.0.0.1:10001",
        node_id="ab" * 28,
        cpus=2,
        temp_dir=str(tmp / "gone"),
        session=NO_SUCH_PID,
        processes=(lc.Process(pid, started, "gcs_server"),),
        token_source="RAY_AUTH_TOKEN",
        token_path=str(tmp / "auth_token"),
        started_at=1_700_000_000.0,
    )


def test_the_flag_then_the_variable_then_caviar_up_then_the_default(tmp_path: Path) -> None:
    up = _record(tmp_path)
    env = {"RAY_API_SERVER_ADDRESS": "10.0.0.2:8265"}
    assert jobs.choose_target("10.0.0.1:8265", env, up) == jobs.Target(
        "http://10.0.0.1:8265", "--address"
    )
    assert jobs.choose_target(None, env, up) == jobs.Target(
        "http://10.0.0.2:8265", "RAY_API_SERVER_ADDRESS"
    )
    # the cluster `caviar up` keeps running: its own dashboard port and its token file
    target = jobs.choose_target(None, {}, up)
    assert (target.address, target.token_path) == (up.dashboard, up.token_path)
    assert target.source == jobs.UP
    assert jobs.choose_target(None, {}, None).address == "http://127.0.0.1:8265"
    assert jobs.choose_target(None, {}, None).token_path is None


def test_the_record_is_read_only_when_no_address_is_given(tmp_path: Path) -> None:
    path = tmp_path / "cluster.json"
    path.write_text("{not json")  # read, it would be refused
    for flag, env in (("h:1", {}), (None, {"RAY_API_SERVER_ADDRESS": "h:2"})):
        target, note = jobs.find_target(flag, env, path)
        assert note is None and target.token_path is None
    with pytest.raises(ValueError, match=r"cluster\.json: not JSON"):
        jobs.find_target(None, {}, path)


def test_an_up_cluster_is_the_target_and_a_stale_record_is_removed_and_said(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cluster.json"
    up = _record(tmp_path, os.getpid())  # its "GCS" runs: this process
    lc.save_record(up, path)
    assert jobs.find_target(None, {}, path) == (
        jobs.Target(up.dashboard, jobs.UP, up.token_path),
        None,
    )
    lc.save_record(_record(tmp_path), path)  # none of its processes runs
    target, note = jobs.find_target(None, {}, path)
    assert target.address == "http://127.0.0.1:8265"
    assert note is not None and "is no longer running; removed its record" in note
    assert not path.exists()


def test_an_address_that_does_not_answer_is_named_with_where_it_came_from(
    tmp_path: Path,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    up = jobs.Target(dead, jobs.UP, str(tmp_path / "auth_token"))
    with pytest.raises(ValueError, match=rf"--address: no Ray dashboard answers at {dead} \(the"):
        jobs.check_reachable(up)
    variable = jobs.Target(dead, jobs.ADDRESS_VAR)
    with pytest.raises(ValueError, match=rf"^RAY_API_SERVER_ADDRESS: no Ray .* at {dead}:"):
        jobs.check_reachable(variable)

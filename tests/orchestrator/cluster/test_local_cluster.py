"""`caviar up`, `status` and `down`: the record, its liveness and the `ray start` command
without Ray; then a real cluster that `caviar run` attaches to and `caviar down` stops,
leaving every other Ray on the machine alone."""

from __future__ import annotations

import itertools
import json
import os
import secrets
import sqlite3
import stat
import subprocess
import sys
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.cli import build_parser, main
from orchestrator.cluster import control, sessions
from orchestrator.cluster import local as lc
from orchestrator.cluster.processes import processes_under, stop_processes_under
from orchestrator.execution.runner import RayContext
from tests.conftest import free_port, short_temp_dir

CAVIAR = [sys.executable, "-m", "orchestrator.cli"]
NO_SUCH_PID = 4_194_400  # above Linux's largest pid_max (2**22): never a process
TINY = {
    "name": "tiny",
    "dataset": "synthetic:rows=60,features=4,classes=2",
    "seed": 1,
    "model": {"optimizer": "adam", "hidden_layers": 1, "hidden_units": 8, "batch_size": 16},
    "space": {"learning_rate": {"type": "log_uniform", "low": 0.003, "high": 0.03}},
    "budget": {"trials": 2, "max_epochs": 2},
}


def _record(tmp: Path, **changes: Any) -> lc.ClusterRecord:
    """A record of a cluster that no longer runs: its processes and temp dir are gone."""
    record = lc.ClusterRecord(
        address="127.0.0.1:6379",
        dashboard="http://127.0.0.1:8265",
        client="ray://127.0.0.1:10001",
        node_id="ab" * 28,
        cpus=2,
        temp_dir=str(tmp / "gone"),
        session=NO_SUCH_PID,
        processes=(
            lc.Process(NO_SUCH_PID, 1, "gcs_server"),
            lc.Process(NO_SUCH_PID + 1, 1, "raylet"),
        ),
        token_source="RAY_AUTH_TOKEN",
        token_path=str(tmp / "auth_token"),
        started_at=1_700_000_000.0,
    )
    return replace(record, **changes)


# -- the record and where it lives ------------------------------------------------------


def test_the_state_dir_is_caviar_home_else_dot_caviar(tmp_path: Path) -> None:
    assert lc.state_dir({"CAVIAR_HOME": str(tmp_path)}) == tmp_path
    assert lc.record_path({}, home=tmp_path) == tmp_path / ".caviar" / "cluster.json"


def test_a_record_round_trips_through_its_file(tmp_path: Path) -> None:
    record, path = _record(tmp_path), tmp_path / "state" / "cluster.json"
    lc.save_record(record, path)
    assert lc.load_record(path) == record
    assert json.loads(path.read_text())["processes"][0] == {
        "pid": NO_SUCH_PID,
        "started": 1,
        "name": "gcs_server",
    }
    lc.remove_record(path)
    assert lc.load_record(path) is None
    lc.remove_record(path)  # twice is fine


def test_a_damaged_record_is_refused_naming_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "cluster.json"
    data = json.loads(_record(tmp_path).to_json())
    del data["address"]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"cluster\.json: key 'address' is missing"):
        lc.load_record(path)
    data["address"], data["cpus"] = "127.0.0.1:6379", "two"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"cluster\.json: key 'cpus' is malformed"):
        lc.load_record(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"cluster\.json: not JSON"):
        lc.load_record(path)


def test_a_record_keeps_the_declared_gpus_and_resources_and_an_older_one_has_none(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cluster.json"
    record = _record(tmp_path, gpus=2, resources={"spot": 1.0, "fast_disk": 0.5})
    lc.save_record(record, path)
    assert lc.load_record(path) == record
    assert json.loads(path.read_text())["resources"] == {"spot": 1.0, "fast_disk": 0.5}
    older = json.loads(_record(tmp_path).to_json())
    del older["gpus"], older["resources"]  # a record written before these options
    path.write_text(json.dumps(older))
    loaded = lc.load_record(path)
    assert loaded is not None and (loaded.gpus, loaded.resources) == (None, None)
    older["resources"] = ["spot"]
    path.write_text(json.dumps(older))
    with pytest.raises(ValueError, match=r"cluster\.json: key 'resources' is malformed"):
        lc.load_record(path)


def test_custom_resources_are_a_json_object_of_positive_amounts() -> None:
    assert lc.parse_resources('{"spot": 1, "fast_disk": 0.5}') == {"spot": 1.0, "fast_disk": 0.5}
    assert lc.parse_resources("{}") == {}
    refused = {
        "{spot: 1}": "not JSON",
        '["spot"]': "not an object",
        '{"": 1}': "a name is empty",
        '{"GPU": 1}': "GPU is one of Ray's own; declare it with --num-gpus",
        '{"object_store_memory": 1}': "object_store_memory is one of Ray's own",
        '{"spot": 0}': "'spot' has 0",
        '{"spot": -1}': "'spot' has -1",
        '{"spot": true}': "'spot' has true",
        '{"spot": "1"}': "'spot' has \"1\"",
        '{"spot": NaN}': "'spot' has NaN",
    }
    for text, why in refused.items():
        with pytest.raises(ValueError) as err:
            lc.parse_resources(text)
        message = str(err.value)
        assert message.startswith("--resources: must be a JSON object of custom resources")
        assert f"got {text!r}; {why}" in message, message


def test_up_refuses_bad_gpus_and_resources_naming_the_option_the_rule_and_the_value(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = build_parser()
    args = parser.parse_args(["up", "--num-gpus", "0", "--resources", '{"spot": 2}'])
    assert (args.num_gpus, args.resources) == (0, {"spot": 2.0})
    for argv, said in (
        (["--num-gpus", "-1"], "argument --num-gpus: must be an integer >= 0, got -1"),
        (["--num-gpus", "1.5"], "argument --num-gpus: must be an integer >= 0, got '1.5'"),
        (
            ["--resources", '{"CPU": 4}'],
            "argument --resources: must be a JSON object of custom resources",
        ),
    ):
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args(["up", *argv])
        assert exit_.value.code == 2
        assert said in capsys.readouterr().err


# -- the token, the ports, the command ----------------------------------------------------


def test_the_token_comes_from_where_ray_looks_for_it_in_rays_order(tmp_path: Path) -> None:
    home, state = tmp_path / "home", tmp_path / "state"
    given = tmp_path / "given"
    given.write_text("t0")
    # a token in a variable is copied next to the record, so later clients find it
    token = lc.choose_token(
        {"RAY_AUTH_TOKEN": "t1", "RAY_AUTH_TOKEN_PATH": str(given)}, home, state
    )
    assert (token.source, token.path, token.make) == (
        "RAY_AUTH_TOKEN",
        state / "auth_token",
        "copy",
    )
    control.make_token(token, {"RAY_AUTH_TOKEN": "t1"})
    assert token.path.read_text() == "t1"
    assert stat.S_IMODE(token.path.stat().st_mode) == 0o600

    token = lc.choose_token({"RAY_AUTH_TOKEN_PATH": str(given)}, home, state)
    assert (token.path, token.make) == (given, None)
    with pytest.raises(ValueError, match="RAY_AUTH_TOKEN_PATH: must name a token file"):
        lc.choose_token({"RAY_AUTH_TOKEN_PATH": str(tmp_path / "missing")}, home, state)

    token = lc.choose_token({}, home, state)  # none anywhere: one is generated where Ray looks
    assert (token.path, token.make) == (home / ".ray" / "auth_token", "generate")
    control.make_token(token, {})
    assert len(token.path.read_text()) == 64  # 256 bits in hex, as Ray generates them
    assert lc.choose_token({}, home, state) == lc.Token(str(token.path), token.path)


def test_the_dashboard_gets_8265_when_free_and_every_port_is_distinct() -> None:
    picks = iter([8265, 40001, 40001, 40002, 40003, 40004, 40005])
    ports = lc.choose_ports(lambda port: True, lambda: next(picks))
    # 8265 is the dashboard's; a pick that repeats a port is skipped
    assert ports == lc.Ports(gcs=40001, dashboard=8265, client=40002, metrics=40003, agent=40004)

    picks = itertools.count(40001)
    ports = lc.choose_ports(lambda port: port != 8265, lambda: next(picks))
    assert ports.dashboard == 40001  # 8265 is taken: any free port

    assert lc.choose_ports(lambda port: True, lambda: next(picks), 9000).dashboard == 9000
    assert lc.choose_ports(lambda port: True, lambda: next(picks), 0).dashboard != 8265
    with pytest.raises(ValueError, match="--dashboard-port: must be a free port, got 9000"):
        lc.choose_ports(lambda port: port != 9000, lambda: next(picks), 9000)


def test_ray_start_runs_one_node_on_loopback_in_its_own_temp_dir() -> None:
    ports = lc.Ports(gcs=1, dashboard=2, client=3, metrics=4, agent=5)
    argv = lc.start_argv("/venv/bin/ray", ports, 3, "/tmp/caviar-x")
    assert argv[:3] == ["/venv/bin/ray", "start", "--head"]
    for flag in (
        "--node-ip-address=127.0.0.1",
        "--port=1",
        "--dashboard-host=127.0.0.1",
        "--dashboard-port=2",
        "--ray-client-server-port=3",
        "--metrics-export-port=4",
        "--dashboard-agent-listen-port=5",
        "--num-cpus=3",
        "--temp-dir=/tmp/caviar-x",
    ):
        assert flag in argv
    assert "--block" not in argv and "stop" not in argv
    assert not any(a.startswith(("--num-gpus", "--resources")) for a in argv)  # Ray detects


def test_declared_gpus_and_resources_go_on_ray_start() -> None:
    ports = lc.Ports(gcs=1, dashboard=2, client=3, metrics=4, agent=5)
    argv = lc.start_argv("ray", ports, 2, "/tmp/x", gpus=2, resources={"spot": 1.0})
    assert "--num-gpus=2" in argv and '--resources={"spot": 1.0}' in argv
    assert "--num-gpus=0" in lc.start_argv("ray", ports, 2, "/tmp/x", gpus=0)
    assert lc.declared(2, {"spot": 1.0, "disk": 0.5}) == ["2 GPUs", "spot 1", "disk 0.5"]
    assert lc.declared(1, None) == ["1 GPU"] and lc.declared(None, None) == []


def test_ray_starts_with_one_blas_thread_token_auth_caviar_and_no_other_address(
    tmp_path: Path,
) -> None:
    base = {
        "PATH": "/bin",
        "RAY_ADDRESS": "10.0.0.1:6379",
        "RAY_AUTH_TOKEN": "x",
        "OMP_NUM_THREADS": "8",
    }
    env = lc.start_env(base, tmp_path / "auth_token", "/venv/bin", tmp_path / "runs")
    assert env["PATH"] == "/venv/bin:/bin"  # for `caviar run` in a submitted sweep
    assert env["CAVIAR_RESULTS"] == str(tmp_path / "runs")
    again = lc.start_env(
        {**base, "PATH": "/venv/bin", "CAVIAR_RESULTS": "/r"}, tmp_path, "/venv/bin", tmp_path
    )
    assert (again["PATH"], again["CAVIAR_RESULTS"]) == ("/venv/bin", "/r")
    assert "RAY_ADDRESS" not in env and "RAY_AUTH_TOKEN" not in env
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        assert env[name] == "1"
    assert env["RAY_AUTH_MODE"] == "token"
    assert env["RAY_AUTH_TOKEN_PATH"] == str(tmp_path / "auth_token")
    assert env[lc.LOOPBACK_VAR] == "0"


# -- liveness -----------------------------------------------------------------------------


def test_a_stat_line_gives_the_session_and_start_time_whatever_the_name() -> None:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    # utime stime cutime cstime priority nice threads itrealvalue starttime ...
    line = "123 (a) b (c) S 1 120 118 0 -1 4194304 5 0 0 0 7 3 0 0 20 0 4 0 98765 1000 22\n"
    assert sessions.parse_stat(line) == (118, 98765)


def test_a_recorded_process_counts_only_while_its_pid_names_the_same_process(
    tmp_path: Path,
) -> None:
    me = os.getpid()
    ticks = sessions.started_ticks(me)
    assert ticks is not None
    alive = _record(tmp_path, processes=(lc.Process(me, ticks, "gcs_server"),))
    assert lc.recorded_alive(alive) == [me]
    reused = _record(tmp_path, processes=(lc.Process(me, ticks - 1, "gcs_server"),))
    assert lc.recorded_alive(reused) == []


def test_up_while_the_gcs_runs_broken_while_only_others_do_else_gone(tmp_path: Path) -> None:
    me = os.getpid()
    ticks = sessions.started_ticks(me)
    assert ticks is not None
    gcs, other = lc.Process(me, ticks, "gcs_server"), lc.Process(NO_SUCH_PID, 1, "raylet")
    record = _record(tmp_path, processes=(gcs, other))
    assert lc.health(record, [me]) is lc.Health.UP
    assert lc.health(_record(tmp_path, processes=(other,)), [me]) is lc.Health.BROKEN
    assert lc.health(record, []) is lc.Health.GONE


def test_process_names_are_short_and_readable() -> None:
    assert lc.process_name(["/venv/ray/core/src/ray/gcs/gcs_server", "--x"]) == "gcs_server"
    assert (
        lc.process_name(["/venv/bin/python", "-u", "/venv/ray/dashboard/dashboard.py"])
        == "dashboard"
    )
    assert lc.process_name(["/venv/bin/python", "-m", "ray.util.client.server"]) == (
        "ray.util.client.server"
    )
    assert lc.process_name(["ray::DashboardAgent"]) == "ray::DashboardAgent"
    assert lc.process_name([]) == "?"


def test_a_stale_record_is_removed_and_says_where_the_logs_are(tmp_path: Path) -> None:
    logs = tmp_path / "gone" / "session_latest" / "logs"
    logs.mkdir(parents=True)
    path = tmp_path / "cluster.json"
    lc.save_record(_record(tmp_path), path)
    found = lc.find(path)
    assert (found.record, found.health) == (None, lc.Health.GONE)
    assert found.note is not None and "no longer running" in found.note and str(logs) in found.note
    assert not path.exists()
    assert lc.find(path) == lc.Found(None, None)


def test_a_dashboard_that_does_not_listen_does_not_answer() -> None:
    assert not control.dashboard_answers(f"http://127.0.0.1:{free_port()}", timeout=1.0)


# -- the commands without a cluster ----------------------------------------------------------


def test_status_says_none_is_up_and_cleans_a_stale_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAVIAR_HOME", str(tmp_path))
    assert main(["status"]) == 1
    assert "no local cluster is up" in capsys.readouterr().out
    lc.save_record(_record(tmp_path), tmp_path / "cluster.json")
    assert main(["status"]) == 1
    assert "at 127.0.0.1:6379 is no longer running; removed its record" in capsys.readouterr().out
    assert not (tmp_path / "cluster.json").exists()


def test_down_without_a_running_cluster_only_removes_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAVIAR_HOME", str(tmp_path))
    assert main(["down"]) == 0
    assert "nothing to stop" in capsys.readouterr().out
    lc.save_record(_record(tmp_path), tmp_path / "cluster.json")
    assert main(["down"]) == 0
    assert "had already stopped; removed its record" in capsys.readouterr().out
    assert not (tmp_path / "cluster.json").exists()


def test_run_and_resume_take_no_dashboard() -> None:
    parser = build_parser()
    assert parser.parse_args(["run", "--no-dashboard"]).dashboard is False
    assert parser.parse_args(["resume", "runs/x"]).dashboard is True


def test_the_context_says_its_notes_then_the_dashboard() -> None:
    attached = RayContext("http://127.0.0.1:8265", True, "127.0.0.1:6379", ("attached to ...",))
    assert attached.messages() == ["attached to ...", "Ray dashboard: http://127.0.0.1:8265"]
    assert RayContext(None).messages() == []


# -- a real cluster ---------------------------------------------------------------------------


def _caviar(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CAVIAR, *args], env=env, capture_output=True, text=True, timeout=600)


def _sweep(tmp: Path) -> Path:
    path = tmp / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


def _nodes(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT node FROM trials ORDER BY number")]


@pytest.fixture
def caviar_env(tmp_path: Path) -> Any:
    """The environment of a `caviar` command with its own CAVIAR_HOME and token; whatever
    `caviar up` recorded there is stopped by pid afterwards."""
    env = dict(os.environ, CAVIAR_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    env["RAY_AUTH_TOKEN"] = secrets.token_hex(16)
    env.pop("RAY_ADDRESS", None)
    try:
        yield env
    finally:
        record = lc.load_record(tmp_path / "home" / lc.RECORD_NAME)
        if record is not None:
            control.stop(record)


@pytest.mark.ray
def test_up_run_attaches_and_down_stops_exactly_that_cluster(
    tmp_path: Path, caviar_env: dict[str, str], ray_local: dict[str, str]
) -> None:
    other = set(processes_under(ray_local["temp_dir"]))  # another Ray on this machine
    assert other

    up = _caviar("up", "--num-cpus", "2", "--dashboard-port", str(free_port()), env=caviar_env)
    assert up.returncode == 0, up.stdout + up.stderr
    record = lc.load_record(tmp_path / "home" / lc.RECORD_NAME)
    assert record is not None and record.cpus == 2
    assert f"Ray dashboard: {record.dashboard}" in up.stdout and "caviar down" in up.stdout
    again = _caviar("up", env=caviar_env)
    assert again.returncode == 0 and "already up" in again.stdout
    assert lc.load_record(tmp_path / "home" / lc.RECORD_NAME) == record  # nothing new started

    status = _caviar("status", env=caviar_env)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "local cluster: up" in status.stdout
    assert record.address in status.stdout and record.dashboard in status.stdout
    raylet = next(p.pid for p in record.processes if p.name == "raylet")
    environ = Path(f"/proc/{raylet}/environ").read_bytes().split(b"\0")  # workers inherit it
    assert b"OMP_NUM_THREADS=1" in environ and b"OPENBLAS_NUM_THREADS=1" in environ

    # a shell with no Ray settings at all: the driver takes them from the record
    driver_env = {
        k: v for k, v in caviar_env.items() if k not in ("RAY_AUTH_TOKEN", "RAY_AUTH_MODE")
    }
    run = _caviar(
        "run", str(_sweep(tmp_path)), "--plain", "--results", str(tmp_path / "runs"), env=driver_env
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"attached to the local cluster from `caviar up` at {record.address}" in run.stdout
    assert f"Ray dashboard: {record.dashboard}" in run.stdout
    assert _nodes(tmp_path / "runs" / "tiny" / "sweep.db") == [record.node_id] * 2

    # the driver has ended; the cluster still shows the sweep's workers
    request = urllib.request.Request(
        f"{record.dashboard}/api/v0/actors?limit=1000",
        headers={"Authorization": f"Bearer {caviar_env['RAY_AUTH_TOKEN']}"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        actors = json.load(reply)["data"]["result"]["result"]
    workers = {a["name"]: a for a in actors if a.get("ray_namespace") == "caviar-tiny"}
    assert sorted(workers) == ["caviar-worker-1", "caviar-worker-2"]
    assert {a["state"] for a in workers.values()} == {"DEAD"}
    assert {a["node_id"] for a in workers.values()} == {record.node_id}

    down = _caviar("down", env=caviar_env)
    assert down.returncode == 0, down.stdout + down.stderr
    assert f"stopped the local cluster at {record.address}" in down.stdout
    assert processes_under(record.temp_dir) == []
    assert sessions.session_members(record.session) == []  # the Ray Client server and agents too
    assert not Path(record.temp_dir).exists()
    assert not (tmp_path / "home" / lc.RECORD_NAME).exists()
    assert other <= set(processes_under(ray_local["temp_dir"]))  # the other Ray runs on


@pytest.mark.ray
def test_run_never_attaches_to_a_stale_record(tmp_path: Path, caviar_env: dict[str, str]) -> None:
    path = tmp_path / "home" / lc.RECORD_NAME
    lc.save_record(_record(tmp_path), path)
    temp = short_temp_dir("cvl-")  # the private Ray's, to stop it afterwards
    env = dict(caviar_env, RAY_TMPDIR=temp, RAY_AUTH_MODE="token")
    try:
        run = _caviar(
            "run", str(_sweep(tmp_path)), "--plain", "--results", str(tmp_path / "runs"), env=env
        )
    finally:
        stop_processes_under(temp)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "at 127.0.0.1:6379 is no longer running; removed its record" in run.stdout
    assert "attached" not in run.stdout
    assert "Ray dashboard: http://127.0.0.1:" in run.stdout  # a private Ray, as without one
    assert not path.exists()
    assert "ab" * 28 not in _nodes(tmp_path / "runs" / "tiny" / "sweep.db")


@pytest.mark.ray
def test_a_private_ray_without_its_dashboard_serves_none(tmp_path: Path) -> None:
    temp = short_temp_dir("cvl-")
    probe = (
        "from orchestrator.execution.runner import connect_ray\n"
        "from orchestrator.cluster.processes import processes_under\n"
        "from orchestrator.cluster.sessions import cmdline\n"
        "context = connect_ray(None, 'lean', 1, dashboard=False)\n"
        f"lines = [' '.join(cmdline(p)) for p in processes_under({temp!r})]\n"
        "print(context.url, context.attached)\n"
        "print(*[line for line in lines if 'dashboard.py' in line], sep='\\n')\n"
    )
    env = dict(os.environ, RAY_TMPDIR=temp, RAY_AUTH_MODE="token", CAVIAR_HOME=str(tmp_path))
    env.pop("RAY_ADDRESS", None)
    try:
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300
        )
    finally:
        stop_processes_under(temp)
    assert done.returncode == 0, done.stderr
    said, *api_server = done.stdout.strip().splitlines()
    assert said == "None False"
    # Ray keeps a bare API server (usage stats) without the dashboard's pages and modules
    assert all("--disable-frontend" in line for line in api_server)

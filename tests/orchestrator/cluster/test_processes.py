"""Stopping the processes of one directory stops those and no other."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.cluster.processes import processes_under, stop_processes_under

SLEEP = "import sys, time; time.sleep(120)"


@pytest.fixture
def spawn() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start sleepers with `spawn.append(Popen(...))`; whatever is left is killed after."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait()


def _sleeper(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", SLEEP, *args], env=env)


def test_the_processes_that_name_a_directory_are_stopped_and_it_is_removed(
    tmp_path: Path, spawn: list[subprocess.Popen[bytes]]
) -> None:
    mine, other = tmp_path / "mine", tmp_path / "other"
    mine.mkdir()
    other.mkdir()
    (mine / "log").write_text("ray logs")
    spawn.extend([_sleeper(str(mine)), _sleeper(f"--temp-dir={mine}"), _sleeper(str(other))])
    ours = {spawn[0].pid, spawn[1].pid}

    assert set(processes_under(mine)) == ours
    assert stop_processes_under(mine, timeout=5.0) == 2
    assert all(spawn[i].wait(timeout=5.0) is not None for i in (0, 1))
    assert not mine.exists()
    assert spawn[2].poll() is None  # another directory's process runs on
    assert other.exists()


def test_an_environment_variable_must_name_the_directory_exactly(
    tmp_path: Path, spawn: list[subprocess.Popen[bytes]]
) -> None:
    run = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.endswith("RAY_TMPDIR")}
    spawn.append(_sleeper(env={**env, "RAY_TMPDIR": str(run)}))
    spawn.append(_sleeper(env={**env, "XRAY_TMPDIR": str(run)}))  # another variable
    spawn.append(_sleeper(env={**env, "RAY_TMPDIR": f"{run}-2"}))  # another directory

    assert processes_under(run, "RAY_TMPDIR") == [spawn[0].pid]
    assert processes_under(run) == []  # no command line names it
    assert stop_processes_under(run, "RAY_TMPDIR", timeout=5.0) == 1
    assert spawn[0].wait(timeout=5.0) is not None
    assert spawn[1].poll() is None and spawn[2].poll() is None


def test_nothing_to_stop_is_no_error(tmp_path: Path) -> None:
    empty = tmp_path / "nobody"
    empty.mkdir()
    assert stop_processes_under(empty) == 0
    assert not empty.exists()

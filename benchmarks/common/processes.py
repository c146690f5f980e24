"""Child processes of the sweep benchmarks: run one to its end with its output in a log, in
an environment of one BLAS thread and (where it uses Ray) a RAY_TMPDIR of its own, and stop
by pid whatever it left there (`orchestrator/cluster/processes.py`); `caviar run` as a user
runs it.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common.entry import ROOT
from benchmarks.common.tasks import RESULT
from orchestrator.cluster.processes import stop_processes_under  # imports no numpy
from workers.threads import BLAS_VARIABLES  # imports nothing

WORKERS = 2  # trials at a time in every framework, and the CPUs every Ray is started with


@dataclass(frozen=True)
class Finished:
    """A child process, run to its end."""

    code: int  # exit code
    launched: float  # time.time() at launch
    exited: float  # time.time() at exit
    wall: float  # perf_counter seconds from launch to exit
    log: Path  # its stdout and stderr
    result: dict[str, Any] | None  # its RESULT line, parsed; None without one


@functools.cache
def _no_cluster_home() -> str:
    """A CAVIAR_HOME where no `caviar up` is recorded: made once, when first needed, and
    removed when this process exits."""
    home = tempfile.mkdtemp(prefix="caviar-bench-home-")
    atexit.register(shutil.rmtree, home, True)
    return home


def child_env(
    ray_tmp: Path | None = None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A child's environment: one BLAS thread, token auth, this checkout on the path, and
    no cluster to join (no RAY_ADDRESS, and a CAVIAR_HOME where no `caviar up` is
    recorded) unless `extra` says otherwise."""
    env = dict(os.environ)
    env.update(dict.fromkeys(BLAS_VARIABLES, "1"))
    env["RAY_AUTH_MODE"] = "token"
    if ray_tmp is not None:
        env["RAY_TMPDIR"] = str(ray_tmp)  # this run's Ray, and nothing else, lives under it
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("RAY_ADDRESS", None)  # every run starts its own Ray
    env["CAVIAR_HOME"] = _no_cluster_home()
    env.update(extra or {})
    return env


def run_process(
    argv: list[str],
    log: Path,
    own_ray_tmp: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> Finished:
    """Run a command to its end, its output to `log` (environment: `child_env`).

    With `own_ray_tmp` it runs in a fresh RAY_TMPDIR, and whatever it leaves running
    there is stopped afterwards, by process id (the wall time stops before that).
    """
    ray_tmp = Path(tempfile.mkdtemp(prefix="cvr", dir="/tmp")) if own_ray_tmp else None
    env = child_env(ray_tmp, extra_env)
    launched, start = time.time(), time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.run(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    wall, exited = time.perf_counter() - start, time.time()
    if ray_tmp is not None:
        stop_leftovers(ray_tmp, log)
    return Finished(proc.returncode, launched, exited, wall, log, read_result(log))


def stop_leftovers(ray_tmp: Path, log: Path) -> None:
    """End what a run left under its RAY_TMPDIR, say so in its log, remove the dir.

    Ray's dashboard leaves a forkserver that exits on its own a second after the driver:
    15 seconds' grace before SIGTERM, then 5 more before SIGKILL.
    """
    left = stop_processes_under(ray_tmp, "RAY_TMPDIR", grace=15.0, timeout=5.0)
    if left:
        with log.open("a") as out:
            out.write(f"\n{Path(sys.argv[0]).name}: stopped {left} process(es) left behind\n")
    shutil.rmtree(ray_tmp, ignore_errors=True)  # even if something outlived SIGKILL


def read_result(log: Path) -> dict[str, Any] | None:
    lines = log.read_text().splitlines()
    last = next((ln for ln in reversed(lines) if ln.startswith(RESULT)), None)
    return None if last is None else dict(json.loads(last[len(RESULT) :]))


def tail(log: Path, lines: int) -> list[str]:
    """The last non-blank lines of a log, for an error message."""
    return [ln for ln in log.read_text().splitlines() if ln.strip()][-lines:]


def run_caviar(
    source: Mapping[str, Any],
    work: Path,
    workers: int = WORKERS,
    own_ray_tmp: bool = False,
    extra_env: Mapping[str, str] | None = None,
    options: Sequence[str] = (),
) -> Finished:
    """`caviar run FILE --plain --workers N [OPTIONS]` as a user runs it, FILE being
    `source` written to `work` (as JSON, which YAML reads as it is); the log goes next to
    it."""
    path = work / f"{source['name']}.yaml"
    path.write_text(json.dumps(dict(source), indent=2) + "\n")
    argv = [*caviar_command(), "run", str(path), "--plain", "--workers", str(workers), *options]
    return run_process(argv, work / f"{source['name']}.log", own_ray_tmp, extra_env)


def caviar_command() -> list[str]:
    script = Path(sys.executable).parent / "caviar"
    return [str(script)] if script.exists() else [sys.executable, "-m", "orchestrator.cli"]


def keep_or_remove(work: Path, keep: bool, what: str) -> None:
    """At the end of a run that went well: keep its work folder (--keep), or remove it.
    (A failed run keeps it, for the logs its error names.)"""
    if keep:
        print(f"{what} kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)

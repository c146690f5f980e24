"""Find and stop, by process id, the processes that belong to one directory (a Ray temp
dir, say), and nothing else: never `ray stop`, which ends every Ray on the machine.

Pure standard library, reading Linux's /proc, so tests, benchmarks and the package can
all clean up after a local Ray they started.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

StrPath = str | os.PathLike[str]


def processes_under(directory: StrPath, env_var: str | None = None) -> list[int]:
    """Pids of the other processes that mention `directory`: in their command line, or,
    given `env_var`, as that environment variable's value.

    Ray names its temp dir in the command line of every process it starts; a variable
    such as RAY_TMPDIR also reaches every process a run starts, its driver included.
    """
    path = os.fsencode(directory)
    source, wanted = "cmdline", path
    if env_var is not None:
        source, wanted = "environ", os.fsencode(env_var) + b"=" + path
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:  # another user's environment is unreadable, and a process may just have ended
            data = Path("/proc", entry, source).read_bytes()
        except OSError:
            continue
        # A variable must match a whole NUL-separated entry; a path, any part of the line.
        if wanted in (data if env_var is None else data.split(b"\0")):
            found.append(int(entry))
    return found


def wait_for_exit(
    directory: StrPath, env_var: str | None, timeout: float, poll: float = 0.1
) -> bool:
    """Whether every process under `directory` has ended within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while processes_under(directory, env_var):
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
    return True


def stop_processes_under(
    directory: StrPath,
    env_var: str | None = None,
    *,
    grace: float = 0.0,
    timeout: float = 10.0,
) -> int:
    """Stop every process `processes_under` finds, then remove `directory` once none is
    left; returns how many had to be signalled.

    They get `grace` seconds to exit on their own (the forkserver Ray's dashboard leaves
    exits a second after the driver), then SIGTERM and `timeout` seconds, then SIGKILL
    and `timeout` more.
    """
    signalled = 0
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            pids = processes_under(directory, env_var)
            signalled = max(signalled, len(pids))
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                    os.kill(pid, sig)
        if wait_for_exit(directory, env_var, grace if sig is None else timeout):
            shutil.rmtree(directory, ignore_errors=True)
            break
    return signalled

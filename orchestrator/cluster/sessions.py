"""Linux processes by session and start time, read from /proc: what names one process for
good (a pid with its start time; pids are reused, on some machines within minutes) and
which processes share a session (everything one `setsid` child started)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def parse_stat(stat: str) -> tuple[int, int]:
    """The session id and start time (clock ticks after boot) in a /proc/PID/stat line;
    the command name, in parentheses, may hold spaces and parentheses itself."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[3]), int(fields[19])


def started_ticks(pid: int) -> int | None:
    """When process `pid` started, or None if there is no such process."""
    try:
        return parse_stat(Path(f"/proc/{pid}/stat").read_text())[1]
    except (OSError, ValueError):
        return None


def session_members(session: int) -> list[int]:
    """Pids of the processes in `session`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError):
            if parse_stat(Path("/proc", entry, "stat").read_text())[0] == session:
                found.append(int(entry))
    return found


def cmdline(pid: int) -> list[str]:
    """Process `pid`'s arguments; [] once it has ended."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [os.fsdecode(a) for a in raw.split(b"\0") if a]

"""The local cluster `caviar up` starts: its record, and what starting and finding it takes.

`caviar up` runs `ray start --head` with its own temp dir and ports, everything on
127.0.0.1, token authentication on and one BLAS thread per worker; it writes what it
started to `$CAVIAR_HOME/cluster.json` (default `~/.caviar/cluster.json`). `caviar run`
attaches to that cluster while it is up; `caviar down` stops exactly its processes.

Everything here is plain data, argv lists and reads of Linux's /proc: no Ray, so it is
tested without starting one. local_cluster_control.py starts and stops the processes.
"""

from __future__ import annotations

import contextlib
import enum
import json
import math
import os
from collections.abc import Callable, Collection, Mapping, MutableMapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from caviar_common.errors import InputError
from orchestrator.cluster.processes import processes_under
from orchestrator.cluster.sessions import session_members, started_ticks
from workers.threads import BLAS_VARIABLES

HOME_VAR = "CAVIAR_HOME"  # the state directory; default ~/.caviar
RECORD_NAME = "cluster.json"
TOKEN_NAME = "auth_token"  # the cluster's copy of a token given as RAY_AUTH_TOKEN
HOST = "127.0.0.1"
DASHBOARD_PORT = 8265  # Ray's default
# Ray resolves a node address of 127.0.0.1 to the machine's outward address on Linux unless
# this is 0 (its name says Windows or macOS; the code path is the same). With it, the
# GCS, raylet and client server listen on the loopback interface only. Every client of
# the cluster needs it too, or it rewrites 127.0.0.1 and cannot connect.
LOOPBACK_VAR = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
REMOVE_HINT = "if no cluster from `caviar up` runs, remove the file"


class Health(enum.Enum):
    UP = "up"  # its GCS runs: drivers can attach
    BROKEN = "broken"  # some of its processes run, but not its GCS
    GONE = "gone"  # none of its processes runs: the record is stale


@dataclass(frozen=True)
class Process:
    """One process the cluster started; with its start time the pid names it for good."""

    pid: int
    started: int  # clock ticks after boot, /proc/PID/stat field 22
    name: str  # for people reading the record


@dataclass(frozen=True)
class ClusterRecord:
    """What `caviar up` started, as `cluster.json` keeps it."""

    address: str  # the GCS, HOST:PORT, as `ray.init(address=...)` takes it
    dashboard: str  # http://HOST:PORT, the dashboard and Jobs API
    client: str  # ray://HOST:PORT, Ray Client
    node_id: str  # the head node's id, as trials record their node
    cpus: int
    temp_dir: str  # Ray's temp dir; every log of the cluster is under it
    session: int  # the session id of everything `ray start` started
    processes: tuple[Process, ...]
    token_source: str  # where the token came from, for people
    token_path: str  # the file clients read the token from
    started_at: float  # Unix time
    # what `caviar up --num-gpus/--resources` declared; None: nothing (records from
    # before these options have neither)
    gpus: int | None = None
    resources: dict[str, float] | None = field(default=None, hash=False)  # a dict: unhashable

    @property
    def gcs(self) -> Process | None:
        return next((p for p in self.processes if p.name == "gcs_server"), None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> ClusterRecord:
        """The record in `data`; an InputError names the file `where` and the key."""
        values = {}
        for key, convert in _FIELDS.items():
            if key not in data:
                if key in _OPTIONAL:
                    continue
                raise InputError(where, f"key {key!r} is missing", hint=REMOVE_HINT)
            if key in _OPTIONAL and data[key] is None:
                continue
            try:
                values[key] = convert(data[key])
            except (TypeError, ValueError, KeyError) as err:
                raise InputError(
                    where, f"key {key!r} is malformed ({err!r})", hint=REMOVE_HINT
                ) from None
        return cls(**values)


def _processes(rows: Any) -> tuple[Process, ...]:
    return tuple(Process(int(r["pid"]), int(r["started"]), str(r["name"])) for r in rows)


_FIELDS: dict[str, Callable[[Any], Any]] = {
    "address": str,
    "dashboard": str,
    "client": str,
    "node_id": str,
    "cpus": int,
    "temp_dir": str,
    "session": int,
    "processes": _processes,
    "token_source": str,
    "token_path": str,
    "started_at": float,
    "gpus": int,
    "resources": lambda data: {str(name): float(data[name]) for name in dict(data)},
}
_OPTIONAL = {"gpus", "resources"}  # added later: an older record lacks them


# -- what the machine has, as `caviar up` declares it -----------------------------------

# Ray's own resources: `ray start` refuses them as custom ones (they have flags of their own)
RAY_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory")
RESOURCES_RULE = (
    "must be a JSON object of custom resources, each a non-empty name other than "
    f"{', '.join(RAY_RESOURCES)} with a positive amount"
)
EXAMPLE = """e.g. '{"spot": 1}'"""


def parse_resources(text: str) -> dict[str, float]:
    """The custom resources of `--resources '{"name": amount}'`; an InputError names the
    option, the rule, the value refused and what in it breaks the rule."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError("--resources", RESOURCES_RULE, text, f"not JSON ({err})") from None
    if not isinstance(data, dict):
        raise InputError("--resources", RESOURCES_RULE, text, f"not an object: {EXAMPLE}")
    resources = {}
    for name, amount in data.items():
        if not name:
            raise InputError("--resources", RESOURCES_RULE, text, "a name is empty")
        if name in RAY_RESOURCES:
            flag = {"CPU": "--num-cpus", "GPU": "--num-gpus"}.get(name)
            use = f"; declare it with {flag}" if flag else ""
            raise InputError(
                "--resources", RESOURCES_RULE, text, f"{name} is one of Ray's own{use}"
            )
        number = isinstance(amount, (int, float)) and not isinstance(amount, bool)
        if not number or not math.isfinite(amount) or amount <= 0:
            raise InputError(
                "--resources", RESOURCES_RULE, text, f"{name!r} has {json.dumps(amount)}"
            )
        resources[name] = float(amount)
    return resources


def declared(gpus: int | None, resources: Mapping[str, float] | None) -> list[str]:
    """What `caviar up` declared beyond CPUs, for people: ["2 GPUs", "spot 1"]."""
    said = [] if gpus is None else [f"{gpus} GPU{'' if gpus == 1 else 's'}"]
    return said + [f"{name} {amount:g}" for name, amount in (resources or {}).items()]


# -- where things live ----------------------------------------------------------------


def state_dir(env: Mapping[str, str] = os.environ, home: Path | None = None) -> Path:
    """`$CAVIAR_HOME`, else ~/.caviar."""
    if env.get(HOME_VAR):
        return Path(env[HOME_VAR])
    return (home or Path.home()) / ".caviar"


def record_path(env: Mapping[str, str] = os.environ, home: Path | None = None) -> Path:
    return state_dir(env, home) / RECORD_NAME


def load_record(path: Path) -> ClusterRecord | None:
    """The record at `path`, or None when there is none."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(str(path), f"not JSON ({err})", hint=REMOVE_HINT) from None
    if not isinstance(data, dict):
        raise InputError(str(path), f"must hold a JSON object, got {type(data).__name__}")
    return ClusterRecord.from_dict(data, str(path))


def save_record(record: ClusterRecord, path: Path) -> None:
    """Write atomically, so a concurrent reader sees the old record or the new one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}")
    part.write_text(record.to_json())
    os.replace(part, path)


def remove_record(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


# -- the token ------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """Where the cluster's token comes from and the file every client reads it from."""

    source: str
    path: Path
    make: str | None = None  # "copy": write RAY_AUTH_TOKEN's value to `path`; "generate"


def choose_token(env: Mapping[str, str], home: Path, state: Path) -> Token:
    """Ray's own order: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token; with none,
    a new token in ~/.ray/auth_token, as `ray get-auth-token --generate` makes it.

    A token given as a variable is copied to the state directory, so clients find it
    after the shell that ran `caviar up` has gone.
    """
    if env.get("RAY_AUTH_TOKEN"):
        return Token("RAY_AUTH_TOKEN", state / TOKEN_NAME, "copy")
    if env.get("RAY_AUTH_TOKEN_PATH"):
        path = Path(env["RAY_AUTH_TOKEN_PATH"]).expanduser()
        if not path.is_file():
            raise InputError("RAY_AUTH_TOKEN_PATH", "must name a token file", str(path))
        return Token(f"RAY_AUTH_TOKEN_PATH ({path})", path)
    default = home / ".ray" / "auth_token"
    if default.is_file():
        return Token(str(default), default)
    return Token(f"generated into {default}", default, "generate")


# -- starting -------------------------------------------------------------------------


@dataclass(frozen=True)
class Ports:
    gcs: int
    dashboard: int
    client: int
    metrics: int
    agent: int  # the dashboard agent's HTTP port (Ray's default, 52365, is fixed)


def choose_ports(
    is_free: Callable[[int], bool], pick: Callable[[], int], dashboard: int | None = None
) -> Ports:
    """The dashboard on `dashboard` (0: any free port; default 8265, the port `caviar
    submit` and Ray's tools assume, when it is free); every other port from `pick`."""
    if dashboard and not is_free(dashboard):
        raise InputError(
            "--dashboard-port", f"must be a free port, got {dashboard}, which is in use"
        )
    taken: set[int] = set()

    def one(port: int | None) -> int:
        while port is None or port in taken:
            port = pick()
        taken.add(port)
        return port

    if dashboard is None:
        dashboard = DASHBOARD_PORT if is_free(DASHBOARD_PORT) else 0
    return Ports(
        dashboard=one(dashboard or None),
        gcs=one(None),
        client=one(None),
        metrics=one(None),
        agent=one(None),
    )


def start_argv(
    ray: str,
    ports: Ports,
    cpus: int,
    temp_dir: str,
    gpus: int | None = None,
    resources: Mapping[str, float] | None = None,
) -> list[str]:
    """`ray start --head` for a one-node cluster on 127.0.0.1 (not blocking: it returns once
    the processes are up), with `gpus` GPUs and the custom `resources` when declared
    (otherwise Ray detects the GPUs itself)."""
    extra = [] if gpus is None else [f"--num-gpus={gpus}"]
    if resources:
        extra.append(f"--resources={json.dumps(dict(resources))}")
    return [
        ray,
        "start",
        "--head",
        f"--node-ip-address={HOST}",
        f"--port={ports.gcs}",
        "--include-dashboard=true",
        f"--dashboard-host={HOST}",
        f"--dashboard-port={ports.dashboard}",
        f"--ray-client-server-port={ports.client}",
        f"--metrics-export-port={ports.metrics}",
        f"--dashboard-agent-listen-port={ports.agent}",
        f"--num-cpus={cpus}",
        *extra,
        f"--temp-dir={temp_dir}",
        "--disable-usage-stats",
    ]


def start_env(
    base: Mapping[str, str], token_path: Path, bin_dir: str, results: Path
) -> dict[str, str]:
    """The environment of `ray start`, which every process of the cluster inherits: one
    BLAS thread per worker, token authentication from `token_path`, the loopback node,
    `caviar` on the PATH and CAVIAR_RESULTS (unless set: `results`) for submitted sweeps."""
    env = {k: v for k, v in base.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_TOKEN")}
    env.update({name: "1" for name in BLAS_VARIABLES})
    env.update(client_env(str(token_path)))
    path = env.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        env["PATH"] = os.pathsep.join([bin_dir, path]) if path else bin_dir
    env.setdefault("CAVIAR_RESULTS", str(results))
    return env


def client_env(token_path: str) -> dict[str, str]:
    """What a process needs in its environment to talk to the cluster (RAY_AUTH_TOKEN
    must be unset: it would take precedence over the file)."""
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": token_path, LOOPBACK_VAR: "0"}


def use_client_env(token_path: str, environ: MutableMapping[str, str] = os.environ) -> None:
    """Make this process a client of the cluster. Ray reads these variables when it is
    imported: call this before."""
    environ.pop("RAY_AUTH_TOKEN", None)
    environ.update(client_env(token_path))


def urls(ports: Ports) -> tuple[str, str, str]:
    """The GCS address, the dashboard URL and the Ray Client address."""
    return f"{HOST}:{ports.gcs}", f"http://{HOST}:{ports.dashboard}", f"ray://{HOST}:{ports.client}"


# -- finding its processes ------------------------------------------------------------


def process_name(cmdline: list[str]) -> str:
    """A short name for a process of the cluster: gcs_server, raylet, dashboard ..."""
    if not cmdline:
        return "?"
    first = cmdline[0]
    if first.startswith("ray::") or " " in first:  # a title Ray set
        return first.split(" ")[0]
    if Path(first).name.startswith("python"):
        args = cmdline[1:]
        if "-m" in args[:-1]:
            return args[args.index("-m") + 1]
        script = next((a for a in args if a.endswith(".py")), None)
        if script is not None:
            return Path(script).stem
    return Path(first).name


def recorded_alive(record: ClusterRecord) -> list[int]:
    """The recorded processes that still run (same pid, same start time)."""
    return [p.pid for p in record.processes if started_ticks(p.pid) == p.started]


def cluster_processes(record: ClusterRecord) -> list[int]:
    """Every process of the cluster that runs: those recorded, those naming its temp dir,
    and those in its session. Some never name the temp dir (the Ray Client server, the
    dashboard's module processes, the agents, which retitle themselves), so the session
    counts, but only while one of the others still vouches that it is this cluster's."""
    known = set(recorded_alive(record)) | set(processes_under(record.temp_dir))
    members = set(session_members(record.session))
    return sorted(known | members if known & members else known)


def health(record: ClusterRecord, alive: Collection[int]) -> Health:
    """Up while its GCS runs; broken while only other processes of it do; else gone."""
    gcs = record.gcs
    if gcs is not None and gcs.pid in alive and started_ticks(gcs.pid) == gcs.started:
        return Health.UP
    return Health.BROKEN if alive else Health.GONE


# -- what `caviar run` and the commands see ---------------------------------------------


@dataclass(frozen=True)
class Found:
    """The local cluster as a command finds it: `record` is set only when it is up."""

    record: ClusterRecord | None
    health: Health | None  # None: no record
    alive: tuple[int, ...] = ()
    note: str | None = None  # what a command should tell the user


def find(path: Path) -> Found:
    """Look up the cluster recorded at `path`; a stale record (none of its processes
    runs) is removed and reported, never attached to."""
    record = load_record(path)
    if record is None:
        return Found(None, None)
    alive = cluster_processes(record)
    state = health(record, alive)
    if state is Health.UP:
        return Found(record, state, tuple(alive))
    if state is Health.BROKEN:
        return Found(
            None,
            state,
            tuple(alive),
            f"the local cluster from `caviar up` at {record.address} is broken: its GCS has "
            f"ended, {len(alive)} of its processes still run; `caviar down` stops them",
        )
    if load_record(path) == record:  # not one a concurrent `caviar up` has just written
        remove_record(path)
    logs = Path(record.temp_dir) / "session_latest" / "logs"
    where = f"; its logs are in {logs}" if logs.is_dir() else ""
    return Found(
        None,
        state,
        note=f"the local cluster from `caviar up` at {record.address} is no longer running; "
        f"removed its record{where}",
    )

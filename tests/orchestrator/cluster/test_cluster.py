"""A two-node Ray cluster started from docker-compose.yml's own `ray start` lines (ports
moved to free ones, the dashboard kept on 127.0.0.1), a sweep submitted to it with
`caviar submit`, and the second node stopped in the middle of another sweep."""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from orchestrator.cluster.processes import stop_processes_under
from orchestrator.sweepfile.parse import _Loader
from tests.conftest import free_port, short_temp_dir

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[3]
CAVIAR = [sys.executable, "-m", "orchestrator.cli"]


def compose_commands() -> dict[str, list[str]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return {name: shlex.split(s["command"]) for name, s in compose["services"].items()}


def _set(argv: list[str], flag: str, value: str) -> list[str]:
    out = [a for a in argv if not a.startswith(f"{flag}=")]
    assert len(out) == len(argv) - 1, f"{flag} is not in {argv}"
    return [*out, f"{flag}={value}"]


class Cluster:
    """The compose file's head and worker, as real processes on this machine."""

    def __init__(self, tmp: Path) -> None:
        self.temp = short_temp_dir("cvk-")
        self.results = tmp / "runs"
        self.env = dict(
            os.environ,
            RAY_AUTH_MODE="token",
            RAY_AUTH_TOKEN=secrets.token_hex(16),
            CAVIAR_RESULTS=str(self.results),
            # as on a real node, the project's `caviar` is on the PATH of `ray start`
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        self.env.pop("RAY_ADDRESS", None)
        commands = compose_commands()
        self.gcs, self.dashboard = free_port(), free_port()
        head = commands["ray-head"]
        for flag, value in (
            ("--port", str(self.gcs)),
            ("--dashboard-port", str(self.dashboard)),
            ("--ray-client-server-port", str(free_port())),
            ("--dashboard-host", "127.0.0.1"),  # a test must not open this machine up
            ("--num-cpus", "1"),
        ):
            head = _set(head, flag, value)
        # two nodes on one machine: each needs its own agent port (Ray's default is fixed)
        head += [f"--temp-dir={self.temp}", *self._node_flags()]
        worker = _set(commands["ray-worker"], "--address", f"127.0.0.1:{self.gcs}")
        worker = _set(worker, "--num-cpus", "1") + self._node_flags()
        self.head_argv, self.worker_argv = head, worker
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @staticmethod
    def _node_flags() -> list[str]:
        return [
            "--node-ip-address=127.0.0.1",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--metrics-export-port={free_port()}",
        ]

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.dashboard}"

    def start(self, name: str, argv: list[str]) -> None:
        ray_bin = str(Path(sys.executable).parent / "ray")
        self.procs[name] = subprocess.Popen(
            [ray_bin, *argv[1:]],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_for_nodes(self, count: int, timeout: float = 120.0) -> None:
        probe = (
            "import ray; ray.init(address='auto', log_to_driver=False); "
            "print(sum(n['Alive'] for n in ray.nodes()))"
        )
        env = dict(self.env, RAY_ADDRESS=f"127.0.0.1:{self.gcs}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = subprocess.run(
                [sys.executable, "-c", probe], env=env, capture_output=True, text=True
            )
            if done.returncode == 0 and done.stdout.strip().splitlines()[-1:] == [str(count)]:
                return
            time.sleep(1.0)
        raise AssertionError(f"the cluster never had {count} live nodes")

    def worker_node_id(self) -> str:
        probe = (
            "import ray; ray.init(address='auto', log_to_driver=False); "
            "print([n['NodeID'] for n in ray.nodes() if n['Alive'] and "
            "'node:__internal_head__' not in n['Resources']][0])"
        )
        env = dict(self.env, RAY_ADDRESS=f"127.0.0.1:{self.gcs}")
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True
        )
        return done.stdout.strip().splitlines()[-1]

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)  # the node dies as a crashed machine would
        proc.wait(30)

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name)
        stop_processes_under(self.temp)


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    try:
        c.start("head", c.head_argv)
        c.start("worker", c.worker_argv)
        c.wait_for_nodes(2)
        yield c
    finally:
        c.close()


def _sweep(tmp: Path, name: str, trials: int, epochs: int, dataset: str = "digits") -> Path:
    sweep = {
        "name": name,
        "dataset": dataset,
        "model": {"optimizer": "adam", "hidden_layers": 2, "batch_size": 32},
        "space": {"learning_rate": {"type": "log_uniform", "low": 0.003, "high": 0.03}},
        "budget": {"trials": trials, "max_epochs": epochs},
    }
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(sweep))
    return path


def _held_on(db: Path, node: str) -> int:
    """Running trials on `node` with a checkpoint before the end; 0 while db is created."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as conn:
            return int(
                conn.execute(
                    "SELECT COUNT(*) FROM trials t JOIN checkpoints c ON c.trial_id = t.trial_id "
                    "WHERE t.state = 'running' AND t.node = ? AND c.epoch < 40",
                    (node,),
                ).fetchone()[0]
            )
    except sqlite3.OperationalError:  # the file exists, its tables not yet
        return 0


def _trials(db: Path) -> list[tuple[str, str, int, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT state, node, epochs, starts FROM trials ORDER BY number"
        ).fetchall()


def test_compose_file_is_valid_against_the_compose_spec():
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(ROOT / "docker-compose.yml"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_publishes_ports_on_loopback_only():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    ports = [p for s in compose["services"].values() for p in s.get("ports", [])]
    assert ports and all(p.startswith("127.0.0.1:") for p in ports)


def test_a_submitted_sweep_runs_on_both_nodes(cluster, tmp_path):
    sweep = _sweep(tmp_path, "submitted", 6, 4)
    done = subprocess.run(
        [*CAVIAR, "submit", str(sweep), "--address", cluster.address, "--workers", "2"],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "submitted caviar-submitted-" in done.stdout and "SUCCEEDED" in done.stdout
    rows = _trials(cluster.results / "submitted" / "sweep.db")
    assert [r[0] for r in rows] == ["completed"] * 6
    assert len({r[1] for r in rows}) == 2  # trials ran on both nodes

    listed = subprocess.run(
        [*CAVIAR, "jobs", "--address", cluster.address],
        env=cluster.env,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0 and "submitted" in listed.stdout and "SUCCEEDED" in listed.stdout


def test_a_sweep_of_its_own_trainer_ships_the_module_with_the_job(cluster, tmp_path):
    """The example trainer's module lies next to its sweep file, nowhere on the workers'
    path: the job carries it, and trials on both nodes import it."""
    own = tmp_path / "own"
    own.mkdir()
    example = ROOT / "examples" / "own_trainer"
    (own / "sgd_trainer.py").write_text((example / "sgd_trainer.py").read_text())
    sweep = yaml.load((example / "sweep.yaml").read_text(), Loader=_Loader)  # noqa: S506
    sweep.update(name="own-submitted", budget={"trials": 4, "max_epochs": 3}, scheduler="fifo")
    (own / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    done = subprocess.run(
        [*CAVIAR, "submit", str(own / "sweep.yaml"), "--address", cluster.address],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=400,
        cwd=tmp_path,  # not the module's folder: only the job's copy can be imported
    )
    assert done.returncode == 0, done.stdout + done.stderr
    db = cluster.results / "own-submitted" / "sweep.db"
    rows = _trials(db)
    assert [r[0] for r in rows] == ["completed"] * 4, rows
    assert len({r[1] for r in rows}) == 2  # trials ran on both nodes
    with sqlite3.connect(db) as conn:
        extra = conn.execute("SELECT extra FROM curves").fetchall()
    assert len(extra) == 12 and all('"train_accuracy"' in e for (e,) in extra)


def test_losing_the_second_node_mid_sweep_loses_nothing(cluster, tmp_path):
    # epochs of ~0.1 s, so the node can be stopped while both of its trials are mid-way
    sweep = _sweep(tmp_path, "node-lost", 4, 40, "synthetic:rows=12000,features=64,classes=4")
    second = cluster.worker_node_id()
    job = subprocess.run(
        [
            *CAVIAR,
            "submit",
            str(sweep),
            "--address",
            cluster.address,
            "--workers",
            "2",
            "--no-wait",
        ],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert job.returncode == 0, job.stderr
    job_id = job.stdout.split()[1]
    db = cluster.results / "node-lost" / "sweep.db"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # until the second node holds a checkpointed trial
        if _held_on(db, second):
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the second node never held a trial with a checkpoint: {_trials(db)}")
    cluster.stop("worker")
    logs = subprocess.run(
        [*CAVIAR, "logs", job_id, "--follow", "--address", cluster.address],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert "SUCCEEDED" in logs.stdout, logs.stdout + logs.stderr
    rows = _trials(db)
    assert [r[0] for r in rows] == ["completed"] * 4
    assert max(r[3] for r in rows) == 2  # at least one trial restarted elsewhere
    with sqlite3.connect(db) as conn:
        epochs = conn.execute("SELECT trial_id, epoch FROM curves ORDER BY trial_id, epoch")
        points = epochs.fetchall()
    assert len(points) == len(set(points)) == 4 * 40  # nothing lost, nothing twice


def test_submit_to_an_address_that_does_not_answer_fails_fast_naming_it(tmp_path):
    port = free_port()
    done = subprocess.run(
        [
            *CAVIAR,
            "submit",
            str(_sweep(tmp_path, "nowhere", 1, 1)),
            "--address",
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"http://127.0.0.1:{port}" in done.stderr

"""Runs the loop's trials on a pool of long-lived Ray actors, each reserving what one trial
asks for (`resources:` CPUs, GPUs, memory, custom resources).

An actor costs about 0.3 s to start, so each runs many trials in turn. The epochs the loop
asks for go to the worker in runs of about a quarter of a second (`chunk_epochs`), at most
two runs waiting per worker, so a worker never idles between them and the driver makes
one call per run, not per epoch. Once a trial's last epoch has been sent, the worker
takes the next trial: its setup and first epochs queue behind the last ones. Results are
collected with `ray.wait` as they finish, whichever worker they come from; a worker that
dies is replaced, and its trials are reported lost, in one line each, so the loop can
restart them elsewhere.

Without a number of workers, the pool is as many trials as the cluster's nodes hold, shared
fairly with the other Caviar sweeps on the cluster (their workers are actors named
`caviar-worker-N` in namespaces of their own): a pool larger than its share retires idle
workers as another sweep arrives, and grows back once it has gone.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.exceptions import ActorAlreadyExistsError, GetTimeoutError, RayActorError

from caviar_common.errors import suggest
from caviar_common.keeping import NO_KEEP, KeepBar
from orchestrator.core.executor import (
    Crashed,
    EpochDone,
    Event,
    Placement,
    TrialTask,
    chunk_epochs,
    lost_worker_line,
)
from orchestrator.core.ray_names import WORKER_PREFIX, worker_name
from orchestrator.core.resources import TrialResources, cluster_slots, describe, fair_share
from orchestrator.core.spec import DIRECTIONS, sign_of
from workers.host import TrialHost
from workers.protocol import DEFAULT_TRAINER, check_metric
from workers.trial_worker import TrialWorker

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
SHARE_EVERY = 2.0  # seconds between looks at which other sweeps share the cluster
WAIT_NOTE_EVERY = 30.0  # seconds between notes while workers wait for another sweep
ALL_READY_WAIT = 15.0  # seconds the pool waits for all its workers before starting


@dataclass
class _Trial:
    """What the executor knows of a trial it placed: which epochs the loop asked for and
    which of them have been sent to the worker."""

    trial_id: str
    last: int  # the trial's last epoch (0: not known)
    setup: tuple[Any, ...] | None  # what the worker builds the trial from, until sent
    data: Any  # ObjectRef of its dataset, until sent
    wanted: int = 0  # highest epoch the loop asked for
    sent: int = 0  # highest epoch sent to the worker
    runs: int = 0  # calls sent
    checkpoints: set[int] = field(default_factory=set)
    keep: KeepBar = NO_KEEP  # what an epoch's value must beat for its weights to come back
    ends_itself: bool = False  # its last epoch was sent with the word to end after it

    @property
    def finishing(self) -> bool:
        """Every epoch up to its last has been sent: the worker can queue the next trial."""
        return self.last > 0 and self.sent >= self.last


@dataclass
class _Worker:
    name: str
    handle: Any
    ready: Any  # ObjectRef of where(), until the actor is up
    node: str = ""
    pid: int = 0
    blas_threads: int = 0
    devices: str = ""  # CUDA_VISIBLE_DEVICES as Ray set it; "" for no GPU
    trials: list[_Trial] = field(default_factory=list)  # running, then queued behind it
    alive: bool = True
    in_flight: int = 0  # runs of epochs sent and not answered yet
    epoch_seconds: float | None = None  # of its latest epochs, to size the next runs
    closing: Any = None  # ObjectRef of close(), once asked to exit

    @property
    def up(self) -> bool:
        return self.alive and self.ready is None

    @property
    def takes_trial(self) -> bool:
        """Idle, or its only trial has all its epochs sent (the next waits behind them)."""
        if not self.up:
            return False
        return not self.trials or (len(self.trials) == 1 and self.trials[0].finishing)


@dataclass
class _Call:
    kind: str  # "ready" or "run"
    worker: str
    trial: str | None = None


class RayExecutor:
    def __init__(
        self,
        sweep: str,
        resources: TrialResources | float = 1.0,
        workers: int | None = None,
        start_timeout: float = 120.0,
        data: Mapping[str, Any] | None = None,
        host: TrialHost | None = None,
        metric: str = "val_cost",
        direction: str = "minimize",
        trainer: str = DEFAULT_TRAINER,
        say: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Start the worker pool: `workers` actors, or the cluster's fair share for this
        sweep: as many trials as its nodes hold (`resources` each: a TrialResources, or a
        number of CPUs), divided among the Caviar sweeps on it.

        With `data` (a TrialTask's dataset spec), the dataset is loaded here once, while the
        actors start, and shared with every worker through the object store (zero-copy),
        instead of each worker loading its own copy. `metric` and `direction` are the
        sweep's: the workers' gauges show that metric and its best value in that direction.
        `trainer` ("module:Class") is the class each trial trains (its module must be
        importable by the workers: see `runner.connect_ray`'s `py_modules`). `say` hears
        why workers wait, when another sweep holds the cluster.
        """
        check_metric(metric, trainer)
        if direction not in DIRECTIONS:
            raise ValueError(
                f"direction: must be one of {list(DIRECTIONS)}, got {direction!r}"
                f"{suggest(direction, DIRECTIONS)}"
            )
        if not isinstance(resources, TrialResources):
            resources = TrialResources(cpus=float(resources))
        self.resources = resources
        self._fixed = workers is not None  # else: a fair share, that follows the others
        self._say = say or (lambda line: None)
        self._clock = clock
        self._namespace = ray.get_runtime_context().namespace
        self._looked = clock()
        self._others: set[str] = set()
        if workers is None:
            workers = self._share()
        self.sweep = sweep
        self.metric, self.sign = metric, sign_of(direction)
        self.trainer = trainer
        self._slots = workers
        self._cls = ray.remote(TrialWorker)
        self._workers: dict[str, _Worker] = {}
        self._trials: dict[str, tuple[_Worker, _Trial]] = {}  # placed, by trial id
        self._dirty: dict[str, _Worker] = {}  # workers with epochs asked for, not sent
        self._calls: dict[Any, _Call] = {}
        self._count = 0
        self._replaced = 0  # workers started in place of ones that died
        self._host = host or TrialHost()  # loads datasets in this process (it caches them)
        self._datasets: dict[str, Any] = {}  # spec as JSON -> ObjectRef of the Dataset
        for _ in range(workers):
            self._spawn()
        if data is not None:
            self._dataset_ref(data)
        self._wait_ready(start_timeout)

    def __repr__(self) -> str:
        alive = sum(w.alive for w in self._workers.values())
        return f"RayExecutor({self.sweep!r}, workers={alive}, {describe(self.resources.asks)} each)"

    # -- the pool -----------------------------------------------------------------------

    def _spawn(self) -> None:
        while True:  # a name stays taken for a moment after its actor is killed
            self._count += 1
            name = worker_name(self._count)
            try:
                handle = self._cls.options(
                    name=name,
                    max_restarts=0,
                    **self.resources.ray_options(),
                ).remote(
                    name, self.sweep, self.resources.cpus, self.metric, self.sign, self.trainer
                )
                break
            except ActorAlreadyExistsError:
                continue
        ref = handle.where.remote()  # type: ignore[attr-defined]
        self._workers[name] = _Worker(name, handle, ref)
        self._calls[ref] = _Call("ready", name)

    def _wait_ready(self, timeout: float) -> None:
        """Wait for the pool: every worker, for a few seconds; then for the first one. While
        other Caviar sweeps hold the cluster, as long as it takes (they give up workers to
        this one, or end); otherwise at most `timeout` seconds. Workers that start later
        join the pool as they come up."""
        began = noted = self._clock()
        refs = [w.ready for w in self._workers.values()]
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=min(timeout, ALL_READY_WAIT))
        for ref in done:
            self._collect(ref)
        while not any(w.up for w in self._workers.values()):
            refs = [w.ready for w in self._workers.values() if w.ready is not None]
            done, _ = ray.wait(refs, num_returns=1, timeout=min(timeout, WAIT_NOTE_EVERY))
            for ref in done:
                self._collect(ref)
            if any(w.up for w in self._workers.values()):
                return
            others = self._other_sweeps()
            if not others and self._clock() - began >= timeout:
                raise RuntimeError(
                    f"ray: no Caviar worker started within {timeout:g} s; does the cluster "
                    f"have {self.resources} free per worker?"
                )
            if others and self._clock() - noted >= WAIT_NOTE_EVERY - 1e-6:
                noted = self._clock()
                self._say(
                    f"waiting for {self.resources} per worker: held by the other Caviar "
                    f"sweep(s) on the cluster ({', '.join(sorted(others))}); they give "
                    "workers up as their trials end"
                )

    @property
    def slots(self) -> int:
        return self._slots

    @property
    def workers(self) -> dict[str, dict[str, Any]]:
        """Live workers: name -> node id, process id and trial (tests kill them by pid)."""
        return {
            w.name: {
                "node": w.node,
                "pid": w.pid,
                "trial": w.trials[0].trial_id if w.trials else None,
                "blas": w.blas_threads,
                "devices": w.devices,
            }
            for w in self._workers.values()
            if w.up
        }

    def free(self) -> int:
        """Workers that take a trial now, less those the pool must give up."""
        return max(0, sum(1 for w in self._workers.values() if w.takes_trial) - self._excess())

    # -- sharing the cluster with other sweeps -------------------------------------------

    def _other_sweeps(self) -> set[str]:
        """The namespaces of the other Caviar sweeps with workers on the cluster (running
        or waiting to start)."""
        with contextlib.suppress(Exception):  # an older Ray, a GCS hiccup: none seen
            self._others = {
                actor["namespace"]
                for actor in ray.util.list_named_actors(all_namespaces=True)
                if str(actor.get("name", "")).startswith(WORKER_PREFIX)
                and actor.get("namespace") != self._namespace
            }
        return self._others

    def _share(self) -> int:
        """This sweep's fair share of the trials the cluster's nodes hold at once."""
        slots = max(1, cluster_slots(alive_nodes(), self.resources))
        return fair_share(slots, 1 + len(self._other_sweeps()))

    def _excess(self) -> int:
        """Live workers beyond the pool's size."""
        live = sum(1 for w in self._workers.values() if w.alive and w.closing is None)
        return max(0, live - self._slots)

    def _rebalance(self) -> None:
        """Every few seconds, a pool without a fixed size follows its fair share: idle
        workers beyond it exit (another sweep's waiting workers take their place), and
        missing ones are started once the share grows back."""
        if self._fixed or self._clock() - self._looked < SHARE_EVERY:
            return
        self._looked = self._clock()
        share = self._share()
        if share != self._slots:
            self._slots = share
        idle = [w for w in self._workers.values() if w.alive and not w.trials]
        for worker in sorted(idle, key=lambda w: w.ready is None):  # not started yet first
            if self._excess() <= 0:
                break
            self._retire(worker)
        live = sum(1 for w in self._workers.values() if w.alive and w.closing is None)
        for _ in range(self._slots - live):
            self._spawn()

    def _retire(self, worker: _Worker) -> None:
        """An idle worker exits (one still waiting to start is dropped: it holds nothing)."""
        for ref, call in list(self._calls.items()):
            if call.worker == worker.name:
                del self._calls[ref]
        if worker.ready is not None:
            with contextlib.suppress(Exception):
                ray.kill(worker.handle, no_restart=True)
        else:
            worker.closing = worker.handle.close.options(name="close").remote()
        worker.alive = False

    # -- the protocol -------------------------------------------------------------------

    def launch(self, task: TrialTask) -> Placement:
        ready = [w for w in self._workers.values() if w.takes_trial]
        worker = min(ready, key=lambda w: len(w.trials))  # an idle one first
        setup = (task.config, task.seed, task.checkpoint)  # sent with its first epochs
        trial = _Trial(task.trial_id, task.max_epochs, setup, self._dataset_ref(task.data))
        worker.trials.append(trial)
        self._trials[task.trial_id] = (worker, trial)
        return Placement(worker.name, worker.node, worker.devices)

    def request(self, trial_id: str, epoch: int, checkpoint: bool, keep: KeepBar = NO_KEEP) -> None:
        placed = self._trials.get(trial_id)
        if placed is None:
            return  # its worker died a moment ago; the loop hears of it in this poll
        worker, trial = placed
        if trial.wanted == 0:  # the first epoch asked for: the one after its checkpoint
            trial.sent = epoch - 1
        trial.wanted = max(trial.wanted, epoch)
        if checkpoint:
            trial.checkpoints.add(epoch)
        trial.keep = keep
        self._dirty[worker.name] = worker

    def release(self, trial_id: str) -> None:
        placed = self._trials.pop(trial_id, None)
        if placed is None:
            return
        worker, trial = placed
        for ref, call in list(self._calls.items()):
            if call.trial == trial_id:
                del self._calls[ref]  # results nobody will read
                worker.in_flight -= call.kind == "run"
        worker.trials.remove(trial)
        self._dirty[worker.name] = worker  # a trial queued behind this one goes on
        if worker.alive and trial.runs and not trial.ends_itself:
            # frees the trainer; nothing waits for the answer
            worker.handle.end.options(name=f"{trial_id} end").remote(trial_id)

    def poll(self, timeout: float) -> list[Event]:
        self._rebalance()
        if self._send():  # a worker takes the next trial now: let the loop launch it first
            timeout = 0.0
        if not self._calls:
            return []
        refs = list(self._calls)
        done, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if done and len(refs) > 1:  # take everything else that is ready too, in order
            done, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        events: list[Event] = []
        for ref in done:
            events.extend(self._collect(ref))
        return events

    def shutdown(self) -> None:
        """Ask every worker to exit once its current call is done; `close` waits for them."""
        for worker in self._workers.values():
            if worker.alive and worker.closing is None:
                worker.closing = worker.handle.close.options(name="close").remote()
        self._calls.clear()

    def close(self, grace: float = 3.0) -> None:
        """End the pool: workers that exit by themselves within `grace` seconds have sent
        their last gauges to Ray's metrics; the rest are killed."""
        self.shutdown()
        closing = {w.closing: w for w in self._workers.values() if w.alive}
        if closing:
            ray.wait(list(closing), num_returns=len(closing), timeout=grace)
        for worker in closing.values():
            with contextlib.suppress(Exception):  # gone already, most likely
                ray.kill(worker.handle, no_restart=True)
            worker.alive = False

    # -- sending runs of epochs -----------------------------------------------------------

    def _send(self) -> bool:
        """Send the epochs asked for since the last poll, two runs at most per worker;
        whether a worker now takes the next trial (its trial's last epoch went out)."""
        dirty, self._dirty = self._dirty, {}
        freed = False
        for worker in dirty.values():
            busy = not worker.takes_trial
            while worker.alive and worker.in_flight < 2:
                trial = _next_to_send(worker.trials)
                if trial is None:
                    break
                self._send_run(worker, trial)
            freed |= busy and worker.takes_trial
        return freed

    def _send_run(self, worker: _Worker, trial: _Trial) -> None:
        count = chunk_epochs(worker.epoch_seconds, trial.runs, trial.wanted - trial.sent)
        first, last = trial.sent + 1, trial.sent + count
        saves = [e for e in trial.checkpoints if first <= e <= last]
        trial.ends_itself = last == trial.last
        name = f"{trial.trial_id} epoch {first}" + (f"-{last}" if last > first else "")
        ref = worker.handle.run.options(name=name).remote(
            trial.trial_id,
            first,
            last,
            max(saves) if saves else None,
            trial.ends_itself,
            trial.data,
            trial.setup,
            trial.keep,
        )
        trial.sent, trial.runs, trial.setup, trial.data = last, trial.runs + 1, None, None
        trial.checkpoints.difference_update(saves)
        worker.in_flight += 1
        self._calls[ref] = _Call("run", worker.name, trial.trial_id)

    # -- results ------------------------------------------------------------------------

    def _dataset_ref(self, data: Mapping[str, Any]) -> Any:
        """The dataset in the object store, loaded by this process once per spec."""
        key = json.dumps(dict(data), sort_keys=True)
        if key not in self._datasets:
            dataset = self._host.dataset(
                data["spec"], data["seed"], data["val_fraction"], data.get("test_fraction", 0.0)
            )
            self._datasets[key] = ray.put(dataset)
        return self._datasets[key]

    def _collect(self, ref: Any) -> list[Event]:
        call = self._calls.pop(ref, None)
        if call is None:
            return []
        worker = self._workers[call.worker]
        if call.kind == "run":
            worker.in_flight -= 1
            self._dirty[worker.name] = worker
        try:
            value = ray.get(ref, timeout=0)
        except RayActorError as err:
            return self._lost(worker, err)
        except GetTimeoutError:  # cannot happen for a ready ref; keep it to be safe
            self._calls[ref] = call
            worker.in_flight += call.kind == "run"
            return []
        except Exception as err:  # the trial's own code raised (RayTaskError, mostly)
            if call.trial in self._trials:
                text = _ANSI.sub("", str(err))  # Ray colours the task's name
                return [Crashed(call.trial, text, lost_worker=False)]  # type: ignore[arg-type]
            return []
        if call.kind == "ready":
            worker.ready, worker.node, worker.pid = None, value["node"], value["pid"]
            worker.blas_threads = value["blas_threads"]
            worker.devices = value.get("devices", "")
        elif call.kind == "run" and value:
            seconds = [r.record.get("seconds") or 0.0 for r in value]
            worker.epoch_seconds = sum(seconds) / len(seconds)
            placed = self._trials.get(call.trial)  # type: ignore[arg-type]
            for r in value:  # later runs must beat the trial's best
                if not r.record["diverged"] and placed is not None:
                    placed[1].keep = placed[1].keep.seen(r.record[self.metric])
            return [
                EpochDone(call.trial, r.record, r.checkpoint, r.model)  # type: ignore[arg-type]
                for r in value
            ]
        return []

    def _lost(self, worker: _Worker, err: Exception) -> list[Event]:
        if not worker.alive:
            return []
        worker.alive = False
        for ref, call in list(self._calls.items()):
            if call.worker == worker.name:
                del self._calls[ref]
        if self._replaced < 3 * max(1, self._slots):  # a replacement, unless workers keep dying
            self._replaced += 1
            self._spawn()
        lost, worker.trials = worker.trials, []
        text = _ANSI.sub("", str(err))
        events: list[Event] = []
        for trial in lost:
            self._trials.pop(trial.trial_id, None)
            line = lost_worker_line(worker.name, worker.node, text)
            events.append(Crashed(trial.trial_id, f"worker {line} died: {text}", True, line))
        return events


def alive_nodes() -> list[dict[str, float]]:
    """What each alive node of the cluster has, in all (Ray's resource names)."""
    return [dict(n.get("Resources", {})) for n in ray.nodes() if n.get("Alive")]


def _next_to_send(trials: list[_Trial]) -> _Trial | None:
    """The trial whose epochs go next: the running one while it has epochs asked for and
    not sent; the one queued behind it only once every epoch of the first has been sent."""
    for trial in trials:
        if trial.sent < trial.wanted:
            return trial
        if not trial.finishing:
            return None
    return None

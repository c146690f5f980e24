"""Runs the loop's trials on a pool of long-lived Ray actors, one per `cpus_per_trial` CPUs.

An actor costs about 0.3 s to start, so each runs many trials in turn. Epoch results are
collected with `ray.wait` as they finish, whichever worker they come from; a worker that
dies is replaced, and its trial is reported lost so the loop can restart it elsewhere.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ray
from ray.exceptions import ActorAlreadyExistsError, GetTimeoutError, RayActorError

from caviar_common.errors import suggest
from orchestrator.executor import Crashed, EpochDone, Event, Placement, TrialTask
from orchestrator.spec import DIRECTIONS, METRICS, sign_of
from workers.host import TrialHost
from workers.trial_worker import TrialWorker

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class _Worker:
    name: str
    handle: Any
    ready: Any  # ObjectRef of where(), until the actor is up
    node: str = ""
    pid: int = 0
    blas_threads: int = 0
    trial: str | None = None
    alive: bool = True


@dataclass
class _Call:
    kind: str  # "ready", "begin", "step" or "end"
    worker: str
    trial: str | None = None


class RayExecutor:
    def __init__(
        self,
        sweep: str,
        cpus_per_trial: float = 1.0,
        workers: int | None = None,
        start_timeout: float = 120.0,
        data: Mapping[str, Any] | None = None,
        host: TrialHost | None = None,
        metric: str = "val_cost",
        direction: str = "minimize",
    ) -> None:
        """Start the worker pool: `workers` actors, or as many as the cluster's CPUs hold.

        With `data` (a TrialTask's dataset spec), the dataset is loaded here once, while the
        actors start, and shared with every worker through the object store (zero-copy),
        instead of each worker loading its own copy. `metric` and `direction` are the
        sweep's: the workers' gauges show that metric and its best value in that direction.
        """
        if metric not in METRICS:
            raise ValueError(
                f"metric: must be one of {list(METRICS)}, got {metric!r}"
                f"{suggest(metric, list(METRICS))}"
            )
        if direction not in DIRECTIONS:
            raise ValueError(
                f"direction: must be one of {list(DIRECTIONS)}, got {direction!r}"
                f"{suggest(direction, DIRECTIONS)}"
            )
        if workers is None:
            cpus = ray.cluster_resources().get("CPU", 1.0)
            workers = max(1, math.floor(cpus / cpus_per_trial + 1e-9))
        self.sweep = sweep
        self.cpus = cpus_per_trial
        self.metric, self.sign = metric, sign_of(direction)
        self._slots = workers
        self._cls = ray.remote(TrialWorker)
        self._workers: dict[str, _Worker] = {}
        self._calls: dict[Any, _Call] = {}
        self._count = 0
        self._host = host or TrialHost()  # loads datasets in this process (it caches them)
        self._datasets: dict[str, Any] = {}  # spec as JSON -> ObjectRef of the Dataset
        for _ in range(workers):
            self._spawn()
        if data is not None:
            self._dataset_ref(data)
        self._wait_ready(start_timeout)

    def __repr__(self) -> str:
        alive = sum(w.alive for w in self._workers.values())
        return f"RayExecutor({self.sweep!r}, workers={alive}, cpus_per_trial={self.cpus:g})"

    # -- the pool -----------------------------------------------------------------------

    def _spawn(self) -> None:
        while True:  # a name stays taken for a moment after its actor is killed
            self._count += 1
            name = f"caviar-worker-{self._count}"
            try:
                handle = self._cls.options(
                    name=name,
                    num_cpus=self.cpus,
                    max_restarts=0,
                ).remote(name, self.sweep, self.cpus, self.metric, self.sign)
                break
            except ActorAlreadyExistsError:
                continue
        ref = handle.where.remote()  # type: ignore[attr-defined]
        self._workers[name] = _Worker(name, handle, ref)
        self._calls[ref] = _Call("ready", name)

    def _wait_ready(self, timeout: float) -> None:
        refs = [w.ready for w in self._workers.values()]
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=timeout)
        for ref in done:
            self._collect(ref)
        if not any(w.ready is None for w in self._workers.values()):
            raise RuntimeError(
                f"ray: no Caviar worker started within {timeout:g} s; does the cluster have "
                f"{self.cpus:g} free CPU(s) per worker?"
            )

    @property
    def slots(self) -> int:
        return self._slots

    @property
    def workers(self) -> dict[str, dict[str, Any]]:
        """Live workers: name -> node id and process id (tests kill them by pid)."""
        return {
            w.name: {"node": w.node, "pid": w.pid, "trial": w.trial, "blas": w.blas_threads}
            for w in self._workers.values()
            if w.alive and w.ready is None
        }

    def free(self) -> int:
        return sum(
            1 for w in self._workers.values() if w.alive and w.ready is None and w.trial is None
        )

    # -- the protocol -------------------------------------------------------------------

    def launch(self, task: TrialTask) -> Placement:
        worker = next(
            w for w in self._workers.values() if w.alive and w.ready is None and w.trial is None
        )
        worker.trial = task.trial_id
        ref = worker.handle.begin.options(name=f"{task.trial_id} setup").remote(
            task.trial_id, task.config, self._dataset_ref(task.data), task.seed, task.checkpoint
        )
        self._calls[ref] = _Call("begin", worker.name, task.trial_id)
        return Placement(worker.name, worker.node)

    def request(self, trial_id: str, epoch: int, checkpoint: bool) -> None:
        worker = self._worker_of(trial_id)
        if worker is None:
            return  # its worker died a moment ago; the loop hears of it in this poll
        ref = worker.handle.step.options(name=f"{trial_id} epoch {epoch}").remote(
            trial_id, checkpoint
        )
        self._calls[ref] = _Call("step", worker.name, trial_id)

    def release(self, trial_id: str) -> None:
        for ref, call in list(self._calls.items()):
            if call.trial == trial_id and call.kind in ("begin", "step"):
                del self._calls[ref]  # results nobody will read
        for worker in self._workers.values():
            if worker.trial == trial_id:
                worker.trial = None
                if worker.alive:
                    ref = worker.handle.end.options(name=f"{trial_id} end").remote(trial_id)
                    self._calls[ref] = _Call("end", worker.name, trial_id)

    def poll(self, timeout: float) -> list[Event]:
        if not self._calls:
            return []
        refs = list(self._calls)
        done, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if done:  # take everything else that is ready too, in submission order
            done, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        events: list[Event] = []
        for ref in done:
            event = self._collect(ref)
            if event is not None:
                events.append(event)
        return events

    def shutdown(self) -> None:
        for worker in self._workers.values():
            if worker.alive:
                ray.kill(worker.handle, no_restart=True)
                worker.alive = False
        self._calls.clear()

    # -- results ------------------------------------------------------------------------

    def _dataset_ref(self, data: Mapping[str, Any]) -> Any:
        """The dataset in the object store, loaded by this process once per spec."""
        key = json.dumps(dict(data), sort_keys=True)
        if key not in self._datasets:
            dataset = self._host.dataset(data["spec"], data["seed"], data["val_fraction"])
            self._datasets[key] = ray.put(dataset)
        return self._datasets[key]

    def _worker_of(self, trial_id: str) -> _Worker | None:
        return next((w for w in self._workers.values() if w.trial == trial_id), None)

    def _collect(self, ref: Any) -> Event | None:
        call = self._calls.pop(ref, None)
        if call is None:
            return None
        worker = self._workers[call.worker]
        try:
            value = ray.get(ref, timeout=0)
        except RayActorError as err:
            return self._lost(worker, err)
        except GetTimeoutError:  # cannot happen for a ready ref; keep it to be safe
            self._calls[ref] = call
            return None
        except Exception as err:  # the trial's own code raised (RayTaskError, mostly)
            if call.kind in ("begin", "step") and worker.trial == call.trial:
                text = _ANSI.sub("", str(err))  # Ray colours the task's name
                return Crashed(call.trial, text, lost_worker=False)  # type: ignore[arg-type]
            return None
        if call.kind == "ready":
            worker.ready, worker.node, worker.pid = None, value["node"], value["pid"]
            worker.blas_threads = value["blas_threads"]
        elif call.kind == "step":
            return EpochDone(call.trial, value.record, value.checkpoint)  # type: ignore[arg-type]
        return None

    def _lost(self, worker: _Worker, err: Exception) -> Event | None:
        if not worker.alive:
            return None
        worker.alive = False
        for ref, call in list(self._calls.items()):
            if call.worker == worker.name:
                del self._calls[ref]
        if self._count < 4 * self._slots:  # a replacement, unless workers keep dying
            self._spawn()
        trial, worker.trial = worker.trial, None
        if trial is None:
            return None
        message = f"worker {worker.name} on node {worker.node[:12]} died: {err}"
        return Crashed(trial, message, lost_worker=True)

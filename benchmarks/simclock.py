"""Tuning on a simulated clock with the real worker: what benchmarks/quality.py runs on.

`EpochCache` trains each trial's epochs with `workers.mlp.trainer.Trainer`, once: a curve is a
function of (dataset, trial seed key, configuration), so every method that asks for the
same epoch gets the same record, and the same cost, the epoch's measured seconds.
`SimExecutor` is the tuning loop's `Executor` on virtual workers whose time is simulated,
so Caviar's own loop, store and schedulers run unchanged and see results in the order a
cluster would deliver them. `run_optuna` drives an Optuna study the same way.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from caviar_common.seeds import SeedKey
    from orchestrator.core.executor import Event, Placement, TrialTask
    from orchestrator.core.spec import SweepSpec
    from workers.data.datasets import Dataset
    from workers.mlp.trainer import Trainer

Record = dict[str, Any]  # EpochRecord.to_dict() without the per-batch costs, as the host sends
# What the executor hands the loop where it asks for a checkpoint: the loop stores it and
# gives it back at a promotion, but the cache resumes the trainer, so it is never read.
PLACEHOLDER_CHECKPOINT = b"cached"


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@dataclass
class _Curve:
    """One trial's epochs so far, and where to go on from: a live trainer or its state."""

    records: list[Record] = field(default_factory=list)
    trainer: Trainer | None = None  # at epoch len(records)
    state: dict[str, np.ndarray] | None = None  # the trainer's state_dict once let go


class EpochCache:
    """Every epoch trained so far, by (dataset, trial seed key, configuration).

    At most `live` trainers are kept; an older one is kept as its state_dict and rebuilt
    when it is needed again. The trainer's state holds its RNG, so a rebuilt trainer
    continues exactly as the live one would have (`check_resume` tests that).
    """

    def __init__(self, live: int = 16) -> None:
        self.live = live
        self.trained = 0  # epochs actually computed
        self.served = 0  # epochs asked for, cached or not
        self.train_seconds = 0.0  # the measured seconds of the epochs computed
        self._datasets: dict[str, Dataset] = {}
        self._curves: dict[tuple[str, str, str], _Curve] = {}
        self._live: OrderedDict[tuple[str, str, str], None] = OrderedDict()

    def __repr__(self) -> str:
        return (
            f"EpochCache({len(self._curves)} curves, trained={self.trained}, "
            f"served={self.served}, live={len(self._live)})"
        )

    def dataset(self, data: Mapping[str, Any]) -> Dataset:
        """The dataset a sweep's `data` names, loaded once."""
        from benchmarks.harness import load_data

        key = _key(dict(data))
        if key not in self._datasets:
            self._datasets[key] = load_data(data)
        return self._datasets[key]

    def epoch(
        self, data: Mapping[str, Any], seed: SeedKey, config: Mapping[str, Any], epoch: int
    ) -> Record | None:
        """Epoch `epoch` (from 1) of the trial; None if it diverged before that epoch."""
        key = (_key(dict(data)), _key(list(seed)), _key(dict(config)))
        curve = self._curves.setdefault(key, _Curve())
        self.served += 1
        while len(curve.records) < epoch:
            if curve.records and curve.records[-1]["diverged"]:
                return None  # the worker cannot train past a diverged epoch either
            trainer = self._trainer(key, curve, data, seed, config)
            record = trainer.step().to_dict()
            del record["batch_costs"]
            curve.records.append(record)
            self.trained += 1
            self.train_seconds += record["seconds"]
        return curve.records[epoch - 1]

    def _trainer(
        self,
        key: tuple[str, str, str],
        curve: _Curve,
        data: Mapping[str, Any],
        seed: SeedKey,
        config: Mapping[str, Any],
    ) -> Trainer:
        self._live[key] = None
        self._live.move_to_end(key)
        if curve.trainer is None:
            curve.trainer = build_trainer(config, self.dataset(data), seed, curve.state)
            curve.state = None
        while len(self._live) > self.live:
            old, _ = self._live.popitem(last=False)
            other = self._curves[old]
            if other.trainer is not None:
                other.state = other.trainer.state_dict()
                other.trainer = None
        return curve.trainer


def build_trainer(
    config: Mapping[str, Any],
    dataset: Dataset,
    seed: SeedKey,
    state: Mapping[str, np.ndarray] | None = None,
) -> Trainer:
    """The trainer Caviar's worker builds for a trial seeded `seed` (workers/host.py)."""
    from caviar_common.seeds import sequence
    from workers.mlp.trainer import Trainer

    trainer = Trainer(config, dataset, sequence(seed))
    if state is not None:
        trainer.load_state_dict(state)
    return trainer


def check_resume(config: Mapping[str, Any], dataset: Dataset, seed: SeedKey) -> None:
    """Raise unless a trainer restored after epoch 2 (through the checkpoint bytes the real
    worker sends) trains epochs 3-4 as one that never stopped: the cache relies on it."""
    from workers.mlp.trainer import state_from_bytes, state_to_bytes

    straight = build_trainer(config, dataset, seed)
    expected = [straight.step() for _ in range(4)]
    first = build_trainer(config, dataset, seed)
    first.step(), first.step()
    saved = state_from_bytes(state_to_bytes(first.state_dict()))
    resumed = build_trainer(config, dataset, seed, saved)
    got = [resumed.step() for _ in range(2)]
    for want, have in zip(expected[2:], got, strict=True):
        if (want.val_cost, want.train_cost) != (have.val_cost, have.train_cost):
            raise RuntimeError(
                f"resumed trainer differs at epoch {have.epoch}: val_cost {have.val_cost!r} "
                f"against {want.val_cost!r} straight; the epoch cache would be wrong"
            )


# -- Caviar's loop on simulated workers ---------------------------------------------------


@dataclass(order=True)
class _Pending:
    end: float
    order: int
    start: float = field(compare=False)
    trial_id: str = field(compare=False)
    record: Record = field(compare=False)
    checkpoint: bool = field(compare=False)


class SimExecutor:
    """`slots` virtual workers on a simulated clock; `now` is the clock to give the loop.

    An epoch asked for starts when its worker is free (after the trial's previous epoch)
    and ends its measured seconds later; `poll` delivers the earliest one and moves the
    clock to its end. Loop overhead costs no simulated time.
    """

    def __init__(self, cache: EpochCache, slots: int = 4) -> None:
        if slots < 1:
            raise ValueError(f"slots: must be an integer >= 1, got {slots}")
        self.cache = cache
        self._slots = slots
        self._now = 0.0
        self._free_at = [0.0] * slots  # when each worker's last queued epoch ends
        self._worker: dict[str, int] = {}
        self._tasks: dict[str, TrialTask] = {}
        self._pending: list[_Pending] = []  # a heap
        self._order = itertools.count()
        self.delivered: dict[tuple[str, int], float] = {}  # (trial, epoch) -> end time

    def __repr__(self) -> str:
        return (
            f"SimExecutor(slots={self._slots}, now={self._now:.2f}, "
            f"running={len(self._worker)}, pending={len(self._pending)})"
        )

    def now(self) -> float:
        return self._now

    @property
    def slots(self) -> int:
        return self._slots

    def free(self) -> int:
        return self._slots - len(self._worker)

    def launch(self, task: TrialTask) -> Placement:
        from orchestrator.core.executor import Placement

        used = set(self._worker.values())
        free = [w for w in range(self._slots) if w not in used]
        if not free:
            raise RuntimeError("launch: no free worker")
        worker = min(free, key=lambda w: (self._free_at[w], w))
        self._worker[task.trial_id] = worker
        self._tasks[task.trial_id] = task  # task.checkpoint is the placeholder: ignored
        return Placement(f"sim-{worker}", "sim")

    def request(self, trial_id: str, epoch: int, checkpoint: bool) -> None:
        task = self._tasks[trial_id]
        record = self.cache.epoch(task.data, task.seed, task.config, epoch)
        if record is None:
            return  # the epoch before diverged; the loop ends the trial on its record
        worker = self._worker[trial_id]
        start = max(self._now, self._free_at[worker])
        end = start + float(record["seconds"])
        self._free_at[worker] = end
        item = _Pending(end, next(self._order), start, trial_id, record, checkpoint)
        heapq.heappush(self._pending, item)

    def poll(self, timeout: float) -> list[Event]:
        from orchestrator.core.executor import EpochDone

        if not self._pending:
            if self._worker:
                raise RuntimeError(f"deadlock: trials {sorted(self._worker)} wait for nothing")
            return []
        item = heapq.heappop(self._pending)
        self._now = item.end
        epoch = int(item.record["epoch"])
        self.delivered[(item.trial_id, epoch)] = item.end
        data = PLACEHOLDER_CHECKPOINT if item.checkpoint else None
        return [EpochDone(item.trial_id, item.record, data)]

    def release(self, trial_id: str) -> None:
        worker = self._worker.pop(trial_id, None)
        self._tasks.pop(trial_id, None)
        dropped = [p for p in self._pending if p.trial_id == trial_id]
        if dropped:
            self._pending = [p for p in self._pending if p.trial_id != trial_id]
            heapq.heapify(self._pending)
        if worker is not None:
            # An epoch already started runs to its end on a real worker (an actor call is
            # not cancelled); one not yet started is never run.
            started = [p.end for p in dropped if p.start <= self._now]
            self._free_at[worker] = max([self._now, *started])

    def shutdown(self) -> None:
        for trial_id in list(self._worker):
            self.release(trial_id)


@dataclass(frozen=True)
class Point:
    """One epoch as a method received it: its end on the simulated clock and its value."""

    time: float
    val_cost: float  # NaN if it diverged
    trial: int
    epoch: int


def run_caviar(spec: SweepSpec, cache: EpochCache, run_dir: Path, workers: int = 4) -> list[Point]:
    """Caviar's own loop (`orchestrator.core.loop.Sweep`) and store, on `workers` simulated
    workers; returns the epochs from the store, in the order they arrived."""
    from orchestrator.core.loop import Sweep
    from orchestrator.storage.store import Store

    executor = SimExecutor(cache, workers)
    store = Store.create(run_dir, spec.source, clock=executor.now)
    try:
        Sweep(spec, store, executor, clock=executor.now).run()
        numbers = {r["trial_id"]: r["number"] for r in store.trial_rows()}
        points = []
        for p in store.points():  # ordered by seq: arrival order
            value = math.nan if p["diverged"] or p["val_cost"] is None else p["val_cost"]
            end = executor.delivered[(p["trial_id"], p["epoch"])]
            points.append(Point(end, value, numbers[p["trial_id"]], p["epoch"]))
    finally:
        store.close()
    if len(points) != len(executor.delivered):
        raise RuntimeError(
            f"{spec.name}: the store holds {len(points)} epochs, the executor delivered "
            f"{len(executor.delivered)} (a point replaced or lost)"
        )
    return points


# -- Optuna on the same clock -------------------------------------------------------------


@dataclass
class _OptunaTrial:
    trial: Any  # optuna.Trial
    number: int
    config: dict[str, Any]
    seed: SeedKey
    epoch: int = 0
    best: float = math.inf


def run_optuna(
    spec: SweepSpec,
    cache: EpochCache,
    pruner: Any,
    sampler_seed: int,
    suggest: Callable[[Any, Any, dict[str, Any]], dict[str, Any]],
    workers: int = 4,
    time_limit: float | None = None,
) -> list[Point]:
    """Optuna TPE (multivariate, constant liar) with `pruner`, `workers` trials at a time on
    the simulated clock: the budget is `spec`'s trials and max_epochs, the space `spec`'s,
    suggested through `suggest(trial, space, fixed)`; Optuna trial k trains with Caviar's
    seed key of trial k+1. With `time_limit` (simulated seconds), no epoch ends later, as
    under Caviar's `budget.time_limit`. Returns the epochs in the order they ended."""
    import optuna
    from optuna.trial import TrialState

    from caviar_common.seeds import trial_seed

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            multivariate=True, constant_liar=True, seed=sampler_seed
        )
    study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner)
    trials, epochs = spec.total_trials, spec.max_epochs
    heap: list[tuple[float, int, int]] = []  # (end time, order, worker)
    running: dict[int, _OptunaTrial] = {}
    records: dict[int, Record] = {}
    order = itertools.count()
    asked = 0
    points: list[Point] = []

    def next_epoch(worker: int, at: float) -> None:
        run = running[worker]
        record = cache.epoch(spec.data, run.seed, run.config, run.epoch + 1)
        if record is None:  # cannot happen: a diverged epoch ends the trial
            raise RuntimeError(f"trial {run.number}: no epoch {run.epoch + 1}")
        records[worker] = record
        heapq.heappush(heap, (at + float(record["seconds"]), next(order), worker))

    def start(worker: int, at: float) -> None:
        nonlocal asked
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # multivariate TPE on a conditional space
            trial = study.ask()
            config = suggest(trial, spec.space, dict(spec.model))
        number = trial.number + 1
        asked += 1
        running[worker] = _OptunaTrial(trial, number, config, trial_seed(spec.seed, number))
        next_epoch(worker, at)

    for worker in range(min(workers, trials)):
        start(worker, 0.0)
    while heap:
        now, _, worker = heapq.heappop(heap)
        if time_limit is not None and now > time_limit:
            break  # every epoch still in the heap ends later still
        run, record = running[worker], records.pop(worker)
        run.epoch = int(record["epoch"])
        value = math.nan if record["diverged"] else float(record["val_cost"])
        points.append(Point(now, value, run.number, run.epoch))
        ended = True
        if math.isnan(value):
            study.tell(run.trial, state=TrialState.FAIL)
        else:
            run.best = min(run.best, value)
            run.trial.report(value, run.epoch)
            if run.epoch >= epochs:
                study.tell(run.trial, run.best)
            elif run.trial.should_prune():
                study.tell(run.trial, state=TrialState.PRUNED)
            else:
                ended = False
        if not ended:
            next_epoch(worker, now)
            continue
        del running[worker]
        if asked < trials:
            start(worker, now)
    return points

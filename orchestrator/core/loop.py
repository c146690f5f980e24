"""The tuning loop: plan configurations, hand them to an executor, let the scheduler prune.

Pure: no Ray here. The loop launches trials while workers are free, asks for their epochs
(all of them up to the next one whose result may stop the trial, so a worker never idles
waiting for a decision nobody has to make), records every epoch in the store as it
arrives (the events of one poll in one transaction), and ends, prunes or restarts trials.
The same loop resumes a sweep from its store: finished trials stay finished, the
scheduler is replayed from the stored curves in their arrival order, and running trials
continue from their checkpoints.

A stage that zooms starts a scheduler of its own (its own rungs, its own brackets), so its
trials are judged against each other, not against the records of a stage that sampled
elsewhere; it waits for the stage before it to end, since its box depends on the results.
A stage without a zoom samples the same box as the one before: it shares that stage's
scheduler (whose paused trials it may still promote) and starts as soon as a worker is
free. A random, Sobol or grid stage is planned whole when it begins; a TPE stage proposes
each trial when a worker is free for it.
"""

from __future__ import annotations

import math
import resource
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from caviar_common.keeping import BestTrials
from caviar_common.seeds import scheduler_seed, trial_seed
from caviar_common.states import LIVE, SweepState, TrialState
from orchestrator.core.budget import Budget, share_ends
from orchestrator.core.executor import Crashed, EpochDone, Event, Executor, TrialTask
from orchestrator.core.planner import (
    Finished,
    Proposal,
    plan_stage,
    propose,
    propose_one,
    stage_boxes,
    warm_proposals,
)
from orchestrator.core.status import Status
from orchestrator.schedulers import Decision, Scheduler, diverged, make_scheduler
from orchestrator.search.space import Box
from orchestrator.search.tpe import Ledger, TpeModel

if TYPE_CHECKING:
    from orchestrator.core.spec import SweepSpec
    from orchestrator.storage.rows import TrialRow
    from orchestrator.storage.store import Store


# (a trial's configuration, its number, its kept weights) -> (test cost, test accuracy)
Scorer = Callable[[dict[str, Any], int, bytes], tuple[float, float]]


ELAPSED = "elapsed"  # the sweep table's key: seconds its runs have spent, for a time budget


def trial_id(number: int) -> str:
    return f"trial-{number:04d}"


@dataclass
class Running:
    """The loop's view of one live trial."""

    trial_id: str
    number: int
    stage: int
    config: dict[str, Any]
    requested: int = 0  # highest epoch asked for
    reported: int = 0  # highest epoch recorded
    best: float = math.inf  # in minimise terms (sign folded in)
    restarts: int = 0  # after a lost worker, as the store counts them
    fresh: bool = True  # never started: nothing stored to restore or to forget


@dataclass
class Options:
    max_restarts: int = 2  # restarts after a lost worker, per trial; one more loss fails it
    checkpoint_every: int = 5  # epochs; also at every rung
    poll_seconds: float = 0.2


@dataclass
class _Plan:
    stage: int = -1
    queue: deque[tuple[int, Proposal | None]] = field(default_factory=deque)  # None: propose
    next_number: int = 1
    box: Box | None = None  # where a sequential or an open stage proposes
    open: bool = False  # proposes until its share (`until`) or the budget is spent
    until: float | None = None  # the share of the budget spent that ends the stage
    made: int = 0  # an open planned stage: its sampler's points taken so far


OPEN_CHUNK = 64  # an open random or Sobol stage plans at least this many trials at a time


def _usage(cpu_seconds: float) -> dict[str, float]:
    """What driving the sweep cost this process: CPU seconds (its Ray client threads
    included) and its peak resident memory in MiB (Linux reports KiB)."""
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"cpu_seconds": round(cpu_seconds, 4), "peak_rss_mib": round(peak_kib / 1024, 1)}


def _stage_schedulers(spec: SweepSpec, given: Scheduler | None) -> list[Scheduler]:
    """Each stage's scheduler: a new one where a stage zooms (and for the first), else the
    one of the stage before; a `given` scheduler serves every stage."""
    out: list[Scheduler] = []
    for i, stage in enumerate(spec.stages):
        if given is not None or (i > 0 and stage.zoom_top_k is None):
            out.append(given or out[-1])
            continue
        rng = np.random.default_rng(scheduler_seed(spec.seed, i))
        out.append(make_scheduler(spec.scheduler, spec.max_epochs, spec.sign, rng))
    return out


class Sweep:
    def __init__(
        self,
        spec: SweepSpec,
        store: Store,
        executor: Executor,
        *,
        scheduler: Scheduler | None = None,
        options: Options | None = None,
        clock: Callable[[], float] = time.time,
        on_status: Callable[[Status], None] | None = None,
        cpu_clock: Callable[[], float] = time.process_time,
        scorer: Scorer | None = None,
    ) -> None:
        """`scorer`: for a sweep with a test split, what scores a kept model on it (from
        the trial's configuration, number and weights) once the sweep has ended."""
        self.spec = spec
        self.scorer = scorer
        self.store = store
        self.executor = executor
        self._by_stage = _stage_schedulers(spec, scheduler)
        self.options = options or Options()
        self.clock = clock
        self.on_status = on_status
        self.running: dict[str, Running] = {}
        # trials waiting for a worker to go on from their checkpoint (a lost worker, a resume)
        self.to_restart: deque[Running] = deque()
        self.paused: dict[str, Running] = {}  # waiting at a rung for the scheduler
        self.status = Status.start(spec, clock())
        self._plan = _Plan()
        self._data = spec.data
        self._checkpoint_at = self._scheduler(0).rung_epochs
        self._best = BestTrials(spec.keep, spec.sign)  # what a kept model must beat
        # where TPE compares trials: each trial's best (minimised) up to each milestone
        # epoch it reached, the rungs of every stage's scheduler and the last epoch
        self._milestones = frozenset(
            {spec.max_epochs}.union(*(s.rung_epochs for s in self._by_stage))
        )
        self._at: dict[int, dict[int, float]] = {}
        self._ledger: Ledger | None = None  # TPE's evidence, kept from the first proposal on
        self._stopping = False
        self._budget = Budget(spec.epoch_budget, spec.time_limit)
        self._share_ends = share_ends(spec.stages)
        self._stored = 0  # epochs in the store: what the budget has spent, with those asked for
        self._before = 0.0  # seconds earlier runs of the sweep spent
        self._saved_at = -math.inf  # when the seconds spent were last stored
        self.cpu_clock = cpu_clock
        self._first_result: float | None = None

    @property
    def scheduler(self) -> Scheduler:
        """The scheduler of the stage now running."""
        return self._scheduler(max(self._plan.stage, 0))

    def _scheduler(self, stage: int) -> Scheduler:
        return self._by_stage[stage]

    # -- driving ------------------------------------------------------------------------

    def run(self) -> Status:
        """Run (or continue) the sweep to its end; KeyboardInterrupt leaves it resumable."""
        self.store.claim()
        self._before = float(self.store.get(ELAPSED, 0.0) or 0.0)
        self.status.elapsed_before = self._before
        self._replay()
        cpu = self.cpu_clock()
        try:
            events: list[Event] = []
            while True:
                with self.store.batch():  # one transaction per round: see Store.batch
                    for event in events:
                        self._handle(event)
                    self._check_budget()
                    self._save_elapsed()
                    self._launch()
                    if not self.running and not self._more_to_launch():
                        break
                self._report()
                events = self.executor.poll(self.options.poll_seconds)
            # the sweep is over: a paused trial's checkpoint stays only where a larger
            # budget would promote it first
            self.store.drop_paused_checkpoints(keep=self._promotable())
            self._score_kept()
            self.store.set(
                state=SweepState.FINISHED,
                ended=self.clock(),
                **{ELAPSED: self._elapsed()},
                driver={**(self.store.meta().driver or {}), **_usage(self.cpu_clock() - cpu)},
            )
            self._report(final=True)
        except KeyboardInterrupt:
            self.store.set(state=SweepState.INTERRUPTED, **{ELAPSED: self._elapsed()})
            self._report(final=True)
            raise
        finally:
            self.executor.shutdown()
        return self.status

    def _score_kept(self) -> None:
        """The sweep has ended: score each kept model on the test split, once. No sampler
        or scheduler ever sees these figures."""
        if self.scorer is None:
            return
        rows = {r.trial_id: r for r in self.store.trial_rows()}
        for kept in self.store.models(self.spec.sign):
            data = self.store.model_data(kept.trial_id)
            if data is None or kept.test_cost is not None:
                continue
            row = rows[kept.trial_id]
            cost, accuracy = self.scorer(dict(row.config), row.number, data)
            self.store.score_model(kept.trial_id, cost, accuracy)

    def _promotable(self) -> set[str]:
        found: set[str] = set()
        for scheduler in {id(s): s for s in self._by_stage}.values():
            found |= scheduler.promotable()
        return found

    def _more_to_launch(self) -> bool:
        if self._stopping:
            return False
        if self.to_restart or self._has_new():
            return True
        return self._plan_next_stage()

    def _launch(self) -> None:
        """Fill free workers: restarts first, then promotions, then new trials."""
        while self.executor.free() > 0 and not self._stopping:
            self._check_budget()  # each start spends some of it
            if self._stopping:
                return
            if self.to_restart:
                self._start(self.to_restart.popleft())
            elif (promoted := self._next_promotion()) is not None:
                self._promote(promoted)
            elif (new := self._next_new()) is not None:
                self._new_trial(*new)
            else:
                return

    def _next_new(self) -> tuple[int, Proposal | None] | None:
        """The next new trial and its proposal (None: propose it from the evidence), the
        stages planned as they come; None when no new trial can start now."""
        while True:
            plan = self._plan
            if plan.open and self._stage_spent():
                plan.open = False  # its share is spent: the stage starts no new trial,
                if plan.queue:  # and the next stage numbers its trials on from its last
                    plan.next_number = plan.queue[0][0]
                plan.queue.clear()
            if plan.open and not plan.queue:
                self._refill()
            if plan.queue:
                return plan.queue.popleft()
            if not self._plan_next_stage():
                return None

    def _has_new(self) -> bool:
        """Whether the stage now planned has a new trial to start."""
        return bool(self._plan.queue) or (self._plan.open and not self._stage_spent())

    def _stage_spent(self) -> bool:
        """Whether the open stage now planned has spent its share (or the whole budget)."""
        until = 1.0 if self._plan.until is None else self._plan.until
        return self._budget.spent(self._epochs_spent(), self._elapsed()) >= until - 1e-12

    def _refill(self) -> None:
        """Queue the open stage's next trials: one to propose (tpe), or the sampler's next
        points, numbered on from the stage's last (a resume skips those stored)."""
        plan, spec = self._plan, self.spec
        stage = spec.stages[plan.stage]
        if stage.sequential:
            plan.queue.append((plan.next_number, None))
            plan.next_number += 1
            return
        assert plan.box is not None
        made = propose(
            spec.space,
            spec.model,
            stage,
            plan.stage,
            plan.box,
            spec.seed,
            max(OPEN_CHUNK, plan.made),  # doubling: all points so far are drawn again
            plan.made,
        )
        plan.queue.extend((plan.next_number + i, p) for i, p in enumerate(made))
        plan.made += len(made)
        plan.next_number += len(made)

    def _plan_next_stage(self) -> bool:
        """Plan the next stage: one that zooms once every trial before it has ended."""
        index = self._plan.stage + 1
        if index >= len(self.spec.stages):
            return False
        if self.spec.stages[index].zoom_top_k is not None:
            if self.running or self.to_restart:
                return False
            # a new scheduler takes over: the old one's paused trials keep their state only
            self.store.drop_paused_checkpoints()
        self._plan_stage(index, self._plan.next_number)
        return self._has_new() or self._plan_next_stage()

    def _plan_stage(self, index: int, first: int) -> None:
        """Queue stage `index`'s trials, numbered from `first`, except those stored already;
        the first stage's begin with a warm start's configurations, besides its own."""
        rows = self.store.trial_rows()
        finished = [
            Finished(r.config, math.nan if r.best is None else r.best, r.stage, r.epochs)
            for r in rows
            if r.state not in LIVE
        ]
        spec, known = self.spec, {r.number for r in rows}
        warm = warm_proposals(spec, index)
        stage = spec.stages[index]
        if stage.open and stage.sampler != "grid":  # a grid is whole, open or not
            self._plan_open(index, first, warm, finished, frozenset(known))
            return
        if stage.sequential:
            box = stage_boxes(spec.space, spec.stages, index, finished, spec.sign)[index]
            count = len(warm) + (stage.trials or 0)
            todo: list[tuple[int, Proposal | None]] = [
                (n, warm[n - first] if n - first < len(warm) else None)
                for n in range(first, first + count)
                if n not in known
            ]
            self._plan = _Plan(index, deque(todo), first + count, box)
            return
        proposals = warm + plan_stage(
            spec.space, spec.model, spec.stages, index, finished, spec.sign, spec.seed
        )
        todo = [(first + i, p) for i, p in enumerate(proposals) if first + i not in known]
        self._plan = _Plan(index, deque(todo), first + len(proposals))

    def _plan_open(
        self,
        index: int,
        first: int,
        warm: list[Proposal],
        finished: list[Finished],
        known: frozenset[int],
    ) -> None:
        """Plan open stage `index` from trial `first`: a warm start's trials, then trials
        made as workers free up (`_refill`), on from the last the store holds."""
        spec = self.spec
        box = stage_boxes(spec.space, spec.stages, index, finished, spec.sign)[index]
        todo: list[tuple[int, Proposal | None]] = [
            (first + i, p) for i, p in enumerate(warm) if first + i not in known
        ]
        own = first + len(warm)  # the stage's own trials are numbered from here
        start = max([own, *(n + 1 for n in known if n >= own)])
        until = self._share_ends[index]
        self._plan = _Plan(index, deque(todo), start, box, True, until, start - own)

    def _new_trial(self, number: int, proposal: Proposal | None) -> None:
        if proposal is None:  # a sequential stage: propose from everything known by now
            assert self._plan.box is not None
            if self._ledger is None:  # read from the store once, then kept from our view
                earlier = self.spec.warm_start.evidence if self.spec.warm_start else ()
                model = TpeModel(self.spec.space, self.spec.model)
                self._ledger = Ledger(model, self.spec.sign, earlier)
            live = [*self.running.values(), *self.to_restart]
            history = self._ledger.refresh(
                live, self.paused, self._at, self.status, self.store.trial_rows
            )
            proposal = propose_one(self.spec, self._plan.stage, self._plan.box, history, number)
        tid = trial_id(number)
        box = self.spec.space.box_values(proposal.box)
        unit = list(proposal.unit)
        self.store.add_trial(
            tid, number, proposal.stage, proposal.config, box, unit, proposal.proposed_by
        )
        self._scheduler(proposal.stage).on_start(tid)
        trial = Running(tid, number, proposal.stage, dict(proposal.config))
        if self._ledger is not None:  # it may end before the next proposal
            self._ledger.started(trial)
        self._start(trial)

    def _start(self, trial: Running) -> None:
        saved = None if trial.fresh else self.store.checkpoint(trial.trial_id)
        done, data = saved if saved is not None else (0, None)
        if not trial.fresh:
            self.store.rewind(trial.trial_id, done)
            self._stored -= trial.reported - done  # the epochs after the checkpoint go
        trial.fresh = False
        trial.requested = trial.reported = done
        task = TrialTask(
            trial.trial_id,
            trial.config,
            self._data,
            trial_seed(self.spec.seed, trial.number),
            data,
            self.spec.max_epochs,
        )
        where = self.executor.launch(task)
        self.store.start_trial(
            trial.trial_id, where.worker, where.node, self.clock(), where.devices
        )
        self.running[trial.trial_id] = trial
        self.status.launched(trial.trial_id, trial.config, self.clock(), where.devices)
        self._feed(trial)

    def _feed(self, trial: Running) -> None:
        """Ask for the trial's epochs up to the first whose result may stop or pause it (or
        up to its last): no worker waits on a decision nobody has to make."""
        scheduler = self._scheduler(trial.stage)
        last = self.spec.max_epochs
        keep = self._best.bar(trial.trial_id, trial.best, last)
        while trial.requested < last:
            if trial.requested > trial.reported and scheduler.may_stop(trial.requested):
                return
            if self._budget.epochs is not None and self._epochs_spent() >= self._budget.epochs:
                break
            trial.requested += 1
            e = trial.requested
            ckpt = e % self.options.checkpoint_every == 0 or e in self._checkpoint_at
            # (at the last epoch, only a trial that ranks among the kept sends its state, as
            # `keep` says: a larger budget, caviar extend, lets it go on from there)
            self.executor.request(trial.trial_id, e, ckpt and e < last, keep)
        if trial.reported == trial.requested < last:  # the epoch budget is spent
            self._end(trial, TrialState.STOPPED, f"budget.epochs of {self._budget.epochs} spent")

    # -- events -------------------------------------------------------------------------

    def _handle(self, event: Event) -> None:
        trial = self.running.get(event.trial_id)
        if trial is None:
            return  # a trial already ended; an epoch asked for ahead of a stop
        if isinstance(event, Crashed):
            self._crashed(trial, event)
            return
        assert isinstance(event, EpochDone)
        record = event.record
        epoch = int(record["epoch"])
        if epoch <= trial.reported:
            return
        if self._first_result is None:  # how long the user waited for a first number
            self._first_result = self.clock()
            self.store.set(first_result=self._first_result)
        value = math.nan if record.get("diverged") else float(record[self.spec.metric])
        if not diverged(value) and self.spec.sign * value < trial.best:  # never an absurd one
            trial.best = self.spec.sign * value
            self._best.update(trial.trial_id, trial.best)
        self._milestone(trial.number, epoch, trial.best)
        trial.reported = epoch
        best = None if math.isinf(trial.best) else self.spec.sign * trial.best
        self.store.add_point(trial.trial_id, record, best)
        self._stored += 1
        if event.checkpoint is not None:
            self.store.save_checkpoint(trial.trial_id, epoch, event.checkpoint)
        if event.model is not None and not diverged(value):
            self.store.keep_model(
                trial.trial_id, epoch, value, event.model, self.spec.keep, self.spec.sign
            )
        scheduler = self._scheduler(trial.stage)
        decision = scheduler.on_result(trial.trial_id, epoch, value)
        self.status.epoch(trial.trial_id, epoch, value, self.clock())
        if decision is Decision.DIVERGED:
            scheduler.on_failed(trial.trial_id)
            message = record.get("message") or f"{self.spec.metric}={value}"
            self._end(trial, TrialState.DIVERGED, message)
        elif decision is Decision.STOP:
            self._end(trial, TrialState.PRUNED)
        elif decision is Decision.PAUSE:
            self._pause(trial)
        elif epoch >= self.spec.max_epochs:
            scheduler.on_complete(trial.trial_id)
            self._end(trial, TrialState.COMPLETED)
        else:
            self._feed(trial)

    def _milestone(self, number: int, epoch: int, best: float) -> None:
        """Note the trial's best so far (minimised) if `epoch` is a milestone."""
        if epoch in self._milestones and math.isfinite(best):
            self._at.setdefault(number, {})[epoch] = best

    def _pause(self, trial: Running) -> None:
        """The trial waits at its rung, unless the scheduler promotes it at once; the worker
        it frees goes to whichever trial the scheduler promotes, or to the next one."""
        promoted = self._next_promotion()
        if promoted == trial.trial_id:  # the best paused trial: it goes on where it is
            self._feed(trial)
            return
        self.executor.release(trial.trial_id)
        del self.running[trial.trial_id]
        self.paused[trial.trial_id] = trial
        self.store.pause_trial(trial.trial_id, self.clock(), trial.reported)
        self.status.paused(trial.trial_id, trial.reported)
        if promoted is not None:
            self._promote(promoted)

    def _next_promotion(self) -> str | None:
        """The paused trial the scheduler promotes now; once no new trial is left to start,
        it is told so (a free worker would otherwise idle)."""
        if self._stopping:
            return None
        found = self.scheduler.promote()
        last_stage = self._plan.stage + 1 >= len(self.spec.stages)
        if found is None and last_stage and not self._has_new():
            found = self.scheduler.promote(finishing=True)
        return found

    def _promote(self, trial_id: str) -> None:
        """Resume a paused trial from the checkpoint of its rung."""
        trial = self.paused.pop(trial_id)
        self.status.promoted(trial_id, trial.reported)
        self._start(trial)

    def _crashed(self, trial: Running, event: Crashed) -> None:
        self.executor.release(trial.trial_id)
        del self.running[trial.trial_id]
        if event.lost_worker and trial.restarts < self.options.max_restarts:
            trial.restarts += 1
            self.store.restart_trial(trial.trial_id, event.error)  # the whole text, kept
            self.status.restarted(trial.trial_id, event.line)
            self.to_restart.append(trial)
            return
        self._scheduler(trial.stage).on_failed(trial.trial_id)
        self._record_end(trial, TrialState.FAILED, event.error)

    def _end(self, trial: Running, state: TrialState, error: str | None = None) -> None:
        self.executor.release(trial.trial_id)
        del self.running[trial.trial_id]
        self._record_end(trial, state, error)

    def _record_end(self, trial: Running, state: TrialState, error: str | None) -> None:
        self.store.end_trial(trial.trial_id, state, self.clock(), error)
        self.status.ended(trial.trial_id, state, trial.reported)

    # -- the budget -------------------------------------------------------------------

    def _epochs_spent(self) -> int:
        """Epochs stored and epochs asked for: what the epoch budget has spent."""
        return self._stored + sum(t.requested - t.reported for t in self.running.values())

    def _elapsed(self) -> float:
        """Seconds this sweep has run, its earlier runs' included."""
        return self._before + max(0.0, self.clock() - self.status.started)

    def _save_elapsed(self) -> None:
        """Store the seconds spent (at most once a second), so that a resume, even after
        a crash, goes on with the time left."""
        now = self.clock()
        if now - self._saved_at >= 1.0:
            self._saved_at = now
            self.store.set(**{ELAPSED: self._elapsed()})

    def _check_budget(self) -> None:
        """Stop starting trials once the budget is spent. At the time limit, running
        trials stop where they are; once the epoch budget is spent, each ends after the
        epochs it was already asked for."""
        limit, epochs = self.spec.time_limit, self._budget.epochs
        if self._stopping:
            return
        if limit is not None and self._elapsed() >= limit:
            reason = f"budget.time_limit of {limit:g} s reached"
            for trial in list(self.running.values()):
                self._end(trial, TrialState.STOPPED, reason)
        elif epochs is not None and self._epochs_spent() >= epochs:
            reason = f"budget.epochs of {epochs} spent"
        else:
            return
        self._stopping = True  # no new trials, no promotions
        while self.to_restart:  # waiting for a worker after losing one: it ends here too
            self._record_end(self.to_restart.popleft(), TrialState.STOPPED, reason)

    def _report(self, final: bool = False) -> None:
        if self.on_status is not None:
            self.status.final = final
            self.on_status(self.status)

    # -- resuming -----------------------------------------------------------------------

    def _reopened(self, rows: list[TrialRow]) -> dict[str, Decision | None]:
        """Completed trials that can go on: the epoch budget grew past their last epoch
        (caviar extend) and they kept a checkpoint there (their models are kept)."""
        held = self.store.checkpointed()
        return {
            row.trial_id: None
            for row in rows
            if row.state == TrialState.COMPLETED
            and row.epochs < self.spec.max_epochs
            and held.get(row.trial_id) == row.epochs
        }

    def _reopen(self, rows: list[TrialRow], reopened: dict[str, Decision | None]) -> list[TrialRow]:
        """Reopen the completed trials a larger budget lets go on, as their scheduler now
        judges their last result: paused at a rung for a promotion, or running on (a
        trial it stops stays completed); the rows as they are then."""
        if not reopened:
            return rows
        for tid, decision in reopened.items():
            row = next(r for r in rows if r.trial_id == tid)
            if decision is Decision.PAUSE:
                self.store.pause_trial(tid, self.clock(), row.epochs)
            elif decision is Decision.CONTINUE:
                self.store.reopen_trial(tid)
        return self.store.trial_rows()

    def _replay(self) -> None:
        """Bring the scheduler and plan up to date with what the store already holds."""
        rows = self.store.trial_rows()
        if not rows:
            return
        by_id = {r.trial_id: r for r in rows}
        for row in rows:
            if row.starts > 0 or row.state != TrialState.PENDING:
                self._scheduler(row.stage).on_start(row.trial_id)
        reopened = self._reopened(rows)
        last_seq: dict[str, int] = {}
        points = list(self.store.points())
        self._stored = len(points)
        for p in points:
            last_seq[p.trial_id] = p.seq
        running_best: dict[str, float] = {}
        for p in points:
            tid = p.trial_id
            scheduler = self._scheduler(by_id[tid].stage)
            value = math.nan if p.diverged else p.value(self.spec.metric)
            if not diverged(value):
                running_best[tid] = min(running_best.get(tid, math.inf), self.spec.sign * value)
            self._milestone(by_id[tid].number, p.epoch, running_best.get(tid, math.inf))
            decision = scheduler.on_result(tid, p.epoch, value)
            if p.seq == last_seq[tid]:
                state = by_id[tid].state
                if tid in reopened:  # the scheduler judges it at its last epoch anew
                    reopened[tid] = decision
                elif state == TrialState.COMPLETED:
                    scheduler.on_complete(tid)
                elif state in (TrialState.DIVERGED, TrialState.FAILED):
                    scheduler.on_failed(tid)  # as the loop told it when it happened
        rows = self._reopen(rows, reopened)
        self.status.replayed(rows)
        for row in rows:
            if row.best is not None:
                self._best.update(row.trial_id, self.spec.sign * row.best)
        held = self.store.checkpointed()
        for row in rows:
            if row.state == TrialState.PAUSED and row.trial_id not in held:
                # its checkpoint went when the sweep ended: it can never be promoted
                self._scheduler(row.stage).resumed(row.trial_id)
                continue
            if row.state in LIVE or row.state == TrialState.PAUSED:
                trial = Running(row.trial_id, row.number, row.stage, row.config, fresh=False)
                trial.best = math.inf if row.best is None else self.spec.sign * row.best
                trial.reported = trial.requested = row.epochs
                trial.restarts = row.restarts  # the retry limit counts across resumes
                if row.state == TrialState.PAUSED:
                    self.paused[trial.trial_id] = trial
                else:  # running (promoted, if it was paused before its last stored point)
                    self._scheduler(trial.stage).resumed(trial.trial_id)
                    self.to_restart.append(trial)
        # the plan goes on with the latest stage the store has seen, skipping its known trials
        top = max(r.stage for r in rows)
        self._plan_stage(top, min(r.number for r in rows if r.stage == top))

"""The loop keeps TPE's evidence from its own view of its trials (running, paused, ended as
its notes say) and reads the store only when that view cannot tell: at a run's first
proposal, when the notes overflowed, and on a resume. Whatever the path, the evidence is
what the store's trial rows give."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from caviar_common.states import TrialState
from orchestrator.core import loop
from orchestrator.core.spec import Stage
from orchestrator.execution.simulated import (
    CurveSource,
    SimulatedClock,
    SimulatedExecutor,
    make_curves,
    simulation_spec,
)
from orchestrator.schedulers import check_scheduler
from orchestrator.search.space import Space, Uniform
from orchestrator.search.tpe import Evidence, Ledger, TpeModel, evidence
from orchestrator.storage.store import Store

SPACE = Space({"x": Uniform(0.0, 1.0)})


@dataclass
class Trial:
    """A trial as the loop sees it and as the store holds it."""

    trial_id: str
    number: int
    config: dict[str, Any]
    state: TrialState = TrialState.RUNNING
    reported: int = 0
    best: float = math.inf

    @property
    def epochs(self) -> int:
        return self.reported


@dataclass(frozen=True)
class Note:
    trial_id: str
    state: TrialState | None


@dataclass
class Notes:
    """The loop's notes, of which the log keeps only the last `keeps`."""

    keeps: int = 200
    notes: int = 0
    log: deque[Note] = field(default_factory=deque)

    def add(self, note: Note) -> None:
        self.log.append(note)
        self.notes += 1
        while len(self.log) > self.keeps:
            self.log.popleft()

    def since(self, seen: int) -> list[Note]:
        fresh = min(self.notes - seen, len(self.log))
        return list(self.log)[len(self.log) - fresh :] if fresh > 0 else []


@dataclass
class World:
    """Trials, the milestones they reached, the notes, and how often the store was read."""

    trials: dict[str, Trial] = field(default_factory=dict)
    at: dict[int, dict[int, float]] = field(default_factory=dict)
    notes: Notes = field(default_factory=Notes)
    reads: int = 0

    def start(self, number: int) -> Trial:
        trial = Trial(f"trial-{number:04d}", number, {"x": number / 100})
        self.trials[trial.trial_id] = trial
        return trial

    def end(self, trial: Trial, state: TrialState, epochs: int, note: bool = True) -> None:
        trial.state, trial.reported = state, epochs
        if state != TrialState.DIVERGED:
            trial.best = trial.number / 10
            self.at[trial.number] = {e: trial.best for e in (1, 3) if e <= epochs}
        if note:
            self.notes.add(Note(trial.trial_id, state))  # a pause's too, as the loop's

    def rows(self) -> list[Any]:
        self.reads += 1
        return [stored(t) for t in self.trials.values()]

    def refresh(self, ledger: Ledger) -> TpeModel:
        live = [t for t in self.trials.values() if t.state == TrialState.RUNNING]
        paused = {t.trial_id: t for t in self.trials.values() if t.state == TrialState.PAUSED}
        return ledger.refresh(live, paused, self.at, self.notes, self.rows)


@dataclass(frozen=True)
class Row:
    number: int
    config: dict[str, Any]
    state: TrialState
    epochs: int
    best: float | None


def stored(t: Trial) -> Row:
    return Row(t.number, t.config, t.state, t.epochs, None if math.isinf(t.best) else t.best)


def plain(items: list[Evidence]) -> list[tuple[Any, ...]]:
    return [
        (
            e.number,
            dict(e.config),
            e.kind,
            e.epochs,
            None if math.isnan(e.value) else e.value,
            dict(e.at),
        )
        for e in items
    ]


def test_the_store_is_read_once_then_only_when_the_notes_cannot_tell():
    world, ledger = World(notes=Notes(keeps=4)), Ledger(TpeModel(SPACE, {}), 1.0)
    trials = [world.start(n) for n in range(1, 9)]
    world.refresh(ledger)
    assert world.reads == 1
    for trial, (state, epochs) in zip(
        trials[:4],
        [
            (TrialState.COMPLETED, 9),
            (TrialState.PAUSED, 1),
            (TrialState.DIVERGED, 2),
            (TrialState.FAILED, 1),
        ],
        strict=True,
    ):
        world.end(trial, state, epochs)
    new = world.start(9)
    ledger.started(new)
    model = world.refresh(ledger)
    assert world.reads == 1  # four notes since, all still in the log
    assert plain(model.history()) == plain(evidence(world.rows(), 1.0, (), world.at))
    world.reads = 0
    for trial in [*trials[4:8], new]:  # five ends: the first note is gone from the log
        world.end(trial, TrialState.PRUNED, 3)
    model = world.refresh(ledger)
    assert world.reads == 1
    assert plain(model.history()) == plain(evidence(world.rows(), 1.0, (), world.at))


def test_a_trial_gone_without_a_note_makes_the_ledger_read_the_store():
    world, ledger = World(), Ledger(TpeModel(SPACE, {}), 1.0)
    trials = [world.start(n) for n in range(1, 4)]
    world.refresh(ledger)
    world.end(trials[0], TrialState.COMPLETED, 9, note=False)
    world.reads = 0
    model = world.refresh(ledger)
    assert world.reads == 1
    assert [e.kind for e in model.history()] == ["complete", "running", "running"]


class Interrupting:
    """The simulated workers, until the loop has polled `polls` times: then a Ctrl-C."""

    def __init__(self, inner: SimulatedExecutor, polls: int | None) -> None:
        self.inner, self.polls = inner, polls

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def poll(self, timeout: float) -> list[Any]:
        if self.polls is not None:
            self.polls -= 1
            if self.polls < 0:
                raise KeyboardInterrupt
        return self.inner.poll(timeout)


def test_a_resumed_sweep_rebuilds_the_evidence_from_its_store(tmp_path: Path, monkeypatch):
    spec = replace(
        simulation_spec(40, 9, seed=2),
        space=SPACE,
        stages=(Stage(40, sampler="tpe", warmup=5),),
        scheduler=check_scheduler("hyperband", {"reduction_factor": 3, "mode": "promote"}, 9),
    )
    source = CurveSource(make_curves(40, 9, seed=2))
    propose_one, checks = loop.propose_one, []
    sweeps: list[loop.Sweep] = []
    made: list[int] = []  # proposals after each run

    def checking(spec: Any, index: int, box: Any, history: Any, number: int) -> Any:
        sweep = sweeps[-1]
        stored = evidence(sweep.store.trial_rows(), spec.sign, (), sweep._at)
        checks.append(plain(history.history()) == plain(stored))
        return propose_one(spec, index, box, history, number)

    monkeypatch.setattr(loop, "propose_one", checking)
    for polls in (150, None):  # interrupted, then resumed to the end
        clock = SimulatedClock()
        store = Store.open(tmp_path / "run", clock) if sweeps else None
        store = store or Store.create(tmp_path / "run", spec.source, clock=clock)
        executor = Interrupting(SimulatedExecutor(source, 4, clock), polls)
        sweeps.append(loop.Sweep(spec, store, executor, clock=clock))
        if polls is None:
            sweeps[-1].run()
        else:
            with pytest.raises(KeyboardInterrupt):
                sweeps[-1].run()
        store.close()
        made.append(len(checks))
    assert 0 < made[0] < 40 and made[1] == 40  # the resume proposed the rest
    assert all(checks)

"""Schedulers at thousands of trials decide exactly as the rules they document, applied the
slow way, and forget a trial once it is over.

Each reference below keeps plain lists and sorts or scans all of them for every call, as
the rules read in the schedulers' docstrings: ASHA's percentile and top rules in stop
mode, its paused trials and promotions in promote mode, Hyperband's brackets, median
stopping's medians of running averages. Random sweeps of thousands of calls, in the order
the tuning loop makes them (starts, results, replayed epochs after a restart, divergence,
failures, completions, promotions, resumes), go to a scheduler and its reference side by
side; every decision and every promotion must be the same.
"""

from __future__ import annotations

import gc
import math
import random
import statistics
import tracemalloc
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from caviar_common.curves import diverged
from orchestrator.schedulers import (
    Asha,
    Decision,
    Hyperband,
    MedianStopping,
    Scheduler,
    check_scheduler,
    make_scheduler,
)
from orchestrator.schedulers.asha import bracket_rungs, hyperband_weights

C, S, P, D = Decision.CONTINUE, Decision.STOP, Decision.PAUSE, Decision.DIVERGED


def share(n: int, eta: float) -> int:
    """floor(n / eta), exactly, for eta as written in a sweep file (1.1 is 11/10)."""
    return math.floor(Fraction(n) / Fraction(repr(eta)))


# --- references: the documented rules, the slow way ------------------------------------


class Reference:
    """Divergence, replayed epochs and the direction, as base.py documents them."""

    def __init__(self, sign: float) -> None:
        self.sign = sign
        self.last: dict[str, int] = {}

    def on_start(self, tid: str) -> None:
        self.last.setdefault(tid, 0)

    def on_result(self, tid: str, epoch: int, value: float) -> Decision:
        if diverged(value):
            self.last[tid] = max(epoch, self.last.get(tid, 0))
            self.unpause(tid)
            return D
        if epoch <= self.last.get(tid, 0):
            return C  # judged there already
        self.last[tid] = epoch
        return self.decide(tid, epoch, self.sign * value)

    def decide(self, tid: str, epoch: int, value: float) -> Decision:
        return C

    def promote(self, finishing: bool = False) -> str | None:
        return None

    def unpause(self, tid: str) -> None:
        pass

    def resumed(self, tid: str) -> None:
        self.unpause(tid)

    def on_complete(self, tid: str) -> None:
        pass

    def on_failed(self, tid: str) -> None:
        self.unpause(tid)


def percentile_keeps(value: float, before: list[float], eta: float) -> bool:
    """No worse than the 1/eta quantile, linearly interpolated (np.quantile's default), of
    the values recorded before; the first always goes on."""
    ordered = sorted(before)
    if not ordered:
        return True
    position = (len(ordered) - 1) / eta
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    cutoff = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return value <= cutoff


def top_keeps(value: float, before: list[float], eta: float) -> bool:
    """Among the best max(1, floor(n / eta)) of the n values, itself counted; ties go to
    the newcomer."""
    better = sum(1 for v in before if v < value)
    return better < max(1, share(len(before) + 1, eta))


class ReferenceAsha(Reference):
    """ASHA and Hyperband: rungs as lists, every cut-off and rank recomputed per call."""

    def __init__(
        self,
        max_epochs: int,
        grace: int,
        eta: float,
        brackets: int,
        sign: float,
        seed: int,
        mode: str,
        rule: str,
        judge: str = "best",
    ) -> None:
        super().__init__(sign)
        self.eta, self.mode, self.judge = eta, mode, judge
        self.keeps = percentile_keeps if rule == "percentile" else top_keeps
        self.rungs: list[dict[int, list[Any]]] = [  # values (stop) or (value, id) (promote)
            {e: [] for e in epochs} for epochs in bracket_rungs(max_epochs, grace, eta, brackets)
        ]
        self.rng = np.random.default_rng(seed)
        self.weights = hyperband_weights(brackets, eta)
        self.bracket: dict[str, int] = {}
        self.best: dict[str, float] = {}
        self.paused: dict[str, tuple[int, int, float]] = {}  # id -> (bracket, epoch, value)

    def on_start(self, tid: str) -> None:
        super().on_start(tid)
        if tid not in self.bracket:
            many = len(self.rungs) > 1
            self.bracket[tid] = int(self.rng.choice(len(self.rungs), p=self.weights)) if many else 0

    def decide(self, tid: str, epoch: int, value: float) -> Decision:
        if tid not in self.bracket:
            self.on_start(tid)
        if self.judge == "best":
            value = min(value, self.best.get(tid, value))
            self.best[tid] = value
        b = self.bracket[tid]
        if self.mode == "stop":
            if epoch not in self.rungs[b]:
                return C
            go_on = self.keeps(value, self.rungs[b][epoch], self.eta)
            self.rungs[b][epoch].append(value)
            return C if go_on else S
        if tid in self.paused and self.paused[tid][1] < epoch:
            del self.paused[tid]  # it ran past its rung: it was promoted
        if epoch not in self.rungs[b]:
            return C
        self.rungs[b][epoch].append((value, tid))
        self.paused[tid] = (b, epoch, value)
        return P

    def promote(self, finishing: bool = False) -> str | None:
        """Brackets in order; in each, rungs from the top; in a rung, its best paused trial
        if it ranks in the top floor(n / eta) (at least 1 when finishing)."""
        for b, rungs in enumerate(self.rungs):
            for epoch in sorted(rungs, reverse=True):
                waiting = sorted(
                    (v, tid) for tid, (bb, e, v) in self.paused.items() if (bb, e) == (b, epoch)
                )
                if not waiting:
                    continue
                rank = sum(1 for result in rungs[epoch] if result < waiting[0])
                n = share(len(rungs[epoch]), self.eta)
                if rank < (max(1, n) if finishing else n):
                    del self.paused[waiting[0][1]]
                    return waiting[0][1]
        return None

    def unpause(self, tid: str) -> None:
        self.paused.pop(tid, None)


class ReferenceMedian(Reference):
    """Median stopping: every epoch's running averages in a list, the median by sorting."""

    def __init__(self, grace: int, min_trials: int, sign: float) -> None:
        super().__init__(sign)
        self.grace, self.min_trials, self.ended = grace, min_trials, 0
        self.averages: dict[int, list[float]] = {}
        self.sums: dict[str, float] = {}
        self.best: dict[str, float] = {}

    def decide(self, tid: str, epoch: int, value: float) -> Decision:
        self.sums[tid] = self.sums.get(tid, 0.0) + value
        self.best[tid] = min(value, self.best.get(tid, value))
        others = self.averages.setdefault(epoch, [])
        stop = (
            epoch >= self.grace
            and self.ended >= self.min_trials
            and len(others) > 0
            and self.best[tid] > statistics.median(others)
        )
        others.append(self.sums[tid] / epoch)
        if stop:
            self.ended += 1
            return S
        return C

    def on_complete(self, tid: str) -> None:
        self.ended += 1


# --- random sweeps in the loop's order ---------------------------------------------------

DIVERGENT = [math.nan, math.inf, -math.inf, 1e300]


class Lockstep:
    """Makes every call on both schedulers and checks that they answer the same."""

    def __init__(self, new: Scheduler, reference: Reference) -> None:
        self.new, self.reference = new, reference
        self.compared = 0

    def __call__(self, method: str, *args: Any) -> Any:
        got = getattr(self.new, method)(*args)
        want = getattr(self.reference, method)(*args)
        assert got == want, f"call {self.compared}: {method}{args} gave {got}, expected {want}"
        self.compared += method in ("on_result", "promote")
        return got


def random_sweep(
    call: Lockstep, trials: int, max_epochs: int, seed: int, ties: bool, workers: int = 12
) -> None:
    """One sweep of `trials` trials on `workers` workers, results in a random order."""
    rnd = random.Random(seed)
    grid = [round(0.1 * k, 1) for k in range(1, 11)]  # few values: many ties

    def value() -> float:
        if rnd.random() < 0.005:
            return rnd.choice(DIVERGENT)
        return rnd.choice(grid) if ties else rnd.uniform(0.0, 3.0)

    running: dict[str, int] = {}  # id -> next epoch
    reported: dict[str, int] = {}  # id -> highest epoch reported
    paused: set[str] = set()
    ended: list[str] = []
    started = 0

    def fill() -> None:
        nonlocal started
        while len(running) < workers:
            finishing = started >= trials or rnd.random() < 0.05
            tid = call("promote", finishing)
            if tid is not None:
                paused.remove(tid)
                running[tid] = reported[tid] + 1
            elif started < trials:
                tid = f"t{started}"
                started += 1
                call("on_start", tid)
                running[tid], reported[tid] = 1, 0
            else:
                return

    def end(tid: str) -> None:
        running.pop(tid, None)
        paused.discard(tid)
        ended.append(tid)

    fill()
    while running:
        tid = rnd.choice(list(running))
        roll = rnd.random()
        if roll < 0.03 and reported[tid] > 0:  # restarted from a checkpoint: epochs again
            for epoch in range(rnd.randint(1, reported[tid]), reported[tid] + 1):
                if call("on_result", tid, epoch, value()) is D:  # it ends there, replay or not
                    call("on_failed", tid)
                    end(tid)
                    break
        elif roll < 0.04:  # lost its worker for good
            call("on_failed", tid)
            end(tid)
        elif roll < 0.05:
            call("on_start", tid)  # a restart seen as a start: keeps its bracket
        if tid in running:
            epoch = running[tid]
            decision = call("on_result", tid, epoch, value())
            reported[tid] = max(reported[tid], epoch)
            if decision is C and epoch < max_epochs:
                running[tid] = epoch + 1
            elif decision is C:
                call("on_complete", tid)
                end(tid)
            elif decision is P:
                del running[tid]
                paused.add(tid)
            else:
                if decision is D:
                    call("on_failed", tid)
                end(tid)
        if paused and rnd.random() < 0.03:
            tid = rnd.choice(sorted(paused))
            paused.remove(tid)
            roll = rnd.random()
            if roll < 1 / 3:  # it fails while it waits
                call("on_failed", tid)
                ended.append(tid)
            elif roll < 2 / 3:  # a resume finds it running: it was promoted
                call("resumed", tid)
                running[tid] = reported[tid] + 1
            else:  # a replay: its next result comes with no promote() in between
                running[tid] = reported[tid] + 1
        if ended and rnd.random() < 0.02:  # a late replay of an epoch an ended trial reported
            tid = rnd.choice(ended)
            if reported[tid] > 0:
                assert call("on_result", tid, rnd.randint(1, reported[tid]), value()) in (C, D)
        fill()
    while call("promote", True) is not None:
        pass


# --- the cases ---------------------------------------------------------------------------


def _pair(case: dict[str, Any], sign: float, seed: int) -> tuple[Scheduler, Reference]:
    name, epochs = case["name"], case["max_epochs"]
    spec = check_scheduler(name, case.get("settings", {}), epochs)
    s = spec.settings
    if name == "fifo":
        return make_scheduler(spec, epochs, sign, np.random.default_rng(seed)), Reference(sign)
    if name == "median":
        new = make_scheduler(spec, epochs, sign, np.random.default_rng(seed))
        return new, ReferenceMedian(s["grace_period"], s["min_trials"], sign)
    judge = case.get("judge", "best")
    eta, grace, brackets = s["reduction_factor"], s["grace_period"], s["brackets"]
    cls = Asha if name == "asha" else Hyperband
    new = cls(
        epochs, grace, eta, brackets, sign, np.random.default_rng(seed), s["mode"], s["rule"], judge
    )
    reference = ReferenceAsha(epochs, grace, eta, brackets, sign, seed, s["mode"], s["rule"], judge)
    return new, reference


CASES: dict[str, dict[str, Any]] = {
    "fifo": {"name": "fifo", "max_epochs": 9},
    "asha percentile": {"name": "asha", "max_epochs": 27},
    "asha percentile judging the last value": {"name": "asha", "max_epochs": 27, "judge": "last"},
    "asha top eta 2": {
        "name": "asha",
        "max_epochs": 16,
        "settings": {"reduction_factor": 2, "rule": "top"},
    },
    "asha top eta 1.1": {  # rungs at 1..8, and n / 1.1 lands on whole numbers
        "name": "asha",
        "max_epochs": 9,
        "settings": {"reduction_factor": 1.1, "rule": "top"},
    },
    "hyperband percentile": {"name": "hyperband", "max_epochs": 27},
    "hyperband top grace 2": {
        "name": "hyperband",
        "max_epochs": 20,
        "settings": {"grace_period": 2, "reduction_factor": 2, "rule": "top"},
    },
    "median": {"name": "median", "max_epochs": 9},
    "median grace 3 of 10 trials": {
        "name": "median",
        "max_epochs": 12,
        "settings": {"grace_period": 3, "min_trials": 10},
    },
    "asha promote": {"name": "asha", "max_epochs": 27, "settings": {"mode": "promote"}},
    "asha promote eta 2": {
        "name": "asha",
        "max_epochs": 16,
        "settings": {"mode": "promote", "reduction_factor": 2},
    },
    "hyperband promote": {"name": "hyperband", "max_epochs": 27, "settings": {"mode": "promote"}},
}


@pytest.mark.parametrize("ties", [False, True], ids=["continuous", "ties"])
@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["min", "max"])
@pytest.mark.parametrize("case", list(CASES))
def test_every_decision_matches_the_rule_applied_the_slow_way(
    case: str, sign: float, ties: bool
) -> None:
    seed = sorted(CASES).index(case) * 4 + int(ties) * 2 + int(sign > 0)
    new, reference = _pair(CASES[case], sign, seed)
    call = Lockstep(new, reference)
    random_sweep(call, 600, CASES[case]["max_epochs"], seed, ties)
    assert call.compared >= 2_000  # thousands of decisions and promotions checked


class Recording(Lockstep):
    """Lockstep that also notes each decision and each kind of call it saw."""

    def __init__(self, new: Scheduler, reference: Reference) -> None:
        super().__init__(new, reference)
        self.seen: set[Any] = set()

    def __call__(self, method: str, *args: Any) -> Any:
        got = super().__call__(method, *args)
        self.seen.add(got if method == "on_result" else method)
        if method == "promote" and got is not None:
            self.seen.add("promoted")
        return got


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("asha percentile", {C, S, D, "on_complete", "on_failed"}),
        ("median", {C, S, D, "on_complete", "on_failed"}),
        ("hyperband promote", {C, P, D, "promoted", "resumed", "on_complete", "on_failed"}),
        ("asha promote", {C, P, D, "promoted", "resumed", "on_complete", "on_failed"}),
    ],
)
def test_the_random_sweeps_reach_every_kind_of_call(case: str, expected: set[Any]) -> None:
    """The sweeps above are worth running: they stop, pause, promote, complete and diverge."""
    call = Recording(*_pair(CASES[case], 1.0, 0))
    random_sweep(call, 600, CASES[case]["max_epochs"], 0, ties=False)
    assert expected <= call.seen


# --- what an ended trial leaves behind ---------------------------------------------------


def _held_per_trial(scheduler: Scheduler, trials: int, epochs: int) -> float:
    """Bytes the scheduler holds per trial after a sweep of `trials`, every one ended."""
    ids = [f"trial-{i:05d}" for i in range(trials)]
    values = np.random.default_rng(0).random((trials, epochs)).tolist()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for tid, curve in zip(ids, values, strict=True):
            scheduler.on_start(tid)
            for epoch, value in enumerate(curve, start=1):
                decision = scheduler.on_result(tid, epoch, value)
                if decision is not C:
                    break
            else:
                scheduler.on_complete(tid)
        del values
        gc.collect()
        return (tracemalloc.get_traced_memory()[0] - before) / trials
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("scheduler", ["asha", "median"])
def test_an_ended_trial_leaves_its_recorded_values_and_one_mark(scheduler: str) -> None:
    # 3 epochs, so ASHA has one rung (epoch 1) and every trial records one value there;
    # median stopping records one running average per epoch a trial reached (1 to 3).
    # A value in a sorted list costs its 24-byte float and an 8-byte slot: 32 bytes. The
    # mark that makes a late replay of an ended trial a replay is one entry in a dict of
    # 5,000 string keys: 8,192 two-byte indexes and 5,461 entries of 16 bytes (24 before
    # Python 3.11), about 21 bytes a trial (30 then); 40 bounds it. The ids exist before
    # the sweep. Each further dict entry kept per trial (best value, sum, bracket) would
    # add 21 bytes and more; before trials were forgotten, ASHA held 97 and median 173.
    trials = 5_000
    if scheduler == "asha":
        held = _held_per_trial(Asha(3, 1, 3.0), trials, 3)
        assert held <= 32 + 40 + 8  # 8 bytes of slack: list growth, a sublist split
    else:
        median = MedianStopping(1, 3)
        held = _held_per_trial(median, trials, 3)
        averages = sum(map(len, median._averages.values())) / trials  # 1 to 3 a trial
        assert held <= 32 * averages + 40 + 8

"""ASHA and Hyperband with `mode: promote` (Li et al. 2020, Algorithm 2): a trial pauses at
each rung, and a free worker resumes the best paused trial that ranks in the top
floor(n / eta) of its rung's n results, scanning rungs from the top.

Every table below is worked out by hand in the comments; values are minimised unless a test
says otherwise. A trial id "tK" is the K-th trial to arrive.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from caviar_common.errors import ConfigError
from orchestrator.schedulers import (
    Asha,
    Decision,
    Hyperband,
    Scheduler,
    check_scheduler,
    make_scheduler,
)
from orchestrator.schedulers.promotion import PromotingBracket, top_share

C, P, D = Decision.CONTINUE, Decision.PAUSE, Decision.DIVERGED
DIVERGENT = [math.nan, math.inf, -math.inf, 1e300, -1e300]


def _asha(max_epochs: int = 9, eta: float = 3.0, sign: float = 1.0) -> Asha:
    """Rungs at 1 and 3 for the defaults (9 is the budget, not a rung)."""
    return Asha(max_epochs, 1, eta, sign=sign, mode="promote")


def _bracket(scheduler: Asha, b: int = 0) -> PromotingBracket:
    bracket = scheduler.brackets[b]
    assert isinstance(bracket, PromotingBracket)
    return bracket


def _arrive(scheduler: Scheduler, tid: str, epoch: int, value: float) -> Decision:
    scheduler.on_start(tid)
    return scheduler.on_result(tid, epoch, value)


def _drain(scheduler: Scheduler) -> list[str]:
    """Every trial promote() hands out, in order, until it says None."""
    out = []
    while (tid := scheduler.promote()) is not None:
        out.append(tid)
    return out


def _state(scheduler: Asha) -> list[tuple[dict[int, list], dict[int, list]]]:
    return [
        ({e: list(r) for e, r in b.rungs.items()}, {e: list(p) for e, p in b.paused.items()})
        for b in map(lambda i: _bracket(scheduler, i), range(len(scheduler.brackets)))
    ]


def test_top_share_is_floor_n_over_eta() -> None:
    assert [top_share(n, 3) for n in range(1, 10)] == [0, 0, 1, 1, 1, 2, 2, 2, 3]
    assert [top_share(n, 2) for n in range(1, 6)] == [0, 1, 1, 2, 2]
    assert top_share(33, 1.1) == 30  # 33 / 1.1 = 30 exactly, 29.999...96 in floating point


def test_a_rung_result_pauses_the_trial_other_epochs_continue() -> None:
    asha = _asha()  # rungs 1 and 3; 9 is the budget
    asha.on_start("t0")
    assert asha.on_result("t0", 1, 2.0) is P
    asha.on_start("t1")
    # a trial running past its rung was promoted (a replay says so), then 2 is no rung
    assert [asha.on_result("t1", e, 2.0) for e in (1, 2, 3)] == [P, C, P]
    assert [asha.on_result("t1", e, 1.0) for e in range(4, 10)] == [C] * 6
    assert asha.promote() is None  # one result per rung: floor(1/3) = floor(2/3) = 0


# The nine arrivals at rung 1 of test_schedulers.py, now promoted rather than stopped.
NINE = [1, 9, 8, 7, 6, 2, 5, 4, 3]
# One promote() after each arrival, n results in the rung, share = floor(n / 3):
#   n=1 (1)  share 0: nothing, however good       n=2 (9)  share 0: nothing
#   n=3 (8)  share 1: best paused is 1, rank 0 < 1: t0
#   n=4 (7), n=5 (6)  share 1: best paused 6 or 7 ranks 1 (behind 1): nothing
#   n=6 (2)  share 2: best paused 2 ranks 1 < 2: t5
#   n=7 (5), n=8 (4)  share 2: best paused 5 or 4 ranks 2 (behind 1, 2): nothing
#   n=9 (3)  share 3: best paused 3 ranks 2 < 3: t8
# Stop mode keeps t0 at once (Optuna's rule for n < eta); promote mode waits for n = 3.
NINE_PROMOTED = [None, None, "t0", None, None, "t5", None, None, "t8"]


def test_nine_arrivals_promote_the_top_third_as_it_forms() -> None:
    asha = _asha()
    promoted = []
    for i, value in enumerate(NINE):
        assert _arrive(asha, f"t{i}", 1, value) is P
        promoted.append(asha.promote())
        assert asha.promote() is None  # one at a time: the next best is never in the share
    assert promoted == NINE_PROMOTED
    # t0, t5, t8 are the top 3 and all promoted; the other six still wait, best first
    assert list(_bracket(asha).paused[1]) == [(4, "t7"), (5, "t6"), (6, "t4")] + [
        (7, "t3"),
        (8, "t2"),
        (9, "t1"),
    ]


def test_a_promoted_trial_is_not_promoted_twice() -> None:
    asha = _asha()
    for i, value in enumerate(NINE):
        _arrive(asha, f"t{i}", 1, value)
    # all nine in, share 3: t0 (1), t5 (2), t8 (3), best first; then t7 (4) ranks 3
    assert _drain(asha) == ["t0", "t5", "t8"]
    assert _drain(asha) == []
    # three weaker arrivals, 10, 11, 12: n = 12, share 4: only t7 (4, rank 3) is new
    for i, value in enumerate([10, 11, 12], start=9):
        _arrive(asha, f"t{i}", 1, value)
    assert _drain(asha) == ["t7"]


def test_a_slow_starter_waits_and_is_promoted_once_weaker_results_arrive_behind_it() -> None:
    # t2 reports 5 after t0 (1) and t1 (2). Stop mode kills it on arrival: rank 2 >=
    # max(1, floor(3/3)) = 1.
    stopping = Asha(9, 1, 3.0, stop_rule="top")
    assert [_arrive(stopping, f"t{i}", 1, v) for i, v in enumerate([1, 2, 5])] == [
        C,
        Decision.STOP,
        Decision.STOP,
    ]
    asha = _asha()
    for i, value in enumerate([1, 2, 5]):
        _arrive(asha, f"t{i}", 1, value)
    assert _drain(asha) == ["t0"]  # n=3, share 1; t2 (rank 2) waits
    for i, value in enumerate([6, 7, 8], start=3):
        _arrive(asha, f"t{i}", 1, value)
    assert _drain(asha) == ["t1"]  # n=6, share 2: t1 ranks 1; t2 ranks 2, waits on
    for i, value in enumerate([9, 10, 11], start=6):
        _arrive(asha, f"t{i}", 1, value)
    assert _drain(asha) == ["t2"]  # n=9, share 3: t2 ranks 2, in at last
    # and it goes on from its next epoch: 2 is no rung, 3 pauses it at the next rung
    assert [asha.on_result("t2", e, v) for e, v in [(2, 0.6), (3, 0.2)]] == [C, P]
    assert list(_bracket(asha).rungs[3]) == [(0.2, "t2")]


def test_eta_2_promotes_more_than_the_share_because_promotions_are_never_undone() -> None:
    asha = _asha(max_epochs=8, eta=2.0)  # rungs 1, 2, 4
    assert _bracket(asha).epochs == [1, 2, 4]
    promoted = []
    for i, value in enumerate([4, 3, 2, 1]):
        _arrive(asha, f"t{i}", 1, value)
        promoted.append(asha.promote())
    # n=1 share 0: nothing.  n=2 share 1: best paused 3 ranks 0: t1.
    # n=3 share 1: 2 now ranks 0 (t1 is no longer paused but its 3 ranks behind 2): t2.
    # n=4 share 2: 1 ranks 0: t3.  Then t0 (4) ranks 3 >= 2: it waits.
    assert promoted == [None, "t1", "t2", "t3"]
    assert asha.promote() is None
    assert list(_bracket(asha).paused[1]) == [(4, "t0")]


def test_rungs_are_scanned_from_the_top() -> None:
    asha = _asha()  # rungs 1 and 3
    for i in range(9):
        _arrive(asha, f"t{i}", 1, i + 1)  # values 1..9
    assert _drain(asha) == ["t0", "t1", "t2"]  # share 3, best first
    # the three promoted reach rung 3 with 0.5, 0.4, 0.3: share 1, t2 (0.3) is promotable
    for tid, value in [("t0", 0.5), ("t1", 0.4), ("t2", 0.3)]:
        assert [asha.on_result(tid, 2, 1.0), asha.on_result(tid, 3, value)] == [C, P]
    # three weak arrivals at rung 1: n = 12, share 4, so t3 (4, rank 3) is promotable too
    for i, value in enumerate([10, 11, 12], start=9):
        _arrive(asha, f"t{i}", 1, value)
    # both are promotable; the one closer to the budget goes first
    assert _drain(asha) == ["t2", "t3"]


def test_a_maximising_scheduler_promotes_the_largest_values() -> None:
    # accuracies 1 - NINE / 10: the top three are 0.9 (t0), 0.8 (t5), 0.7 (t8), as before
    asha = _asha(sign=-1.0)
    promoted = []
    for i, value in enumerate(NINE):
        _arrive(asha, f"t{i}", 1, 1 - value / 10)
        promoted.append(asha.promote())
    assert promoted == NINE_PROMOTED


def test_divergent_values_are_never_recorded_and_never_promoted() -> None:
    asha = _asha()
    for i, value in enumerate(DIVERGENT):  # -inf and -1e300 would rank first if recorded
        assert _arrive(asha, f"d{i}", 1, value) is D
    assert _drain(asha) == []
    for i, value in enumerate([1, 2, 3]):
        _arrive(asha, f"t{i}", 1, value)
    # n = 3 finite results, share 1: t0 alone; no d trial is paused or counted
    assert _drain(asha) == ["t0"]
    assert [tid for _, tid in _bracket(asha).rungs[1]] == ["t0", "t1", "t2"]
    assert not any(_bracket(asha).is_paused(f"d{i}") for i in range(len(DIVERGENT)))


def test_a_failed_paused_trial_is_never_promoted_but_its_result_still_counts() -> None:
    asha = _asha()
    for i, value in enumerate([1, 2, 3]):
        _arrive(asha, f"t{i}", 1, value)
    asha.on_failed("t0")
    # n = 3, share 1: t0 (1) holds the share though it failed; t1 ranks 1 and waits
    assert not _bracket(asha).is_paused("t0")
    assert _drain(asha) == []
    for i, value in enumerate([4, 5, 6], start=3):
        _arrive(asha, f"t{i}", 1, value)
    assert _drain(asha) == ["t1"]  # n = 6, share 2: t1 ranks 1; t2 ranks 2
    asha.on_failed("t1")  # failing after its promotion changes nothing
    assert _drain(asha) == []


def test_hyperband_trials_compete_only_within_their_bracket() -> None:
    hb = Hyperband(9, 1, 3.0, brackets=2, rng=np.random.default_rng(0), mode="promote")
    assert [_bracket(hb, b).epochs for b in (0, 1)] == [[1, 3], [3]]
    for tid, b in [("a0", 0), ("a1", 0), ("a2", 0), ("b0", 1), ("b1", 1), ("b2", 1)]:
        hb.bracket_of[tid] = b  # placed by hand; on_start keeps a placement it finds
    # bracket 1's trials run epochs 1 and 2 unjudged and pause at 3 with 1 and 2, better
    # than anything in bracket 0; but their rung holds 2 results: share 0
    for tid, value in [("b0", 1), ("b1", 2)]:
        hb.on_start(tid)
        assert [hb.on_result(tid, e, value) for e in (1, 2, 3)] == [C, C, P]
    assert hb.promote() is None
    # bracket 0 pauses at 1: 5, 6, 7, share 1: a0. Its values do not fill bracket 1's rungs
    for tid, value in [("a0", 5), ("a1", 6), ("a2", 7)]:
        assert _arrive(hb, tid, 1, value) is P
    assert _drain(hb) == ["a0"]
    # a0 reaches bracket 0's rung 3 alone (share 0), however good
    assert [hb.on_result("a0", 2, 4.0), hb.on_result("a0", 3, 0.5)] == [C, P]
    assert _drain(hb) == []
    # b2 fills bracket 1's rung 3 to n = 3, share 1: b0 (1)
    hb.on_start("b2")
    assert [hb.on_result("b2", e, 3.0) for e in (1, 2, 3)] == [C, C, P]
    assert _drain(hb) == ["b0"]
    assert list(_bracket(hb, 0).rungs[3]) == [(0.5, "a0")]
    assert [tid for _, tid in _bracket(hb, 1).rungs[3]] == ["b0", "b1", "b2"]


def _value(trial: int, epoch: int) -> float:
    """A deterministic curve per trial: falls with the epochs; trials cross now and then."""
    return 1.0 + ((trial * 7919) % 13) / 13 + ((trial * 104729) % 5) / (2.0 * epoch)


def _scripted_sweep(scheduler: Asha, trials: int, max_epochs: int) -> list[tuple[str, int, float]]:
    """One worker: each new trial reports epoch 1; then one promote() per free worker, and a
    promoted trial runs on until it pauses again or completes. The results, in order."""
    log: list[tuple[str, int, float]] = []

    def run(trial: int, epoch: int) -> None:
        tid = f"t{trial}"
        while True:
            value = _value(trial, epoch)
            log.append((tid, epoch, value))
            decision = scheduler.on_result(tid, epoch, value)
            if decision is not C or epoch == max_epochs:
                return
            epoch += 1

    for trial in range(trials):
        scheduler.on_start(f"t{trial}")
        run(trial, 1)
        # the last few arrivals leave promotable trials behind: the replay must too
        if trial < trials - 3 and (tid := scheduler.promote()) is not None:
            epoch = max(e for t, e, _ in log if t == tid)
            run(int(tid[1:]), epoch + 1)
    return log


@pytest.mark.parametrize("brackets", [1, 3])
def test_a_replay_of_the_results_restores_rungs_paused_trials_and_next_promotions(
    brackets: int,
) -> None:
    def fresh() -> Asha:
        return Hyperband(27, 1, 3.0, brackets, rng=np.random.default_rng(4), mode="promote")

    original = fresh()
    log = _scripted_sweep(original, 60, 27)
    assert any(epoch > 3 for _, epoch, _ in log)  # promotions happened, past rung 3 too
    replay = fresh()
    for trial in range(60):  # as orchestrator/core/loop.py replays: every start, then the points
        replay.on_start(f"t{trial}")
    for tid, epoch, value in log:
        replay.on_result(tid, epoch, value)
    assert replay.bracket_of == original.bracket_of
    assert _state(replay) == _state(original)
    next_promotions = _drain(original)
    assert next_promotions  # the three arrivals left unpromoted leave something to do
    assert _drain(replay) == next_promotions


def test_a_replay_does_not_pause_again_a_trial_that_diverged_after_its_promotion() -> None:
    original, replay = _asha(), _asha()
    for scheduler in (original, replay):
        for i, value in enumerate([1, 2, 3]):
            _arrive(scheduler, f"t{i}", 1, value)
    assert original.promote() == "t0"
    assert original.on_result("t0", 2, math.nan) is D
    original.on_failed("t0")  # what the loop does for a live divergence
    replay.on_result("t0", 2, math.nan)  # what its replay does: results only
    assert original.promote() is None
    assert replay.promote() is None  # the divergent result alone unpauses it


@pytest.mark.parametrize("name", ["asha", "hyperband"])
@pytest.mark.parametrize("mode", ["stop", "promote"])
def test_check_scheduler_accepts_both_modes(name: str, mode: str) -> None:
    assert check_scheduler(name, {"mode": mode}, 27).settings["mode"] == mode
    assert check_scheduler(name, {}, 27).settings["mode"] == "stop"


@pytest.mark.parametrize("value", ["pause", "Promote", 1, True])
def test_check_scheduler_refuses_another_mode_naming_the_key_rule_and_value(
    value: object,
) -> None:
    with pytest.raises(ConfigError, match=r"^mode: must be stop \(.*\) or promote") as info:
        check_scheduler("asha", {"mode": value}, 27)
    assert info.value.key == "mode"
    assert repr(value) in str(info.value)


def test_check_scheduler_names_mode_for_schedulers_without_it() -> None:
    with pytest.raises(ConfigError, match="^mode: unknown setting for median"):
        check_scheduler("median", {"mode": "promote"}, 27)


@pytest.mark.parametrize(("name", "cls"), [("asha", Asha), ("hyperband", Hyperband)])
def test_make_scheduler_of_a_promote_spec_builds_promoting_brackets(
    name: str, cls: type[Asha]
) -> None:
    spec = check_scheduler(name, {"mode": "promote"}, 27)
    scheduler = make_scheduler(spec, 27, 1.0, np.random.default_rng(0))
    assert type(scheduler) is cls and isinstance(scheduler, Asha)
    assert scheduler.mode == "promote"
    assert all(isinstance(b, PromotingBracket) for b in scheduler.brackets)
    assert "mode=promote" in repr(scheduler)
    stop = make_scheduler(check_scheduler(name, {}, 27), 27, 1.0, np.random.default_rng(0))
    assert isinstance(stop, Asha) and stop.mode == "stop" and stop.promote() is None


def test_a_finishing_sweep_lets_each_rung_s_best_go_on_however_few_reached_it() -> None:
    asha = _asha()  # rungs at 1 and 3
    for i, value in enumerate([0.5, 0.4]):  # two results at rung 1: floor(2/3) = 0
        assert _arrive(asha, f"t{i}", 1, value) is P
    assert asha.promote() is None  # more trials may still come and fill the rung
    # no new trial is left: max(1, 0) = 1, so the rung's best (t1, 0.4) goes on, t0 waits
    assert asha.promote(finishing=True) == "t1"
    assert asha.promote(finishing=True) is None
    # t1 pauses alone at rung 3, the top: while finishing it is promoted to the budget
    for epoch in (2, 3):
        asha.on_result("t1", epoch, 0.3)
    assert asha.promote() is None
    assert asha.promote(finishing=True) == "t1"
    assert _bracket(asha).is_paused("t0") and not _bracket(asha).is_paused("t1")

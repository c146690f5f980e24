"""Schedulers as a sweep sees them: FIFO runs everything, ASHA keeps the top 1/eta at each
rung, median stopping drops trials worse than the median, Hyperband spreads trials over
brackets by its seeded generator; divergent and replayed results never move the statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chisquare
from sortedcontainers import SortedList

from caviar_common.errors import ConfigError
from orchestrator.schedulers import (
    SCHEDULERS,
    Asha,
    Decision,
    Fifo,
    Hyperband,
    MedianStopping,
    Scheduler,
    check_scheduler,
    decision_epochs,
    make_scheduler,
)
from orchestrator.schedulers.asha import hyperband_weights, rung_epochs, within_percentile

C, S = Decision.CONTINUE, Decision.STOP
DIVERGENT = [math.nan, math.inf, -math.inf, 1e300, -1e300]

# The worked case: eta = 3, nine trials reach rung 1 in this order (minimise).
NINE = [1, 9, 8, 7, 6, 2, 5, 4, 3]
# n = 1..5 keep max(1, n // 3) = 1: 1 is best (go), 9, 8, 7, 6 are not (stop);
# n = 6 keeps 2: 2 ranks second (go); n = 7, 8 keep 2: 5 and 4 rank third (stop);
# n = 9 keeps 3: 3 ranks third behind 1 and 2 (go).
NINE_DECISIONS = [C, S, S, S, S, C, S, S, C]


def _at_epoch(scheduler: Scheduler, values: list[float], epoch: int = 1, prefix: str = "t"):
    """Start one trial per value and report it at `epoch`; the decisions in order."""
    decisions = []
    for i, value in enumerate(values):
        tid = f"{prefix}{i}"
        scheduler.on_start(tid)
        decisions.append(scheduler.on_result(tid, epoch, value))
    return decisions


def _run(scheduler: Scheduler, tid: str, values: list[float]) -> list[Decision]:
    """One trial reporting epochs 1, 2, ... until the values run out or it is stopped."""
    scheduler.on_start(tid)
    decisions = []
    for epoch, value in enumerate(values, start=1):
        decisions.append(scheduler.on_result(tid, epoch, value))
        if decisions[-1] is not C:
            break
    return decisions


# --- FIFO -----------------------------------------------------------------------------


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_fifo_runs_every_trial_to_its_budget_however_bad(sign):
    fifo = Fifo(sign)
    for i, curve in enumerate([[0.1, 0.1, 0.1], [50.0, 80.0, 99.0], [-3.0, 7.0, 1e20]]):
        assert _run(fifo, f"t{i}", curve) == [C, C, C]


# --- ASHA -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grace", "eta", "max_epochs", "rungs"),
    [
        (1, 3, 27, [1, 3, 9]),  # 1, 3, 9; 27 is the budget, not below it
        (2, 2, 16, [2, 4, 8]),  # 2, 4, 8; 16 is the budget
        (1, 3, 28, [1, 3, 9, 27]),  # 27 < 28 now counts
        (3, 3, 9, [3]),  # 3; 9 is the budget
        (5, 2, 5, []),  # grace equals the budget: nowhere to stop
    ],
)
def test_rung_epochs_sit_at_grace_times_powers_of_eta_below_the_budget(
    grace, eta, max_epochs, rungs
):
    assert rung_epochs(grace, eta, max_epochs) == rungs


def test_asha_keeps_the_top_third_of_nine_trials_at_a_rung():
    asha = Asha(max_epochs=27, grace_period=1, reduction_factor=3, stop_rule="top")
    decisions = _at_epoch(asha, NINE)
    assert decisions == NINE_DECISIONS
    assert [v for v, d in zip(NINE, decisions, strict=True) if d is C] == [1, 2, 3]


def test_asha_maximising_negated_values_decides_exactly_as_minimising():
    asha = Asha(max_epochs=27, grace_period=1, reduction_factor=3, sign=-1.0, stop_rule="top")
    assert _at_epoch(asha, [-v for v in NINE]) == NINE_DECISIONS


def test_asha_with_fewer_than_eta_results_only_the_best_so_far_goes_on():
    asha = Asha(max_epochs=27, grace_period=1, reduction_factor=3, stop_rule="top")
    # 5: alone, best (go); 6: n = 2 < 3, worse than 5 (stop); 4: n = 3 keeps 1, best (go)
    assert _at_epoch(asha, [5, 6, 4]) == [C, S, C]


def test_asha_ties_go_to_the_newcomer():
    asha = Asha(max_epochs=27, grace_period=1, reduction_factor=3, stop_rule="top")
    # 5 then 5: n = 2 keeps 1, the newcomer ties the best and goes on
    assert _at_epoch(asha, [5, 5]) == [C, C]
    asha = Asha(max_epochs=27, grace_period=1, reduction_factor=3, stop_rule="top")
    # after 1, 2, 3, 4, 5 a second 2 makes n = 6, keep 2: it ties for second and goes on
    assert _at_epoch(asha, [1, 2, 3, 4, 5, 2])[-1] is C


def test_asha_never_stops_a_trial_between_rungs_or_at_the_budget():
    asha = Asha(max_epochs=27, grace_period=1, reduction_factor=3, stop_rule="top")
    assert asha.rung_epochs == {1, 3, 9}
    # the nine values that lost six trials at rung 1 lose none anywhere else
    for epoch in [2, 4, 5, 6, 7, 8, 10, 15, 26, 27]:
        assert _at_epoch(asha, NINE, epoch, prefix=f"e{epoch}-") == [C] * 9
        assert not asha.may_stop(epoch)


def test_asha_compares_a_trial_only_with_results_at_the_same_rung():
    asha = Asha(max_epochs=27, grace_period=1, reduction_factor=3, stop_rule="top")
    assert _run(asha, "a", [1.0]) == [C]  # alone at rung 1
    # b: best at rung 1 (0.5 < 1); at rung 3 its 2.0 is alone, the rung-1 values do not count
    assert _run(asha, "b", [0.5, 0.5, 2.0]) == [C, C, C]
    # a at rung 3 with 3.0: n = 2 keeps 1, and b's 2.0 there is better
    assert asha.on_result("a", 2, 0.9) is C
    assert asha.on_result("a", 3, 3.0) is S


def test_asha_replayed_epoch_continues_and_leaves_the_rung_alone():
    asha = Asha(max_epochs=27, grace_period=1, reduction_factor=3, stop_rule="top")
    assert _at_epoch(asha, [5]) == [C]
    # t0 restarts from a checkpoint and reports epoch 1 again, with a different value
    assert asha.on_result("t0", 1, 1.0) is C
    # rung 1 still holds only 5: a 3 is best of n = 2 and goes on (it would lose to a 1)
    asha.on_start("u")
    assert asha.on_result("u", 1, 3.0) is C


def test_asha_replay_of_a_losing_epoch_continues():
    asha = Asha(max_epochs=27, grace_period=1, reduction_factor=3, stop_rule="top")
    assert _at_epoch(asha, [1, 9]) == [C, S]
    assert asha.on_result("t1", 1, 9.0) is C  # judged there already
    # the rung is still [1, 9]: 8 makes n = 3, keep 1, and loses to 1
    assert _at_epoch(asha, [8], prefix="u") == [S]


# --- median stopping ------------------------------------------------------------------

# Two finished trials (minimise):  epoch     1  2  3
#   a  values                                4  2  3   running averages 4, 3, 3
#   b  values                                6  4  2   running averages 6, 5, 4
# Medians of their running averages: epoch 1: (4+6)/2 = 5, epoch 2: (3+5)/2 = 4,
# epoch 3: (3+4)/2 = 3.5.
A_CURVE, B_CURVE = [4.0, 2.0, 3.0], [6.0, 4.0, 2.0]


def _median_after_a_and_b(sign: float = 1.0, complete_b: bool = True) -> MedianStopping:
    median = MedianStopping(grace_period=2, min_trials=2, sign=sign)
    assert _run(median, "a", [sign * v for v in A_CURVE]) == [C, C, C]
    median.on_complete("a")
    # b's best 4 at epoch 2 is worse than a's average 3, but only one trial has ended
    assert _run(median, "b", [sign * v for v in B_CURVE]) == [C, C, C]
    if complete_b:
        median.on_complete("b")
    return median


def test_median_stops_a_trial_whose_best_is_worse_than_the_median_average():
    median = _median_after_a_and_b()
    # c: epoch 2 best 5 > median 4
    assert _run(median, "c", [7.0, 5.0, 1.0]) == [C, S]


def test_median_does_not_stop_before_the_grace_period():
    median = _median_after_a_and_b()
    median.on_start("c")
    # 7 > median 5 at epoch 1, but epoch 1 < grace_period 2
    assert median.on_result("c", 1, 7.0) is C
    assert not median.may_stop(1) and median.may_stop(2)


def test_median_does_not_stop_before_min_trials_have_ended():
    median = _median_after_a_and_b(complete_b=False)
    # epoch 2: best 5 > median 4, but only a has ended (1 < min_trials 2)
    assert _run(median, "c", [7.0, 5.0]) == [C, C]
    median.on_complete("b")
    # epoch 3: best min(7, 5, 4) = 4 > median 3.5, and now two trials have ended
    assert median.on_result("c", 3, 4.0) is S


def test_median_judges_the_best_value_so_far_not_the_latest():
    median = _median_after_a_and_b()
    # epoch 2: best 3 <= 4; epoch 3: latest 9 but best 3 < 3.5
    assert _run(median, "c", [7.0, 3.0, 9.0]) == [C, C, C]


def test_median_does_not_stop_a_trial_equal_to_the_median():
    median = _median_after_a_and_b()
    # epoch 2: best 4 equals the median 4: not worse
    assert _run(median, "c", [7.0, 4.0]) == [C, C]


def test_median_maximising_negated_values_decides_exactly_as_minimising():
    median = _median_after_a_and_b(sign=-1.0)
    assert _run(median, "c", [-7.0, -5.0, -1.0]) == [C, S]
    median = _median_after_a_and_b(sign=-1.0)
    assert _run(median, "d", [-7.0, -3.0, -9.0]) == [C, C, C]


def test_median_replayed_epoch_continues_and_leaves_the_averages_alone():
    median = _median_after_a_and_b()
    # d: epoch 2 best 1 <= median 4; its averages are 1, 1
    assert _run(median, "d", [1.0, 1.0]) == [C, C]
    # d restarts from its epoch-1 checkpoint and reports epoch 2 again with 100
    assert median.on_result("d", 2, 100.0) is C
    # epoch-2 averages are still a 3, b 5, d 1: median 3, and e's best 3.5 is worse.
    # Had the replay counted, (1 + 100) / 2 = 50.5 would join them: median 4, no stop.
    assert _run(median, "e", [3.5, 3.5]) == [C, S]


# --- Hyperband ------------------------------------------------------------------------


def test_hyperband_weights_match_the_bracket_sizes_of_hyperband():
    # Li et al. 2018, Table 1 (R = 81, eta = 3, five brackets s = 4..0):
    # n = 81, 34, 15, 8, 5 trials, 143 in all.
    np.testing.assert_allclose(hyperband_weights(5, 3), np.array([81, 34, 15, 8, 5]) / 143)
    # S = 4: ceil(4/4 * 27) = 27, ceil(4/3 * 9) = 12, ceil(4/2 * 3) = 6, ceil(4/1 * 1) = 4
    np.testing.assert_allclose(hyperband_weights(4, 3), np.array([27, 12, 6, 4]) / 49)


def test_hyperband_brackets_have_growing_grace_periods():
    hb = make_scheduler(check_scheduler("hyperband", {}, 27), 27, 1.0, np.random.default_rng(0))
    assert isinstance(hb, Hyperband)
    # default brackets: floor(log_3(27 / 1)) + 1 = 4, graces 1, 3, 9, 27
    assert [b.grace for b in hb.brackets] == [1, 3, 9, 27]
    assert [b.epochs for b in hb.brackets] == [[1, 3, 9], [3, 9], [9], []]
    assert hb.rung_epochs == {1, 3, 9}


def _brackets(seed: int, n: int = 40) -> list[int]:
    hb = Hyperband(27, 1, 3, brackets=3, rng=np.random.default_rng(seed), stop_rule="top")
    for i in range(n):
        hb.on_start(f"t{i}")
    return [hb.bracket_of[f"t{i}"] for i in range(n)]


def test_hyperband_same_seed_same_brackets_different_seed_different_brackets():
    assert _brackets(7) == _brackets(7)
    assert _brackets(7) != _brackets(8)


def test_hyperband_restarted_trial_keeps_its_bracket():
    hb = Hyperband(27, 1, 3, brackets=3, rng=np.random.default_rng(3), stop_rule="top")
    for i in range(20):
        hb.on_start(f"t{i}")
    before = dict(hb.bracket_of)
    for i in range(20):
        hb.on_start(f"t{i}")  # restarts after lost workers
    assert hb.bracket_of == before


def test_hyperband_bracket_frequencies_match_the_weights():
    hb = Hyperband(81, 1, 3, brackets=4, rng=np.random.default_rng(2024), stop_rule="top")
    n = 4900
    for i in range(n):
        hb.on_start(f"t{i}")
    observed = np.bincount(list(hb.bracket_of.values()), minlength=4)
    # 4900 * (27, 12, 6, 4) / 49
    expected = [2700, 1200, 600, 400]
    assert chisquare(observed, expected).pvalue > 0.01


def test_hyperband_each_bracket_is_asha_with_its_own_grace():
    # two brackets: grace 1 (rungs 1, 3, 9) and grace 3 (rungs 3, 9)
    hb = Hyperband(27, 1, 3, brackets=2, rng=np.random.default_rng(11), stop_rule="top")
    by_bracket: dict[int, list[str]] = {0: [], 1: []}
    for i in range(30):
        hb.on_start(f"t{i}")
        by_bracket[hb.bracket_of[f"t{i}"]].append(f"t{i}")
    (a, a2), (x, y, z) = by_bracket[0][:2], by_bracket[1][:3]

    assert hb.on_result(a, 1, 1.0) is C  # bracket 0: alone at rung 1
    assert hb.on_result(a2, 1, 2.0) is S  # bracket 0: n = 2, worse than 1
    # bracket 1 has no rung at epoch 1: values far worse than a's never stop it
    assert [hb.on_result(t, 1, v) for t, v in [(x, 9.0), (y, 8.0), (z, 7.0)]] == [C, C, C]
    assert [hb.on_result(t, 2, 9.0) for t in (x, y, z)] == [C, C, C]
    assert hb.on_result(a, 2, 0.1) is C
    assert hb.on_result(a, 3, 0.1) is C
    # bracket 1's rung 3 does not hold a's 0.1: 5 is alone (go), 6 is worse of two (stop),
    # 4 is best of three, keep 1 (go)
    assert [hb.on_result(t, 3, v) for t, v in [(x, 5.0), (y, 6.0), (z, 4.0)]] == [C, S, C]


# --- divergence -----------------------------------------------------------------------


def _make(name: str, sign: float = 1.0, seed: int = 0) -> Scheduler:
    return make_scheduler(check_scheduler(name, {}, 27), 27, sign, np.random.default_rng(seed))


@pytest.mark.parametrize("name", SCHEDULERS)
@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("value", DIVERGENT)
def test_divergent_values_are_diverged_at_once_by_every_scheduler(name, sign, value):
    scheduler = _make(name, sign)
    scheduler.on_start("t")
    assert scheduler.on_result("t", 1, value) is Decision.DIVERGED
    scheduler.on_start("u")
    assert scheduler.on_result("u", 1, 1.0) is C
    assert scheduler.on_result("u", 2, value) is Decision.DIVERGED  # between ASHA's rungs


@pytest.mark.parametrize("value", DIVERGENT)
def test_asha_diverged_result_leaves_the_rung_as_it_was(value):
    asha = Asha(max_epochs=27, grace_period=1, reduction_factor=3, stop_rule="top")
    asha.on_start("bad")
    # recorded, -inf would beat trial 1 and +inf would let trial 4 in as third of nine
    assert asha.on_result("bad", 1, value) is Decision.DIVERGED
    asha.on_failed("bad")
    assert _at_epoch(asha, NINE) == NINE_DECISIONS


def _curves(seed: int, trials: int, epochs: int) -> np.ndarray:
    """Noisy decreasing loss curves, one row per trial."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(1.0, 3.0, size=(trials, 1))
    return start / np.arange(1, epochs + 1) + rng.uniform(0.0, 0.5, size=(trials, epochs))


def _sweep(scheduler: Scheduler, curves: np.ndarray, prefix: str) -> list[list[Decision]]:
    decisions = []
    for i, curve in enumerate(curves):
        decisions.append(_run(scheduler, f"{prefix}{i}", list(curve)))
        if decisions[-1] == [C] * len(curve):
            scheduler.on_complete(f"{prefix}{i}")
    return decisions


@pytest.mark.parametrize("name", SCHEDULERS)
@pytest.mark.parametrize("value", DIVERGENT)
def test_diverged_result_changes_no_later_decision(name, value):
    main, twin = _make(name, seed=5), _make(name, seed=5)
    curves = _curves(0, 24, 27)
    first = [_sweep(s, curves[:12], "early") for s in (main, twin)]
    # "bad" runs two good epochs in both; only main sees it diverge at epoch 3 (a rung)
    for s in (main, twin):
        assert _run(s, "bad", [0.0, 0.0]) == [C, C]
    assert main.on_result("bad", 3, value) is Decision.DIVERGED
    for s in (main, twin):
        s.on_failed("bad")
    later = [_sweep(s, curves[12:], "late") for s in (main, twin)]
    assert first[0] == first[1]
    assert later[0] == later[1]
    if name != "fifo":  # the comparison means something only if the scheduler prunes
        assert any(S in d for d in later[1])


# --- make_scheduler -------------------------------------------------------------------


def test_make_scheduler_builds_each_scheduler_with_its_defaults():
    rng = np.random.default_rng(0)
    assert isinstance(make_scheduler(check_scheduler("fifo", {}, 27), 27, 1.0, rng), Fifo)
    asha = make_scheduler(check_scheduler("asha", {}, 27), 27, 1.0, rng)
    # grace 1, eta 3: rungs 1, 3, 9 below 27, one bracket
    assert type(asha) is Asha and asha.rung_epochs == {1, 3, 9} and len(asha.brackets) == 1
    median = make_scheduler(check_scheduler("median", {}, 27), 27, 1.0, rng)
    assert isinstance(median, MedianStopping)
    assert (median.grace_period, median.min_trials) == (1, 3)


def test_make_scheduler_default_median_stops_after_three_trials_end():
    median = make_scheduler(check_scheduler("median", {}, 27), 27, 1.0, np.random.default_rng(0))
    for i, v in enumerate([1.0, 2.0]):
        assert _run(median, f"done{i}", [v]) == [C]
        median.on_complete(f"done{i}")
    # epoch 1 median of 1 and 2 is 1.5; 5 is worse, but only two trials have ended
    assert _run(median, "early", [5.0]) == [C]
    median.on_complete("early")
    # now three have ended: averages 1, 2, 5, median 2, and 5 is worse
    assert _run(median, "late", [5.0]) == [S]


def test_make_scheduler_applies_settings_and_direction():
    asha = make_scheduler(
        check_scheduler("asha", {"grace_period": 2, "reduction_factor": 2}, 16),
        16,
        -1.0,
        np.random.default_rng(0),
    )
    assert asha.rung_epochs == {2, 4, 8}
    # maximising: 9 beats 1 at rung 2 (n = 2 keeps 1)
    assert _at_epoch(asha, [1.0, 9.0], epoch=2) == [C, C]
    assert _at_epoch(asha, [1.0, 9.0, 0.5], epoch=1, prefix="u") == [C, C, C]  # no rung


@pytest.mark.parametrize(
    ("name", "settings", "key"),
    [
        ("fifo", {"grace_period": 1}, "grace_period"),
        ("asha", {"eta": 3}, "eta"),
        ("median", {"min_trial": 3}, "min_trial"),
        ("hyperband", {"grace": 1}, "grace"),
    ],
)
def test_check_scheduler_rejects_an_unknown_setting_by_name(name, settings, key):
    with pytest.raises(ConfigError, match=f"^{key}: unknown setting for {name}") as info:
        make_scheduler(check_scheduler(name, settings, 27), 27, 1.0, np.random.default_rng(0))
    assert info.value.key == key


def test_check_scheduler_rejects_an_unknown_scheduler():
    with pytest.raises(ValueError, match="unknown scheduler 'ashaa'"):
        make_scheduler(check_scheduler("ashaa", {}, 27), 27, 1.0, np.random.default_rng(0))


@pytest.mark.parametrize(
    ("name", "settings", "max_epochs", "expected"),
    [
        ("fifo", {}, 27, ()),
        ("median", {"grace_period": 2}, 27, ()),
        ("asha", {}, 27, (1, 3, 9)),  # grace 1, eta 3: 1, 3, 9 below 27
        ("asha", {"grace_period": 2, "reduction_factor": 2}, 16, (2, 4, 8)),
        # four brackets, graces 1, 3, 9, 27: their rungs [1, 3, 9], [3, 9], [9], []
        ("hyperband", {}, 27, (1, 3, 9)),
        # two brackets, graces 2 and 4, eta 2, below 20: [2, 4, 8, 16] and [4, 8, 16]
        ("hyperband", {"grace_period": 2, "reduction_factor": 2, "brackets": 2}, 20, (2, 4, 8, 16)),
    ],
)
def test_decision_epochs_are_the_rungs_the_built_scheduler_judges_at(
    name, settings, max_epochs, expected
):
    spec = check_scheduler(name, settings, max_epochs)
    assert decision_epochs(spec, max_epochs) == expected
    built = make_scheduler(spec, max_epochs, 1.0, np.random.default_rng(0))
    assert built.rung_epochs == frozenset(expected)


def test_the_percentile_rule_on_the_worked_case():
    # Ray Tune's and Syne Tune's rule: go on if no worse than the 1/3 quantile (linear) of the
    # results recorded before. NINE = 1, 9, 8, 7, 6, 2, 5, 4, 3 arrive in that order:
    #   1: nothing before, go on        9: cutoff 1 -> stop
    #   8: [1, 9] at 1/3: 3.67 -> stop   7: [1, 8, 9] at 2/3: 5.67 -> stop
    #   6: [1, 7, 8, 9] at 1: 7 -> go    2: [1, 6, 7, 8, 9] at 4/3: 6.33 -> go
    #   5: [1, 2, 6, ..] at 5/3: 4.67 -> stop
    #   4: [1, 2, 5, 6, ..] at 2: 5 -> go
    #   3: [1, 2, 4, 5, ..] at 7/3: 4.33 -> go
    asha = Asha(max_epochs=27, grace_period=1, reduction_factor=3)  # the default rule
    assert _at_epoch(asha, NINE) == [C, S, S, S, C, C, S, C, C]
    before: list[float] = []
    for value in NINE:  # the same cut-off, from numpy's quantile
        cutoff = np.quantile(before, 1 / 3) if before else math.inf
        assert within_percentile(value, SortedList(before), 3.0) == (value <= cutoff)
        before.append(value)


def test_a_rung_judges_the_best_value_so_far_not_a_one_epoch_spike():
    asha = Asha(max_epochs=27, grace_period=3, reduction_factor=3)  # rungs at 3 and 9
    assert _run(asha, "steady", [0.6, 0.5, 0.4]) == [C, C, C]
    # 0.3 at epoch 2, then a spike to 0.9 at the rung: judged on 0.3, under the cut-off 0.4
    assert _run(asha, "spiky", [0.5, 0.3, 0.9]) == [C, C, C]
    # a trial that never did better than 0.45 is judged on 0.45: worse than 0.4 and 0.3
    assert _run(asha, "weak", [0.45, 0.5, 0.5]) == [C, C, S]


def test_the_top_share_is_counted_exactly_when_n_over_eta_is_a_whole_number():
    # 33 results with eta 1.1 keep the best 33 / 1.1 = 30; 29.5 has 29 better ones (1..29)
    # among the 32 recorded, so it is the 30th best and goes on
    from sortedcontainers import SortedList

    from orchestrator.schedulers.asha import promotable

    recorded = SortedList(float(v) for v in range(1, 33))
    assert promotable(29.5, recorded, 1.1)
    assert not promotable(30.5, recorded, 1.1)  # the 31st best

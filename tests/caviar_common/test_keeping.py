"""The keep bar: whatever order results arrive in and however stale the bar a worker was
given, the models a driver ends up with are exactly the `keep` best trials, each at the
first epoch of its best value, and each of them that ran to the end sent its last state."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from caviar_common.keeping import NO_KEEP, BestTrials, KeepBar


def _truth(curves: list[list[float]], keep: int, sign: float) -> list[tuple[int, int]]:
    """(trial, epoch) of the `keep` best trials: by best value (sign folded in), then the
    first epoch that reached it, then the trial's number."""
    best = {}
    for t, curve in enumerate(curves):
        finite = [(sign * v, e) for e, v in enumerate(curve, 1) if math.isfinite(v)]
        if finite:
            value = min(v for v, _ in finite)
            best[t] = (value, min(e for v, e in finite if v == value))
    ranked = sorted(best, key=lambda t: (*best[t], t))
    return [(t, best[t][1]) for t in ranked[:keep]]


@st.composite
def sweeps(draw: st.DrawFn) -> tuple[list[list[float]], int, float, list[int], list[int]]:
    """Curves (few distinct values, so ties happen; NaN for a diverged epoch, which ends
    its trial), keep, direction, and an order: which trial runs its next chunk, how long."""
    values = st.sampled_from([0.1, 0.2, 0.3, 0.5, float("nan")])
    curves = draw(st.lists(st.lists(values, min_size=1, max_size=6), min_size=1, max_size=8))
    # a diverged epoch is a trial's last
    curves = [c[: next((i + 1 for i, v in enumerate(c) if math.isnan(v)), len(c))] for c in curves]
    keep = draw(st.integers(0, 4))
    sign = draw(st.sampled_from([1.0, -1.0]))
    order = draw(st.lists(st.integers(0, len(curves) - 1), min_size=60, max_size=120))
    chunks = draw(st.lists(st.integers(1, 4), min_size=60, max_size=120))
    return curves, keep, sign, order, chunks


@settings(max_examples=300, deadline=None)
@given(sweeps())
def test_the_driver_ends_with_exactly_the_best_trials_at_their_best_epochs(sweep) -> None:
    curves, keep, sign, order, chunks = sweep
    best = BestTrials(keep, sign)
    own = [math.inf] * len(curves)  # the driver's view of each trial's best
    done = [0] * len(curves)
    models: dict[int, tuple[float, int]] = {}  # trial -> (value minimised, epoch)
    finals: set[int] = set()
    queue = list(zip(order, chunks, strict=False))
    queue += [(t, 99) for t in range(len(curves))]  # then every trial runs to its end
    for t, size in queue:
        curve = curves[t]
        if done[t] >= len(curve):
            continue
        bar = best.bar(str(t), own[t], len(curve))  # as stale as a whole chunk makes it
        for e in range(done[t] + 1, min(done[t] + size, len(curve)) + 1):
            value = curve[e - 1]
            sent = bar.takes(value)
            bar = bar.seen(value)
            if bar.keeps_last(e):
                finals.add(t)
            # the driver hears of it
            done[t] = e
            if math.isfinite(value):
                own[t] = min(own[t], sign * value)
                best.update(str(t), own[t])
            if sent:
                models[t] = (sign * value, e)
                ranked = sorted(models, key=lambda k: (*models[k], k))
                for dropped in ranked[keep:]:
                    del models[dropped]
    expected = _truth(curves, keep, sign)
    assert sorted(models.items(), key=lambda kv: (*kv[1], kv[0])) == [
        (t, (min(sign * v for v in curves[t] if math.isfinite(v)), e)) for t, e in expected
    ]
    assert {t for t, _ in expected} <= finals  # each kept trial's last state came back


def test_the_default_bar_sends_nothing_and_keep_0_sends_nothing():
    assert not NO_KEEP.takes(0.0) and not NO_KEEP.seen(0.0).keeps_last(0)
    bar = BestTrials(0).bar("a", math.inf, 5)
    assert not bar.takes(-1e9) and not bar.seen(-1e9).keeps_last(5)


def test_a_diverged_value_is_never_kept_nor_counted():
    bar = KeepBar(1.0, math.inf, math.inf, 3)
    assert not bar.takes(float("nan")) and not bar.takes(1e31)
    assert bar.seen(float("nan")) == bar

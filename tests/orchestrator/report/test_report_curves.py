"""The curve chart of a big sweep: the best trials drawn one by one, every trial summed up
as a percentile band. A six-trial store written by hand checks the band against numbers
worked out on paper (the threshold lowered for it); a 2,000-trial store made by
benchmarks/common/bigstore.py checks the report a user gets at that size."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection

from benchmarks.common.bigstore import fill_store
from orchestrator.report.curve_chart import MAX_LINES, SHOWN, band, curves_figure
from orchestrator.report.page import build_html
from orchestrator.results.run import load_run
from orchestrator.storage.store import Store

NAN = math.nan
# trial -> (state, validation cost per epoch). Best values: 0002 0.25 < 0001 0.30 < 0005
# 0.35 < 0003 0.70 < 0006 1.20; 0004 diverged at epoch 2 (its 0.70 never ranks).
HAND = {
    "trial-0001": ("completed", [0.90, 0.50, 0.30]),
    "trial-0002": ("completed", [0.80, 0.45, 0.25]),
    "trial-0003": ("pruned", [1.00, 0.70]),
    "trial-0004": ("diverged", [0.70, NAN]),
    "trial-0005": ("completed", [0.60, 0.40, 0.35]),
    "trial-0006": ("pruned", [1.20]),
}
# Worked by hand from the costs above, interpolating linearly between sorted values:
# epoch 1: 0.6 0.7 0.8 0.9 1.0 1.2; epoch 2: 0.4 0.45 0.5 0.7 (the NaN left out);
# epoch 3: 0.25 0.3 0.35.
MEDIAN = {1: 0.85, 2: 0.475, 3: 0.30}
P10 = {1: 0.65, 2: 0.415, 3: 0.26}
P90 = {1: 1.10, 2: 0.64, 3: 0.34}
CEILING = 5 * 0.85  # 5x the median first-epoch cost: nothing here reaches it but the NaN


def _hand_store(run_dir: Path) -> Path:
    store = Store.create(run_dir, {"name": "band", "metric": "val_cost"})
    for n, (tid, (state, costs)) in enumerate(HAND.items(), start=1):
        store.add_trial(tid, n, 0, {"learning_rate": 0.01 * n}, {}, [])
        store.start_trial(tid, "worker-1", "node", float(n))
        best = math.inf
        for epoch, cost in enumerate(costs, start=1):
            best = best if math.isnan(cost) else min(best, cost)
            record = {"epoch": epoch, "train_cost": cost, "val_cost": cost}
            record |= {"val_accuracy": 0.5, "decayed_learning_rate": 0.01, "seconds": 1.0}
            store.add_point(tid, record | {"diverged": math.isnan(cost)}, best)
        store.end_trial(tid, state, 10.0 + n)
    store.set(state="finished")
    store.close()
    return run_dir


@pytest.fixture
def hand(tmp_path: Path) -> Path:
    return _hand_store(tmp_path / "band")


def _gids(ax: Axes) -> dict[str, object]:
    artists = [*ax.get_lines(), *ax.collections]
    return {str(a.get_gid()): a for a in artists if a.get_gid()}


def _trial_lines(ax: Axes) -> set[str]:
    return {g for g in _gids(ax) if g.startswith("trial-")}


def test_the_band_holds_each_epochs_percentiles_of_every_trial(hand):
    q = band(load_run(hand).curves)
    assert list(q.index) == [1, 2, 3]
    for epoch in (1, 2, 3):
        assert q.loc[epoch, 50.0] == pytest.approx(MEDIAN[epoch])
        assert q.loc[epoch, 10.0] == pytest.approx(P10[epoch])
        assert q.loc[epoch, 90.0] == pytest.approx(P90[epoch])
    # and numpy's percentile, an independent reference, agrees with the hand numbers
    at_two = [costs[1] for _, costs in HAND.values() if len(costs) > 1 and costs[1] == costs[1]]
    assert np.percentile(at_two, [10, 50, 90]) == pytest.approx([P10[2], MEDIAN[2], P90[2]])


def test_above_the_threshold_the_best_trials_are_lines_and_the_rest_a_band(hand):
    run = load_run(hand)
    fig = curves_figure(run.trials, run.curves, "trial-0002", (1,), max_lines=5, shown=2)
    ax = fig.axes[0]
    gids = _gids(ax)
    assert _trial_lines(ax) == {"trial-0002", "trial-0001"}  # the two best; 0004 diverged
    assert "best:trial-0002" in gids
    area = gids["band"]
    assert isinstance(area, PolyCollection)
    median = gids["band:median"]
    assert list(median.get_xdata()) == [1, 2, 3]
    assert list(median.get_ydata()) == pytest.approx([MEDIAN[1], MEDIAN[2], MEDIAN[3]])
    # the band's outline runs along its 10th and 90th percentile edges
    outline = np.asarray(area.get_paths()[0].vertices)
    for epoch in (1, 2, 3):
        ys = outline[np.isclose(outline[:, 0], epoch), 1]
        assert min(ys) == pytest.approx(P10[epoch]) and max(ys) == pytest.approx(P90[epoch])
    blow_ups = np.asarray(gids["diverged"].get_offsets())
    assert blow_ups == pytest.approx(np.array([[2, CEILING]]))  # where 0004 blew up, on top
    title = ax.get_title()
    assert "the best 2 of 6 trials" in title and "4 other trials shown as a band" in title
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "all 6 trials: 10th to 90th percentile" in texts


def test_the_lines_go_to_the_best_by_the_sweeps_direction(hand):
    run = load_run(hand)
    fig = curves_figure(run.trials, run.curves, None, (), minimize=False, max_lines=5, shown=2)
    assert _trial_lines(fig.axes[0]) == {"trial-0006", "trial-0003"}  # the highest bests


def test_up_to_the_threshold_every_curve_is_drawn_and_no_band(hand):
    run = load_run(hand)
    fig = curves_figure(run.trials, run.curves, "trial-0002", (1,), max_lines=6, shown=2)
    ax = fig.axes[0]
    assert _trial_lines(ax) == set(HAND)
    assert "band" not in _gids(ax) and "band:median" not in _gids(ax)
    assert ax.get_title() == "Validation cost of every trial (clipped at 4.25)"


# -- a 2,000-trial sweep --------------------------------------------------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    run_dir = tmp_path_factory.mktemp("big") / "big"
    return run_dir, fill_store(run_dir, 2_000, 3)


def test_a_big_sweeps_page_draws_the_best_curves_and_a_band_and_stays_small(big):
    run_dir, planned = big
    run = load_run(run_dir)
    page, pngs = build_html(run_dir)
    assert set(pngs) == {"curves", "best", "parameters", "parallel", "stages"}
    captions = " ".join(re.findall(r"<figcaption>(.*?)</figcaption>", page))
    with_curve = sum(1 for t in planned if t.points)
    assert with_curve > MAX_LINES
    assert f"The other {with_curve - SHOWN:,} trials are shown as a band" in captions
    # the table of trials: the 500 best, not all 2,000
    assert "The best 500 of 2,000 trials" in page
    table = page[page.index("<details>") :]
    assert table.count("<tr") == 500 + 1  # and its header
    assert run.best(1).index[0] in table
    assert len(page.encode()) < 5_000_000  # figures as PNG, not thousands of vector paths


def test_a_big_sweeps_curve_chart_has_the_best_lines_only(big):
    run_dir, planned = big
    run = load_run(run_dir)
    fig = curves_figure(run.trials, run.curves, None, ())
    ax = fig.axes[0]
    ranked = sorted(
        (t.best, t.number, t.trial_id)
        for t in planned
        if t.state != "diverged" and t.best is not None
    )
    assert _trial_lines(ax) == {tid for _, _, tid in ranked[:SHOWN]}
    assert isinstance(_gids(ax)["band"], PolyCollection)
    diverged = [t for t in planned if t.state == "diverged"]
    assert diverged and len(_gids(ax)["diverged"].get_offsets()) == len(diverged)

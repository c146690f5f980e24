"""The report's figures, checked through the data they draw (not their pixels), from a real
sweep store made by the session fixture `mixed_run`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb

from orchestrator.report import figures, sweep_shape
from orchestrator.report_figures import (
    STATE_COLOURS,
    importance,
    metric_places,
    parameter_figure,
)
from orchestrator.results import Run, load_run
from orchestrator.space import Choice, LogUniform, Space, Uniform
from tests.orchestrator.conftest import stored_rows


def _draw(run_dir: Path) -> tuple[Run, dict]:
    run = load_run(run_dir)
    return run, {name: fig for name, (_, fig) in figures(run, sweep_shape(run)).items()}


def _ids(rows: list[dict], state: str) -> set[str]:
    return {r["trial_id"] for r in rows if r["state"] == state}


def _best_id(rows: list[dict]) -> str:
    usable = [r for r in rows if r["state"] != "diverged" and r["best"] is not None]
    return min(usable, key=lambda r: r["best"])["trial_id"]


def test_the_fixture_sweep_has_every_kind_of_trial(mixed_run):
    rows = stored_rows(mixed_run)
    assert {r["state"] for r in rows} == {"completed", "pruned", "diverged"}
    assert {r["stage"] for r in rows} == {0, 1}
    assert {r["config"]["optimizer"] for r in rows} == {"momentum", "adam"}


def test_the_curve_chart_has_one_line_per_trial_pruned_grey_diverged_red(mixed_run):
    rows = stored_rows(mixed_run)
    _, drawn = _draw(mixed_run)
    ax = drawn["curves"].axes[0]
    lines = {str(ln.get_gid()): ln for ln in ax.get_lines() if ln.get_gid()}
    trial_lines = {g: ln for g, ln in lines.items() if ":" not in g}
    assert set(trial_lines) == {r["trial_id"] for r in rows}  # one line per trial

    def coloured(colour: str) -> set[str]:
        return {g for g, ln in trial_lines.items() if to_rgb(ln.get_color()) == to_rgb(colour)}

    assert coloured(STATE_COLOURS["pruned"]) == _ids(rows, "pruned")
    assert coloured(STATE_COLOURS["diverged"]) == _ids(rows, "diverged")
    best = lines[f"best:{_best_id(rows)}"]
    assert to_rgb(best.get_color()) == (0.0, 0.0, 0.0)
    # grace period 1 and reduction factor 2 under 4 epochs: rungs at epochs 1 and 2
    assert sorted(g for g in lines if g.startswith("rung:")) == ["rung:1", "rung:2"]


def test_diverged_curves_are_drawn_clipped_at_the_ceiling(mixed_run):
    rows = stored_rows(mixed_run)
    run, drawn = _draw(mixed_run)
    ax = drawn["curves"].axes[0]
    first = run.curves.sort_values("epoch").groupby("trial_id")["val_cost"].first().dropna()
    ceiling = 5 * float(np.median(first))  # the documented rule: 5x the median first cost
    for line in ax.get_lines():
        if str(line.get_gid()).startswith("trial-"):
            y = np.asarray(line.get_ydata(), dtype=float)
            assert np.isfinite(y).all() and (y <= ceiling * (1 + 1e-12)).all()
    for trial_id in _ids(rows, "diverged"):
        line = next(ln for ln in ax.get_lines() if ln.get_gid() == trial_id)
        assert line.get_ydata()[-1] == pytest.approx(ceiling)  # the blow-up drawn, on top
    assert ax.get_yscale() == "log"


def test_each_parameter_is_drawn_on_its_own_scale(mixed_run):
    rows = stored_rows(mixed_run)
    _, drawn = _draw(mixed_run)
    axes = {ax.get_gid(): ax for ax in drawn["parameters"].axes}
    assert set(axes) == {"learning_rate", "batch_size", "optimizer", "beta", "beta1"}
    assert axes["learning_rate"].get_xscale() == "log"
    assert axes["batch_size"].get_xscale() == "log"
    assert axes["batch_size"].xaxis.get_transform().base == 2
    assert list(axes["batch_size"].get_xticks()) == [32, 64, 128]
    # momentum's beta: 1 - beta on a log axis, reversed so beta grows to the right, and
    # ticks labelled with beta itself
    beta = axes["beta"]
    assert beta.get_xscale() == "log" and beta.xaxis_inverted()
    assert beta.xaxis.get_major_formatter()(0.01, 0) == "0.99"
    plotted = np.sort(np.asarray(beta.collections[0].get_offsets())[:, 0])
    momentum = [
        1 - r["config"]["beta"]
        for r in rows
        if r["state"] != "diverged" and r["config"]["optimizer"] == "momentum"
    ]
    assert list(plotted) == pytest.approx(sorted(momentum))
    # the optimizer, a category: one group per value, every usable trial in its group
    optimizer = axes["optimizer"]
    labels = [optimizer.xaxis.get_major_formatter()(x, 0) for x in optimizer.get_xticks()]
    assert labels == ["momentum", "adam"]
    groups = np.round(np.asarray(optimizer.collections[0].get_offsets())[:, 0])
    adam = sum(1 for r in rows if r["state"] != "diverged" and r["config"]["optimizer"] == "adam")
    assert int((groups == 1).sum()) == adam


def test_diverged_trials_show_where_they_were_on_the_learning_rate_axis(mixed_run):
    rows = stored_rows(mixed_run)
    _, drawn = _draw(mixed_run)
    ax = next(a for a in drawn["parameters"].axes if a.get_gid() == "learning_rate")
    marks = next(c for c in ax.collections if c.get_gid() == "diverged")
    xs = sorted(np.asarray(marks.get_offsets())[:, 0])
    expected = sorted(r["config"]["learning_rate"] for r in rows if r["state"] == "diverged")
    assert xs == pytest.approx(expected)
    low, high = sorted(ax.get_xlim())
    assert low <= min(xs) and max(xs) <= high  # on the chart, not past its edge


def test_a_two_stage_sweep_draws_each_stage_box_around_its_trials(mixed_run):
    rows = stored_rows(mixed_run)
    _, drawn = _draw(mixed_run)
    ax = drawn["stages"].axes[0]
    boxes = {p.get_gid(): p.get_bbox() for p in ax.patches}
    assert set(boxes) == {"box:0", "box:1"}
    full, zoomed = boxes["box:0"], boxes["box:1"]
    assert full.x0 <= zoomed.x0 <= zoomed.x1 <= full.x1
    assert full.y0 <= zoomed.y0 <= zoomed.y1 <= full.y1
    assert zoomed.width * zoomed.height < full.width * full.height
    for stage in (0, 1):
        points = next(c for c in ax.collections if c.get_gid() == f"stage:{stage}")
        box = boxes[f"box:{stage}"]
        for x, y in np.asarray(points.get_offsets()):
            assert box.x0 <= x <= box.x1 and box.y0 <= y <= box.y1
        assert len(points.get_offsets()) >= 1
    assert {r["stage"] for r in rows} == {0, 1}


def test_the_parallel_view_holds_the_top_trials_best_in_black(mixed_run):
    rows = stored_rows(mixed_run)
    _, drawn = _draw(mixed_run)
    lines = {ln.get_gid(): ln for ln in drawn["parallel"].axes[0].get_lines()}
    usable = sorted(
        (r["best"], r["trial_id"]) for r in rows if r["state"] != "diverged" and r["best"]
    )
    assert set(lines) == {tid for _, tid in usable[:10]}
    assert to_rgb(lines[usable[0][1]].get_color()) == (0.0, 0.0, 0.0)


def test_importance_ranks_the_parameter_that_orders_the_metric_first():
    space = Space({"a": LogUniform(1e-3, 1.0), "b": Uniform(0.0, 1.0), "c": Choice(("x", "y"))})
    a = [0.001, 0.01, 0.03, 0.1, 0.5]
    trials = pd.DataFrame(
        {
            "state": ["completed"] * 5,
            "best": [0.9, 0.7, 0.5, 0.3, 0.1],  # falls as a rises: rank correlation -1
            "a": a,
            "b": [0.5, 0.1, 0.9, 0.2, 0.6],
            "c": ["x"] * 5,  # a single value says nothing
        }
    )
    ranks = importance(trials, space, ["a", "b", "c"])
    assert list(ranks)[0] == "a" and ranks["a"] == pytest.approx(1.0)
    assert "c" not in ranks


def test_the_metric_axis_clips_one_wild_cost_and_goes_logarithmic():
    # median 5.5, so the ceiling is 27.5; 0.1 .. 27.5 spans over a decade: log scale
    places, low, high = metric_places(np.array([0.1, 1.0, 10.0, 1000.0]), minimize=True)
    assert places[0] == 0 and places[-1] == 1
    assert places[1] == pytest.approx(math.log(10) / math.log(275))
    assert low == "0.1" and high == ">= 27.5 (log)"


def test_a_parameter_panel_without_diverged_trials_draws_no_red_marks():
    space = Space({"lr": LogUniform(1e-3, 1.0)})
    trials = pd.DataFrame({"state": ["completed", "pruned"], "best": [0.2, 0.9], "lr": [0.01, 0.5]})
    fig = parameter_figure(trials, space, "val_cost", ["lr"], minimize=True)
    ax = fig.axes[0]
    assert [c.get_gid() for c in ax.collections] == ["lr", "best"]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"

"""The report's figures, checked through the data they draw (not their pixels), from a real
sweep store made by the session fixture `mixed_run`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb

from orchestrator.report.common import STATE_COLOURS, promoted_pauses
from orchestrator.report.page import figures, sweep_shape
from orchestrator.report.params import parameter_figure, rank_correlations
from orchestrator.report.stages import metric_places, stages_figure
from orchestrator.results.run import Run, load_run
from orchestrator.search.space import Choice, LogUniform, Space, Uniform
from tests.orchestrator.conftest import run_sweep, stored_rows


def _draw(run_dir: Path) -> tuple[Run, dict]:
    run = load_run(run_dir)
    return run, {name: fig for name, (_, fig) in figures(run, sweep_shape(run)).items()}


def _ids(rows: list[dict], state: str) -> set[str]:
    return {r.trial_id for r in rows if r.state == state}


def _points(ax, gid: str) -> tuple[np.ndarray, np.ndarray]:
    """The points of every collection with `gid` (one per colour and fill): their (x, y)
    offsets and whether each is filled."""
    found = [c for c in ax.collections if c.get_gid() == gid]
    assert found, gid
    offsets = np.concatenate([np.asarray(c.get_offsets()).reshape(-1, 2) for c in found])
    filled = np.concatenate(
        [
            np.full(len(c.get_offsets()), any(np.asarray(c.get_facecolors())[:, 3] > 0))
            for c in found
        ]
    )
    return offsets, filled


def _best_id(rows: list[dict]) -> str:
    usable = [r for r in rows if r.state != "diverged" and r.best is not None]
    return min(usable, key=lambda r: r.best).trial_id


def test_the_fixture_sweep_has_every_kind_of_trial(mixed_run):
    rows = stored_rows(mixed_run)
    assert {r.state for r in rows} == {"completed", "pruned", "diverged"}
    assert {r.stage for r in rows} == {0, 1}
    assert {r.config["optimizer"] for r in rows} == {"momentum", "adam"}


def test_the_curve_chart_has_one_line_per_trial_pruned_grey_diverged_red(mixed_run):
    rows = stored_rows(mixed_run)
    _, drawn = _draw(mixed_run)
    ax = drawn["curves"].axes[0]
    lines = {str(ln.get_gid()): ln for ln in ax.get_lines() if ln.get_gid()}
    trial_lines = {g: ln for g, ln in lines.items() if ":" not in g}
    assert set(trial_lines) == {r.trial_id for r in rows}  # one line per trial

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
    plotted = np.sort(_points(beta, "beta")[0][:, 0])
    momentum = [
        1 - r.config["beta"]
        for r in rows
        if r.state != "diverged" and r.config["optimizer"] == "momentum"
    ]
    assert list(plotted) == pytest.approx(sorted(momentum))
    # the optimizer, a category: one group per value, every usable trial in its group
    optimizer = axes["optimizer"]
    labels = [optimizer.xaxis.get_major_formatter()(x, 0) for x in optimizer.get_xticks()]
    assert labels == ["momentum", "adam"]
    groups = np.round(_points(optimizer, "optimizer")[0][:, 0])
    adam = sum(1 for r in rows if r.state != "diverged" and r.config["optimizer"] == "adam")
    assert int((groups == 1).sum()) == adam


def test_diverged_trials_show_where_they_were_on_the_learning_rate_axis(mixed_run):
    rows = stored_rows(mixed_run)
    _, drawn = _draw(mixed_run)
    ax = next(a for a in drawn["parameters"].axes if a.get_gid() == "learning_rate")
    marks = next(c for c in ax.collections if c.get_gid() == "diverged")
    xs = sorted(np.asarray(marks.get_offsets())[:, 0])
    expected = sorted(r.config["learning_rate"] for r in rows if r.state == "diverged")
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
        points, _ = _points(ax, f"stage:{stage}")
        box = boxes[f"box:{stage}"]
        for x, y in points:
            assert box.x0 <= x <= box.x1 and box.y0 <= y <= box.y1
        assert len(points) >= 1
    assert {r.stage for r in rows} == {0, 1}


def test_the_parallel_view_holds_the_top_trials_best_in_black(mixed_run):
    rows = stored_rows(mixed_run)
    _, drawn = _draw(mixed_run)
    lines = {ln.get_gid(): ln for ln in drawn["parallel"].axes[0].get_lines()}
    usable = sorted((r.best, r.trial_id) for r in rows if r.state != "diverged" and r.best)
    assert set(lines) == {tid for _, tid in usable[:10]}
    assert to_rgb(lines[usable[0][1]].get_color()) == (0.0, 0.0, 0.0)


def test_rank_correlations_rank_the_parameter_that_orders_the_metric_first():
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
    ranks = rank_correlations(trials, space, ["a", "b", "c"])
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
    # a collection per colour, pruned grey below the completed trial; the best a star
    assert [c.get_gid() for c in ax.collections] == ["lr", "lr", "best"]
    colours = [to_rgb(c.get_edgecolors()[0]) for c in ax.collections[:2]]
    assert colours == [to_rgb(STATE_COLOURS["pruned"]), to_rgb("tab:blue")]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"


# -- promotions and the model's proposals (the promoting tpe sweep) ----------------------


def _promoted(rows: list[dict]) -> dict[str, list[int]]:
    """Each trial's pauses that were followed by more training: all of a trial that is no
    longer paused, all but the last of one still waiting at its rung."""
    out = {}
    for r in rows:
        done = list(r.pauses[:-1] if r.state == "paused" else r.pauses)
        if done:
            out[r.trial_id] = done
    return out


def _legend_texts(ax_or_fig) -> list[str]:
    legends = [ax_or_fig.get_legend()] if hasattr(ax_or_fig, "get_legend") else []
    legends += list(getattr(ax_or_fig, "legends", []))
    return [t.get_text() for legend in legends if legend is not None for t in legend.get_texts()]


def test_the_promoting_fixture_has_warm_up_and_model_trials_promoted_and_still_paused(
    promoting_run,
):
    rows = stored_rows(promoting_run)
    assert {r.proposed_by for r in rows} == {"warm-up", "tpe"}
    # the warm-up comes first: no model proposal before the last random one
    assert max(r.number for r in rows if r.proposed_by == "warm-up") < min(
        r.number for r in rows if r.proposed_by == "tpe"
    )
    assert any(r.pauses and r.state == "completed" for r in rows)  # promoted to the end
    assert any(r.state == "paused" and len(r.pauses) > 1 for r in rows)  # twice paused
    assert any(r.state == "paused" and len(r.pauses) == 1 for r in rows)  # never promoted
    for r in rows:
        if r.state == "paused":
            assert r.epochs == r.pauses[-1]  # waiting where it last paused


def test_pause_markers_sit_where_each_trial_waited_at_a_rung(promoting_run):
    rows = stored_rows(promoting_run)
    run, drawn = _draw(promoting_run)
    ax = drawn["curves"].axes[0]
    lines = {str(ln.get_gid()): ln for ln in ax.get_lines() if ln.get_gid()}
    promoted = _promoted(rows)
    assert promoted  # the fixture test above says there are some
    marks = {
        g.removeprefix("promoted:"): ln for g, ln in lines.items() if g.startswith("promoted:")
    }
    assert set(marks) == set(promoted)
    for trial_id, epochs in promoted.items():
        x = list(marks[trial_id].get_xdata())
        assert x == epochs
        stored = run.curves[run.curves["trial_id"] == trial_id]["epoch"]
        assert stored.max() > max(epochs)  # it trained on after each (the sweep has ended)
        curve = lines[trial_id]  # the marker sits on the trial's own curve, at that epoch
        on_curve = dict(zip(curve.get_xdata(), curve.get_ydata(), strict=True))
        assert list(marks[trial_id].get_ydata()) == [on_curve[e] for e in epochs]
        assert marks[trial_id].get_markerfacecolor() == "white"  # hollow
    ends = {g.removeprefix("paused:"): ln for g, ln in lines.items() if g.startswith("paused:")}
    assert set(ends) == _ids(rows, "paused")
    for r in rows:
        if r.state == "paused":
            curve = lines[r.trial_id]
            assert list(ends[r.trial_id].get_xdata()) == [r.pauses[-1]]
            assert list(ends[r.trial_id].get_ydata()) == [curve.get_ydata()[-1]]
            assert to_rgb(curve.get_color()) == to_rgb(STATE_COLOURS["paused"])  # olive
    texts = _legend_texts(ax)
    assert "paused at a rung, then promoted" in texts and "still paused" in texts


def test_a_promoted_trial_that_completed_has_no_pause_sign_at_its_end(promoting_run):
    rows = stored_rows(promoting_run)
    _, drawn = _draw(promoting_run)
    gids = {str(ln.get_gid()) for ln in drawn["curves"].axes[0].get_lines()}
    done = [r.trial_id for r in rows if r.state == "completed" and r.pauses]
    assert done and all(f"paused:{t}" not in gids and f"promoted:{t}" in gids for t in done)


def test_model_proposals_are_filled_and_the_warm_up_hollow(promoting_run):
    rows = stored_rows(promoting_run)
    _, drawn = _draw(promoting_run)
    fig = drawn["parameters"]
    ax = next(a for a in fig.axes if a.get_gid() == "learning_rate")
    offsets, filled = _points(ax, "learning_rate")
    xs = offsets[:, 0]
    drawn_rows = [r for r in rows if r.state != "diverged"]
    assert len(xs) == len(drawn_rows)

    def proposer(x: float) -> str:
        (r,) = [r for r in drawn_rows if math.isclose(r.config["learning_rate"], x)]
        return r.proposed_by

    kinds = [proposer(x) for x in xs]
    assert list(filled) == [k == "tpe" for k in kinds]
    assert "warm-up" in kinds and "tpe" in kinds
    assert _legend_texts(fig) == ["proposed by the TPE model", "TPE's random warm-up"]
    # the top trials: a hollow (white) marker on every line the model did not propose
    by = {r.trial_id: r.proposed_by for r in rows}
    parallel = drawn["parallel"]
    for line in parallel.axes[0].get_lines():
        filled = to_rgb(line.get_markerfacecolor()) == to_rgb(line.get_color())
        assert filled == (by[line.get_gid()] == "tpe")
    assert _legend_texts(parallel) == ["proposed by the TPE model", "TPE's random warm-up"]


def test_a_sweep_without_pauses_or_tpe_draws_none_of_them(mixed_run):
    _, drawn = _draw(mixed_run)
    ax = drawn["curves"].axes[0]
    gids = [str(ln.get_gid()) for ln in ax.get_lines()]
    assert not [g for g in gids if g.startswith(("promoted:", "paused:"))]
    texts = _legend_texts(ax)
    assert "paused at a rung, then promoted" not in texts and "still paused" not in texts
    for name in ("parameters", "parallel", "stages"):
        fig = drawn[name]
        assert not any("TPE" in t for a in (fig, *fig.axes) for t in _legend_texts(a))
    for ax in drawn["parameters"].axes:  # every point filled
        assert _points(ax, ax.get_gid())[1].all()
    for line in drawn["parallel"].axes[0].get_lines():
        assert to_rgb(line.get_markerfacecolor()) == to_rgb(line.get_color())


def test_promoted_pauses_are_every_pause_but_the_one_a_trial_still_waits_at():
    trials = pd.DataFrame(
        {
            "state": ["completed", "paused", "paused", "running", "pruned"],
            "pauses": [[1, 2], [1, 2], [1], [2], []],
        },
        index=["a", "b", "c", "d", "e"],
    )
    # d: promoted at 2 and not yet through epoch 3, but promoted all the same
    assert promoted_pauses(trials) == {"a": [1, 2], "b": [1], "d": [2]}
    assert promoted_pauses(trials.drop(columns="pauses")) == {}  # a store from before pauses


def test_a_tpe_stage_after_a_random_one_fills_only_the_models_trials(mixed_raw, tmp_path):
    mixed_raw["stages"] = [{"trials": 5}, {"trials": 3, "sampler": {"name": "tpe", "warmup": 2}}]
    run_dir = run_sweep(mixed_raw, tmp_path / "two")
    rows = stored_rows(run_dir)
    # the first stage's 5 results are more than the warm-up asks for: the model at once
    assert [r.proposed_by for r in rows] == ["random"] * 5 + ["tpe"] * 3
    run = load_run(run_dir)
    fig = stages_figure(
        run.trials, sweep_shape(run).space, ["learning_rate", "batch_size"], run.boxes
    )
    ax = fig.axes[0]
    for stage, filled in ((0, False), (1, True)):
        _, fill = _points(ax, f"stage:{stage}")
        assert len(fill) == sum(r.stage == stage for r in rows)
        assert (fill == filled).all()
    assert _legend_texts(ax) == [
        "stage 1",
        "stage 2",
        "proposed by the TPE model",
        "random sampler",
    ]

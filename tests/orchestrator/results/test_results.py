"""A sweep's results as a user reads them: `load_run` DataFrames, the summary and the export,
and `caviar show` and `caviar export` that print them.

Most tests read a store written by hand, so every best value and every rank below can be
checked on paper; one reads a real tiny sweep trained in this process.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from benchmarks.common.bigstore import BigTrial, fill_store
from orchestrator import load_run
from orchestrator.cli import main
from orchestrator.storage.store import Store, StoreError
from tests.orchestrator.conftest import MIXED, run_sweep

NAN = math.nan
SPACE = {
    "learning_rate": {"type": "log_uniform", "low": 1e-3, "high": 10},
    "optimizer": ["momentum", "adam"],
    "beta": {"type": "uniform", "low": 0.5, "high": 0.99, "when": {"optimizer": "momentum"}},
}
# trial -> (config, final state, points as (epoch, train_cost, val_cost, val_accuracy)).
# Best val_cost: 0002 0.25 < 0001 0.30 < 0004 0.45; best val_accuracy: 0001 0.97 > 0002
# 0.95 > 0004 0.92. 0003 diverged at once (no usable value); 0005 never started.
TRIALS: dict[str, tuple[dict[str, Any], str, list[tuple[int, float, float, float]]]] = {
    "trial-0001": (
        {"learning_rate": 0.1, "optimizer": "momentum", "beta": 0.9, "hidden_layers": 1},
        "completed",
        [(1, 0.9, 0.50, 0.80), (2, 0.6, 0.30, 0.97), (3, 0.4, 0.40, 0.85)],
    ),
    "trial-0002": (
        {"learning_rate": 0.01, "optimizer": "adam", "hidden_layers": 1},
        "completed",
        [(1, 0.7, 0.60, 0.70), (2, 0.3, 0.25, 0.88), (3, 0.2, 0.35, 0.95)],
    ),
    "trial-0003": (
        {"learning_rate": 10.0, "optimizer": "momentum", "beta": 0.5, "hidden_layers": 1},
        "diverged",
        [(1, NAN, NAN, NAN)],
    ),
    "trial-0004": (
        {"learning_rate": 0.001, "optimizer": "adam", "hidden_layers": 1},
        "pruned",
        [(1, 0.8, 0.45, 0.92)],
    ),
    "trial-0005": ({"learning_rate": 0.5, "optimizer": "adam", "hidden_layers": 1}, "pending", []),
}


def hand_store(run_dir: Path, **source: Any) -> Path:
    """The five trials above; each started at 100 + n and ran 1.5 s per epoch."""
    store = Store.create(run_dir, {"name": "hand", "space": SPACE, **source})
    metric = source.get("metric", "val_cost")
    sign = -1.0 if metric == "val_accuracy" else 1.0
    running_best: dict[str, float] = {}
    for n, (tid, (config, _, _)) in enumerate(TRIALS.items(), start=1):
        store.add_trial(tid, n, 0, config, {}, [])
        if TRIALS[tid][2]:
            store.start_trial(tid, f"local-{n % 2}", "local", 100.0 + n)
    # points arrive interleaved, as from two workers
    arrivals = [("trial-0002", 0), ("trial-0001", 0), ("trial-0003", 0), ("trial-0001", 1)]
    arrivals += [("trial-0002", 1), ("trial-0004", 0), ("trial-0002", 2), ("trial-0001", 2)]
    for tid, i in arrivals:
        epoch, train, val, acc = TRIALS[tid][2][i]
        record = {"epoch": epoch, "train_cost": train, "val_cost": val, "val_accuracy": acc}
        record |= {"decayed_learning_rate": TRIALS[tid][0]["learning_rate"], "seconds": 1.5}
        record["diverged"] = math.isnan(val)
        value = {"val_cost": val, "val_accuracy": acc, "train_cost": train}[metric]
        if not math.isnan(value):
            running_best[tid] = min(running_best.get(tid, math.inf), sign * value)
        best = running_best.get(tid)
        store.add_point(tid, record, None if best is None else sign * best)
    for n, (tid, (_, state, points)) in enumerate(TRIALS.items(), start=1):
        if state != "pending":
            error = "val_cost=nan" if state == "diverged" else None
            store.end_trial(tid, state, 100.0 + n + 1.5 * len(points), error)
    store.set(state="finished")
    store.close()
    return run_dir


@pytest.fixture
def hand(tmp_path: Path) -> Path:
    return hand_store(tmp_path / "hand")


# -- load_run -------------------------------------------------------------------------------


def test_trials_have_one_row_per_trial_with_its_hyperparameters(hand):
    run = load_run(hand)
    t = run.trials
    assert list(t.index) == list(TRIALS)
    assert list(t["state"]) == ["completed", "completed", "diverged", "pruned", "pending"]
    assert list(t["epochs"]) == [3, 3, 1, 1, 0]
    assert t.loc["trial-0001", "best"] == 0.30 and t.loc["trial-0002", "best"] == 0.25
    assert math.isnan(t.loc["trial-0003", "best"]) and math.isnan(t.loc["trial-0005", "best"])
    assert t.loc["trial-0001", "seconds"] == pytest.approx(4.5)  # 3 epochs of 1.5 s
    assert t.loc["trial-0002", "started"] == 102.0 and t.loc["trial-0002", "ended"] == 106.5
    assert math.isnan(t.loc["trial-0005", "seconds"])  # never started
    assert t.loc["trial-0003", "error"] == "val_cost=nan"
    assert list(t["starts"]) == [1, 1, 1, 1, 0]
    assert list(t["restarts"]) == [0] * 5
    assert t.loc["trial-0002", "optimizer"] == "adam" and t.loc["trial-0002", "hidden_layers"] == 1
    assert t.loc["trial-0001", "beta"] == 0.9
    assert t.loc[["trial-0002", "trial-0004", "trial-0005"], "beta"].isna().all()  # inactive


def test_curves_hold_every_point_sorted_by_trial_then_epoch(hand):
    curves = load_run(hand).curves
    assert list(curves.columns) == [
        "trial_id",
        "epoch",
        "train_cost",
        "val_cost",
        "val_accuracy",
        "decayed_learning_rate",
        "seconds",
        "diverged",
        "time",  # seconds since the sweep was created, by the store's clock
    ]
    assert list(zip(curves["trial_id"], curves["epoch"], strict=True)) == [
        ("trial-0001", 1),
        ("trial-0001", 2),
        ("trial-0001", 3),
        ("trial-0002", 1),
        ("trial-0002", 2),
        ("trial-0002", 3),
        ("trial-0003", 1),
        ("trial-0004", 1),
    ]
    assert list(curves["val_cost"].iloc[3:6]) == [0.60, 0.25, 0.35]
    assert list(curves["diverged"]) == [False] * 6 + [True, False]
    assert curves["val_cost"].isna().sum() == 1  # the diverged point stored as NULL


def test_best_and_leaderboard_minimise_a_cost(hand):
    run = load_run(hand)
    assert (run.metric, run.direction, run.state, run.name) == (
        "val_cost",
        "minimize",
        "finished",
        "hand",
    )
    assert list(run.best().index) == ["trial-0002"]
    assert list(run.best(10).index) == ["trial-0002", "trial-0001", "trial-0004"]
    board = run.leaderboard()
    assert list(board.columns) == ["rank", "trial", "state", "best", "epochs"] + [
        "beta",
        "learning_rate",
        "optimizer",
    ]  # the searched hyperparameters; the fixed hidden_layers is left out
    assert list(board["rank"]) == [1, 2, 3]
    assert list(board["trial"]) == ["trial-0002", "trial-0001", "trial-0004"]
    assert list(board["best"]) == [0.25, 0.30, 0.45]
    assert list(board["epochs"]) == [3, 3, 1]
    assert list(board["beta"]) == ["", "0.9", ""]  # blank where inactive
    assert list(run.leaderboard(2)["trial"]) == ["trial-0002", "trial-0001"]


def test_best_and_leaderboard_maximise_an_accuracy(tmp_path):
    run = load_run(hand_store(tmp_path / "acc", metric="val_accuracy"))
    assert run.direction == "maximize"  # the metric's own direction when none is given
    assert list(run.trials["best"].iloc[[0, 1, 3]]) == [0.97, 0.95, 0.92]
    assert list(run.best(10).index) == ["trial-0001", "trial-0002", "trial-0004"]
    assert list(run.leaderboard()["best"]) == [0.97, 0.95, 0.92]


def test_an_explicit_direction_wins_over_the_metrics_own(tmp_path):
    run = load_run(hand_store(tmp_path / "odd", metric="val_cost", direction="maximize"))
    assert list(run.best(10).index) == ["trial-0004", "trial-0001", "trial-0002"]


@pytest.mark.parametrize("metric", ["val_cost", "val_accuracy"])
def test_a_diverged_trial_without_a_value_is_never_best(tmp_path, metric):
    run = load_run(hand_store(tmp_path / metric, metric=metric))
    assert "trial-0003" not in run.best(10).index
    assert "trial-0003" not in set(run.leaderboard(10)["trial"])
    assert len(run.best(10)) == 3  # the pending trial has no value either


def test_a_run_opens_by_directory_or_database_and_reading_changes_nothing(hand):
    db = hand / "sweep.db"
    before = db.read_bytes()
    by_dir, by_db = load_run(hand), load_run(db)
    pd.testing.assert_frame_equal(by_dir.trials, by_db.trials)
    assert by_dir.path == by_db.path == hand
    assert db.read_bytes() == before
    assert repr(by_dir) == (
        "Run('hand', finished, val_cost minimize, 5 trials: "
        "completed 2, diverged 1, pending 1, pruned 1)"
    )


def test_a_run_can_be_read_while_its_sweep_writes(hand):
    writer = Store.open(hand)
    writer.set(state="running")
    try:
        assert load_run(hand).state == "running"
        writer.add_point("trial-0004", {**_point(2), "val_cost": 0.2}, 0.2)
        run = load_run(hand)
        assert run.trials.loc["trial-0004", "epochs"] == 2
        assert list(run.best().index) == ["trial-0004"]
    finally:
        writer.close()


def _point(epoch: int) -> dict[str, Any]:
    return dict(
        epoch=epoch, train_cost=0.5, val_accuracy=0.5, decayed_learning_rate=0.1, seconds=1.0
    )


def test_a_directory_without_a_sweep_is_refused_by_name(tmp_path):
    with pytest.raises(StoreError, match=f"no sweep in {tmp_path / 'nothing'}"):
        load_run(tmp_path / "nothing")
    (tmp_path / "junk.db").write_text("not a database")
    with pytest.raises(StoreError, match="junk.db is not a readable sweep database"):
        load_run(tmp_path / "junk.db")


def test_importing_the_results_api_does_not_import_ray():
    code = "import sys, orchestrator; orchestrator.load_run; import orchestrator.results.run; "
    code += "print('ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_a_real_sweep_has_every_trials_curve_and_its_epochs(tmp_path):
    # the mixed sweep's conditional space at learning rates that never diverge, one stage
    raw = copy.deepcopy(MIXED) | {"name": "digits", "seed": 0, "stages": [{"trials": 6}]}
    raw["space"]["learning_rate"] = {"type": "log_uniform", "low": 1e-3, "high": 0.3}
    raw["space"]["hidden_units"] = {"type": "int_uniform", "low": 8, "high": 32}
    raw["budget"] = {"max_epochs": 5}
    run_sweep(raw, tmp_path / "digits")

    run = load_run(tmp_path / "digits")
    assert len(run.trials) == 6 and run.state == "finished"
    assert set(run.curves["trial_id"]) == set(run.trials.index)
    for tid, curve in run.curves.groupby("trial_id"):
        trial = run.trials.loc[tid]
        assert list(curve["epoch"]) == list(range(1, trial["epochs"] + 1))
        assert trial["best"] == curve["val_cost"].min()
    assert run.best().index[0] == run.trials["best"].idxmin()
    assert int(run.trials["epochs"].sum()) == len(run.curves)
    adam = run.trials["optimizer"] == "adam"
    assert adam.any() and (~adam).any()  # seed 0 draws both optimizers
    assert run.trials.loc[adam, "beta"].isna().all()
    assert run.trials.loc[~adam, "beta1"].isna().all()


# -- Run.summary and Run.export -------------------------------------------------------------


def test_the_summary_counts_trials_and_epochs_and_ranks_the_best(hand):
    lines = load_run(hand).summary(2).splitlines()
    # 8 epochs: 3 + 3 + 1 + 1, and nothing for the pending trial
    assert lines[0] == (
        "sweep hand (finished): 5 trials (completed 2, diverged 1, pending 1, pruned 1), 8 epochs"
    )
    assert lines[1] == "leaderboard (val_cost, minimize):"
    assert [line.split()[:4] for line in lines[3:5]] == [
        ["1", "trial-0002", "completed", "0.25"],
        ["2", "trial-0001", "completed", "0.30"],
    ]
    assert lines[5] == f"results: {hand} (caviar show {hand}; caviar.load_run in Python)"
    assert len(lines) == 6


def test_the_summary_of_a_sweep_without_values_says_so(empty_run):
    assert "  no trial has a finite value yet" in load_run(empty_run).summary().splitlines()


def test_export_returns_what_it_wrote(hand, tmp_path):
    run = load_run(hand)
    assert run.export() == [hand / "trials.csv", hand / "curves.csv"]
    out = tmp_path / "new" / "dir"  # made as needed
    assert run.export(out, "parquet") == [out / "trials.parquet", out / "curves.parquet"]
    pd.testing.assert_frame_equal(pd.read_parquet(out / "curves.parquet"), run.curves)


def test_export_writes_nothing_when_one_file_exists_and_force_is_off(hand):
    run = load_run(hand)
    (hand / "curves.csv").write_text("kept\n")
    with pytest.raises(ValueError, match="curves.csv already exists; nothing was written"):
        run.export()
    assert not (hand / "trials.csv").exists()
    assert (hand / "curves.csv").read_text() == "kept\n"
    run.export(force=True)
    assert len(pd.read_csv(hand / "curves.csv")) == 8


def test_export_refuses_a_file_as_its_directory_and_an_unknown_format(hand):
    run = load_run(hand)
    with pytest.raises(ValueError, match="--out: must be a directory, got the file"):
        run.export(hand / "sweep.db")
    with pytest.raises(ValueError, match="format: must be one of csv, parquet, got 'xlsx'"):
        run.export(fmt="xlsx")
    assert sorted(p.name for p in hand.iterdir() if p.suffix in (".csv", ".parquet")) == []


# -- caviar show and caviar export ----------------------------------------------------------


def test_show_prints_the_leaderboard_and_the_counts(hand, capsys):
    assert main(["show", str(hand), "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert (
        "sweep hand (finished): 5 trials (completed 2, diverged 1, pending 1, pruned 1), 8 epochs"
    ) in out
    assert "leaderboard (val_cost, minimize)" in out
    assert out.index("trial-0002") < out.index("trial-0001")
    assert "trial-0004" not in out  # third, and only two rows were asked for


def test_show_and_export_refuse_a_directory_without_a_sweep(tmp_path, capsys):
    for argv in (["show", str(tmp_path)], ["export", str(tmp_path)]):
        assert main(argv) == 2
        assert f"no sweep in {tmp_path}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_export_writes_csv_that_reads_back_as_the_dataframes(hand, capsys):
    assert main(["export", str(hand), "--format", "csv"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(hand / "trials.csv"), str(hand / "curves.csv")]
    run = load_run(hand)
    # the list of pause epochs is written as JSON ("[]", "[1, 3]")
    trials = pd.read_csv(
        hand / "trials.csv", index_col="trial_id", converters={"pauses": json.loads}
    )
    for column in ("proposed_by", "devices"):  # "" reads as NaN
        trials[column] = trials[column].astype(object).fillna("")
    pd.testing.assert_frame_equal(trials, run.trials, check_dtype=False)
    curves = pd.read_csv(hand / "curves.csv")
    pd.testing.assert_frame_equal(curves, run.curves, check_dtype=False)


def test_export_refuses_to_overwrite_without_force(hand, capsys):
    assert main(["export", str(hand)]) == 0
    (hand / "curves.csv").write_text("kept\n")
    capsys.readouterr()
    assert main(["export", str(hand / "sweep.db")]) == 2
    err = capsys.readouterr().err
    assert str(hand / "trials.csv") in err and "--force" in err
    assert (hand / "curves.csv").read_text() == "kept\n"
    assert main(["export", str(hand), "--force"]) == 0
    assert len(pd.read_csv(hand / "curves.csv")) == 8


def test_export_parquet_into_another_directory(hand, tmp_path, capsys):
    out = tmp_path / "exported"
    assert main(["export", str(hand / "sweep.db"), "--format", "parquet", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["curves.parquet", "trials.parquet"]
    run = load_run(hand)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "trials.parquet"), run.trials.reset_index())
    pd.testing.assert_frame_equal(pd.read_parquet(out / "curves.parquet"), run.curves)
    assert not (hand / "trials.parquet").exists()


# -- a sweep of thousands of trials (benchmarks/common/bigstore.py) ------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[BigTrial]]:
    run_dir = tmp_path_factory.mktemp("big") / "big"
    return run_dir, fill_store(run_dir, 2_000, 3)


def test_the_big_store_helper_writes_what_the_stores_own_methods_write(tmp_path):
    fill_store(tmp_path / "fast", 40, 4, seed=1)
    fill_store(tmp_path / "api", 40, 4, seed=1, fast=False)
    fast, api = Store.open(tmp_path / "fast"), Store.open(tmp_path / "api")
    try:
        assert fast.trial_rows() == api.trial_rows()
        assert [replace(p, seq=0) for p in fast.points()] == [
            replace(p, seq=0) for p in api.points()
        ]
        assert {r.state for r in fast.trial_rows()} >= {"completed", "pruned"}
    finally:
        fast.close()
        api.close()


def test_show_counts_every_trial_and_epoch_of_a_big_sweep(big, capsys):
    run_dir, planned = big
    assert main(["show", str(run_dir)]) == 0
    states: dict[str, int] = {}
    for t in planned:
        states[t.state] = states.get(t.state, 0) + 1
    assert set(states) == {"completed", "pruned", "diverged", "failed"}
    counted = ", ".join(f"{k} {v:,}" for k, v in sorted(states.items()))
    epochs = sum(len(t.points) for t in planned)
    first = capsys.readouterr().out.splitlines()[0]
    # thousands separated, so 2,000 reads at a glance
    assert first == f"sweep big-2000x3 (finished): 2,000 trials ({counted}), {epochs:,} epochs"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_every_trial_and_point_of_a_big_sweep(big, tmp_path, fmt):
    run_dir, planned = big
    assert main(["export", str(run_dir), "--format", fmt, "--out", str(tmp_path)]) == 0
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    trials, curves = read(tmp_path / f"trials.{fmt}"), read(tmp_path / f"curves.{fmt}")
    assert len(trials) == 2_000
    assert len(curves) == sum(len(t.points) for t in planned)
    assert list(trials["trial_id"]) == [t.trial_id for t in planned]
    per_trial = curves.groupby("trial_id").size()
    assert all(per_trial.get(t.trial_id, 0) == len(t.points) for t in planned)

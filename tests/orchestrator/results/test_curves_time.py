"""When each epoch ended: the store stamps every point with its own clock, `load_run` gives
it as `curves["time"]` (seconds since the sweep was created), and equal best values rank by
the epoch, then the time, at which the trials reached them.

The stores here run on a fake clock, so every time below is worked out on paper.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from orchestrator import load_run
from orchestrator.storage.store import Store
from tests.orchestrator.storage.old_stores import old_store


class FakeClock:
    """A clock that reads whatever the test last set."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _record(epoch: int, val_cost: float) -> dict[str, float | int | bool]:
    return {
        "epoch": epoch,
        "train_cost": val_cost + 0.1,
        "val_cost": val_cost,
        "val_accuracy": 1.0 - val_cost,
        "decayed_learning_rate": 0.1,
        "seconds": 1.0,
        "diverged": False,
    }


def _store(run_dir: Path, clock: FakeClock, trials: int, metric: str = "val_cost") -> Store:
    store = Store.create(run_dir, {"name": "timed", "metric": metric}, clock=clock)
    for n in range(1, trials + 1):
        store.add_trial(f"trial-{n:04d}", n, 0, {"learning_rate": 0.1}, {}, [])
        store.start_trial(f"trial-{n:04d}", "local-0", "local", clock.now)
    return store


def _arrive(
    store: Store, clock: FakeClock, arrivals: list[tuple[float, str, int, float]], sign: float
) -> None:
    """Points as (clock time, trial, epoch, val_cost), each with its trial's best so far."""
    best: dict[str, float] = {}
    for at, tid, epoch, value in arrivals:
        clock.now = at
        record = _record(epoch, value)
        metric_value = value if sign > 0 else 1.0 - value
        best[tid] = min(best.get(tid, math.inf), sign * metric_value)
        store.add_point(tid, record, sign * best[tid])


def test_curves_time_is_seconds_since_the_sweep_was_created(tmp_path: Path) -> None:
    clock = FakeClock(1000.0)  # Store.create stamps `created` = 1000
    store = _store(tmp_path / "run", clock, 2)
    arrivals = [(1002.5, "trial-0001", 1, 0.9), (1003.0, "trial-0002", 1, 0.8)]
    _arrive(store, clock, arrivals + [(1007.25, "trial-0001", 2, 0.7)], 1.0)
    clock.now = 1010.0
    with store.batch():  # one poll's points: each stamped when it was added
        store.add_point("trial-0002", _record(2, 0.6), 0.6)
        clock.now = 1011.0
        store.add_point("trial-0001", _record(3, 0.5), 0.5)
    store.close()

    curves = load_run(tmp_path / "run").curves
    times = {
        (t, e): s
        for t, e, s in zip(curves["trial_id"], curves["epoch"], curves["time"], strict=True)
    }
    assert times == {
        ("trial-0001", 1): 2.5,
        ("trial-0001", 2): 7.25,
        ("trial-0001", 3): 11.0,
        ("trial-0002", 1): 3.0,
        ("trial-0002", 2): 10.0,
    }


def test_a_point_trained_again_after_a_restart_carries_its_new_time(tmp_path: Path) -> None:
    clock = FakeClock(0.0)
    store = _store(tmp_path / "run", clock, 1)
    _arrive(store, clock, [(4.0, "trial-0001", 1, 0.9), (8.0, "trial-0001", 2, 0.7)], 1.0)
    store.rewind("trial-0001", 1)  # its worker died; it restarts from epoch 1's checkpoint
    clock.now = 20.0
    store.add_point("trial-0001", _record(2, 0.6), 0.6)
    store.close()

    curves = load_run(tmp_path / "run").curves
    assert list(curves["epoch"]) == [1, 2]
    assert list(curves["time"]) == [4.0, 20.0]


def test_an_old_store_reads_with_nan_times_and_its_new_points_carry_theirs(
    tmp_path: Path,
) -> None:
    run_dir = old_store(3, tmp_path / "old")  # schema 3, before `at`; created at 1000
    run = load_run(run_dir)  # read-only: the store is left as it was
    assert len(run.curves) == 4 and run.curves["time"].isna().all()
    assert run.best(1).index.tolist() == ["trial-0001"]  # ranks without times

    store = Store.open(run_dir, clock=FakeClock(1012.0))  # a resume migrates it: `at` NULL
    store.add_point("trial-0002", _record(2, 0.3), 0.3)
    store.close()
    curves = load_run(run_dir).curves
    keys = zip(curves["trial_id"], curves["epoch"], strict=True)
    times = dict(zip(keys, curves["time"], strict=True))
    assert times.pop(("trial-0002", 2)) == 12.0  # 1012 - 1000
    assert len(times) == 4 and all(math.isnan(t) for t in times.values())


# trial -> its val_cost at epochs 1, 2, ...; four trials reach the same best value, 0.3:
#   0001 first at epoch 5; 0002 at epoch 2 (time 7) and again at 5; 0003 at epoch 2 but
#   sooner (time 5); 0005 at epoch 5 too, but later than 0001 (time 14 against 12).
# 0004 is better (0.2). Ranked: 0004, 0003, 0002, 0001, 0005, and 0006 (0.4) last.
ARRIVALS = [
    (1.0, "trial-0001", 1, 0.9),
    (2.0, "trial-0002", 1, 0.7),
    (3.0, "trial-0003", 1, 0.5),
    (4.0, "trial-0004", 1, 0.6),
    (5.0, "trial-0003", 2, 0.3),
    (6.0, "trial-0001", 2, 0.8),
    (7.0, "trial-0002", 2, 0.3),
    (8.0, "trial-0004", 2, 0.2),
    (9.0, "trial-0001", 3, 0.6),
    (9.5, "trial-0002", 3, 0.4),
    (10.0, "trial-0001", 4, 0.5),
    (10.5, "trial-0002", 4, 0.35),
    (11.0, "trial-0005", 1, 0.5),
    (11.2, "trial-0005", 2, 0.5),
    (11.4, "trial-0005", 3, 0.5),
    (11.6, "trial-0005", 4, 0.5),
    (12.0, "trial-0001", 5, 0.3),
    (13.0, "trial-0002", 5, 0.3),
    (14.0, "trial-0005", 5, 0.3),
    (15.0, "trial-0006", 1, 0.4),
]
RANKED = ["trial-0004", "trial-0003", "trial-0002", "trial-0001", "trial-0005", "trial-0006"]


def _tied(run_dir: Path, metric: str) -> Path:
    clock = FakeClock(0.0)
    store = _store(run_dir, clock, 6, metric)
    _arrive(store, clock, ARRIVALS, 1.0 if metric == "val_cost" else -1.0)
    store.close()
    return run_dir


def test_equal_best_values_rank_by_epoch_then_time_then_number(tmp_path: Path) -> None:
    run = load_run(_tied(tmp_path / "tied", "val_cost"))
    assert run.trials.loc[RANKED[1:5], "best"].tolist() == [0.3] * 4
    assert run.best(6).index.tolist() == RANKED
    assert run.best(2).index.tolist() == RANKED[:2]
    board = run.leaderboard(6)
    assert board["trial"].tolist() == RANKED
    assert board["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    lines = run.summary(6).splitlines()
    rows = [next(i for i, line in enumerate(lines) if tid in line) for tid in RANKED]
    assert rows == sorted(rows)


def test_ties_break_the_same_way_when_the_metric_is_maximized(tmp_path: Path) -> None:
    # val_accuracy = 1 - val_cost: the same ties, the order unchanged
    run = load_run(_tied(tmp_path / "tied", "val_accuracy"))
    assert run.direction == "maximize"
    assert run.best(6).index.tolist() == RANKED


def test_a_real_sweep_stamps_every_point_in_the_order_its_epochs_ran(mixed_run: Path) -> None:
    run = load_run(mixed_run)
    time = run.curves["time"].to_numpy()
    assert np.isfinite(time).all() and (time >= 0).all()
    for _, curve in run.curves.groupby("trial_id"):
        assert (np.diff(curve.sort_values("epoch")["time"].to_numpy()) >= 0).all()
    ended = run.trials["ended"] - _created(mixed_run)
    last = run.curves.groupby("trial_id")["time"].max()
    assert (last <= ended.reindex(last.index)).all()  # a trial ends after its last epoch


def _created(run_dir: Path) -> float:
    """The store's `created` stamp."""
    store = Store.open(run_dir)
    try:
        return float(store.get("created"))
    finally:
        store.close()


def test_export_keeps_the_time_column(tmp_path: Path) -> None:
    run = load_run(_tied(tmp_path / "tied", "val_cost"))
    (path,) = [p for p in run.export() if p.name == "curves.csv"]
    assert pd.read_csv(path)["time"].tolist() == run.curves["time"].tolist()


def test_plot_curves_draws_the_leaderboards_best_in_black_when_values_tie(
    tmp_path: Path,
) -> None:
    # without trial-0004, four trials tie at 0.3: 0003 reached it first (epoch 2, time 5),
    # while the lowest trial number among them is 0001
    clock = FakeClock(0.0)
    store = _store(tmp_path / "tied", clock, 6, "val_cost")
    _arrive(store, clock, [a for a in ARRIVALS if a[1] != "trial-0004"], 1.0)
    store.close()
    run = load_run(tmp_path / "tied")
    assert run.best(1).index[0] == "trial-0003"
    gids = [line.get_gid() for line in run.plot_curves().axes[0].get_lines()]
    assert "best:trial-0003" in gids

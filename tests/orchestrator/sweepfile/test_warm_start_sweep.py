"""`warm_start:` end to end: a small real sweep, then a sweep in a narrower space that starts
from it. Its first trials are the earlier sweep's best configurations in the new space, in
the order `load_run(...).best` ranks them, then the first stage's own; TPE learns from the
earlier trials; `caviar validate` describes it and refuses an earlier sweep it cannot use,
writing nothing; and a resumed warm-started sweep trains none of them twice.
"""

from __future__ import annotations

import copy
import math
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.cli import main
from orchestrator.core.loop import Sweep
from orchestrator.core.planner import propose_one
from orchestrator.core.spec import SweepSpec
from orchestrator.core.status import Status
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.execution.runner import reopen_run
from orchestrator.results.run import load_run
from orchestrator.search.space import Box
from orchestrator.search.tpe import evidence
from orchestrator.storage import LATEST, TrialRow
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import SweepError, parse_sweep

# 12 trials over learning rates 1e-4..1 and 8..64 hidden units; seed 0 puts 7 of them in
# the narrower space below and 5 outside it, all completed (the tests count them again)
OLD: dict[str, Any] = {
    "name": "old",
    "dataset": "digits",
    "seed": 0,
    "model": {"optimizer": "adam", "hidden_layers": 1, "batch_size": 128},
    "space": {
        "learning_rate": {"type": "log_uniform", "low": 1e-4, "high": 1.0},
        "hidden_units": {"type": "int_uniform", "low": 8, "high": 64},
    },
    "budget": {"trials": 12, "max_epochs": 2},
}
LR_HIGH, UNITS_HIGH = 0.2, 56  # the new space's upper ends
TOP_K = 3


def new_raw(**changes: Any) -> dict[str, Any]:
    """The new sweep: the old one in a narrower space, starting from runs/old."""
    raw = copy.deepcopy(OLD)
    raw["name"] = "new"
    raw["space"]["learning_rate"]["high"] = LR_HIGH
    raw["space"]["hidden_units"]["high"] = UNITS_HIGH
    raw["budget"] = {"trials": 3, "max_epochs": 2}
    raw["warm_start"] = {"from": "runs/old", "top_k": TOP_K}
    raw.update(changes)
    return raw


def inside(config: dict[str, Any]) -> bool:
    """The new space's bounds, stated apart from the code that checks them."""
    return 1e-4 <= config["learning_rate"] <= LR_HIGH and 8 <= config["hidden_units"] <= UNITS_HIGH


def searched(config: dict[str, Any]) -> tuple[float, int]:
    return config["learning_rate"], config["hidden_units"]


def run(spec: SweepSpec, run_dir: Path, **kwargs: Any) -> Store:
    store = Store.create(run_dir, spec.source)
    Sweep(spec, store, InProcessExecutor(2), **kwargs).run()
    return store


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the earlier sweep's run in runs/old (and the new sweep file's place)."""
    base = tmp_path_factory.mktemp("warm")
    run(parse_sweep(OLD, base), base / "runs" / "old").close()
    return base


@pytest.fixture(scope="module")
def old_rows(folder: Path) -> list[TrialRow]:
    store = Store.open(folder / "runs" / "old")
    try:
        return store.trial_rows()
    finally:
        store.close()


def test_the_earlier_sweep_has_trials_on_both_sides_of_the_new_space(
    old_rows: list[TrialRow],
) -> None:
    assert len(old_rows) == 12 and {r.state for r in old_rows} == {"completed"}
    assert sum(inside(r.config) for r in old_rows) == 7


def test_the_warm_start_counts_its_trials_in_and_outside_the_new_space(
    folder: Path, old_rows: list[TrialRow]
) -> None:
    spec = parse_sweep(new_raw(), folder)
    warm = spec.warm_start
    assert warm is not None and warm.source == "runs/old"
    assert warm.outside == sum(not inside(r.config) for r in old_rows)
    assert warm.failed == 0
    assert [r.number for r in warm.evidence] == [r.number for r in old_rows if inside(r.config)]
    assert len(warm.first) == TOP_K
    assert spec.total_trials == TOP_K + 3
    assert parse_sweep(new_raw(), folder) == spec  # the same file and store: the same sweep


def test_the_first_trials_are_the_earlier_best_in_the_new_space_then_the_stages_own(
    folder: Path, tmp_path: Path, old_rows: list[TrialRow]
) -> None:
    by_number = {r.number: r for r in old_rows}
    ranked = [by_number[int(n)].config for n in load_run(folder / "runs" / "old").best(12).number]
    expected = [searched(c) for c in ranked if inside(c)][:TOP_K]

    spec = parse_sweep(new_raw(), folder)
    statuses: list[Status] = []
    rows = run(spec, tmp_path / "new", on_status=statuses.append).trial_rows()
    assert [r.number for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [searched(r.config) for r in rows[:TOP_K]] == expected
    assert [r.proposed_by for r in rows] == ["warm-start"] * TOP_K + ["random"] * 3
    assert {r.stage for r in rows} == {0}
    assert all(r.config["optimizer"] == "adam" for r in rows)  # the new sweep's settings
    assert statuses[-1].total == 6

    # the stage's own trials are those it samples without a warm start
    cold = run(parse_sweep(new_raw(warm_start=None), folder), tmp_path / "cold").trial_rows()
    assert [r.config for r in rows[TOP_K:]] == [r.config for r in cold]


def test_tpe_learns_from_the_earlier_trials(folder: Path, tmp_path: Path) -> None:
    tpe = {"name": "tpe", "warmup": 3}
    spec = parse_sweep(new_raw(sampler=tpe), folder)
    assert spec.warm_start is not None
    history = evidence([], spec.sign, spec.warm_start.evidence)
    assert [e.config for e in history] == [r.config for r in spec.warm_start.evidence]
    assert [e.kind for e in history] == ["complete"] * 7

    cold = parse_sweep(new_raw(sampler=tpe, warm_start=None), folder)
    box = Box.full(2)
    warm_first, cold_first = propose_one(spec, 0, box, history, 4), propose_one(cold, 0, box, [], 4)
    assert (warm_first.proposed_by, cold_first.proposed_by) == ("tpe", "warm-up")
    assert warm_first.config != cold_first.config

    # in the loop: the stage's first own trial is already the model's
    rows = run(spec, tmp_path / "tpe").trial_rows()
    assert [r.proposed_by for r in rows] == ["warm-start"] * TOP_K + ["tpe"] * 3


def _interrupt_once_stored(store: Store, trials: int) -> Callable[[Status], None]:
    def on_status(status: Status) -> None:
        if sum(r.epochs >= 1 for r in store.trial_rows()) >= trials:
            raise KeyboardInterrupt

    return on_status


@pytest.mark.parametrize("trials", [1, TOP_K + 1])
def test_a_resumed_warm_started_sweep_trains_none_of_them_twice(
    folder: Path, tmp_path: Path, trials: int
) -> None:
    spec = parse_sweep(new_raw(), folder)
    store = Store.create(tmp_path / "broken", spec.source)
    store.set(base_dir=str(folder))  # as `caviar run` records where the file was
    with pytest.raises(KeyboardInterrupt):
        Sweep(
            spec, store, InProcessExecutor(1), on_status=_interrupt_once_stored(store, trials)
        ).run()
    assert len(store.trial_rows()) < 6
    store.close()

    again_spec, again = reopen_run(tmp_path / "broken")  # the warm start read again
    Sweep(again_spec, again, InProcessExecutor(1)).run()
    twin = run(spec, tmp_path / "twin")

    def plan(s: Store) -> list[tuple[Any, ...]]:
        return [(r.number, r.stage, r.config, r.proposed_by) for r in s.trial_rows()]

    assert [p[3] for p in plan(again)].count("warm-start") == TOP_K
    assert plan(again) == plan(twin)


# -- caviar validate ---------------------------------------------------------------------


def _write(folder: Path, raw: dict[str, Any], name: str = "sweep.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _tree(folder: Path) -> list[tuple[Any, ...]]:
    """Every folder, and every file with its size and time of change; but the shared-memory
    and log files SQLite makes beside a WAL store that any reader opens, read-only too."""
    return sorted(
        (str(p), p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else (str(p),)
        for p in folder.rglob("*")
        if not p.name.endswith(("-shm", "-wal"))
    )


def test_validate_and_sample_describe_the_warm_start(
    folder: Path,
    old_rows: list[TrialRow],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(folder)
    sweep = _write(folder, new_raw(), "describe.yaml")
    assert main(["validate", str(sweep)]) == 0
    out = capsys.readouterr().out
    n_in = sum(inside(r.config) for r in old_rows)
    assert "  stage 1: 3 warm-start trials, then 3 trials, random\n" in out
    assert (
        f"  warm start from runs/old: {n_in} trials as evidence ({12 - n_in} outside the new "
        f"space left out), top {TOP_K} trained first\n"
    ) in out

    assert main(["sample", str(sweep)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 1 + TOP_K + 3  # the header, the warm start's trials, the stage's
    spec = parse_sweep(new_raw(), folder)
    assert spec.warm_start is not None
    first = table[1].split()
    assert first[0] == "1" and float(first[2]) == pytest.approx(
        spec.warm_start.first[0]["learning_rate"], rel=1e-3
    )


def _bad_cases(folder: Path) -> dict[str, tuple[Any, str]]:
    """Warm starts `caviar validate` refuses, each with what its error says."""
    (folder / "runs" / "empty").mkdir(exist_ok=True)
    corrupt = folder / "runs" / "corrupt"
    corrupt.mkdir(exist_ok=True)
    (corrupt / "sweep.db").write_bytes(b"this is no database, " * 100)
    newer = folder / "runs" / "newer"
    if not newer.exists():
        shutil.copytree(folder / "runs" / "old", newer)
        with sqlite3.connect(newer / "sweep.db") as conn:
            conn.execute(f"PRAGMA user_version = {LATEST + 1}")
        conn.close()
    rule = "warm_start.from: must be the run directory of an earlier sweep (holding its sweep.db)"
    return {
        "a missing directory": (
            {"from": "runs/nowhere"},
            f"{rule}, got 'runs/nowhere'; there is no directory {folder / 'runs' / 'nowhere'}",
        ),
        "a directory without a store": (
            {"from": "runs/empty"},
            f"{rule}, got 'runs/empty'; {folder / 'runs' / 'empty'} has no sweep.db",
        ),
        "a corrupt store": (
            {"from": "runs/corrupt"},
            "warm_start.from: must hold a sweep store this Caviar can read, got 'runs/corrupt'; "
            f"{corrupt / 'sweep.db'} is not a readable sweep database",
        ),
        "a newer store": (
            {"from": "runs/newer"},
            f"got 'runs/newer'; {newer / 'sweep.db'} has schema version {LATEST + 1}, written "
            "by a newer Caviar",
        ),
        "this sweep's own directory": (
            {"from": "runs/new-own"},
            f"{rule}, got 'runs/new-own'; that is this sweep's own run directory",
        ),
        "no from": ({"top_k": 2}, "warm_start.from: is required"),
        "an unknown key": (
            {"from": "runs/old", "topk": 2},
            "warm_start.topk: unknown key (did you mean 'top_k'?); keys here are from, top_k",
        ),
        "a negative top_k": (
            {"from": "runs/old", "top_k": -1},
            "warm_start.top_k: must be an integer from 0 to 1000000, got -1",
        ),
        "not a mapping": ("runs/old", "warm_start: warm_start must be a mapping {from: RUN_DIR"),
    }


def test_validate_refuses_an_earlier_sweep_it_cannot_use_and_writes_nothing(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(folder)
    (folder / "runs" / "new-own").mkdir(exist_ok=True)
    for case, (section, says) in _bad_cases(folder).items():
        raw = new_raw(name="new-own", warm_start=section)
        sweep = _write(folder, raw, "bad.yaml")
        before = _tree(folder)
        assert main(["validate", str(sweep)]) == 2, case
        err = capsys.readouterr().err
        assert err.startswith("caviar validate: error: warm_start"), (case, err)
        assert says in err, (case, err)
        assert _tree(folder) == before, case


def test_an_earlier_sweep_of_another_metric_or_direction_is_refused(folder: Path) -> None:
    for changes in ({"metric": "val_accuracy"}, {"direction": "maximize"}):
        with pytest.raises(SweepError) as info:
            parse_sweep(new_raw(**changes), folder)
        assert str(info.value).startswith(
            "warm_start.from: must be a sweep of the same metric and direction as this one, "
            "got 'runs/old'"
        )
        assert "optimised val_cost (minimize)" in str(info.value)


def test_the_evidence_is_placed_in_the_new_unit_cube(folder: Path) -> None:
    spec = parse_sweep(new_raw(), folder)
    assert spec.warm_start is not None
    for row in spec.warm_start.evidence:
        lr, units = searched(row.config)
        # log-uniform from 1e-4 to 0.2; integers 8..56 each 1/49 of the interval
        assert row.unit == pytest.approx(
            (math.log(lr / 1e-4) / math.log(0.2 / 1e-4), (units - 8 + 0.5) / 49)
        )


def test_a_recorded_sweep_reads_back_for_its_report_without_its_earlier_store(
    folder: Path,
) -> None:
    raw = new_raw(warm_start={"from": "runs/gone", "top_k": 2})
    with pytest.raises(SweepError):
        parse_sweep(raw, folder)
    spec = parse_sweep(raw, folder, import_trainer=False)  # as the report reads a run
    assert spec.warm_start is not None and spec.warm_start.evidence == ()
    assert spec.warm_start.path == folder / "runs" / "gone"

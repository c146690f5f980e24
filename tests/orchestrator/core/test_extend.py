"""Growing a finished sweep: a stage of more trials proposes from every result so far, exactly
as the same sweep planned with that stage from the start; a larger epoch budget lets paused
trials be promoted further and kept completed trials go on from their checkpoints, every
epoch stored once and equal to a sweep that had the larger budget all along."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from caviar_common.errors import InputError
from caviar_common.states import SweepState, TrialState
from orchestrator.cli import main
from orchestrator.core.loop import Sweep
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.execution.runner import extend_run
from orchestrator.results.run import load_run
from orchestrator.storage.store import Store
from orchestrator.sweepfile.extend import extended
from orchestrator.sweepfile.parse import parse_sweep
from tests.orchestrator.core.test_loop import BASE, curves, run_sweep

TPE = {"name": "tpe", "warmup": 4}


def _source(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    raw.update(changes)
    return raw


def _grow(run_dir: Path, **how: Any) -> Store:
    """Extend the finished sweep in `run_dir` and run what was added, in this process."""
    spec, store = extend_run(run_dir, **how)
    Sweep(spec, store, InProcessExecutor(1)).run()
    return store


def test_a_tpe_stage_added_later_proposes_what_one_sweep_with_both_stages_proposes(
    tmp_path: Path,
):
    first = [{"trials": 4, "sampler": "sobol"}, {"trials": 3, "sampler": TPE}]
    spec = parse_sweep(_source(stages=first))
    _, store = run_sweep(spec, tmp_path / "grown", InProcessExecutor(1))
    store.close()
    grown = _grow(tmp_path / "grown", trials=3)

    whole = parse_sweep(_source(stages=[*first, {"trials": 3, "sampler": TPE}]))
    _, twin = run_sweep(whole, tmp_path / "whole", InProcessExecutor(1))
    ours, theirs = grown.trial_rows(), twin.trial_rows()
    assert len(ours) == len(theirs) == 10
    assert [(r.stage, r.config, r.proposed_by) for r in ours] == [
        (r.stage, r.config, r.proposed_by) for r in theirs
    ]
    assert [r.proposed_by for r in ours[7:]] == ["tpe"] * 3  # from the model, not warm-up
    assert curves(grown) == curves(twin)
    assert grown.get("state") == SweepState.FINISHED
    run = load_run(tmp_path / "grown")
    assert run.trials["stage"].tolist() == [0] * 4 + [1] * 3 + [2] * 3


def test_the_new_stage_takes_the_last_stages_sampler_unless_told_otherwise():
    source = _source(sampler="sobol")
    assert extended(source, trials=5)["stages"] == [
        {"trials": 4},
        {"trials": 5, "sampler": "sobol"},
    ]
    staged = _source(stages=[{"trials": 2}, {"trials": 2, "sampler": TPE}])
    assert extended(staged, trials=3)["stages"][-1] == {"trials": 3, "sampler": TPE}
    assert extended(staged, trials=3, sampler="random")["stages"][-1] == {
        "trials": 3,
        "sampler": "random",
    }
    assert extended(source, max_epochs=9)["budget"]["max_epochs"] == 9
    assert source == _source(sampler="sobol")  # the stored file is left as it was


@pytest.mark.parametrize(
    ("how", "key"),
    [
        ({}, "extend"),
        ({"trials": 0}, "--trials"),
        ({"max_epochs": 3}, "--max-epochs"),
        ({"sampler": "tpe"}, "--sampler"),
    ],
)
def test_a_growth_that_is_not_one_is_refused_naming_the_option(how: dict[str, Any], key: str):
    with pytest.raises(InputError, match=key):
        extended(_source(), **how)


def test_more_epochs_let_the_kept_trials_of_a_fifo_sweep_go_on_from_their_checkpoints(
    tmp_path: Path,
):
    spec = parse_sweep(_source(keep=2))
    _, store = run_sweep(spec, tmp_path / "grown", InProcessExecutor(1))
    kept = {m.trial_id for m in store.models()}
    store.close()
    grown = _grow(tmp_path / "grown", max_epochs=7)

    _, twin = run_sweep(
        parse_sweep(_source(keep=2, budget={"trials": 4, "max_epochs": 7})),
        tmp_path / "twin",
        InProcessExecutor(1),
    )
    rows = {r.trial_id: r for r in grown.trial_rows()}
    assert len(kept) == 2
    assert {t for t, r in rows.items() if r.epochs == 7} == kept  # the others stay at 4
    assert all(r.epochs == 4 for t, r in rows.items() if t not in kept)
    assert all(r.state == TrialState.COMPLETED for r in rows.values())
    ours, theirs = curves(grown), curves(twin)
    points = [(p.trial_id, p.epoch) for p in grown.points()]
    assert len(points) == len(set(points))  # every epoch stored once
    for trial in kept:  # went on from epoch 4 exactly as if never stopped
        assert ours[trial] == theirs[trial]
    for trial in rows.keys() - kept:
        assert ours[trial] == theirs[trial][:4]


def test_more_epochs_promote_paused_trials_of_a_promoting_sweep_further(tmp_path: Path):
    promote = {"name": "asha", "grace_period": 1, "reduction_factor": 3, "mode": "promote"}
    source = _source(scheduler=promote, budget={"trials": 9, "max_epochs": 3})  # a rung at 1
    _, store = run_sweep(parse_sweep(source), tmp_path / "grown", InProcessExecutor(1))
    before = {r.trial_id: r for r in store.trial_rows()}
    waiting = {t for t, r in before.items() if r.state == TrialState.PAUSED}
    held = {t for t in waiting if store.checkpoint(t) is not None}
    assert held and held < waiting  # the next in line kept their checkpoints, the rest not
    store.close()

    grown = _grow(tmp_path / "grown", max_epochs=9, trials=9)  # rungs at 1 and 3 now
    after = {r.trial_id: r for r in grown.trial_rows()}
    went_on = {t for t in held if after[t].epochs > 1}
    assert went_on  # promoted from their kept checkpoints
    assert all(after[t].epochs == 1 for t in waiting - held)  # nothing to go on from
    points = [(p.trial_id, p.epoch) for p in grown.points()]
    assert len(points) == len(set(points)) == sum(r.epochs for r in after.values())
    for trial, curve in curves(grown).items():  # every curve runs 1..n without a gap
        assert [p[0] for p in curve] == list(range(1, after[trial].epochs + 1))
    _, twin = run_sweep(
        parse_sweep(_source(budget={"trials": 1, "max_epochs": 9})),
        tmp_path / "twin",
        InProcessExecutor(1),
    )
    ours, theirs = curves(grown), curves(twin)
    assert ours["trial-0001"] == theirs["trial-0001"][: len(ours["trial-0001"])]


def test_caviar_extend_refuses_bad_growth_with_exit_2_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    _, store = run_sweep(parse_sweep(_source()), tmp_path / "run", InProcessExecutor(1))
    source = store.get("source")
    store.close()
    code = main(["extend", str(tmp_path / "run"), "--max-epochs", "2"])
    assert code == 2
    assert "--max-epochs" in capsys.readouterr().err
    code = main(["extend", str(tmp_path / "run"), "--trials", "2", "--sampler", "gird"])
    assert code == 2
    assert "sampler" in capsys.readouterr().err
    again = Store.open(tmp_path / "run")
    assert again.get("source") == source and again.get("state") == SweepState.FINISHED
    again.close()

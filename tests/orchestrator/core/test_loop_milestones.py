"""The loop keeps, for TPE, each trial's best value up to every milestone epoch it reached
(the rungs of every bracket and the last epoch), and a resumed sweep rebuilds them from
its store."""

from __future__ import annotations

from caviar_common.curves import diverged
from orchestrator.core.loop import Sweep
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import parse_sweep


def test_the_loop_gives_tpe_each_trials_best_at_every_milestone_and_a_resume_rebuilds_it(
    tmp_path,
):
    spec = parse_sweep(
        {
            "name": "milestones",
            "dataset": "digits",
            "model": {"optimizer": "adam", "hidden_layers": 1, "batch_size": 128},
            "space": {"learning_rate": {"type": "log_uniform", "low": 1e-4, "high": 1.0}},
            "sampler": {"name": "tpe", "warmup": 4},
            "scheduler": {"name": "hyperband", "reduction_factor": 3, "mode": "promote"},
            "budget": {"trials": 10, "max_epochs": 9},
        }
    )
    store = Store.create(tmp_path / "run", spec.source)
    sweep = Sweep(spec, store, InProcessExecutor(2))
    sweep.run()
    milestones = {1, 3, 9}  # the brackets' rungs and the last epoch
    assert sweep._milestones == milestones
    expected: dict[int, dict[int, float]] = {}
    running: dict[int, float] = {}
    numbers = {r.trial_id: r.number for r in store.trial_rows()}
    for p in sorted(store.points(), key=lambda p: (p.trial_id, p.epoch)):
        n = numbers[p.trial_id]
        value = p.value("val_cost")
        if not diverged(value):
            running[n] = min(running.get(n, float("inf")), value)
        if p.epoch in milestones and n in running:
            expected.setdefault(n, {})[p.epoch] = running[n]
    assert sweep._at == expected
    assert any(9 in at for at in expected.values()) and any(9 not in at for at in expected.values())
    again = Sweep(spec, store, InProcessExecutor(2))
    again._replay()
    assert again._at == expected

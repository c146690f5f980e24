"""`TrialHost.steps`: a run of epochs in one call trains exactly what one `step()` per
epoch would, with a checkpoint only where asked."""

from __future__ import annotations

from caviar_common.keeping import NO_KEEP, KeepBar
from workers.host import StepResult, TrialHost
from workers.mlp.trainer import state_from_bytes

DATA = {"spec": "synthetic:rows=120,features=4,classes=3", "seed": 0, "val_fraction": 0.25}
CONFIG = {"hidden_units": 8, "hidden_layers": 1, "batch_size": 32, "learning_rate": 0.05}


def test_a_run_of_epochs_is_the_same_as_one_step_per_epoch():
    one, run = TrialHost(), TrialHost()
    for host in (one, run):
        host.begin("t", CONFIG, DATA, (0, 1))
    single = [one.step("t").record for _ in range(5)]
    first = run.steps("t", 1, 2)
    rest = run.steps("t", 3, 5, checkpoint_at=4)
    got = [r.record for r in first + rest]
    assert [r["epoch"] for r in got] == [1, 2, 3, 4, 5]
    for a, b in zip(single, got, strict=True):
        assert a["val_cost"] == b["val_cost"] and a["train_cost"] == b["train_cost"]
    # a checkpoint after epoch 4 only, and it holds epoch 4's state
    assert [r.checkpoint is not None for r in first + rest] == [False] * 3 + [True, False]
    state = state_from_bytes(rest[1].checkpoint)  # type: ignore[arg-type]
    assert int(state["epoch"]) == 4


def test_a_run_asked_for_again_trains_nothing_twice_and_end_drops_the_trial():
    host = TrialHost()
    host.begin("t", CONFIG, DATA, (0, 1))
    assert [r.record["epoch"] for r in host.steps("t", 1, 3)] == [1, 2, 3]
    assert host.steps("t", 2, 3) == []  # trained already
    assert [r.record["epoch"] for r in host.steps("t", 4, 4, end=True)] == [4]
    assert host.steps("t", 5, 6) == []  # ended: nothing left to train
    assert "trials=[]" in repr(host)


class DivergingHost(TrialHost):
    """Epoch 2 of every trial reports a diverged cost."""

    def step(self, trial_id: str, checkpoint: bool = False, keep: KeepBar = NO_KEEP) -> StepResult:
        result = super().step(trial_id, checkpoint, keep)
        if result.record["epoch"] == 2:
            record = {**result.record, "diverged": True, "val_cost": float("nan")}
            return StepResult(trial_id, record, result.checkpoint)
        return result


def test_a_run_stops_at_the_epoch_that_diverged():
    host = DivergingHost()
    host.begin("t", CONFIG, DATA, (0, 1))
    assert [r.record["epoch"] for r in host.steps("t", 1, 10)] == [1, 2]

"""The trainer protocol as a worker drives it: another trainer (examples/own_trainer's
SGDClassifier) trains, checkpoints and resumes exactly, and what a trainer gives back is
checked with messages that name the field or key."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from orchestrator.storage.store import Store
from orchestrator.sweepfile.trainers import check_trainer, search_path, shipped
from workers.data.datasets import load_dataset
from workers.host import TrialHost
from workers.mlp.trainer import state_from_bytes
from workers.protocol import check_state, epoch_record

EXAMPLE = Path(__file__).parents[2] / "examples" / "own_trainer"
SGD = "sgd_trainer:SGDTrainer"
DATA = {"spec": "digits", "seed": 0, "val_fraction": 0.2}
CONFIG = {"alpha": 1e-3, "loss": "hinge", "penalty": "l2", "learning_rate": "optimal"}


@pytest.fixture(scope="module")
def sgd_host_factory() -> Any:
    with search_path(EXAMPLE):
        check_trainer(SGD, EXAMPLE)  # imports sgd_trainer as a sweep file next to it would

    def make() -> TrialHost:
        return TrialHost(trainer=SGD, metric="val_accuracy")

    return make


def test_a_checkpointed_trial_goes_on_exactly_as_an_unbroken_one(sgd_host_factory: Any) -> None:
    unbroken = sgd_host_factory()
    unbroken.begin("t", CONFIG, DATA, (0, 3))
    straight = [unbroken.step("t").record for _ in range(6)]

    first = sgd_host_factory()
    first.begin("t", CONFIG, DATA, (0, 3))
    head = [first.step("t", checkpoint=e == 3).record for e in (1, 2, 3)]
    saved = first.steps("t", 1, 3)  # nothing more: it has done 3 epochs
    assert saved == []
    checkpoint = first.step("t", checkpoint=True)  # epoch 4, with its state
    resumed = sgd_host_factory()
    assert resumed.begin("t", CONFIG, DATA, (0, 3), checkpoint.checkpoint) == 4
    tail = [resumed.step("t").record for _ in range(2)]
    got = [*head, checkpoint.record, *tail]
    for a, b in zip(straight, got, strict=True):
        assert (a["epoch"], a["val_accuracy"], a["train_accuracy"]) == (
            b["epoch"],
            b["val_accuracy"],
            b["train_accuracy"],
        )


def test_the_record_matches_a_model_rebuilt_from_the_checkpoint(sgd_host_factory: Any) -> None:
    """An independent check of what the host reports: scikit-learn's own accuracy of a
    linear model with the checkpoint's coefficients, on the validation split."""
    host = sgd_host_factory()
    host.begin("t", CONFIG, DATA, (0, 5))
    host.steps("t", 1, 2)
    result = host.step("t", checkpoint=True)
    state = state_from_bytes(result.checkpoint)  # type: ignore[arg-type]
    data = load_dataset("digits", seed=0, val_fraction=0.2)
    scores = data.X_val @ state["coef"].T + state["intercept"]
    accuracy = float(np.mean(np.argmax(scores, axis=1) == data.y_val))
    assert result.record["val_accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert int(state["caviar.epoch"]) == 3 and int(state["epoch"]) == 3
    # the other trainer's record: its own field as an extra column, the MLP's as NaN
    assert 0 < result.record["train_accuracy"] <= 1
    assert math.isnan(result.record["val_cost"]) and result.record["seconds"] >= 0


def test_extra_fields_are_stored_and_read_back_as_curve_columns(tmp_path: Path) -> None:
    from orchestrator.results.run import load_run

    store = Store.create(tmp_path / "run", {"name": "x", "metric": "val_loss"})
    store.add_trial("trial-0000", 0, 0, {"a": 1}, {}, [0.5])
    record = epoch_record(
        "m:C", {"epoch": 1, "val_loss": 0.25, "grad_norm": 3.0}, "val_loss", 1, 0.1
    )
    store.add_point("trial-0000", record, 0.25)
    store.add_point(
        "trial-0000",
        epoch_record("m:C", {"epoch": 2, "val_loss": 0.125, "label": "text"}, "val_loss", 2, 0.1),
        0.125,
    )
    points = list(store.points())
    assert [p.extra["val_loss"] for p in points] == [0.25, 0.125]
    assert points[0].extra["grad_norm"] == 3.0 and "grad_norm" not in points[1].extra
    store.close()
    curves = load_run(tmp_path / "run").curves
    assert list(curves["val_loss"]) == [0.25, 0.125]
    assert curves["grad_norm"].iloc[0] == 3.0 and math.isnan(curves["grad_norm"].iloc[1])
    assert "label" not in curves.columns  # not a number: not kept
    assert list(curves.columns[:2]) == ["trial_id", "epoch"]


@pytest.mark.parametrize(
    ("state", "says"),
    [
        ({"w": [1.0, 2.0]}, "state_dict()['w'] must be a numpy array"),
        ({"w": np.array([{"a": 1}], dtype=object)}, "['w'] must be a numpy array of numbers"),
        ({"w": 3.0}, "got float"),
        ({"caviar.epoch": np.array(1)}, "key 'caviar.epoch' is not allowed"),
        ([np.zeros(2)], "must return a dict of numpy arrays, got list"),
    ],
)
def test_a_state_that_is_not_arrays_is_refused_naming_the_key(state: Any, says: str) -> None:
    with pytest.raises(ValueError, match="my:Trainer") as err:
        check_state("my:Trainer", state)
    assert says in str(err.value)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"epoch": 1}, "returned no 'val_loss', the sweep's metric; it returned epoch"),
        ({"epoch": 1, "val_los": 0.1}, "did you mean 'val_los'"),
        ({"epoch": 2, "val_loss": 0.1}, "returned epoch 2; this was epoch 1"),
        ({"val_loss": 0.1}, "returned epoch None"),
        ({"epoch": 1, "val_loss": "0.1"}, "val_loss='0.1'; the sweep's metric must be a number"),
        ([1, 0.1], "must return a dict with 'epoch' and 'val_loss', got list"),
    ],
)
def test_a_record_without_its_epoch_or_metric_is_refused(raw: Any, says: str) -> None:
    with pytest.raises(ValueError, match="my:Trainer.step()") as err:
        epoch_record("my:Trainer", raw, "val_loss", 1, 0.5)
    assert says in str(err.value)


def test_a_non_finite_metric_ends_the_trial_as_diverged() -> None:
    record = epoch_record("m:C", {"epoch": 1, "val_loss": float("inf")}, "val_loss", 1, 0.5)
    assert record["diverged"] and "val_loss became inf at epoch 1" in record["message"]
    assert record["seconds"] == 0.5  # timed by the host when the trainer gives none


def test_a_module_beside_the_sweep_file_is_shipped_an_installed_one_is_not(tmp_path: Path) -> None:
    (tmp_path / "solo_mod.py").write_text(_TRAINER)
    pkg = tmp_path / "mypkg_t" / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / "mypkg_t" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "models.py").write_text(_TRAINER)
    assert check_trainer("solo_mod:T", tmp_path).ship == tmp_path / "solo_mod.py"
    ref = check_trainer("mypkg_t.sub.models:T", tmp_path)
    assert ref.ship == tmp_path / "mypkg_t" and ref.file == pkg / "models.py"
    assert shipped("mypkg_t.sub.models:T") == tmp_path / "mypkg_t"  # found again, imported
    assert shipped("workers.mlp.trainer:Trainer") is None  # the built-in MLP
    assert shipped("sklearn.linear_model:SGDClassifier") is None  # installed


_TRAINER = """
class T:
    def __init__(self, config, dataset, seed):
        self.epoch = 0
    def step(self):
        self.epoch += 1
        return {"epoch": self.epoch, "val_cost": 1.0 / self.epoch}
    def state_dict(self):
        return {}
    def load_state_dict(self, state):
        pass
"""

"""examples/torch_trainer: the course's batch-norm MLP in PyTorch as a Caviar trainer.

In this process: a trainer restored from a checkpoint goes on bit for bit as an unbroken
one, the same seed gives the same curve, and its numbers agree with a forward pass written
here in numpy. Through the worker's host: the protocol's checks pass. On real Ray: `caviar
run` of the example sweep, interrupted and resumed, gives the curves of an unbroken run.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from caviar_common.states import SweepState
from orchestrator.core.loop import Sweep
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.storage.store import Store
from orchestrator.sweepfile.loader import SweepLoader
from orchestrator.sweepfile.parse import parse_sweep
from orchestrator.sweepfile.trainers import check_trainer, search_path
from tests.children import interrupt_then_resume
from workers.data.datasets import Dataset, load_dataset
from workers.host import TrialHost
from workers.mlp.trainer import state_from_bytes
from workers.protocol import check_state, load_trainer_class

torch = pytest.importorskip("torch")

EXAMPLE = Path(__file__).parents[2] / "examples" / "torch_trainer"
NAME = "torch_mlp:TorchTrainer"
DATA = {"spec": "digits", "seed": 0, "val_fraction": 0.2}
CONFIG = {"hidden_layers": 2, "hidden_units": 32, "batch_size": 64, "learning_rate": 0.01}
CURVE = ("epoch", "train_cost", "val_cost", "val_accuracy")

with search_path(EXAMPLE):  # as a sweep file next to the module imports it
    TorchTrainer: Any = load_trainer_class(NAME)


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits", seed=0, val_fraction=0.2)


@pytest.fixture(autouse=True)
def one_thread_on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CPU, where curves repeat bit for bit, even where torch sees a GPU; one torch
    thread, as a worker of a trial with one CPU trains (and on a busy machine, many times
    faster than two)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _curve(trainer: Any, epochs: int) -> list[dict[str, Any]]:
    return [trainer.step() for _ in range(epochs)]


def _npz_round_trip(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    buffer = io.BytesIO()
    np.savez(buffer, **state)  # type: ignore[arg-type]
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as saved:
        return {key: saved[key] for key in saved.files}


# -- in this process, no Ray ------------------------------------------------------------


@pytest.mark.parametrize(
    "optimizer",
    [
        {"optimizer": "adam", "beta1": 0.85, "beta2": 0.995},
        {"optimizer": "momentum", "beta": 0.95, "l2": 0.5},
        {"optimizer": "rmsprop", "lr_decay": "inverse_time", "decay_rate": 0.3},
        {"optimizer": "gd"},
    ],
)
def test_a_restored_trainer_goes_on_exactly_as_an_unbroken_one(
    digits: Dataset, optimizer: dict[str, Any]
) -> None:
    config = {**CONFIG, **optimizer}
    unbroken = _curve(TorchTrainer(config, digits, np.random.SeedSequence(7)), 5)
    first = TorchTrainer(config, digits, np.random.SeedSequence(7))
    head = _curve(first, 3)
    state = _npz_round_trip(first.state_dict())
    second = TorchTrainer(config, digits, np.random.SeedSequence(7))
    second.load_state_dict(state)
    assert head + _curve(second, 2) == unbroken  # every field, bit for bit


def test_its_state_is_numpy_arrays_holding_weights_statistics_and_optimizer(
    digits: Dataset,
) -> None:
    trainer = TorchTrainer({**CONFIG, "optimizer": "adam"}, digits, np.random.SeedSequence(0))
    trainer.step()
    state = trainer.state_dict()
    assert check_state(NAME, state) == state  # what a checkpoint accepts
    assert all(type(v) is np.ndarray for v in state.values())
    keys = set(state)
    assert {"model.norm1.running_mean", "model.norm1.running_var"} <= keys
    assert {"model.norm1.num_batches_tracked", "epoch", "shuffle_rng"} <= keys
    n_params = len(list(trainer.model.parameters()))  # 2 x (W, gamma, beta) + W_out, b_out
    for name in ("step", "exp_avg", "exp_avg_sq"):
        assert {f"optimizer.{i}.{name}" for i in range(n_params)} <= keys
    batches = math.ceil(digits.n_train / CONFIG["batch_size"])
    assert int(state["model.norm1.num_batches_tracked"]) == batches
    assert float(state["optimizer.0.step"]) == batches
    # a copy: training on does not change a state already taken
    before = state["model.linear1.weight"].copy()
    trainer.step()
    assert np.array_equal(state["model.linear1.weight"], before)


def test_the_same_seed_gives_the_same_curve_and_another_seed_another(digits: Dataset) -> None:
    def run(seed: int) -> list[dict[str, Any]]:
        return _curve(TorchTrainer(CONFIG, digits, np.random.SeedSequence(seed)), 3)

    assert run(3) == run(3)
    other = run(4)
    assert [r["val_cost"] for r in other] != [r["val_cost"] for r in run(3)]


def _numpy_forward(
    state: dict[str, np.ndarray], X: np.ndarray, layers: int, *, batch: bool = False
) -> np.ndarray:
    """Logits of the course's network in float64: z = a W^T, z_hat = (z - mu) /
    sqrt(var + 1e-5), a = relu(gamma z_hat + beta); mu and var the running statistics, or
    with `batch` the rows' own mean and biased variance (training mode)."""
    a = X.astype(np.float64)  # (n, d)
    for i in range(1, layers + 1):
        z = a @ state[f"model.linear{i}.weight"].T.astype(np.float64)  # (n, n_out)
        if batch:
            mu, var = z.mean(axis=0), z.var(axis=0)  # var divided by n, not n - 1
        else:
            mu, var = state[f"model.norm{i}.running_mean"], state[f"model.norm{i}.running_var"]
        z_hat = (z - mu) / np.sqrt(var.astype(np.float64) + 1e-5)
        gamma, beta = state[f"model.norm{i}.weight"], state[f"model.norm{i}.bias"]
        a = np.maximum(gamma * z_hat + beta, 0.0)
    return a @ state["model.out.weight"].T.astype(np.float64) + state["model.out.bias"]  # (n, K)


def _cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)  # (n, K)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean())


def test_validation_numbers_equal_a_numpy_forward_pass_with_the_running_statistics(
    digits: Dataset,
) -> None:
    trainer = TorchTrainer({**CONFIG, "hidden_layers": 3}, digits, np.random.SeedSequence(1))
    record = _curve(trainer, 2)[-1]
    logits = _numpy_forward(trainer.state_dict(), digits.X_val, 3)
    assert record["val_cost"] == pytest.approx(_cross_entropy(logits, digits.y_val), rel=1e-5)
    accuracy = float(np.mean(logits.argmax(axis=1) == digits.y_val))
    assert record["val_accuracy"] == pytest.approx(accuracy, abs=1 / digits.n_val)  # a near-tie
    assert 0.5 < record["val_accuracy"] <= 1  # it learns


def test_a_full_batch_first_epoch_costs_the_cross_entropy_with_batch_statistics_and_l2(
    digits: Dataset,
) -> None:
    """One mini-batch of every row: the cost is that of the initial weights with batch norm
    normalising by the batch's own mean and biased variance, plus l2/(2m) * sum of the
    squared weights (not gamma, beta, or the output's bias); the running mean moves a tenth
    of the way from 0 to the batch mean."""
    config = {**CONFIG, "batch_size": 4096, "l2": 2.0}
    trainer = TorchTrainer(config, digits, np.random.SeedSequence(5))
    init = trainer.state_dict()
    first_layer = digits.X_train @ init["model.linear1.weight"].T.astype(np.float64)  # (m, 32)
    logits = _numpy_forward(init, digits.X_train, 2, batch=True)
    weights = ("model.linear1.weight", "model.linear2.weight", "model.out.weight")
    squares = sum(float(np.sum(init[k].astype(np.float64) ** 2)) for k in weights)
    expected = _cross_entropy(logits, digits.y_train) + 2.0 / (2 * digits.n_train) * squares
    record = trainer.step()
    assert record["train_cost"] == pytest.approx(expected, rel=1e-5)
    running = trainer.state_dict()["model.norm1.running_mean"]
    np.testing.assert_allclose(running, 0.1 * first_layer.mean(axis=0), rtol=1e-4, atol=1e-6)


def test_momentum_takes_the_course_first_step_a_fraction_one_minus_beta_of_plain_gd(
    digits: Dataset,
) -> None:
    """v = beta v + (1 - beta) g from v = 0: the first update is (1 - beta) alpha g, where
    torch's own SGD would start v at g and take alpha g."""
    config = {**CONFIG, "batch_size": 4096, "learning_rate": 0.5}

    def first_update(optimizer: dict[str, Any]) -> np.ndarray:
        trainer = TorchTrainer({**config, **optimizer}, digits, np.random.SeedSequence(2))
        before = trainer.state_dict()["model.linear2.weight"].astype(np.float64)
        trainer.step()
        return before - trainer.state_dict()["model.linear2.weight"]

    gd = first_update({"optimizer": "gd"})
    momentum = first_update({"optimizer": "momentum", "beta": 0.8})
    assert np.abs(gd).max() > 1e-3  # a step worth comparing
    np.testing.assert_allclose(momentum, 0.2 * gd, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({"learning_rat": 0.1}, "unknown settings ['learning_rat']"),
        ({"optimizer": "sgd"}, "optimizer must be one of ['gd', 'momentum', 'rmsprop', 'adam']"),
        ({"lr_decay": "exponential"}, "lr_decay must be one of ['none', 'inverse_time']"),
        ({"batch_size": 64.5}, "batch_size must be an integer, got 64.5"),
        ({"batch_size": 1}, "batch_size must be at least 2 (batch norm needs two rows), got 1"),
        ({"learning_rate": "fast"}, "learning_rate must be a number, got 'fast'"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(
    digits: Dataset, config: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValueError, match="TorchTrainer") as err:
        TorchTrainer(config, digits, np.random.SeedSequence(0))
    assert says in str(err.value)


def test_the_core_does_not_import_torch() -> None:
    code = (
        "import json, sys; import caviar, orchestrator.cli, workers.host, workers.trial_worker; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'torch')))"
    )
    root = Path(__file__).parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == []


# -- through the worker's host and the sweep file ---------------------------------------


def test_the_worker_host_checkpoints_and_resumes_it_exactly() -> None:
    """The protocol as a worker drives it: records and states checked, the host's own
    epoch count, a checkpoint's npz bytes restored on a fresh host."""
    with search_path(EXAMPLE):
        ref = check_trainer(NAME, EXAMPLE)
    assert ref.ship == EXAMPLE / "torch_mlp.py"  # not installed: shipped to the workers
    config = {**CONFIG, "optimizer": "momentum", "beta": 0.9}
    unbroken = TrialHost(trainer=NAME, metric="val_cost")
    unbroken.begin("t", config, DATA, (0, 1, 0))
    straight = [r.record for r in unbroken.steps("t", 1, 5)]
    first = TrialHost(trainer=NAME, metric="val_cost")
    first.begin("t", config, DATA, (0, 1, 0))
    head = first.steps("t", 1, 3, checkpoint_at=3)
    assert head[-1].checkpoint is not None
    assert int(state_from_bytes(head[-1].checkpoint)["caviar.epoch"]) == 3
    resumed = TrialHost(trainer=NAME, metric="val_cost")
    assert resumed.begin("t", config, DATA, (0, 1, 0), head[-1].checkpoint) == 3
    tail = resumed.steps("t", 4, 5)

    def kept(r: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(r[k] for k in (*CURVE, "decayed_learning_rate", "intra_op_threads"))

    assert [kept(r.record) for r in [*head, *tail]] == [kept(r) for r in straight]
    record = straight[-1]
    assert record["intra_op_threads"] == 1.0  # an extra column: torch's threads
    assert "device" not in record and not record["diverged"]


def test_every_configuration_the_example_sweep_samples_trains(digits: Dataset) -> None:
    raw = yaml.load((EXAMPLE / "sweep.yaml").read_text(), Loader=SweepLoader)  # noqa: S506
    spec = parse_sweep(raw, base_dir=EXAMPLE)
    assert spec.trainer == NAME and spec.metric == "val_cost"
    top = math.nextafter(1.0, 0.0)
    corners = [[0.0] * len(spec.space.dims), [top] * len(spec.space.dims)]
    dims = len(spec.space.dims)
    points = corners + [list(u) for u in np.random.default_rng(0).uniform(size=(3, dims))]
    configs = [spec.space.decode(u, fixed=spec.model) for u in points]
    assert {c["optimizer"] for c in configs} == {"momentum", "adam"}
    for config in configs:
        record = TorchTrainer(config, digits, np.random.SeedSequence(0)).step()
        assert record["epoch"] == 1 and math.isfinite(record["train_cost"])


# -- on real Ray: `caviar run`, Ctrl-C, `caviar resume` ---------------------------------


def _example(name: str) -> dict[str, Any]:
    """The example sweep, smaller: 4 trials of up to 15 epochs, no early stopping."""
    raw = yaml.load((EXAMPLE / "sweep.yaml").read_text(), Loader=SweepLoader)  # noqa: S506
    raw.pop("stages")
    raw.update(name=name, scheduler="fifo", sampler="sobol")
    raw["budget"] = {"trials": 4, "max_epochs": 15}
    return dict(raw)


def _curves(store: Store) -> dict[str, list[tuple[float, ...]]]:
    out: dict[str, list[tuple[float, ...]]] = {}
    for p in sorted(store.points(), key=lambda p: (p.trial_id, p.epoch)):
        out.setdefault(p.trial_id, []).append(tuple(p.value(k) for k in CURVE))
    return out


def _reference(raw: dict[str, Any], tmp: Path) -> dict[str, list[tuple[float, ...]]]:
    """The same sweep unbroken, in this process (no Ray): the curves a resume must give."""
    spec = parse_sweep(raw, base_dir=EXAMPLE)
    host = TrialHost(trainer=spec.trainer, metric=spec.metric)
    store = Store.create(tmp / spec.name, spec.source)
    Sweep(spec, store, InProcessExecutor(2, host=host)).run()
    curves = _curves(store)
    store.close()
    return curves


@pytest.mark.ray
def test_the_example_sweep_runs_from_the_command_line_and_resumes_exactly(
    tmp_path: Path,
) -> None:
    """`caviar run` ships torch_mlp.py to its workers; Ctrl-C once a running trial has a
    checkpoint, then `caviar resume`: every epoch once, each as an unbroken run has it."""
    pytest.importorskip("ray")
    own = tmp_path / "own"
    own.mkdir()
    shutil.copy(EXAMPLE / "torch_mlp.py", own / "torch_mlp.py")
    raw = _example("torch")
    (own / "sweep.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    clean = _reference(raw, tmp_path / "reference")
    results = tmp_path / "runs"
    # the workers train on the CPU too
    interrupt_then_resume(
        own / "sweep.yaml", results, "torch", tmp_path, "cvx-", CUDA_VISIBLE_DEVICES=""
    )
    store = Store.open(results / "torch")
    try:
        assert store.get("state") == SweepState.FINISHED
        curves = _curves(store)
        assert curves == clean  # every epoch once, each as an unbroken run has it
        assert sum(map(len, curves.values())) == 4 * 15
    finally:
        store.close()

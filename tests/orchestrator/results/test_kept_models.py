"""A sweep keeps its best models, each at the epoch of its best value: scored again on the
validation split they give back the leaderboard's numbers to the last bit (FIFO, ASHA in
promote mode, and a driver killed with SIGKILL then resumed), and they export."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits

from caviar_common.errors import InputError
from caviar_common.seeds import TRIAL_STREAM
from orchestrator.cli import main
from orchestrator.core.loop import Options, Sweep
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.results.run import Run, load_run
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import parse_sweep
from tests.orchestrator.kept import best_trials
from workers.mlp.fitted import FittedMLP

ROOT = Path(__file__).resolve().parents[3]
SOURCE: dict[str, Any] = {
    "name": "kept",
    "dataset": "digits",
    "seed": 3,
    "model": {"optimizer": "adam", "hidden_layers": 1, "batch_size": 64},
    "space": {
        "learning_rate": {"type": "log_uniform", "low": 1e-3, "high": 3e-1},
        "hidden_units": {"type": "int_uniform", "low": 8, "high": 32},
    },
    "budget": {"trials": 8, "max_epochs": 6},
}
PROMOTE = {"name": "asha", "grace_period": 1, "reduction_factor": 3, "mode": "promote"}


def _sweep(run_dir: Path, **changes: Any) -> Run:
    spec = parse_sweep({**SOURCE, **changes})
    store = Store.create(run_dir, spec.source)
    try:
        Sweep(spec, store, InProcessExecutor(2), options=Options(checkpoint_every=2)).run()
    finally:
        store.close()
    return load_run(run_dir)


def _check_exact(run: Run, keep: int = 3) -> None:
    """Every kept model, scored on the validation split, gives back its trial's best
    val_cost (the leaderboard's number) and that epoch's val_accuracy, to the bit."""
    store = Store.open(run.path)
    try:
        expected = best_trials(store, "val_cost", keep)  # worked out from the curves alone
    finally:
        store.close()
    assert [(t, int(e)) for t, e in zip(run.models.index, run.models["epoch"], strict=True)] == (
        expected
    )
    data = run.data()
    for tid, kept in run.models.iterrows():
        model = run.model(tid)
        assert isinstance(model, FittedMLP) and model.epoch == kept["epoch"]
        cost, accuracy = model.evaluate_standardised(data.X_val, data.y_val)
        curve = run.curves[(run.curves["trial_id"] == tid) & (run.curves["epoch"] == kept["epoch"])]
        assert cost == run.trials.loc[tid, "best"] == kept["value"]  # bit for bit
        assert accuracy == curve["val_accuracy"].item()
    assert run.best_model().epoch == run.models["epoch"].iloc[0]
    assert run.models.index[0] == run.best(1).index[0]  # the leaderboard's first


def test_a_fifo_sweep_keeps_its_best_models_at_their_best_epochs(tmp_path: Path):
    run = _sweep(tmp_path / "fifo")
    assert len(run.models) == 3
    _check_exact(run)


def test_a_promoting_sweep_keeps_its_best_models_at_their_best_epochs(tmp_path: Path):
    run = _sweep(tmp_path / "asha", scheduler=PROMOTE, budget={"trials": 12, "max_epochs": 9})
    assert (run.trials["state"] == "paused").any()  # some were judged weak and wait
    _check_exact(run)


def test_keep_sets_how_many_and_zero_keeps_none(tmp_path: Path):
    assert len(_sweep(tmp_path / "five", keep=5).models) == 5
    none = _sweep(tmp_path / "none", keep=0)
    assert none.models.empty
    with pytest.raises(InputError, match="kept no model"):
        none.best_model()


_KILLED = """
import json, os, signal, sys
from pathlib import Path
from orchestrator.core.loop import Options, Sweep
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import parse_sweep

source = json.loads(sys.argv[1])
store = Store.create(Path(sys.argv[2]), source)
reports = 0

def die(status):
    global reports
    reports += 1
    if reports == 9:
        os.kill(os.getpid(), signal.SIGKILL)

spec = parse_sweep(source)
Sweep(spec, store, InProcessExecutor(2), options=Options(checkpoint_every=2), on_status=die).run()
"""


def test_a_sweep_killed_and_resumed_keeps_the_same_exact_models(tmp_path: Path):
    source = {**SOURCE, "scheduler": PROMOTE, "budget": {"trials": 12, "max_epochs": 9}}
    run_dir = tmp_path / "killed"
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_KILLED), json.dumps(source), str(run_dir)],
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL
    store = Store.open(run_dir)
    assert store.models()  # some were kept before the kill
    spec = parse_sweep(store.get("source"))
    Sweep(spec, store, InProcessExecutor(2), options=Options(checkpoint_every=2)).run()
    store.close()
    run = load_run(run_dir)
    _check_exact(run)
    twin = _sweep(tmp_path / "twin", scheduler=PROMOTE, budget={"trials": 12, "max_epochs": 9})
    assert run.models[["epoch", "value"]].equals(twin.models[["epoch", "value"]])


def test_the_kept_model_predicts_raw_rows(tmp_path: Path):
    run = _sweep(tmp_path / "fifo", budget={"trials": 3, "max_epochs": 4})
    model = run.best_model()
    data = run.data()
    digits = load_digits()
    X, y = digits.data[data.val_indices], digits.target[data.val_indices]
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    top = np.sort(proba, axis=1)
    clear = top[:, -1] > top[:, -2]  # rows without a tie at the top
    assert clear.mean() > 0.99
    predicted = model.predict(X)
    assert (predicted[clear] == model.classes_[proba.argmax(axis=1)][clear]).all()
    tid = run.models.index[0]
    epoch = run.models.loc[tid, "epoch"]
    curve = run.curves[(run.curves["trial_id"] == tid) & (run.curves["epoch"] == epoch)]
    assert float(np.mean(predicted == y)) == curve["val_accuracy"].item()


def test_caviar_export_writes_the_weights_and_what_they_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    run = _sweep(tmp_path / "fifo", budget={"trials": 3, "max_epochs": 4})
    out = tmp_path / "best"
    assert main(["export", str(run.path), "--model", "best", "--out", str(out)]) == 0
    info = json.loads((out / "model.json").read_text())
    tid = run.models.index[0]
    assert info["trial"] == tid and info["epoch"] == run.models.loc[tid, "epoch"]
    assert info["val_cost"] == run.trials.loc[tid, "best"]
    assert info["config"]["learning_rate"] == run.trials.loc[tid, "learning_rate"]
    number = int(run.trials.loc[tid, "number"])
    assert info["seed"] == {"sweep": 3, "trial": [3, TRIAL_STREAM, number]}
    loaded = FittedMLP.load(out / "weights.npz")
    data = run.data()
    assert loaded.evaluate_standardised(data.X_val, data.y_val)[0] == info["val_cost"]
    # again without --force: refused, nothing changed
    before = (out / "weights.npz").read_bytes()
    capsys.readouterr()
    assert main(["export", str(run.path), "--model", "best", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "weights.npz").read_bytes() == before
    second = int(run.trials.loc[run.models.index[1], "number"])
    assert main(["export", str(run.path), "--model", str(second)]) == 0
    assert (run.path / "models" / run.models.index[1] / "weights.npz").is_file()
    assert main(["export", str(run.path), "--model", "trial-9999"]) == 2
    assert "no model kept of 'trial-9999'" in capsys.readouterr().err

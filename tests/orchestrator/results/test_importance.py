"""Which hyperparameters mattered: on a synthetic objective where only the learning rate
matters, fANOVA gives it nearly all the variation; on a real sweep `caviar show
--importance` says in one plain line per hyperparameter how much, and on how many trials
that rests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from orchestrator.cli import main
from orchestrator.core.loop import Sweep
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.results.run import load_run
from orchestrator.search.importance import importances
from orchestrator.search.space import Choice, IntUniform, LogUniform, Space
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import parse_sweep

SPACE = Space(
    {
        "learning_rate": LogUniform(1e-4, 1.0),
        "hidden_units": IntUniform(8, 64),
        "optimizer": Choice(("momentum", "adam")),
    }
)


def test_the_one_parameter_that_matters_explains_nearly_all_the_variation():
    rng = np.random.default_rng(0)
    results = []
    for _ in range(80):
        lr = float(10 ** rng.uniform(-4, 0))
        config = {
            "learning_rate": lr,
            "hidden_units": int(rng.integers(8, 65)),
            "optimizer": str(rng.choice(["momentum", "adam"])),
        }
        cost = (np.log10(lr) + 2) ** 2 + rng.normal(0, 0.01)  # best at 1e-2
        results.append((config, float(cost)))
    shares = importances(SPACE, results)
    assert list(shares)[0] == "learning_rate"
    assert shares["learning_rate"] > 0.9
    assert sum(shares.values()) == pytest.approx(1.0)
    assert importances(SPACE, results[:1]) == {}  # nothing to explain


def test_caviar_show_importance_prints_a_line_per_hyperparameter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    spec = parse_sweep(
        {
            "name": "mattered",
            "dataset": "digits",
            "model": {"optimizer": "adam", "hidden_layers": 1, "batch_size": 128},
            "space": {
                "learning_rate": {"type": "log_uniform", "low": 1e-4, "high": 1.0},
                "hidden_units": {"type": "int_uniform", "low": 8, "high": 32},
            },
            "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 3},
            "budget": {"trials": 12, "max_epochs": 3},
        }
    )
    store = Store.create(tmp_path / "run", spec.source)
    Sweep(spec, store, InProcessExecutor(2)).run()
    store.close()
    ranked = load_run(tmp_path / "run").importance()
    assert set(ranked["parameter"]) == {"learning_rate", "hidden_units"}
    assert ranked["importance"].sum() == pytest.approx(1.0)
    assert (ranked["trials"] >= 6).all()  # at least half the trials reached its epoch
    sampled = load_run(tmp_path / "run").importance(most=5)  # a seeded sample of them
    assert (sampled["trials"] == 5).all()
    assert f"(5 of {ranked['trials'].iloc[0]} trials)" in sampled["line"].iloc[0]
    assert main(["show", str(tmp_path / "run"), "--importance"]) == 0
    out = capsys.readouterr().out
    assert "learning_rate explains" in out and "hidden_units explains" in out

"""Which hyperparameters mattered: on a synthetic objective where only the learning rate
matters, fANOVA gives it nearly all the variation, and on one whose terms' shares are known
it ranks them in order; on a real sweep `caviar show --importance` says in one plain line per
hyperparameter how much, and on how many trials that rests."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from orchestrator.cli import main
from orchestrator.core.loop import Sweep
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.results.run import load_run
from orchestrator.search.importance import METHOD, importances
from orchestrator.search.space import Choice, IntUniform, LogUniform, Space, Uniform
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


def test_terms_of_known_shares_rank_in_their_order():
    # cost = sum of four independent terms with variances .50, .30, .15 and .05 (each of
    # unit variance on its own, then scaled); e and f do nothing
    space = Space({n: Uniform(0.0, 1.0) for n in "abcef"} | {"d": Choice(("x", "y"))})
    rng = np.random.default_rng(1)
    results = []
    for _ in range(400):
        a, b, c, e, f = (float(u) for u in rng.uniform(size=5))
        d = str(rng.choice(["x", "y"]))
        terms = (
            ((2 * a - 1) ** 2 - 1 / 3) / math.sqrt(4 / 45),  # U-shaped: best in the middle
            (b - 0.5) / math.sqrt(1 / 12),  # linear
            (math.sin(math.pi * c) - 2 / math.pi) / math.sqrt(0.5 - 4 / math.pi**2),
            1.0 if d == "y" else -1.0,  # a choice
        )
        cost = float(np.sqrt([0.50, 0.30, 0.15, 0.05]) @ np.array(terms) + rng.normal(0, 0.05))
        results.append(({"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}, cost))
    shares = importances(space, results)
    assert list(shares)[:4] == ["a", "b", "c", "d"]
    assert shares["e"] < 0.02 and shares["f"] < 0.02


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
    assert (sampled["reached"] == ranked["trials"].iloc[0]).all()
    assert f"(5 of {ranked['trials'].iloc[0]} trials)" in sampled["line"].iloc[0]
    assert main(["show", str(tmp_path / "run"), "--importance"]) == 0
    out = capsys.readouterr().out
    assert "learning_rate explains" in out and "hidden_units explains" in out
    assert f"which hyperparameters mattered ({METHOD}):" in out
    assert "left out" not in out  # neither is conditional

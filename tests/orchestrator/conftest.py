"""Real sweep stores for the report's tests, each made once per test session in about a
second with the in-process executor (no Ray): a varied two-stage sweep, a sweep in which
every trial diverged, a model-based sweep whose scheduler pauses and promotes trials, and
a sweep with no trial yet."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from orchestrator.core.loop import Sweep
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.storage import TrialRow
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import parse_sweep

# Learning rates up to 3e4 so that some trials diverge; seed 3 gives completed, pruned and
# diverged trials of both optimizers over two stages (the tests check that it does).
MIXED: dict[str, Any] = {
    "name": "mixed",
    "dataset": "digits",
    "seed": 3,
    "model": {"hidden_layers": 1},
    "space": {
        "learning_rate": {"type": "log_uniform", "low": 0.001, "high": 30000},
        "batch_size": {"type": "power_of_two", "low": 32, "high": 128},
        "optimizer": ["momentum", "adam"],
        "beta": {
            "type": "one_minus_log_uniform",
            "low": 0.8,
            "high": 0.99,
            "when": {"optimizer": "momentum"},
        },
        "beta1": {
            "type": "one_minus_log_uniform",
            "low": 0.8,
            "high": 0.95,
            "when": {"optimizer": "adam"},
        },
    },
    "stages": [{"trials": 8}, {"trials": 4, "zoom": {"top_k": 3}}],
    "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 2},
    "budget": {"max_epochs": 4},
}


def diverging() -> dict[str, Any]:
    """A sweep whose learning rates are so large that every trial diverges at once."""
    raw = copy.deepcopy(MIXED)
    raw["name"] = "diverging"
    space = raw["space"]
    del space["beta1"]
    space["optimizer"] = ["momentum"]  # Adam's normalised steps survive even these rates
    space["learning_rate"] = {"type": "log_uniform", "low": 1e5, "high": 1e7}
    raw["stages"] = [{"trials": 4}]
    return raw


def promoting() -> dict[str, Any]:
    """A tpe sweep (3 warm-up trials) under ASHA in promote mode. Seed 1 gives warm-up and
    model trials, trials promoted (one to the end, some twice paused), and trials still
    paused when it ends (the tests check that it does)."""
    raw = copy.deepcopy(MIXED)
    raw.update(
        name="promoting",
        seed=1,
        stages=[{"trials": 10}],
        sampler={"name": "tpe", "warmup": 3},
        scheduler={"name": "asha", "grace_period": 1, "reduction_factor": 2, "mode": "promote"},
    )
    return raw


def run_sweep(raw: dict[str, Any], run_dir: Path) -> Path:
    spec = parse_sweep(raw)
    store = Store.create(run_dir, spec.source)
    try:
        Sweep(spec, store, InProcessExecutor(2)).run()
    finally:
        store.close()
    return run_dir


def stored_rows(run_dir: Path) -> list[TrialRow]:
    """The trials straight from a run's store, to check what is shown against."""
    store = Store.open(run_dir)
    try:
        return store.trial_rows()
    finally:
        store.close()


@pytest.fixture
def mixed_raw() -> dict[str, Any]:
    """The mixed sweep's file, as a dict a test may change."""
    return copy.deepcopy(MIXED)


@pytest.fixture(scope="session")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_sweep(MIXED, tmp_path_factory.mktemp("report") / "mixed")


@pytest.fixture(scope="session")
def diverged_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_sweep(diverging(), tmp_path_factory.mktemp("report") / "diverging")


@pytest.fixture(scope="session")
def promoting_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_sweep(promoting(), tmp_path_factory.mktemp("report") / "promoting")


@pytest.fixture
def empty_run(tmp_path: Path) -> Path:
    """A sweep as `caviar run` leaves it before its first trial starts."""
    spec = parse_sweep(MIXED)
    Store.create(tmp_path / "empty", spec.source).close()
    return tmp_path / "empty"

"""The worker's gauges follow the sweep's metric and direction, without a Ray cluster.

`best_so_far` is the rule; the `TrialWorker` tests replace Ray's gauges with a recorder
and its host with scripted epochs, so they check what the dashboard would be sent.
"""

from __future__ import annotations

import math
from functools import reduce
from typing import Any

import pytest

from caviar_common.keeping import NO_KEEP, KeepBar
from workers import trial_worker
from workers.host import StepResult
from workers.trial_worker import TrialWorker, best_so_far


def _fold(values: list[float], sign: float) -> float | None:
    return reduce(lambda best, v: best_so_far(best, v, sign), values, None)


def test_a_minimising_sweep_keeps_the_lowest_value() -> None:
    assert _fold([0.9, 0.4, 0.6], +1.0) == 0.4


def test_a_maximising_sweep_on_accuracy_keeps_the_highest() -> None:
    assert _fold([0.5, 0.8, 0.7], -1.0) == 0.8


@pytest.mark.parametrize("sign", [+1.0, -1.0])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e300, -1e300])
def test_a_diverged_value_is_never_the_best(sign: float, bad: float) -> None:
    assert best_so_far(None, bad, sign) is None
    assert best_so_far(0.5, bad, sign) == 0.5
    assert _fold([bad, 0.7, bad], sign) == 0.7


class _Gauge:
    """Records what Ray's Gauge would be sent: the latest value per set of tags."""

    def __init__(self, name: str, description: str = "", tag_keys: tuple[str, ...] = ()):
        self.name, self.tag_keys = name, tag_keys
        self.values: dict[tuple[tuple[str, str], ...], float] = {}
        _Gauge.made[name] = self

    made: dict[str, _Gauge] = {}

    def set(self, value: float, tags: dict[str, str]) -> None:
        assert set(tags) == set(self.tag_keys)
        self.values[tuple(sorted(tags.items()))] = value


class _ScriptedHost:
    """A host whose epochs return the given validation accuracies and costs."""

    def __init__(self, epochs: list[tuple[float, float]]) -> None:
        self.epochs = epochs

    def step(self, trial_id: str, checkpoint: bool = False, keep: KeepBar = NO_KEEP) -> StepResult:
        accuracy, cost = self.epochs.pop(0)
        diverged = not math.isfinite(cost)
        record = {"epoch": 4 - len(self.epochs), "val_accuracy": accuracy, "val_cost": cost}
        return StepResult(trial_id, {**record, "diverged": diverged}, None)


def _worker(monkeypatch: pytest.MonkeyPatch, metric: str, sign: float) -> TrialWorker:
    monkeypatch.setattr(trial_worker.metrics, "Gauge", _Gauge)
    monkeypatch.setattr(trial_worker, "threadpool_limits", lambda limits: None)
    worker = TrialWorker("w", "gauges", 1.0, metric, sign)
    epochs = [(0.5, 0.9), (0.8, 0.4), (0.7, 0.6), (math.nan, math.nan)]  # the last diverged
    worker.host = _ScriptedHost(epochs)  # type: ignore[assignment]
    for _ in range(4):
        worker.step("trial-0001", False)
    return worker


def _shown(name: str, metric: str) -> float:
    key = (("metric", metric), ("sweep", "gauges"), ("trial", "trial-0001"))
    return _Gauge.made[name].values[key]


@pytest.mark.parametrize(
    ("metric", "sign", "latest", "best"),
    [("val_accuracy", -1.0, 0.7, 0.8), ("val_cost", +1.0, 0.6, 0.4)],
)
def test_the_gauges_show_the_sweeps_metric_in_its_direction(
    monkeypatch: pytest.MonkeyPatch, metric: str, sign: float, latest: float, best: float
) -> None:
    _worker(monkeypatch, metric, sign)
    epoch: Any = _Gauge.made["caviar_trial_epoch"].values
    assert epoch == {(("sweep", "gauges"), ("trial", "trial-0001")): 4}
    # the diverged fourth epoch changes neither the latest value shown nor the best
    assert _shown("caviar_trial_metric", metric) == latest
    assert _shown("caviar_trial_best_metric", metric) == best


def test_a_bad_metric_or_sign_is_refused_before_any_gauge_exists() -> None:
    with pytest.raises(ValueError, match=r"metric: must be one of .*'val_acuracy'.*val_accuracy"):
        TrialWorker("w", "s", 1.0, "val_acuracy", -1.0)
    with pytest.raises(ValueError, match=r"sign: must be \+1 \(minimise\) or -1.*got 0"):
        TrialWorker("w", "s", 1.0, "val_cost", 0)


def test_a_curve_row_is_its_epoch_its_values_then_the_divergence_flag() -> None:
    from caviar_common.curves import CURVE_COLUMNS, VALUE_COLUMNS

    assert CURVE_COLUMNS[0] == "epoch" and CURVE_COLUMNS[-1] == "diverged"
    assert VALUE_COLUMNS == (
        "train_cost",
        "val_cost",
        "val_accuracy",
        "decayed_learning_rate",
        "seconds",
    )

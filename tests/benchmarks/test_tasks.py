"""A benchmark's child task crosses to its child process as JSON and comes back the same
frozen dataclass; anything else is refused with the reason."""

from __future__ import annotations

import dataclasses

import pytest

from benchmarks.common.tasks import ChildTask, task_from_json
from benchmarks.frameworks.children import TASKS as COMPARE_TASKS
from benchmarks.frameworks.children import OptunaWorker
from benchmarks.sweep.children import TASKS as SWEEP_TASKS
from benchmarks.sweep.children import CaviarNull, IdealPool, TuneSweep


@pytest.mark.parametrize(
    "task",
    [
        TuneSweep("tune-fifo-0", "fifo", True, "/tmp/trials.json", 30, "/tmp/tune"),
        IdealPool("pool-0", "/tmp/trials.json", 30),
        CaviarNull("caviar-null-0", {"name": "null-0", "budget": {"trials": 4}}),
        OptunaWorker("optuna-0", {"name": "digits", "seed": 0}, "/tmp/run", 1),
    ],
)
def test_a_task_comes_back_from_its_json_as_it_went(task: ChildTask):
    back = task_from_json(task.to_json(), (*SWEEP_TASKS, *COMPARE_TASKS))
    assert type(back) is type(task)
    assert dataclasses.asdict(back) == dataclasses.asdict(task)
    with pytest.raises(dataclasses.FrozenInstanceError):
        back.name = "other"  # type: ignore[misc]


def test_a_task_of_another_benchmark_or_with_other_fields_is_refused():
    pool = IdealPool("pool-0", "/tmp/trials.json", 30)
    with pytest.raises(ValueError, match=r"unknown task 'IdealPool'; known: \['OptunaStudy'"):
        task_from_json(pool.to_json(), COMPARE_TASKS)
    text = pool.to_json().replace('"epochs": 30', '"epoch": 30')
    with pytest.raises(ValueError, match=r"IdealPool takes fields \['epochs', 'name', 'trials'\]"):
        task_from_json(text, SWEEP_TASKS)

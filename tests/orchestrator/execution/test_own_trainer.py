"""Your own model on real Ray: examples/own_trainer's sweep trains scikit-learn's
SGDClassifier on workers that import it only because the driver ships its module, and a
sweep interrupted mid-way resumes from checkpoints to exactly the curves of an unbroken run.
(The same module shipped with a submitted job: tests/orchestrator/cluster/test_cluster.py.)
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from threadpoolctl import threadpool_limits

from caviar_common.states import SweepState
from orchestrator.core.executor import Crashed, TrialTask
from orchestrator.core.loop import Sweep
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import _Loader, parse_sweep
from orchestrator.sweepfile.trainers import shipped
from tests.children import interrupt_then_resume
from workers.host import TrialHost

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

EXAMPLE = Path(__file__).parents[3] / "examples" / "own_trainer"
# Big enough that a trial takes a few seconds, so the interrupt falls mid-trial.
DATA = "synthetic:rows=40000,features=100,classes=4"


def _spec(name: str) -> Any:
    raw = yaml.load((EXAMPLE / "sweep.yaml").read_text(), Loader=_Loader)  # noqa: S506
    raw.update(name=name, dataset=DATA, scheduler="fifo")
    raw["budget"] = {"trials": 4, "max_epochs": 30}
    return parse_sweep(raw, base_dir=EXAMPLE)  # as the file next to the module reads


def _executor(spec: Any) -> Any:
    from orchestrator.execution.ray_executor import RayExecutor

    return RayExecutor(
        spec.name,
        1.0,
        workers=2,
        metric=spec.metric,
        direction=spec.direction,
        trainer=spec.trainer,
    )


def _curves(store: Store) -> dict[str, list[tuple[int, float, float]]]:
    out: dict[str, list[tuple[int, float, float]]] = {}
    for p in sorted(store.points(), key=lambda p: (p.trial_id, p.epoch)):
        out.setdefault(p.trial_id, []).append(
            (p.epoch, p.value("val_accuracy"), p.value("train_accuracy"))
        )
    return out


def test_workers_cannot_import_a_trainer_that_is_not_shipped(ray_local: dict[str, str]) -> None:
    spec = _spec("unshipped")
    assert spec.trainer == "sgd_trainer:SGDTrainer"
    assert shipped(spec.trainer) == EXAMPLE / "sgd_trainer.py"
    config = {"alpha": 1e-3, "loss": "hinge", "penalty": "l2"}
    task = TrialTask("trial-0000", config, spec.data, (0, 0), max_epochs=2)
    executor = _executor(spec)  # this test session's Ray: nothing shipped
    try:
        executor.launch(task)
        executor.request("trial-0000", 1, False)
        events: list[Any] = []
        while not events:
            events = executor.poll(5.0)
    finally:
        executor.close()
    (crashed,) = events
    assert isinstance(crashed, Crashed)
    assert "no module named 'sgd_trainer'" in crashed.error


def _reference(spec: Any, tmp: Path) -> dict[str, list[tuple[int, float, float]]]:
    """The same sweep unbroken, in this process (no Ray): the curves a resume must give."""
    host = TrialHost(trainer=spec.trainer, metric=spec.metric)
    store = Store.create(tmp / spec.name, spec.source)
    with threadpool_limits(1):  # as a worker trains: one BLAS thread
        Sweep(spec, store, InProcessExecutor(2, host=host)).run()
    curves = _curves(store)
    store.close()
    return curves


def test_the_example_sweep_runs_from_the_command_line_and_resumes_exactly(
    tmp_path: Path,
) -> None:
    """`caviar run` ships the module beside the sweep file to its workers; Ctrl-C mid-way,
    then `caviar resume`, gives every epoch once, each the value of an unbroken run."""
    own = tmp_path / "own"
    own.mkdir()
    shutil.copy(EXAMPLE / "sgd_trainer.py", own / "sgd_trainer.py")
    raw = yaml.load((EXAMPLE / "sweep.yaml").read_text(), Loader=_Loader)  # noqa: S506
    raw.update(name="sgd", dataset=DATA, scheduler="fifo")
    raw["budget"] = {"trials": 4, "max_epochs": 30}
    (own / "sweep.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    clean = _reference(_spec("sgd"), tmp_path / "reference")
    results = tmp_path / "runs"
    interrupt_then_resume(own / "sweep.yaml", results, "sgd", tmp_path, "cvo-")
    store = Store.open(results / "sgd")
    try:
        assert store.get("state") == SweepState.FINISHED
        assert _curves(store) == clean  # every epoch once, each as an unbroken run has it
    finally:
        store.close()

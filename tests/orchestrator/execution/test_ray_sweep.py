"""The loop on real Ray: named long-lived workers, faults, and what the dashboard shows.

All tests share the session's local Ray (2 CPUs). Sweeps are tiny digits sweeps.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.core.executor import Crashed, EpochDone, TrialTask
from orchestrator.core.loop import Options, Sweep
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import parse_sweep
from tests.orchestrator.kept import best_trials, checkpoints, promotable_paused

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

SPACE = {
    "learning_rate": {"type": "log_uniform", "low": 0.01, "high": 0.1},
    "hidden_units": {"type": "int_uniform", "low": 16, "high": 32},
}


def _spec(name: str, trials: int, epochs: int, scheduler: Any = "fifo", **top: Any) -> Any:
    raw = {
        "name": name,
        "dataset": "digits",
        "seed": 3,
        "model": {"optimizer": "adam", "hidden_layers": 1, "batch_size": 64},
        "space": SPACE,
        "scheduler": scheduler,
        "budget": {"trials": trials, "max_epochs": epochs},
        **top,
    }
    return parse_sweep(raw)


def _curves(store: Store) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for p in sorted(store.points(), key=lambda p: (p.trial_id, p.epoch)):
        out.setdefault(p.trial_id, []).append((p.epoch, p.values["val_cost"]))
    return out


def _run(spec: Any, tmp: Path, hook: Any = None, **options: Any) -> tuple[Store, Any]:
    from orchestrator.execution.ray_executor import RayExecutor

    store = Store.create(tmp / spec.name, spec.source)
    executor = RayExecutor(spec.name, 1.0, workers=2)
    sweep = Sweep(spec, store, executor, options=Options(**options), on_status=hook)
    sweep.executor_ref = executor  # type: ignore[attr-defined]
    return store, sweep


def test_a_sweep_runs_on_two_named_workers_and_prunes(
    ray_local: dict[str, str], tmp_path: Path
) -> None:
    spec = _spec("ray-asha", 9, 9, {"name": "asha", "grace_period": 1, "reduction_factor": 3})
    store, sweep = _run(spec, tmp_path)
    # each worker's BLAS holds to its one CPU
    assert [w["blas"] for w in sweep.executor_ref.workers.values()] == [1, 1]
    status = sweep.run()
    rows = store.trial_rows()
    assert len(rows) == 9 and all(r.state in ("completed", "pruned") for r in rows)
    assert status.counts["pruned"] >= 1 and status.counts["completed"] >= 1
    assert {r.worker for r in rows} == {"caviar-worker-1", "caviar-worker-2"}

    curves = _curves(store)
    for r in rows:  # every epoch recorded once, in order
        assert [e for e, _ in curves[r.trial_id]] == list(range(1, r.epochs + 1))


def test_a_promoting_sweep_resumes_paused_trials_on_ray_and_stores_each_point_once(
    ray_local: dict[str, str], tmp_path: Path
) -> None:
    promote = {"name": "asha", "grace_period": 1, "reduction_factor": 3, "mode": "promote"}
    spec = _spec("ray-promote", 9, 9, promote)
    store, sweep = _run(spec, tmp_path)
    status = sweep.run()
    rows = store.trial_rows()
    assert len(rows) == 9 and all(r.state in ("completed", "paused") for r in rows)
    # which trials go on depends on the order results arrive in; but a paused trial waits
    # at a rung (epoch 1 or 3), and whatever completed was promoted at both
    paused = [r.epochs for r in rows if r.state == "paused"]
    assert paused and set(paused) <= {1, 3}
    assert [r.epochs for r in rows if r.state == "completed"] == [9] * (9 - len(paused))
    assert 9 - len(paused) >= 1 and status.counts["paused"] == len(paused)
    curves = _curves(store)
    for r in rows:  # every epoch recorded once, in order, across pauses and promotions
        assert [e for e, _ in curves[r.trial_id]] == list(range(1, r.epochs + 1))
    # left: the paused trials next in line, and the kept trials that completed, at their end
    kept = {t for t, _ in best_trials(store, "val_cost", spec.keep)}
    left = checkpoints(store)
    ends = {r.trial_id: r.epochs for r in rows if r.state == "completed" and r.trial_id in kept}
    assert {t: e for t, e in left.items() if t in ends} == ends
    assert left.keys() - ends.keys() == promotable_paused(store, "val_cost", 3)
    # the kept models went through Ray: each at its trial's best epoch
    assert [(m.trial_id, m.epoch) for m in store.models()] == best_trials(
        store, "val_cost", spec.keep
    )


# Mini-batches of 4: epochs slow enough (tens of ms) that a worker trains a trial's twelve
# epochs in several calls, and can be killed between them.
SLOW = {"model": {"optimizer": "adam", "hidden_layers": 1, "batch_size": 4}}


def _clean_twin(tmp_path: Path, name: str) -> dict[str, list[tuple[int, float]]]:
    store, sweep = _run(_spec(name, 3, 12, **SLOW), tmp_path / "clean", checkpoint_every=2)
    sweep.run()
    return _curves(store)


def _kill_once(sweep: Sweep, how: str) -> Any:
    """An on_status hook that kills the worker of trial-0001 once it has 2 epochs (and the
    checkpoint after epoch 2), long before its last."""
    done: dict[str, Any] = {}

    def hook(status: Any) -> None:
        trial = sweep.running.get("trial-0001")
        if done or trial is None or trial.reported < 2:
            return
        executor = sweep.executor_ref  # type: ignore[attr-defined]
        name, info = next((n, w) for n, w in executor.workers.items() if w["trial"] == "trial-0001")
        done["worker"] = name
        if how == "ray.kill":
            ray.kill(ray.get_actor(name, namespace="caviar-tests"), no_restart=True)
        else:
            os.kill(info["pid"], signal.SIGKILL)

    return hook, done


@pytest.mark.parametrize("how", ["ray.kill", "SIGKILL"])
def test_a_killed_worker_restarts_its_trial_from_the_checkpoint(
    ray_local: dict[str, str], tmp_path: Path, how: str
) -> None:
    clean = _clean_twin(tmp_path, f"twin-{how[:3]}")
    spec = _spec(f"twin-{how[:3]}", 3, 12, **SLOW)
    store = Store.create(tmp_path / "faulty" / spec.name, spec.source)
    from orchestrator.execution.ray_executor import RayExecutor

    executor = RayExecutor(spec.name, 1.0, workers=2)
    sweep = Sweep(spec, store, executor, options=Options(checkpoint_every=2))
    sweep.executor_ref = executor  # type: ignore[attr-defined]
    hook, done = _kill_once(sweep, how)
    sweep.on_status = hook
    status = sweep.run()
    assert done, "the worker was never killed"
    rows = {r.trial_id: r for r in store.trial_rows()}
    assert [r.state for r in rows.values()] == ["completed"] * 3
    # the trial queued behind it on the same worker, if any, was lost and restarted too
    assert (rows["trial-0001"].starts, rows["trial-0001"].restarts) == (2, 1)
    assert status.restarts == sum(r.restarts for r in rows.values()) <= 2
    assert "caviar-worker" in rows["trial-0001"].error  # Ray's whole text, kept
    # ... while the progress display says it in one line: trial, worker, node, exit type
    (note,) = [n.text for n in status.log if n.kind.value == "restarted" and "0001" in n.text]
    assert "\n" not in note and len(note) < 160, note
    assert f"trial-0001 lost its worker ({done['worker']} on node " in note
    why = {"ray.kill": "killed by ray.kill", "SIGKILL": "SYSTEM_ERROR"}[how]  # Ray's words
    assert note.endswith(f", {why}); restarting from checkpoint"), note
    # nothing lost, nothing twice, and the restarted curve is the one it would have had
    faulty = _curves(store)
    assert faulty.keys() == clean.keys()
    for trial in clean:
        assert [e for e, _ in faulty[trial]] == list(range(1, 13))
        assert [v for _, v in faulty[trial]] == pytest.approx(
            [v for _, v in clean[trial]], rel=1e-6
        )


def test_an_exception_in_a_trial_fails_it_and_the_worker_goes_on(ray_local: dict[str, str]) -> None:
    from orchestrator.execution.ray_executor import RayExecutor

    executor = RayExecutor("raises", 1.0, workers=1)
    data = {"spec": "digits", "seed": 0, "val_fraction": 0.2}
    try:
        executor.launch(TrialTask("bad", {"hidden_units": -3}, data, (0, 1, 1)))
        executor.request("bad", 1, False)
        events = _poll_until(executor, lambda evs: any(e.trial_id == "bad" for e in evs))
        crash = next(e for e in events if e.trial_id == "bad")
        assert isinstance(crash, Crashed) and not crash.lost_worker
        # the worker's traceback, without terminal colour codes
        assert "hidden_units: must be an integer >= 1, got -3" in crash.error
        assert 'File "' in crash.error and "\x1b[" not in crash.error
        executor.release("bad")
        assert executor.free() == 1  # the same worker takes the next trial
        executor.launch(TrialTask("good", {"hidden_units": 8}, data, (0, 1, 2)))
        executor.request("good", 1, True)
        events = _poll_until(executor, lambda evs: any(e.trial_id == "good" for e in evs))
        good = next(e for e in events if e.trial_id == "good")
        assert isinstance(good, EpochDone) and good.record["epoch"] == 1
        assert good.checkpoint is not None and good.checkpoint[:2] == b"PK"  # npz = zip
    finally:
        executor.shutdown()


def test_the_next_trial_queues_behind_the_last_epochs_of_the_one_running(
    ray_local: dict[str, str],
) -> None:
    from orchestrator.execution.ray_executor import RayExecutor

    executor = RayExecutor("queued", 1.0, workers=1)
    data = {"spec": "digits", "seed": 0, "val_fraction": 0.2}
    config = {"hidden_units": 8, "batch_size": 4}
    try:
        first = executor.launch(TrialTask("first", config, data, (0, 1, 1), max_epochs=3))
        assert executor.free() == 0
        for epoch in (1, 2, 3):
            executor.request("first", epoch, False)
        events: list[Any] = []
        while executor.free() == 0:  # until all three epochs are sent to the worker
            events += executor.poll(0.05)
        # the only worker takes the next trial while it still trains the first
        second = executor.launch(TrialTask("second", config, data, (0, 1, 2), max_epochs=2))
        assert second.worker == first.worker and executor.free() == 0
        for epoch in (1, 2):
            executor.request("second", epoch, False)
        events += _poll_until(executor, lambda evs: len(events) + len(evs) >= 5)
        order = [(e.trial_id, e.record["epoch"]) for e in events]
        assert order == [("first", 1), ("first", 2), ("first", 3), ("second", 1), ("second", 2)]
    finally:
        executor.shutdown()


def _poll_until(executor: Any, done: Any, limit: float = 120.0) -> list[Any]:
    seen: list[Any] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        seen += executor.poll(1.0)
        if done(seen):
            return seen
    raise AssertionError(f"no such event within {limit} s; saw {seen}")


def test_the_dashboard_shows_named_workers_and_trial_epochs(
    ray_local: dict[str, str], tmp_path: Path
) -> None:
    from ray.util.state import list_actors, list_tasks

    spec = _spec("dash", 2, 3)
    store, sweep = _run(spec, tmp_path)
    sweep.run()
    address = ray_local["dashboard"]
    actors = list_actors(address=address, filters=[("class_name", "=", "TrialWorker")], limit=1000)
    names = {a.name for a in actors}
    assert {"caviar-worker-1", "caviar-worker-2"} <= names
    tasks = list_tasks(address=address, limit=10000)
    task_names = {t.name for t in tasks}
    # each call is named after its trial and the epochs it trains ("epoch 2-3")
    ours = [n for n in task_names if n.startswith("trial-")]
    named = [re.fullmatch(r"(trial-\d{4}) (epoch (\d+)(-(\d+))?|end)", n) for n in ours]
    assert all(m is not None for m in named), ours
    covered = {
        (m[1], e)
        for m in named
        if m is not None and m[3] is not None
        for e in range(int(m[3]), int(m[5] or m[3]) + 1)
    }
    assert covered >= {(t, e) for t in ("trial-0001", "trial-0002") for e in (1, 2, 3)}


_SAMPLE = re.compile(r"^(\w+)\{(.*)\} (\S+)$")  # name{tag="value",...} value


def _samples(ports: list[int], sweep: str) -> dict[tuple[str, str], tuple[dict[str, str], float]]:
    """This sweep's gauges on the nodes' metrics ports: (name, trial) -> (tags, value)."""
    import urllib.request

    out = {}
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
            text = page.read().decode()
        for line in text.splitlines():
            match = _SAMPLE.match(line)
            if match is None:
                continue
            tags = dict(re.findall(r'(\w+)="([^"]*)"', match[2]))
            if tags.get("sweep") == sweep and "trial" in tags:
                out[match[1], tags["trial"]] = (tags, float(match[3]))
    return out


@pytest.mark.parametrize(
    ("metric", "direction", "best_of"),
    [("val_cost", "minimize", min), ("val_accuracy", "maximize", max)],
)
def test_per_trial_gauges_reach_the_metrics_endpoint(
    ray_local: dict[str, str], tmp_path: Path, metric: str, direction: str, best_of: Any
) -> None:
    from orchestrator.execution.ray_executor import RayExecutor

    class KeepWorkers(RayExecutor):
        """Workers outlive the sweep here: a killed worker's last gauges may never export."""

        def shutdown(self) -> None:
            pass

    spec = _spec(f"gauges-{direction[:3]}", 2, 3, metric=metric, direction=direction)
    store = Store.create(tmp_path / spec.name, spec.source)
    executor = KeepWorkers(spec.name, 1.0, workers=2, metric=metric, direction=direction)
    Sweep(spec, store, executor).run()
    values: dict[str, list[float]] = {}  # each trial's stored metric, epoch by epoch
    for p in sorted(store.points(), key=lambda p: (p.trial_id, p.epoch)):
        values.setdefault(p.trial_id, []).append(p.value(metric))
    assert sorted(values) == ["trial-0001", "trial-0002"]
    assert all(len(v) == 3 for v in values.values())
    assert any(min(v) != max(v) for v in values.values())  # so the direction shows
    ports = [n["MetricsExportPort"] for n in ray.nodes() if n["Alive"]]

    def shown(samples: dict[Any, Any], name: str, trial: str) -> float | None:
        tags, value = samples.get((f"ray_caviar_trial_{name}", trial), ({}, None))
        return value if name == "epoch" or tags.get("metric") == metric else None

    def done(samples: dict[Any, Any]) -> bool:  # every trial's gauges at their final values
        return all(
            shown(samples, "epoch", trial) == 3.0
            and shown(samples, "metric", trial) == pytest.approx(curve[-1], rel=1e-9)
            and shown(samples, "best_metric", trial) == pytest.approx(best_of(curve), rel=1e-9)
            for trial, curve in values.items()
        )

    try:
        deadline, samples = time.monotonic() + 90, _samples(ports, spec.name)
        while not done(samples) and time.monotonic() < deadline:  # exported every few seconds
            time.sleep(1.0)
            samples = _samples(ports, spec.name)
    finally:
        RayExecutor.shutdown(executor)
    assert done(samples), (values, samples)


def test_the_last_epochs_gauges_are_exported_when_the_pool_closes(
    ray_local: dict[str, str], tmp_path: Path
) -> None:
    from orchestrator.execution.ray_executor import RayExecutor

    spec = _spec("gauges-end", 2, 3)
    store = Store.create(tmp_path / spec.name, spec.source)
    executor = RayExecutor(spec.name, 1.0, workers=2)
    Sweep(spec, store, executor).run()
    pids = [w["pid"] for w in executor.workers.values()]
    executor.close()  # as `caviar run` ends: the workers exit on their own
    for pid in pids:  # ... and are gone
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid)
    final = {p.trial_id: p.values["val_cost"] for p in store.points() if p.epoch == 3}
    ports = [n["MetricsExportPort"] for n in ray.nodes() if n["Alive"]]
    deadline, samples = time.monotonic() + 30, _samples(ports, spec.name)
    while time.monotonic() < deadline and not all(
        samples.get(("ray_caviar_trial_epoch", t), ({}, None))[1] == 3.0 for t in final
    ):
        time.sleep(0.5)
        samples = _samples(ports, spec.name)
    for trial, value in final.items():  # the values of the very last epoch
        assert samples[("ray_caviar_trial_epoch", trial)][1] == 3.0
        assert samples[("ray_caviar_trial_metric", trial)][1] == pytest.approx(value, rel=1e-9)


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_bad_metric_or_direction_is_refused_before_any_worker_starts() -> None:
    from orchestrator.execution.ray_executor import RayExecutor

    with pytest.raises(ValueError, match=r"metric: must be one of .*'val_acuracy'.*val_accuracy"):
        RayExecutor("bad", 1.0, workers=1, metric="val_acuracy")
    with pytest.raises(ValueError, match=r"direction: must be one of .*'maximise'.*maximize"):
        RayExecutor("bad", 1.0, workers=1, direction="maximise")

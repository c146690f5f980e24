"""A sweep of thousands of trials keeps the driver's state bounded, and a driver killed in
the middle of a batched write loses nothing a resume cannot train again."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from caviar_common.states import SweepState
from orchestrator.core.loop import Options, Sweep
from orchestrator.core.status import Status
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import parse_sweep

ROOT = Path(__file__).resolve().parents[3]
TINY = "synthetic:rows=40,features=2,classes=2"


def _source(name: str, trials: int, epochs: int, scheduler: Any = "fifo") -> dict[str, Any]:
    return {
        "name": name,
        "dataset": TINY,
        "seed": 5,
        "model": {"hidden_layers": 1, "hidden_units": 2, "batch_size": 64},
        "space": {"learning_rate": {"type": "log_uniform", "low": 1e-3, "high": 1e-1}},
        "sampler": "random",
        "scheduler": scheduler,
        "budget": {"trials": trials, "max_epochs": epochs},
    }


def test_two_thousand_trials_keep_the_drivers_tables_bounded_and_drop_ended_checkpoints(
    tmp_path: Path,
) -> None:
    asha = {"name": "asha", "grace_period": 1, "reduction_factor": 3}  # a rung at epoch 1
    spec = parse_sweep(_source("many", 2000, 3, asha))
    store = Store.create(tmp_path / "many", spec.source)
    executor = InProcessExecutor(2)
    seen = dict.fromkeys(("running", "status", "trainers", "checkpoints", "models"), 0)
    sweep: Sweep

    def watch(status: Status) -> None:
        (held,) = store.conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()
        (models,) = store.conn.execute("SELECT COUNT(*) FROM models").fetchone()
        sizes = {
            "running": len(sweep.running) + len(sweep.to_restart),
            "status": len(status.running),
            "trainers": len(executor.host._trainers),
            # a running trial's, and those of completed trials whose models are kept
            "checkpoints": held - models,
            "models": models,
        }
        for key, size in sizes.items():
            seen[key] = max(seen[key], size)

    sweep = Sweep(spec, store, executor, options=Options(checkpoint_every=1), on_status=watch)
    status = sweep.run()

    rows = store.trial_rows()
    assert len(rows) == 2000 and status.ended_count == 2000
    assert {r.state for r in rows} == {"completed", "pruned"}
    # at no point did the driver hold more than the two trials on its two workers (and the
    # kept models, with a checkpoint each of the kept trials that completed)
    assert seen == {"running": 2, "status": 2, "trainers": 2, "checkpoints": 2, "models": 3}
    kept = {m.trial_id for m in store.models()}
    left = {t for t in kept if store.checkpoint(t) is not None}
    assert left == {r.trial_id for r in rows if r.trial_id in kept and r.state == "completed"}
    assert len(status.log) <= 200  # the progress log keeps the latest notes only
    driver = store.get("driver")
    assert driver["cpu_seconds"] > 0 and driver["peak_rss_mib"] > 0


_KILLED_DRIVER = """
import os, signal, sys
from pathlib import Path
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.core.loop import Options, Sweep
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import parse_sweep
import json

source = json.loads(sys.argv[1])
store = Store.create(Path(sys.argv[2]), source)
writes = 0
add_point = Store.add_point

def dying(self, trial_id, record, best):
    global writes
    add_point(self, trial_id, record, best)
    writes += 1
    if writes == 23 and self._batching:  # written, not committed: the batch is half done
        os.kill(os.getpid(), signal.SIGKILL)

Store.add_point = dying
Sweep(parse_sweep(source), store, InProcessExecutor(2), options=Options(checkpoint_every=2)).run()
"""


def _points(store: Store) -> list[tuple[str, int, float]]:
    return [(p.trial_id, p.epoch, p.values["val_cost"]) for p in store.points()]


def test_a_driver_killed_during_a_batched_write_is_resumed_with_every_point_once(
    tmp_path: Path,
) -> None:
    import json

    source = _source("killed", 6, 6)
    run_dir = tmp_path / "killed"
    code = textwrap.dedent(_KILLED_DRIVER)
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(source), str(run_dir)], cwd=ROOT, timeout=120
    )
    assert done.returncode == -9  # SIGKILL, in the middle of a batch

    store = Store.open(run_dir)
    before = _points(store)
    assert 0 < len(before) < 23  # the half-written batch was never committed
    assert store.get("state") == SweepState.RUNNING and not store.driver_alive()
    spec = parse_sweep(store.get("source"))
    Sweep(spec, store, InProcessExecutor(2), options=Options(checkpoint_every=2)).run()

    twin = Store.create(tmp_path / "twin", source)
    Sweep(spec, twin, InProcessExecutor(2), options=Options(checkpoint_every=2)).run()
    after = sorted(_points(store))
    keys = [(t, e) for t, e, _ in after]
    assert len(keys) == len(set(keys)) == 6 * 6  # every point, each once
    assert after == sorted(_points(twin))  # the same values as a run never interrupted
    assert set(before) <= set(after)  # nothing committed before the kill was lost

"""A torch trainer's trial gets as many intra-op threads as CPUs it reserved, even where
the workers' environment says one thread (as `caviar up`'s cluster does, for the numpy
MLP): `cpus_per_trial: 2` gives 2 (without the worker's sizing, torch takes the 1)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestrator.sweepfile.parse import _Loader
from tests.children import child_ray_env

pytest.importorskip("torch")
pytestmark = pytest.mark.ray

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "torch_trainer"


def _threads(tmp: Path, cpus: int) -> set[float]:
    shutil.copy(EXAMPLE / "torch_mlp.py", tmp / "torch_mlp.py")
    raw = yaml.load((EXAMPLE / "sweep.yaml").read_text(), Loader=_Loader)  # noqa: S506
    raw.update(name=f"threads{cpus}", scheduler="fifo", sampler="random")
    raw.pop("stages")
    raw["budget"] = {"trials": 1, "max_epochs": 2}
    raw["resources"] = {"cpus_per_trial": cpus}
    (tmp / "sweep.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    results = tmp / "runs"
    with child_ray_env("cvh-") as env:
        env["OMP_NUM_THREADS"] = "1"  # what the workers' environment says
        done = subprocess.run(
            [sys.executable, "-m", "orchestrator.cli", "run", str(tmp / "sweep.yaml")]
            + ["--results", str(results), "--workers", "1", "--plain", "--no-dashboard"],
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    with sqlite3.connect(results / f"threads{cpus}" / "sweep.db") as conn:
        extras = [json.loads(e) for (e,) in conn.execute("SELECT extra FROM curves")]
    assert len(extras) == 2
    return {e["intra_op_threads"] for e in extras}


def test_a_trial_of_two_cpus_trains_with_two_intra_op_threads(tmp_path: Path) -> None:
    assert _threads(tmp_path, 2) == {2.0}

"""Importing the benchmarks changes nothing: no environment variable is set (the BLAS
thread variables are set by a benchmark's `main()`, and only there), and importing an entry
point loads no numpy, so that its `main()` sizes the BLAS pools before numpy reads them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from workers.threads import BLAS_VARIABLES

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, json, os, pkgutil, sys
import benchmarks
before = dict(os.environ)
names = sorted(m.name for m in pkgutil.walk_packages(benchmarks.__path__, "benchmarks."))
numpy_after = {}
for name in names:
    importlib.import_module(name)
    numpy_after[name] = "numpy" in sys.modules
after = dict(os.environ)
changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
print(json.dumps({"modules": names, "changed": changed, "numpy_after": numpy_after}))
"""

ENTRY_POINTS = {
    "benchmarks.bench_worker",
    "benchmarks.bench_sweep",
    "benchmarks.bench_scheduler",
    "benchmarks.bench_results",
    "benchmarks.compare",
    "benchmarks.quality",
    "benchmarks.record_curves",
    "benchmarks.stop_rules",
    "benchmarks.gpu_check",
}


def unset_blas() -> dict[str, str]:
    """This environment without the BLAS thread variables: none is set before the import."""
    return {k: v for k, v in os.environ.items() if k not in BLAS_VARIABLES}


def probe(code: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=unset_blas(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.splitlines()[-1]))


def test_importing_every_benchmark_module_sets_no_environment_variable():
    found = probe(PROBE)
    assert set(found["modules"]) >= ENTRY_POINTS  # type: ignore[arg-type]
    assert len(found["modules"]) > 30  # type: ignore[arg-type]  # every part, not just those
    assert found["changed"] == []


def test_the_probe_sees_a_variable_a_module_sets_at_import():
    # the same check on code that does what the benchmarks used to do at import
    sets = PROBE.replace(
        "importlib.import_module(name)",
        'importlib.import_module(name); os.environ["OMP_NUM_THREADS"] = "1"',
    )
    assert probe(sets)["changed"] == ["OMP_NUM_THREADS"]


def test_importing_an_entry_point_loads_no_numpy():
    for module in sorted(ENTRY_POINTS):
        code = f"import json, sys; import {module}; print(json.dumps('numpy' in sys.modules))"
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) is False, f"{module} loads numpy at import"


def test_main_sets_one_blas_thread_before_numpy_loads():
    code = (
        "import json, os, sys; from benchmarks.common.entry import one_blas_thread; "
        "one_blas_thread(); import numpy; from threadpoolctl import threadpool_info; "
        "print(json.dumps([os.environ['OPENBLAS_NUM_THREADS'], "
        "[p['num_threads'] for p in threadpool_info()]]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=unset_blas(),
    )
    assert done.returncode == 0, done.stderr
    variable, pools = json.loads(done.stdout)
    assert variable == "1"
    assert pools and set(pools) == {1}

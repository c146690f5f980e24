"""The report of a sweep of your own trainer (examples/own_trainer's SGDClassifier): its
curve chart draws the sweep's metric, it has no cost figure of the best trial, and a
fresh process writes it without importing the trainer's module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from orchestrator.core.loop import Sweep
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.results.run import load_run
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import _Loader, parse_sweep
from workers.host import TrialHost

EXAMPLE = Path(__file__).parents[3] / "examples" / "own_trainer"


def _run(tmp: Path) -> Path:
    raw = yaml.load((EXAMPLE / "sweep.yaml").read_text(), Loader=_Loader)  # noqa: S506
    raw.update(name="sgd", dataset="synthetic:rows=300,features=5,classes=3")
    raw["budget"] = {"trials": 6, "max_epochs": 6}
    raw["scheduler"] = {"name": "asha", "grace_period": 2, "reduction_factor": 2}
    spec = parse_sweep(raw, base_dir=EXAMPLE)
    store = Store.create(tmp / spec.name, spec.source)
    host = TrialHost(trainer=spec.trainer, metric=spec.metric)
    Sweep(spec, store, InProcessExecutor(2, host=host)).run()
    store.close()
    return tmp / spec.name


def test_the_curve_chart_draws_the_metric_the_trainer_reports(tmp_path: Path) -> None:
    run = load_run(_run(tmp_path))
    assert run.curve_column == "val_accuracy"
    ax = run.plot_curves().axes[0]
    assert ax.get_ylabel() == "val_accuracy" and ax.get_yscale() == "linear"
    for trial_id, points in run.curves.groupby("trial_id"):
        (line,) = [line for line in ax.get_lines() if line.get_gid() == trial_id]
        assert np.array_equal(line.get_ydata(), points["val_accuracy"].to_numpy())


def test_a_fresh_process_writes_the_report_without_the_trainers_module(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from orchestrator.report.page import build_html\n"
        "page, pngs = build_html(Path(sys.argv[1]))\n"
        "print(sorted(pngs))\n"
        "print('sgd_trainer' in sys.modules)\n"
        "print('<h2>Every curve of val_accuracy</h2>' in page)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(run_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    figures, imported, titled = done.stdout.split("\n")[:3]
    # no "best" figure: the MLP's costs and accuracy, which another trainer does not report
    assert figures == "['curves', 'parallel', 'parameters']"
    assert imported == "False"  # the report read the sweep file without importing the module
    assert titled == "True"

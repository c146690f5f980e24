"""`caviar` from Python: a sweep given as a dict runs like the same sweep file on the
command line, and validate, sample, the plots and the report work on its results.

`caviar.run` starts Ray in its own process and shuts it down at the end, as a user's script
does, so it runs here in a child process with a Ray of its own (in its own temp dir, so the
test stops every process it started) and never touches the session's `ray_local`.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from matplotlib.figure import Figure

import caviar
from orchestrator.results.run import Run
from tests.caviar.sweeps import tiny_sweep
from tests.children import child_ray_env, running

TRIALS, EPOCHS = 3, 2


def _sweep(name: str = "api") -> dict[str, Any]:
    return tiny_sweep(name, TRIALS, EPOCHS)


def _child(*argv: str) -> str:
    """Run `python ARGV` with its own Ray; its stdout, once it exited with 0."""
    with child_ray_env("cva-") as env:
        done = subprocess.run(
            [sys.executable, *argv], env=env, capture_output=True, text=True, timeout=300
        )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Run]:
    """The same sweep run by `caviar.run` (a dict) and by `caviar run` (a YAML file)."""
    tmp = tmp_path_factory.mktemp("api")
    script = (
        "import json, sys, caviar\n"
        "run = caviar.run(json.loads(sys.argv[1]), results=sys.argv[2], workers=2, "
        "dashboard=False)\n"
        "print('returned', type(run).__name__, run.state)\n"
    )
    out = _child("-c", script, json.dumps(_sweep()), str(tmp / "api"))
    assert "returned Run finished" in out  # the finished Run came back

    sweep_file = tmp / "api.yaml"
    sweep_file.write_text(yaml.safe_dump(_sweep(), sort_keys=False))  # the space in order
    cli = ("-m", "orchestrator.cli", "run", str(sweep_file), "--plain", "--no-dashboard")
    _child(*cli, "--results", str(tmp / "cli"), "--workers", "2")
    return caviar.load_run(tmp / "api" / "api"), caviar.load_run(tmp / "cli" / "api")


@pytest.mark.ray
def test_run_of_a_dict_matches_the_command_line_run_of_the_same_file(
    runs: tuple[Run, Run],
) -> None:
    api, cli = runs
    assert api.state == cli.state == "finished"
    assert list(api.trials.index) == [f"trial-000{i}" for i in range(1, TRIALS + 1)]
    columns = ["state", "epochs", "learning_rate", "hidden_units"]
    assert api.trials[columns].to_dict() == cli.trials[columns].to_dict()
    assert set(api.trials["state"]) == {"completed"}  # fifo: every trial to the budget
    assert list(api.trials["epochs"]) == [EPOCHS] * TRIALS
    assert api.trials["best"].to_numpy() == pytest.approx(cli.trials["best"].to_numpy(), rel=1e-6)
    assert len(api.curves) == TRIALS * EPOCHS


@pytest.mark.ray
def test_plot_curves_draws_one_line_per_trial(runs: tuple[Run, Run]) -> None:
    run = runs[0]
    fig = run.plot_curves()
    assert isinstance(fig, Figure)
    lines = {str(line.get_gid()): line for line in fig.axes[0].get_lines()}
    trial_lines = {g for g in lines if g.startswith("trial-")}
    assert trial_lines == set(run.trials.index)
    for trial_id in trial_lines:  # each line is that trial's validation cost per epoch
        assert np.asarray(lines[trial_id].get_xdata()).tolist() == [1, 2]
    best = str(run.best(1).index[0])
    assert f"best:{best}" in lines


@pytest.mark.ray
def test_plot_params_has_a_panel_per_searched_parameter(runs: tuple[Run, Run]) -> None:
    fig = runs[0].plot_params()
    assert isinstance(fig, Figure)
    assert len([ax for ax in fig.axes if ax.has_data()]) == 2  # learning_rate, hidden_units


@pytest.mark.ray
def test_report_writes_an_html_file(runs: tuple[Run, Run], tmp_path: Path) -> None:
    out = runs[0].report(tmp_path)
    assert out == tmp_path / "report.html"
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and "Sweep api" in text
    named = runs[0].report(tmp_path / "mine.html")
    assert named == tmp_path / "mine.html" and named.is_file()


def test_validate_of_a_bad_dict_names_the_key() -> None:
    bad = _sweep()
    bad["budget"] = {"trials": TRIALS, "max_epochs": 0}
    with pytest.raises(ValueError, match=r"budget\.max_epochs.*got 0"):
        caviar.validate(bad)
    spec = caviar.validate(_sweep())
    assert spec.name == "api" and spec.total_trials == TRIALS


def test_validate_of_a_file_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(_sweep("from-file")))
    assert caviar.validate(path).name == "from-file"
    with pytest.raises(ValueError, match="no sweep file"):
        caviar.validate(tmp_path / "missing.yaml")


def test_sample_of_a_dict_returns_one_row_per_configuration() -> None:
    table = caviar.sample(_sweep(), 5)
    assert list(table.columns) == ["trial", "stage", "learning_rate", "hidden_units"]
    assert list(table["trial"]) == [1, 2, 3, 4, 5]
    assert ((table["learning_rate"] >= 0.003) & (table["learning_rate"] <= 0.03)).all()
    assert table["hidden_units"].between(4, 16).all()
    again = caviar.sample(_sweep(), 5)  # same seed, same configurations
    assert again.equals(table)


@pytest.mark.ray
def test_run_refuses_a_process_that_already_joined_ray_and_leaves_it_up(
    ray_local: dict[str, str], tmp_path: Path
) -> None:
    import ray

    with pytest.raises(RuntimeError, match=r"ray: already initialised"):
        caviar.run(_sweep(), results=tmp_path)
    assert ray.is_initialized()  # the session's Ray is still there for the other tests
    assert not (tmp_path / "api").exists()  # refused before any results directory


def _points(db: Path) -> dict[tuple[str, int], float]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT trial_id, epoch, val_cost FROM curves").fetchall()
    return {(t, e): v for t, e, v in rows}


def _count_points(db: Path) -> int:
    try:
        return len(_points(db)) if db.exists() else 0
    except sqlite3.OperationalError:  # the file is there, its tables not yet
        return 0


@pytest.mark.ray
def test_ctrl_c_in_run_leaves_the_sweep_to_resume(tmp_path: Path) -> None:
    sweep = tiny_sweep("ctrlc", 4, 16, slow=True)  # still running at Ctrl-C
    db = tmp_path / "ctrlc" / "sweep.db"
    script = "import json, sys, caviar\ncaviar.run(json.loads(sys.argv[1]), results=sys.argv[2])"
    argv = [sys.executable, "-c", script, json.dumps(sweep), str(tmp_path)]
    with (
        child_ray_env("cva-") as env,
        running(argv, env, lambda: _count_points(db) >= 8, "Ctrl-C") as driver,
    ):
        driver.send_signal(signal.SIGINT)
        _, err = driver.communicate(timeout=120)
    assert driver.returncode != 0 and "KeyboardInterrupt" in err  # re-raised to the caller
    assert f"caviar.resume({str(db.parent)!r})" in err
    with sqlite3.connect(db) as conn:
        state = conn.execute("SELECT value FROM sweep WHERE key = 'state'").fetchone()[0]
    assert state == '"interrupted"'
    before = _points(db)

    out = _child("-c", f"import caviar; print(caviar.resume({str(db.parent)!r}).state)")
    assert out.strip().endswith("finished")
    after = _points(db)
    assert len(after) == 4 * 16  # the whole budget, each point once
    assert all(after[k] == pytest.approx(v, rel=1e-6) for k, v in before.items())


def test_a_dict_takes_relative_dataset_paths_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "d.csv").write_text("a,y\n1,0\n2,1\n3,0\n4,1\n5,0\n6,1\n")
    sweep = {**_sweep(), "dataset": {"path": "data/d.csv", "label": "y"}}
    monkeypatch.chdir(tmp_path)
    dataset = caviar.validate(sweep).dataset
    assert isinstance(dataset, dict) and dataset["path"] == str(tmp_path / "data" / "d.csv")
    monkeypatch.chdir(tmp_path / "data")  # from elsewhere the file is not there
    with pytest.raises(ValueError, match="dataset"):
        caviar.validate(sweep)

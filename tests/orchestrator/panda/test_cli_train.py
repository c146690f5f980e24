"""`caviar train` (panda mode) as a user runs it: output, files, plots and exit codes."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from orchestrator.cli import main


def test_train_prints_every_epoch_and_writes_the_curve(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--dataset",
            "moons:rows=300",
            "--epochs",
            "4",
            "--out",
            str(out),
            "--set",
            "learning_rate=0.02",
            "--set",
            "optimizer=momentum",
            "--set",
            "batch_size=32",
            "--plot",
            str(tmp_path / "curve.png"),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    epoch_lines = [ln for ln in printed.splitlines() if ln.strip()[:1].isdigit()]
    assert [int(ln.split()[0]) for ln in epoch_lines] == [1, 2, 3, 4]
    assert "momentum, beta=0.9, learning_rate=0.02" in printed
    curve = pd.read_csv(out / "curve.csv")
    assert list(curve["epoch"]) == [1, 2, 3, 4]
    assert {"train_cost", "val_cost", "val_accuracy", "seconds"} <= set(curve.columns)
    # the printed validation costs are the stored ones
    printed_val = [float(ln.split()[2]) for ln in epoch_lines]
    assert printed_val == pytest.approx(list(curve["val_cost"]), abs=5e-5)
    batches = pd.read_csv(out / "batch_costs.csv")
    assert batches.groupby("epoch")["cost"].count().tolist() == [8] * 4  # 240 rows / 32
    assert (out / "model.npz").stat().st_size > 0
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_existing_results_are_never_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "moons:rows=100", "--epochs", "2", "--out", str(out)]) == 0
    before = (out / "curve.csv").read_bytes()
    assert main(["train", "--dataset", "moons:rows=100", "--epochs", "3", "--out", str(out)]) == 2
    assert "already holds a training curve" in capsys.readouterr().err
    assert (out / "curve.csv").read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--set", "learnin_rate=0.1"],
            "learnin_rate: unknown model setting (did you mean 'learning_rate'?)",
        ),
        (["--set", "beta=1.5"], "beta: must be a number in [0, 1), got 1.5"),
        (["--set", "optimizer=sgd"], "optimizer: must be one of"),
        (["--set", "learning_rate"], "must look like key=value"),
        (["--dataset", "digitz"], "did you mean 'digits'"),
        (["--plot", "curve.pdf"], "--plot: must name a .png file"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(tmp_path, capsys, args, message):
    code = main(["train", "--epochs", "1", "--out", str(tmp_path / "r"), *args])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args", [["--epochs", "0"], ["--seed", "-1"], ["--val-fraction", "1"]])
def test_bad_numbers_on_the_command_line_exit_2(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", *args])
    assert info.value.code == 2
    assert "must be" in capsys.readouterr().err


def test_a_diverging_run_says_so_and_keeps_its_curve(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--dataset",
            "moons:rows=100",
            "--epochs",
            "5",
            "--out",
            str(out),
            "--set",
            "optimizer=gd",
            "--set",
            "learning_rate=1e30",
        ]
    )
    assert code == 0
    assert "diverged: cost became" in capsys.readouterr().out
    curve = pd.read_csv(out / "curve.csv")
    assert bool(curve["diverged"].iloc[-1]) and len(curve) <= 5


def test_the_console_script_runs(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator.cli",
            "train",
            "--dataset",
            "moons:rows=100",
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "curve:" in result.stdout

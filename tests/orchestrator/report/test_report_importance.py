"""The report's section on which hyperparameters mattered: on a simulated sweep whose cost
depends on the learning rate alone, the page ranks it first with nearly all the variation,
says on how many trials and at which epoch that rests, names the conditional parameter it
leaves out, and prints the same lines as `caviar show --importance`."""

from __future__ import annotations

import html
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from orchestrator.cli import main
from orchestrator.execution.simulated import curve_record, run_simulated
from orchestrator.report.importance import importance_html
from orchestrator.report.page import build_html
from orchestrator.results.run import load_run
from orchestrator.sweepfile.parse import parse_sweep

TRIALS = 60
RAW: dict[str, Any] = {
    "name": "mattered",
    "dataset": "digits",  # never loaded: the epochs are simulated
    "space": {
        "learning_rate": {"type": "log_uniform", "low": 1e-4, "high": 1.0},
        "hidden_units": {"type": "int_uniform", "low": 8, "high": 64},
        "optimizer": ["momentum", "adam"],
        "beta": {
            "type": "one_minus_log_uniform",
            "low": 0.9,
            "high": 0.999,
            "when": {"optimizer": "momentum"},
        },
    },
    "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 3},
    "budget": {"trials": TRIALS, "max_epochs": 9},
}


class OnlyTheLearningRate:
    """Each epoch's cost falls towards a floor set by the learning rate alone (lowest at
    1e-2); hidden_units, the optimizer and beta change nothing."""

    def record(self, task: Any, epoch: int) -> dict[str, Any]:
        floor = (math.log10(task.config["learning_rate"]) + 2.0) ** 2
        return curve_record(epoch, floor + 1.0 / epoch, 1.0)


@pytest.fixture(scope="module")
def mattered_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("mattered") / "run"
    run_simulated(parse_sweep(RAW), OnlyTheLearningRate(), 4, run_dir=run_dir)
    return run_dir


def _section(page: str) -> str:
    start = page.index("<section id='importance'>")
    return page[start : page.index("</section>", start)]


def test_the_report_ranks_the_learning_rate_first_on_every_trial(mattered_run: Path):
    run = load_run(mattered_run)
    assert (run.trials["state"] == "pruned").sum() > TRIALS / 2  # most stopped at rung 1
    page, _ = build_html(mattered_run)
    section = _section(page)
    assert "<h2>Which hyperparameters mattered</h2>" in section
    ranked = re.findall(r"<tr><td>([^<]+)</td>", section)
    assert ranked[0] == "learning_rate"
    assert set(ranked) == {"learning_rate", "hidden_units", "optimizer"}
    share = re.search(r"learning_rate explains (\d+)% of the variation in val_cost", section)
    assert share is not None and int(share.group(1)) > 90
    # more than half were pruned at epoch 1, so every trial is compared there: pruned too
    assert f"among {TRIALS} trials compared at epoch 1," in section
    assert f"at epoch 1 ({TRIALS} trials)" in section
    assert "Left out: beta (each searched only under a condition" in section


def test_the_report_and_caviar_show_say_the_same(
    mattered_run: Path, capsys: pytest.CaptureFixture[str]
):
    page, _ = build_html(mattered_run)
    section = _section(page)
    assert main(["show", str(mattered_run), "--importance"]) == 0
    out = capsys.readouterr().out
    lines = [line.strip() for line in out.splitlines() if " explains " in line and "% of" in line]
    assert len(lines) == 3
    for line in lines:
        assert html.escape(line) in section
    assert "left out: beta (each searched only under a condition" in out


def test_the_report_leaves_the_section_out_when_asked(mattered_run: Path):
    page, _ = build_html(mattered_run, importance=False)
    assert "<section id='importance'>" not in page and "learning_rate explains" not in page


def test_a_sweep_with_too_few_results_says_so():
    empty = pd.DataFrame(columns=["parameter", "importance", "trials", "epoch", "reached"])
    section = importance_html(empty, "val_cost", parse_sweep(RAW).space)
    assert "Too few trials with different results yet" in section

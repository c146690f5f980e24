"""The sweep report: figures checked through their data, the HTML through a real browser."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from orchestrator.cli import main
from orchestrator.executor import InProcessExecutor
from orchestrator.loop import Sweep
from orchestrator.report import LiveReport, build_html, figures
from orchestrator.report_figures import STATE_COLOURS
from orchestrator.results import load_run
from orchestrator.store import Store
from orchestrator.sweepfile import parse_sweep

RAW = {
    "name": "rep",
    "dataset": "digits",
    "seed": 1,
    "model": {"hidden_layers": 1},
    "space": {
        "learning_rate": {"type": "log_uniform", "low": 0.001, "high": 0.5},
        "beta": {"type": "one_minus_log_uniform", "low": 0.8, "high": 0.99},
        "batch_size": {"type": "power_of_two", "low": 32, "high": 128},
        "optimizer": ["momentum"],
    },
    "stages": [{"trials": 6}, {"trials": 4, "zoom": {"top_k": 3}}],
    "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 2},
    "budget": {"max_epochs": 4},
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    spec = parse_sweep(RAW)
    path = tmp_path_factory.mktemp("report") / "rep"
    store = Store.create(path, spec.source)
    Sweep(spec, store, InProcessExecutor(2)).run()
    store.close()
    return path


def _source() -> tuple[dict, str]:
    return parse_sweep(RAW).source, "."


def test_the_curve_chart_has_one_line_per_trial_and_greys_the_pruned(run_dir):
    run = load_run(run_dir)
    fig = figures(run, *_source())["curves"][1]
    ax = fig.axes[0]
    lines = {ln.get_gid(): ln for ln in ax.get_lines() if ln.get_gid()}
    trial_lines = {g for g in lines if not g.startswith("best:")}
    assert trial_lines == set(run.trials.index)  # one line per trial
    pruned = set(run.trials.index[run.trials["state"] == "pruned"])
    assert pruned, "the fixture sweep should prune something"
    grey = to_rgb(STATE_COLOURS["pruned"])
    assert {g for g in trial_lines if to_rgb(lines[g].get_color()) == grey} == pruned
    best = run.best(1).index[0]
    assert f"best:{best}" in lines
    # rungs at 1 and 2 epochs (grace 1, eta 2, below 4) are marked as vertical lines
    vertical = [ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_gid() is None]
    assert sorted(vertical) == [1, 2]


def test_each_parameter_is_drawn_on_its_own_scale(run_dir):
    run = load_run(run_dir)
    fig = figures(run, *_source())["parameters"][1]
    axes = {ax.get_gid(): ax for ax in fig.axes}
    assert axes["learning_rate"].get_xscale() == "log"
    assert axes["beta"].get_xscale() == "log" and "1 - value" in axes["beta"].get_xlabel()
    assert axes["batch_size"].get_xscale() == "log"
    assert axes["batch_size"].xaxis.get_transform().base == 2
    # the beta panel plots 1 - beta for the trials with a finite value
    xs = np.sort(np.asarray(axes["beta"].collections[0].get_offsets())[:, 0])
    finite = run.trials[np.isfinite(run.trials["best"].astype(float))]
    assert list(xs) == pytest.approx(sorted(1 - finite["beta"].astype(float)))


def test_a_two_stage_sweep_draws_each_stage_box(run_dir):
    run = load_run(run_dir)
    fig = figures(run, *_source())["stages"][1]
    boxes = [p for p in fig.axes[0].patches if str(p.get_gid()).startswith("box:")]
    assert sorted(p.get_gid() for p in boxes) == ["box:0", "box:1"]
    full, zoomed = sorted(boxes, key=lambda p: p.get_gid())
    assert zoomed.get_width() * zoomed.get_height() < full.get_width() * full.get_height()


def test_the_html_is_self_contained_with_a_leaderboard_and_savings(run_dir, tmp_path):
    page, pngs = build_html(run_dir)
    assert "http://" not in page and "https://" not in page  # nothing fetched from a network
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(images) == len(pngs) == 5
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    run = load_run(run_dir)
    trained = int(run.trials["epochs"].sum())
    assert f"Epochs trained: {trained:,} of the {10 * 4:,}" in page
    assert "Leaderboard" in page and run.best(1).index[0] in page


def test_caviar_report_writes_html_and_pngs(run_dir, tmp_path, capsys):
    assert (
        main(
            [
                "report",
                str(run_dir),
                "--out",
                str(tmp_path / "r.html"),
                "--png",
                str(tmp_path / "png"),
            ]
        )
        == 0
    )
    assert (tmp_path / "r.html").exists()
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [
        "best.png",
        "curves.png",
        "parallel.png",
        "parameters.png",
        "stages.png",
    ]
    assert main(["report", str(tmp_path / "nothing")]) == 2


def test_an_empty_sweep_and_an_all_diverged_sweep_still_report(tmp_path):
    spec = parse_sweep(RAW)
    empty = Store.create(tmp_path / "empty", spec.source)
    page, _ = build_html(tmp_path / "empty")
    assert "No trial has started yet" in page
    empty.close()

    store = Store.create(tmp_path / "bad", spec.source)
    for n in (1, 2):
        tid = f"trial-000{n}"
        store.add_trial(tid, n, 0, {"learning_rate": 50.0}, {}, [0.5])
        store.start_trial(tid, "w", "node", 0.0)
        record = {
            "epoch": 1,
            "train_cost": float("nan"),
            "val_cost": float("nan"),
            "val_accuracy": float("nan"),
            "learning_rate": 50.0,
            "seconds": 0.1,
            "diverged": True,
        }
        store.add_point(tid, record, None)
        store.end_trial(tid, "diverged", 1.0, "cost became nan")
    page, _ = build_html(tmp_path / "bad")
    assert "every trial diverged" in page


class _Status:
    final = False


def test_live_report_rewrites_every_few_seconds_and_at_the_end(run_dir):
    now = [0.0]
    live = LiveReport(run_dir, every=5.0, clock=lambda: now[0])
    status = _Status()
    for t in (0.0, 1.0, 4.9, 5.0, 7.0, 10.5):
        now[0] = t
        live(status)
    assert live.written == 3  # at 0, 5 and 10.5
    status.final = True
    live(status)
    assert live.written == 4 and (run_dir / "report.html").exists()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (make test installs it from Debian where apt-get can)",
)
def test_the_report_opens_in_headless_chromium(run_dir, tmp_path):
    page, _ = build_html(run_dir)
    probe = (
        "<script>window.addEventListener('load', () => { const imgs = [...document.images];"
        " document.body.setAttribute('data-images', imgs.length + ':' +"
        " imgs.filter(i => i.complete && i.naturalWidth > 0).length); });</script></body>"
    )
    html = tmp_path / "probe.html"
    html.write_text(page.replace("</body>", probe))
    flags = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
    ]
    dom = subprocess.run(
        [*flags, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert 'data-images="5:5"' in dom.stdout  # every image decoded
    assert "CONSOLE" not in dom.stderr and "Uncaught" not in dom.stderr
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            *flags,
            f"--screenshot={shot}",
            "--window-size=1200,2400",
            (run_dir / "report.html").as_uri()
            if (run_dir / "report.html").exists()
            else html.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.std() > 0.01  # not a blank page

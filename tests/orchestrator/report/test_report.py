"""`caviar report` and `caviar run --report`: the HTML page a user opens, the command, and
the live rewriting during a sweep. Stores come from tests/orchestrator/conftest.py."""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from orchestrator.cli import main
from orchestrator.core.loop import Sweep
from orchestrator.execution.inprocess import InProcessExecutor
from orchestrator.report.page import (
    LiveReport,
    build_html,
    promotions_text,
    proposals_text,
    write_atomically,
)
from orchestrator.storage.store import Store
from orchestrator.sweepfile.parse import parse_sweep
from tests.orchestrator.conftest import stored_rows

PNG = b"\x89PNG\r\n\x1a\n"


def test_the_page_is_self_contained_every_figure_an_embedded_png(mixed_run):
    page, pngs = build_html(mixed_run)
    assert not re.search(r"(src|href)\s*=\s*['\"](?!data:)", page)  # nothing to fetch
    assert "<script" not in page and "http://" not in page and "https://" not in page
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    # curves, the best trial, the parameters, the top trials and the two stages' boxes
    assert len(images) == len(pngs) == 5
    assert all(base64.b64decode(i).startswith(PNG) for i in images)


def test_the_page_has_the_leaderboard_and_the_epochs_pruning_saved(mixed_run):
    rows = stored_rows(mixed_run)
    page, _ = build_html(mixed_run)
    trained = sum(r.epochs for r in rows)
    saved = len(rows) * 4 - trained  # every trial run to max_epochs 4, less what was trained
    by_pruning = sum(4 - r.epochs for r in rows if r.state == "pruned")
    text = re.sub(r"<[^>]+>", "", page)
    assert f"would take {len(rows) * 4:,} epochs; they trained {trained:,}" in text
    assert f"{saved:,} epochs were saved" in text and f"{by_pruning:,} by pruning" in text
    board = page[page.index("<h2>Leaderboard</h2>") :].split("</table>")[0]
    usable = sorted((r.best, r.trial_id) for r in rows if r.state != "diverged")
    assert board.index(usable[0][1]) < board.index(usable[1][1])  # best first
    for header in ("state", "best", "epochs", "learning_rate", "batch_size", "optimizer"):
        assert f"<th>{header}</th>" in board


def test_text_from_the_store_is_escaped(mixed_run, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(mixed_run, run_dir)
    store = Store.open(run_dir)
    trial = store.trial_rows()[0].trial_id
    store.end_trial(trial, "failed", 1.0, "<img src=x onerror=alert(1)>")
    store.close()
    page, _ = build_html(run_dir)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_an_empty_sweep_says_no_trial_has_started(empty_run):
    page, pngs = build_html(empty_run)
    assert "No trial has started yet" in page and pngs == {}
    assert "<h1>Sweep mixed</h1>" in page


def test_a_sweep_whose_trials_have_not_finished_an_epoch_says_so(mixed_raw, tmp_path):
    spec = parse_sweep(mixed_raw)
    store = Store.create(tmp_path / "young", spec.source)
    store.add_trial("trial-0001", 1, 0, {"learning_rate": 0.1}, {}, [0.5])
    store.start_trial("trial-0001", "worker-1", "node", 0.0)
    store.close()
    page, pngs = build_html(tmp_path / "young")
    assert "No trial has finished an epoch yet" in page and pngs == {}
    assert "none to count until a trial ends" in page


def test_a_sweep_where_every_trial_diverged_says_so_and_shows_where(diverged_run):
    rows = stored_rows(diverged_run)
    assert {r.state for r in rows} == {"diverged"}
    page, pngs = build_html(diverged_run)
    assert "Every trial diverged" in page and "Leaderboard" not in page
    assert set(pngs) == {"curves", "parameters"}  # each × on the learning-rate axis


def test_a_sweep_file_that_no_longer_reads_back_still_gets_its_curves(mixed_run, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(mixed_run, run_dir)
    store = Store.open(run_dir)
    source = store.get("source")
    store.set(source={**source, "space": {"learning_rate": {"type": "bogus"}}})
    store.close()
    page, pngs = build_html(run_dir)
    assert "no longer reads back" in page and "space.learning_rate" in page
    assert set(pngs) == {"curves", "best"}


def test_caviar_report_writes_the_html_and_the_pngs(mixed_run, tmp_path, capsys):
    out, png = tmp_path / "r.html", tmp_path / "png"
    assert main(["report", str(mixed_run), "--out", str(out), "--png", str(png)]) == 0
    assert str(out) in capsys.readouterr().out
    assert out.read_text().startswith("<!DOCTYPE html>")
    names = sorted(p.name for p in png.iterdir())
    assert names == ["best.png", "curves.png", "parallel.png", "parameters.png", "stages.png"]
    assert all((png / n).read_bytes().startswith(PNG) for n in names)


def test_caviar_report_writes_into_the_run_directory_by_default(diverged_run, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(diverged_run, run_dir)
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "report.html").is_file()
    assert [p.name for p in run_dir.iterdir() if p.name.startswith(".")] == []  # no temp left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{nothing}"], "no sweep in"),
        (["{run}", "--out", "{tmp}"], "--out: must name an HTML file, got the directory"),
        (["{run}", "--png", "{file}"], "--png: must name a directory, got the file"),
    ],
)
def test_caviar_report_refuses_bad_paths_naming_them(mixed_run, tmp_path, capsys, args, message):
    (tmp_path / "file.txt").write_text("x")
    paths = {
        "nothing": tmp_path / "nothing",
        "run": mixed_run,
        "tmp": tmp_path,
        "file": tmp_path / "file.txt",
    }
    argv = ["report", *(a.format(**paths) for a in args)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and str(paths[args[-1].strip("{}")]) in err


def test_an_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    write_atomically(target, b"new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["report.html"]


class _Status:
    def __init__(self, final: bool = False) -> None:
        self.final = final


def test_the_live_report_is_rewritten_every_few_seconds_and_at_the_end():
    now = [0.0]
    writes: list[float] = []
    live = LiveReport(
        Path("run"), every=5.0, clock=lambda: now[0], write=lambda _: writes.append(now[0])
    )
    for t in (0.0, 1.0, 4.9, 5.0, 7.0, 10.5, 11.0):
        now[0] = t
        live(_Status())
    assert writes == [0.0, 5.0, 10.5]
    now[0] = 12.0
    live(_Status(final=True))  # the last status always writes: the page shows the end
    assert writes == [0.0, 5.0, 10.5, 12.0]


def test_a_slow_report_is_rewritten_less_often():
    now = [0.0]
    writes: list[float] = []

    def slow(_: Path) -> None:  # each write takes 3 s of the driver's time
        writes.append(now[0])
        now[0] += 3.0

    live = LiveReport(Path("run"), every=5.0, clock=lambda: now[0], write=slow)
    for t in range(0, 40):
        now[0] = max(now[0], float(t))
        live(_Status())
    # after a write that took 3 s the next waits 4 x 3 = 12 s from its start, not 5
    assert writes[:3] == [0.0, 12.0, 24.0]


def test_a_report_that_cannot_be_written_never_stops_the_sweep():
    said: list[str] = []

    def broken(_: Path) -> None:
        raise OSError("disk full")

    live = LiveReport(Path("runs/x"), every=0.0, clock=lambda: 0.0, write=broken, warn=said.append)
    for _ in range(3):
        live(_Status())
    live(_Status(final=True))
    assert live.failed == 4 and len(said) == 1 and "disk full" in said[0]


def test_a_sweep_driven_with_the_live_report_leaves_the_finished_page(mixed_raw, tmp_path):
    spec = parse_sweep({**mixed_raw, "stages": [{"trials": 3}], "budget": {"max_epochs": 2}})
    run_dir = tmp_path / "live"
    store = Store.create(run_dir, spec.source)
    pages: list[str] = []

    def write(path: Path) -> None:
        from orchestrator.report.page import write_report

        pages.append(write_report(path).read_text())

    live = LiveReport(run_dir, every=0.0, write=write)
    Sweep(spec, store, InProcessExecutor(2), on_status=live).run()
    store.close()
    assert any("State: <b>running</b>" in p and "http-equiv='refresh'" in p for p in pages)
    final = (run_dir / "report.html").read_text()
    assert "State: <b>finished</b>" in final and "http-equiv" not in final
    assert [p.name for p in run_dir.iterdir() if p.name.startswith(".")] == []


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))


def test_the_page_counts_the_models_proposals_and_the_promotions(promoting_run):
    rows = stored_rows(promoting_run)
    model = sum(r.proposed_by == "tpe" for r in rows)
    warm = sum(r.proposed_by == "warm-up" for r in rows)
    # promoted: paused at a rung, then trained on (a trial still paused waits at its last)
    promoted = [r for r in rows if r.pauses[: -1 if r.state == "paused" else None]]
    still = [r for r in rows if r.state == "paused"]
    again = [r for r in still if len(r.pauses) > 1]
    promotions = sum(len(r.pauses) - (r.state == "paused") for r in promoted)
    assert model and warm and promoted and still and again  # the fixture has each kind
    page, pngs = build_html(promoting_run)
    text = _text(page)
    proposed = f"The TPE model proposed {model} of the {len(rows)} trials; {warm} were its"
    assert f"{proposed} random warm-up" in text
    assert f"{len(promoted)} trials were paused at a rung and later promoted" in text
    if promotions != len(promoted):
        assert f"({promotions} promotions in all)" in text
    assert f"{len(still)} are still paused at a rung" in text
    assert f"({len(again)} of them after an earlier promotion)" in text
    assert "by leaving trials paused at a rung" in text
    assert set(pngs) == {"curves", "best", "parameters", "parallel"}  # one stage: no boxes
    captions = " ".join(re.findall(r"<figcaption>(.*?)</figcaption>", page))
    assert "hollow: its random warm-up" in captions and "hollow circle marks" in captions


def test_a_sweep_without_tpe_or_pauses_says_nothing_of_them(mixed_run):
    page, _ = build_html(mixed_run)
    text = _text(page)
    for words in ("TPE", "warm-up", "promot", "still paused", "hollow", "‖"):
        assert words not in text


def test_the_counts_name_another_stages_sampler_and_a_lone_trial():
    trials = pd.DataFrame(
        {
            "state": ["completed", "paused", "completed", "completed", "paused"],
            "proposed_by": ["sobol", "sobol", "warm-up", "tpe", "tpe"],
            "pauses": [[1], [1], [], [1, 2], [1]],
        },
        index=["a", "b", "c", "d", "e"],
    )
    assert proposals_text(trials) == (
        "The TPE model proposed 2 of the 5 trials; 1 was its random warm-up, sampled before it "
        "had results enough to model; 2 came from the sobol sampler."
    )
    assert promotions_text(trials) == (
        "2 trials were paused at a rung and later promoted, training on from their checkpoints "
        "(3 promotions in all); 2 are still paused at a rung."
    )
    old = trials.assign(proposed_by="", pauses=[[]] * 5, state="completed")
    assert proposals_text(old) == "" and promotions_text(old) == ""

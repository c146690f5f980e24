"""`caviar report runs/NAME`: one self-contained HTML file (images embedded as data URIs),
and optionally the same figures as PNG files. Written atomically, so a browser refresh
during a sweep never sees half a file."""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from orchestrator import plots
from orchestrator import report_figures as rf
from orchestrator.results import Run, load_run
from orchestrator.schedulers import make_scheduler
from orchestrator.space import Constant, Space
from orchestrator.sweepfile import parse_sweep

TOP = 10


def _spec_parts(
    run: Run, source: dict[str, Any], base_dir: str
) -> tuple[Space | None, list[int], int]:
    """The sweep's space, rung epochs and max epochs, when its file still parses."""
    try:
        spec = parse_sweep(source, Path(base_dir))
    except ValueError:
        return None, [], int(run.curves["epoch"].max()) if len(run.curves) else 0
    scheduler = make_scheduler(
        spec.scheduler,
        spec.scheduler_settings,
        spec.max_epochs,
        spec.sign,
        np.random.default_rng(0),
    )
    return spec.space, sorted(scheduler.rung_epochs), spec.max_epochs


def figures(run: Run, source: dict[str, Any], base_dir: str) -> dict[str, tuple[str, Figure]]:
    """name -> (caption, figure) for every figure the run's data allows."""
    space, rungs, _ = _spec_parts(run, source, base_dir)
    out: dict[str, tuple[str, Figure]] = {}
    best = run.best(1)
    best_id = str(best.index[0]) if len(best) else None
    if len(run.curves):
        caption = (
            "Validation cost of every trial: completed in colour, pruned grey, diverged red "
            f"(clipped at {rf.CLIP:g}× the best cost), the best in black."
        )
        out["curves"] = (caption, rf.curves_figure(run.trials, run.curves, best_id, rungs))
    if best_id is not None:
        curve = run.curves[run.curves["trial_id"] == best_id]
        out["best"] = (
            f"The best trial, {best_id}: its costs and validation accuracy per epoch (the "
            "drawing `caviar train --plot` makes in panda mode).",
            plots.training_figure(curve, None, f"best trial: {best_id}"),
        )
    if space is None or not len(best):
        return out
    names = [n for n, p in space.params.items() if not isinstance(p, Constant) and n in run.trials]
    if names:
        out["parameters"] = (
            f"Best {run.metric} of each trial against each hyperparameter, on its own scale.",
            rf.parameter_figure(run.trials, space, run.metric, names),
        )
        out["parallel"] = (
            "The top trials across every hyperparameter (unit scale) and the metric.",
            rf.parallel_figure(run.best(TOP), space, names, run.metric),
        )
    ranked = list(rf.importance(run.trials, space, names))
    ordered = [n for n in ranked if n in names and space.params[n].ordered]
    if len(run.boxes) > 1 and len(ordered) >= 2:
        out["stages"] = (
            f"Each stage's sampling box on the two parameters whose value ranks the trials best "
            f"(|Spearman ρ| with the metric): {ordered[0]}, {ordered[1]}.",
            rf.stages_figure(run.trials, space, ordered[:2], run.boxes),
        )
    return out


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)  # pyplot keeps the figures it made until closed; a live report makes many
    return buffer.getvalue()


def build_html(run_dir: Path) -> tuple[str, dict[str, bytes]]:
    """The report's HTML and its figures as PNG bytes."""
    run = load_run(run_dir)
    conn = sqlite3.connect(f"file:{run.path / 'sweep.db'}?mode=ro", uri=True)
    try:
        meta = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM sweep")}
    finally:
        conn.close()
    source, base_dir = meta.get("source", {}), meta.get("base_dir", ".")
    _, _, max_epochs = _spec_parts(run, source, base_dir)
    drawn = figures(run, source, base_dir)
    pngs = {name: png_bytes(fig) for name, (_, fig) in drawn.items()}
    captions = {name: caption for name, (caption, _) in drawn.items()}
    return _page(run, max_epochs, pngs, captions), pngs


def _page(run: Run, max_epochs: int, pngs: dict[str, bytes], captions: dict[str, str]) -> str:
    esc = html.escape
    counts = run.counts()
    trained = int(run.trials["epochs"].sum()) if len(run.trials) else 0
    full = len(run.trials) * max_epochs
    saved = full - trained
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Caviar report: {esc(run.name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
        "padding:3px 6px;text-align:right}img{max-width:100%}.note{color:#555}</style>",
        "</head><body>",
        f"<h1>Sweep {esc(run.name)}</h1>",
        f"<p>State: <b>{esc(run.state)}</b>. {len(run.trials)} trials: "
        + esc(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none yet")
        + f". Metric: {esc(run.metric)} ({esc(run.direction)}).</p>",
        f"<p>Epochs trained: {trained:,} of the {full:,} that running every trial to "
        f"{max_epochs} epochs would take; pruning saved {saved:,} "
        f"({100 * saved / full if full else 0:.0f} %).</p>",
    ]
    best = run.best(TOP)
    if not len(run.trials):
        parts.append("<p class='note'>No trial has started yet: nothing to show.</p>")
    elif not len(best):
        parts.append(
            "<p class='note'>No trial has a finite value yet"
            + (" — every trial diverged." if counts.get("diverged") == len(run.trials) else ".")
            + " Try smaller learning rates.</p>"
        )
    else:
        parts.append(
            "<h2>Leaderboard</h2>" + run.leaderboard(TOP).to_html(index=False, escape=True)
        )
    for name, data in pngs.items():
        encoded = base64.b64encode(data).decode("ascii")
        parts.append(f"<h2>{esc(name.capitalize())}</h2><p class='note'>{esc(captions[name])}</p>")
        parts.append(f"<img alt='{esc(name)}' src='data:image/png;base64,{encoded}'>")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    parts.append(f"<p class='note'>Written {stamp} by caviar report.</p></body></html>")
    return "\n".join(parts)


def write_report(run_dir: Path, out: Path | None = None, png_dir: Path | None = None) -> Path:
    """Write the report (atomically) and, with `png_dir`, each figure as a PNG."""
    page, pngs = build_html(run_dir)
    out = out or Path(run_dir) / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=out.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(page)
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    if png_dir is not None:
        png_dir.mkdir(parents=True, exist_ok=True)
        for name, data in pngs.items():
            (png_dir / f"{name}.png").write_bytes(data)
    return out


class LiveReport:
    """An on_status hook that rewrites the report every `every` seconds, and at the end."""

    def __init__(
        self,
        run_dir: Path,
        inner: Callable[[Any], None] | None = None,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run_dir, self.inner, self.every, self.clock = run_dir, inner, every, clock
        self._last = -math.inf
        self.written = 0

    def __call__(self, status: Any) -> None:
        if self.inner is not None:
            self.inner(status)
        now = self.clock()
        if status.final or now - self._last >= self.every:
            self._last = now
            write_report(self.run_dir)
            self.written += 1

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()

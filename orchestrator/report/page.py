"""`caviar report runs/NAME`: one self-contained HTML file (figures embedded as PNG data
URIs, nothing fetched), and optionally the same figures as PNG files.

The page is written to a temporary file and moved into place, so a browser refreshed
while `caviar run --report` rewrites it never shows half a page.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from caviar_common.errors import InputError
from caviar_common.states import LIVE, SweepState, TrialState
from orchestrator.core.status import Status
from orchestrator.report import common as rf
from orchestrator.report import plots
from orchestrator.report.curve_chart import curves_figure, lined
from orchestrator.report.importance import STYLE as IMPORTANCE_STYLE
from orchestrator.report.importance import importance_html
from orchestrator.report.params import parameter_figure, rank_correlations
from orchestrator.report.stages import parallel_figure, stages_figure
from orchestrator.results.run import Run, load_run
from orchestrator.schedulers import decision_epochs
from orchestrator.search.proposed_by import MODEL, WARM_UP
from orchestrator.search.space import Choice, Constant, Space
from orchestrator.sweepfile.parse import parse_sweep

TOP = 10
ALL_ROWS = 500  # the page's table of trials holds at most this many, the best first
TITLES = {
    "curves": "Every cost curve",
    "best": "The best trial",
    "parameters": "The metric against each hyperparameter",
    "parallel": "The top trials",
    "stages": "Coarse to fine",
}
REFRESH_SECONDS = 10  # a running sweep's page reloads itself this often
_STYLE = (
    "body{font-family:sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
    "padding:3px 6px;text-align:right}img{max-width:100%}.note{color:#555}"
    "figure{margin:1.5em 0}figcaption{color:#555;font-size:14px}" + IMPORTANCE_STYLE
)


@dataclass(frozen=True)
class Shape:
    """What the report needs from the sweep file: the space, the rungs, the epoch budget."""

    space: Space | None
    rungs: tuple[int, ...]
    max_epochs: int
    problem: str = ""  # why the sweep file could not be read back, if it could not


def sweep_shape(run: Run) -> Shape:
    """The sweep's shape from the sweep file kept in its store."""
    seen = int(run.curves["epoch"].max()) if len(run.curves) else 0
    try:
        # the trainer's module is not imported: a report runs none of a sweep's code
        spec = parse_sweep(run.source, run.path, import_trainer=False)
    except InputError as err:
        return Shape(None, (), seen, str(err))
    return Shape(spec.space, decision_epochs(spec.scheduler, spec.max_epochs), spec.max_epochs)


def searched(run: Run, space: Space) -> list[str]:
    """The parameters worth a panel: sampled, and able to take more than one value."""
    return [
        name
        for name, p in space.params.items()
        if name in run.trials
        and not isinstance(p, Constant)
        and not (isinstance(p, Choice) and len(p.values) < 2)
    ]


def figures(run: Run, shape: Shape) -> dict[str, tuple[str, Figure]]:
    """name -> (caption, figure) for every figure the run's data allows."""
    out: dict[str, tuple[str, Figure]] = {}
    top = _top(run)
    best_id = str(top.index[0]) if len(top) else None
    model = rf.by_model(run.trials)
    hollow = ""
    if model is not None:
        kinds = set(run.trials["proposed_by"].astype(str))
        rest = ["its random warm-up"] if WARM_UP in kinds else []
        rest += ["another stage's sampler"] if kinds - {MODEL, WARM_UP} else []
        hollow = f" Filled: proposed by the TPE model; hollow: {' or '.join(rest)}." if rest else ""
    paused = bool((run.trials["state"] == TrialState.PAUSED).any())
    minimize = run.direction == "minimize"
    column = run.curve_column
    if len(run.curves):
        caption = (
            _curves_lead(run)
            + ("Trials still paused at a rung are olive, with ‖ at the end. " if paused else "")
            + (
                "A hollow circle marks each epoch where a trial waited at a rung and was "
                "then promoted, training on from its checkpoint there. "
                if rf.promoted_pauses(run.trials)
                else ""
            )
            + (
                f"Costs above {rf.CLIP:g}× the median first-epoch cost are drawn on that ceiling."
                if column == "val_cost"
                else "Values that blew up (NaN, infinite) are drawn at the top."
            )
        )
        drawn = curves_figure(run.trials, run.curves, best_id, shape.rungs, minimize, column=column)
        out["curves"] = (caption, drawn)
    if best_id is not None and column == "val_cost":  # a trainer of your own has no costs
        curve = run.curves[run.curves["trial_id"] == best_id]
        out["best"] = (
            f"The best trial, {best_id}: its costs and validation accuracy per epoch (the "
            "drawing `caviar train --plot` makes in panda mode).",
            plots.training_figure(curve, None, f"best trial: {best_id}"),
        )
    space = shape.space
    diverged = bool((run.trials["state"] == TrialState.DIVERGED).any())
    names = searched(run, space) if space is not None else []
    if space is None or not names or (best_id is None and not diverged):
        return out
    ranks = rank_correlations(run.trials, space, names)
    names = [*ranks, *(n for n in names if n not in ranks)]  # the most telling first
    ranked = ", ".join(f"{n} {r:.2f}" for n, r in ranks.items())
    out["parameters"] = (
        f"Best {run.metric} of each trial against each hyperparameter, on its own scale. Grey: "
        "pruned (judged on fewer epochs); "
        + ("olive: paused at a rung (judged on fewer epochs); " if paused else "")
        + "red ×: diverged; star: the best."
        + (f" Rank correlation |Spearman ρ| with the metric: {ranked}." if ranked else "")
        + ("" if best_id else " No trial has a usable value: the red × show where they were.")
        + hollow,
        parameter_figure(run.trials, space, run.metric, names, minimize),
    )
    if best_id is None:
        return out
    out["parallel"] = (
        f"The top {TOP} trials across every hyperparameter and the metric; each axis spans "
        "the parameter's sampled range on its own scale." + hollow,
        parallel_figure(top, space, names, run.metric, best_id, minimize, model),
    )
    pair = list(ranks)[:2]
    if len(run.boxes) > 1 and len(pair) == 2:
        out["stages"] = (
            f"Each stage's sampling box on the two parameters that rank the trials best, "
            f"{pair[0]} and {pair[1]} (largest |Spearman ρ| between the parameter and the "
            "metric: a simple rank correlation, not a model of the response)." + hollow,
            stages_figure(run.trials, space, pair, run.boxes),
        )
    return out


def _curves_lead(run: Run) -> str:
    """The curve chart's caption up to its notes: every curve, or the best and a band."""
    keep = lined(run.trials, run.curves, run.direction == "minimize")
    what = "Validation cost" if run.curve_column == "val_cost" else run.curve_column
    if keep is None:
        return (
            f"{what} of every trial: completed (and running) trials a colour each, "
            "pruned grey, diverged red with × where it blew up, the best in black. "
        )
    count = int(run.curves["trial_id"].nunique())
    return (
        f"{what} of the best {len(keep)} trials by {run.metric} (completed and "
        "running trials a colour each, pruned grey, the best in black), and a red × where "
        f"each diverged trial blew up. The other {count - len(keep):,} trials are "
        "shown as a band: at each epoch the grey band spans the 10th to 90th percentile of "
        f"the values of all {count:,} trials that reached it, the dashed line is their median. "
    )


def _top(run: Run) -> pd.DataFrame:
    """The best trials that did not diverge (a diverged trial may keep a finite best)."""
    ranked = run.best(len(run.trials))
    return ranked[ranked["state"] != TrialState.DIVERGED].head(TOP)


@dataclass(frozen=True)
class Savings:
    """Epochs the ended trials trained against running each of them to the budget."""

    ended: int
    trained: int
    full: int
    by_state: dict[str, int]  # epochs left untrained, by how the trial ended

    @property
    def saved(self) -> int:
        return self.full - self.trained


def epoch_savings(trials: pd.DataFrame, max_epochs: int) -> Savings:
    ended = trials[~trials["state"].isin(LIVE)]
    left = (max_epochs - ended["epochs"]).clip(lower=0)
    by_state = {str(k): int(v) for k, v in left.groupby(ended["state"]).sum().items() if v}
    trained = int(ended["epochs"].sum())
    return Savings(len(ended), trained, len(ended) * max_epochs, by_state)


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def build_html(
    run_dir: Path, written: str | None = None, importance: bool = True
) -> tuple[str, dict[str, bytes]]:
    """The report's HTML and its figures as PNG bytes; `importance=False` leaves out which
    hyperparameters mattered (benchmarks/bench_results.py times the page both ways)."""
    run = load_run(run_dir)
    shape = sweep_shape(run)
    drawn = figures(run, shape)
    pngs = {name: png_bytes(fig) for name, (_, fig) in drawn.items()}
    captions = {name: caption for name, (caption, _) in drawn.items()}
    written = written or time.strftime("%Y-%m-%d %H:%M:%S")
    mattered = _mattered(run, shape) if importance else ""
    return page(run, shape, pngs, captions, written, mattered), pngs


def _mattered(run: Run, shape: Shape) -> str:
    """The section on which hyperparameters mattered; none before a trial has finished an
    epoch, nor when the sweep file no longer reads back (its space is unknown)."""
    if shape.space is None or not shape.space.dims or not len(run.curves):
        return ""
    return importance_html(run.importance(), run.metric, shape.space)


def page(
    run: Run,
    shape: Shape,
    pngs: dict[str, bytes],
    captions: dict[str, str],
    written: str,
    mattered: str = "",
) -> str:
    """The page around the figures; `mattered` is the section on which hyperparameters
    mattered (HTML), put after the leaderboard."""
    esc = html.escape
    counts = run.counts()
    running = run.state == SweepState.RUNNING
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<meta http-equiv='refresh' content='{REFRESH_SECONDS}'>" if running else "",
        f"<title>Caviar report: {esc(run.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Sweep {esc(run.name)}</h1>",
        f"<p>State: <b>{esc(run.state)}</b>. {len(run.trials):,} trials: "
        + esc(", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())) or "none yet")
        + f". Metric: {esc(run.metric)} ({esc(run.direction)}). Written {esc(written)}"
        + (
            f"; this page reloads every {REFRESH_SECONDS} s while the sweep runs."
            if running
            else "."
        )
        + "</p>",
        _savings_html(epoch_savings(run.trials, shape.max_epochs), shape.max_epochs),
        _proposals_html(run.trials),
        _promotions_html(run.trials),
    ]
    if shape.problem:
        parts.append(
            "<p class='note'>The sweep file kept with the results no longer reads back "
            f"({esc(shape.problem)}), so the parameter plots and which hyperparameters "
            "mattered are left out.</p>"
        )
    parts.append(_status_html(run))
    parts.append(mattered)
    titles = dict(TITLES)
    if run.curve_column != "val_cost":  # a trainer of one's own: its metric's curves
        titles["curves"] = f"Every curve of {run.curve_column}"
    for name, data in pngs.items():
        encoded = base64.b64encode(data).decode("ascii")
        parts.append(
            f"<figure><h2>{esc(titles.get(name, name))}</h2>"
            f"<img alt='{esc(name)}' src='data:image/png;base64,{encoded}'>"
            f"<figcaption>{esc(captions[name])}</figcaption></figure>"
        )
    if len(run.trials):
        parts.append(_trials_html(run))
    parts.append("<p class='note'>Written by caviar report.</p></body></html>")
    return "\n".join(p for p in parts if p)


def _trials_html(run: Run) -> str:
    """Every trial in a collapsible table; of a sweep with more than ALL_ROWS, the best."""
    shown = run.trials if len(run.trials) <= ALL_ROWS else run.best(ALL_ROWS)
    if len(shown) == len(run.trials):
        summary = f"All {len(run.trials)} trials"
    else:
        summary = (
            f"The best {len(shown):,} of {len(run.trials):,} trials "
            f"(<code>caviar export {html.escape(str(run.path))}</code> writes every one)"
        )
    hidden = ["started", "ended", "worker"]
    if "devices" in shown and not shown["devices"].astype(bool).any():
        hidden.append("devices")  # no trial saw a GPU: an empty column says nothing
    table = shown.reset_index().drop(columns=hidden)
    return (
        f"<details><summary>{summary}</summary>"
        + table.to_html(index=False, escape=True, na_rep="", float_format=_short)
        + "</details>"
    )


def _status_html(run: Run) -> str:
    """The leaderboard, or a sentence saying why there is none yet."""
    counts = run.counts()
    if not len(run.trials):
        return "<p class='note'><b>No trial has started yet</b>: nothing to show.</p>"
    metric = html.escape(run.metric)
    if counts.get(TrialState.DIVERGED, 0) == len(run.trials):
        return (
            f"<p class='note'><b>Every trial diverged</b>: none trained to a usable {metric}, "
            "so there is nothing to rank. Try smaller learning rates.</p>"
        )
    if not len(run.curves):
        return "<p class='note'><b>No trial has finished an epoch yet</b>: nothing to rank.</p>"
    if not len(run.best(1)):
        return f"<p class='note'><b>No trial has a usable {metric} yet</b>: nothing to rank.</p>"
    board = run.leaderboard(TOP).to_html(index=False, escape=True, float_format=_short)
    return f"<h2>Leaderboard</h2>{board}"


def _savings_html(s: Savings, max_epochs: int) -> str:
    if not s.ended:
        return "<p>Epochs saved by pruning: none to count until a trial ends.</p>"
    how: dict[str, str] = {
        TrialState.PRUNED: "by pruning",
        TrialState.DIVERGED: "by stopping diverged trials at once",
        TrialState.PAUSED: "by leaving trials paused at a rung",
    }
    split = ", ".join(f"{v:,} {how.get(k, f'by {k} trials')}" for k, v in s.by_state.items())
    return (
        f"<p>Running each of the {s.ended:,} ended trials to {max_epochs} epochs would take "
        f"{s.full:,} epochs; they trained {s.trained:,}, so <b>{s.saved:,} epochs were saved</b> "
        f"({100 * s.saved / s.full if s.full else 0:.0f} %)"
        + (f": {split}." if split else ".")
        + "</p>"
    )


def proposals_text(trials: pd.DataFrame) -> str:
    """How many trials the TPE model proposed and how many were its random warm-up; empty
    for a sweep without a tpe stage."""
    if "proposed_by" not in trials:
        return ""
    kinds = trials["proposed_by"].astype(str).value_counts()
    model, warm = int(kinds.get(MODEL, 0)), int(kinds.get(WARM_UP, 0))
    if not model and not warm:
        return ""
    others = {k: int(n) for k, n in kinds.items() if k not in (MODEL, WARM_UP, "")}
    return (
        f"The TPE model proposed {model} of the {len(trials)} trials; {warm} {_were(warm)} "
        "its random warm-up, sampled before it had results enough to model"
        + "".join(f"; {n} came from the {k} sampler" for k, n in sorted(others.items()))
        + "."
    )


def promotions_text(trials: pd.DataFrame) -> str:
    """How many trials waited at a rung and were promoted, and how many still wait there;
    empty for a sweep that paused none."""
    promoted = rf.promoted_pauses(trials)
    paused = set(trials.index[trials["state"] == TrialState.PAUSED].astype(str))
    if not promoted and not paused:
        return ""
    times = sum(len(epochs) for epochs in promoted.values())
    again = len(paused & set(promoted))
    return (
        f"{_trials(len(promoted))} {_were(len(promoted))} paused at a rung and later promoted, "
        "training on from their checkpoints"
        + (f" ({times} promotions in all)" if times != len(promoted) else "")
        + f"; {len(paused)} {'is' if len(paused) == 1 else 'are'} still paused at a rung"
        + (f" ({again} of them after an earlier promotion)" if again else "")
        + "."
    )


def _trials(n: int) -> str:
    return f"{n} trial" + ("" if n == 1 else "s")


def _were(n: int) -> str:
    return "was" if n == 1 else "were"


def _proposals_html(trials: pd.DataFrame) -> str:
    text = proposals_text(trials)
    return f"<p>{html.escape(text)}</p>" if text else ""


def _promotions_html(trials: pd.DataFrame) -> str:
    text = promotions_text(trials)
    return f"<p>{html.escape(text)}</p>" if text else ""


def _short(value: float) -> str:
    return f"{value:.4g}"


def write_report(
    run_dir: Path, out: Path | None = None, png_dir: Path | None = None, importance: bool = True
) -> Path:
    """Write the report (atomically) and, with `png_dir`, each figure as NAME.png there;
    `importance=False` leaves out which hyperparameters mattered."""
    html_text, pngs = build_html(run_dir, importance=importance)
    out = out or Path(run_dir) / "report.html"
    write_atomically(out, html_text.encode("utf-8"))
    if png_dir is not None:
        png_dir.mkdir(parents=True, exist_ok=True)
        for name, data in pngs.items():
            write_atomically(png_dir / f"{name}.png", data)
    return out


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class LiveReport:
    """An on_status hook for `caviar run --report`: rewrites the report every `every`
    seconds and once at the end, passing each status on to `inner` (the progress display).

    A write never starts sooner than 4× the last one took after it began, so a big sweep's
    driver spends at most a fifth of its time drawing. A report that cannot be written is
    said once; the sweep goes on.
    """

    def __init__(
        self,
        run_dir: Path,
        inner: Callable[[Status], None] | None = None,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        write: Callable[[Path], object] = write_report,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.run_dir, self.inner, self.every, self.clock = run_dir, inner, every, clock
        self.write, self.warn = write, warn or _stderr
        self._next = -math.inf
        self.written = 0
        self.failed = 0

    def __call__(self, status: Status) -> None:
        if self.inner is not None:
            self.inner(status)
        start = self.clock()
        if not status.final and start < self._next:
            return
        try:
            self.write(self.run_dir)
            self.written += 1
        except Exception as err:  # a report is a view: it must never stop the sweep
            self.failed += 1
            if self.failed == 1:
                self.warn(
                    f"report: could not write it in {self.run_dir} ({err}); the sweep goes on"
                )
        took = self.clock() - start
        self._next = start + max(self.every, 4 * took)

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)

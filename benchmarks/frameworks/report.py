"""compare.py's tables: per dataset a line per row, medians over seeds with their range, and
wall times over Ray Tune's paired seed by seed."""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path

from benchmarks.common.processes import WORKERS
from benchmarks.common.text import spread
from benchmarks.frameworks.rows import ROWS, TUNE_DEFAULT, TUNE_REUSE, Budget, Measure, Plan, Row


def machine() -> str:
    import optuna
    import ray

    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    kib = next(
        (
            int(ln.split()[1])
            for ln in Path("/proc/meminfo").read_text().splitlines()
            if ln.startswith("MemTotal")
        ),
        0,
    )
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {kib / 2**20:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, Ray {ray.__version__}, "
        f"Optuna {optuna.__version__}"
    )


def pair_ratios(runs: list[Measure], base: list[Measure]) -> list[float]:
    """Wall time over the baseline's, repetition by repetition (same seed, same invocation)."""
    walls = {b.rep: b.wall for b in base if b.ok}
    return [m.wall / walls[m.rep] for m in runs if m.ok and m.rep in walls]


def table(measures: list[Measure], plan: Plan, repeat: int) -> list[str]:
    """The Markdown tables, one per dataset."""
    return [line for budget in plan.budgets for line in budget_table(measures, budget, repeat)]


def budget_table(measures: list[Measure], budget: Budget, repeat: int) -> list[str]:
    """One dataset's table: a line per row that ran, then what ran less and what failed."""
    mine = [m for m in measures if m.budget == budget.name]
    by_row = {r.label: [m for m in mine if m.row == r.label and m.ok] for r in ROWS}
    lines = [
        f"\n### {budget.name} (`{budget.dataset}`): {budget.trials} trials x "
        f"{budget.epochs} epochs, {WORKERS} at a time\n",
        *([budget.note, ""] if budget.note else []),
        "| run | runs | process s | first epoch s | / Tune default | / Tune reuse | epochs "
        "| best val cost | best val accuracy |",
        "|---|---|---|---|---|---|---|---|---|",
        *(table_line(row, by_row) for row in ROWS if by_row[row.label]),
        f"\nRay Tune with its defaults (a new actor per trial) ran in "
        f"{len(by_row[TUNE_DEFAULT])} of {repeat} repetition(s) here; '/ Tune default' pairs "
        "only those.",
    ]
    notes = [f"{m.row}, seed {m.rep}: {m.note}" for m in mine if m.note]
    return lines + ([""] + [f"- {n}" for n in notes] if notes else [])


def table_line(row: Row, by_row: dict[str, list[Measure]]) -> str:
    """A row's cells: medians over its runs, ratios paired seed by seed."""
    runs = by_row[row.label]
    vs_default = pair_ratios(runs, by_row[TUNE_DEFAULT])
    vs_reuse = pair_ratios(runs, by_row[TUNE_REUSE])
    return (
        f"| {row.label} | {len(runs)} | {spread([m.wall for m in runs], 1)} "
        f"| {spread([m.points[0][0] if m.points else math.nan for m in runs], 1)} "
        f"| {spread(vs_default, 2, unit='x')} | {spread(vs_reuse, 2, unit='x')} "
        f"| {spread([m.epochs for m in runs], 0)} "
        f"| {spread([m.best(1, 1.0) for m in runs], 4)} "
        f"| {spread([m.best(2, -1.0) for m in runs], 1, 100, ' %')} |"
    )


def report(measures: list[Measure], plan: Plan, command: str, meta: dict[str, str]) -> str:
    """The Markdown of a run: how it was run, the tables, what the columns mean."""
    repeat, total = int(meta["repeat"]), float(meta["seconds"])
    lines = [
        "## Caviar, Ray Tune and Optuna on one sweep",
        "",
        f"`.venv/bin/python {command.strip()}` on {meta['date']}, "
        f"{repeat} repetition(s) (seeds 0..{repeat - 1}), {total / 60:.0f} min in all.",
        f"Machine: {meta['machine']}; load average {meta['load_before']} before, "
        f"{meta['load_after']} after.",
        *table(measures, plan, repeat),
        "",
        "process s = wall time of the whole process (`caviar run FILE --plain --workers 2`; "
        "a Python process that starts Ray, loads the data, fits and stops Ray for Ray Tune; "
        "a process that creates the study and runs 2 worker processes for Optuna). Medians "
        "over seeds, range in brackets; ratios are taken seed by seed within this run. first "
        "epoch s = process launch to the end of the first epoch of any trial. Best "
        "values are the lowest validation cost and highest validation accuracy of any "
        "epoch of any trial.",
    ]
    return "\n".join(lines) + "\n"

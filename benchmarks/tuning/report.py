"""quality.py's Markdown: how it was run, the targets of the default method, one table per
task, the methods skipped."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from benchmarks.tuning.methods import EQUAL_TIME_TRIALS, REFERENCE, RIVAL, Settings
from benchmarks.tuning.regret import bootstrap, iqm, measures, median

# -- the report ---------------------------------------------------------------------------

Table = dict[str, dict[str, list[dict[str, float]]]]  # task -> method -> one entry per seed


def collect(pairs: Sequence[dict[str, Any]], settings: Settings) -> Table:
    table: Table = {}
    for pair in pairs:
        for method, m in measures(pair, settings).items():
            table.setdefault(pair["task"], {}).setdefault(method, []).append(m)
    return table


def regret_cell(values: Sequence[float]) -> str:
    lo, hi = bootstrap(values)
    return f"{median(values):.4f} · {iqm(values):.4f} [{lo:.4f}–{hi:.4f}]"


def reach_cell(values: Sequence[float]) -> str:
    reached = sum(math.isfinite(v) for v in values)
    mid = median(values)
    text = "never" if not math.isfinite(mid) else f"{mid:.2f}"
    return f"{text} ({reached}/{len(values)})"


def task_table(rows: dict[str, list[dict[str, float]]], order: Sequence[str]) -> list[str]:
    lines = [
        "| method | regret @25 % epochs | @100 % epochs | @25 % time | @100 % time "
        "| epochs to FIFO's best | time to FIFO's best | epochs used |",
        "| --- | --- | --- | --- | --- | --- | --- | ---: |",
    ]
    for method in order:
        if method not in rows:
            continue
        seeds = rows[method]
        cells = [regret_cell([s[k] for s in seeds]) for k in ("e25", "e100", "t25", "t100")]
        cells += [reach_cell([s[k] for s in seeds]) for k in ("reach", "reach_time")]
        cells.append(f"{median([s['used'] for s in seeds]):.2f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def targets(table: Table, default: str) -> list[str]:
    """The issue's targets for the default method, each with OK or MISS."""
    tasks = sorted(table)
    if not tasks or any(default not in table[t] or RIVAL not in table[t] for t in tasks):
        return [f"- targets not evaluated: {default} or {RIVAL} has no results on every task"]
    need = math.ceil(5 * len(tasks) / 6)  # 5 of 6 tasks
    wins = []
    for task in tasks:
        mine, theirs = table[task][default], table[task][RIVAL]
        if all(
            median([s[k] for s in mine]) <= median([s[k] for s in theirs]) for k in ("e25", "e100")
        ):
            wins.append(task)
    reach = [median([s["reach"] for s in table[t][default]]) for t in tasks]
    mean_reach = sum(reach) / len(reach)
    each = ", ".join(
        f"{t} {r:.2f}" if math.isfinite(r) else f"{t} never"
        for t, r in zip(tasks, reach, strict=True)
    )
    return [
        f"- {default}: median regret <= {RIVAL}'s at 25 % and at 100 % of the budget on "
        f"{len(wins)} of {len(tasks)} tasks ({', '.join(wins) or 'none'}); target >= {need}: "
        f"{'OK' if len(wins) >= need else 'MISS'}",
        f"- {default}: reaches {REFERENCE}'s final best with {mean_reach:.2f} of its epochs on "
        f"average over tasks ({each}; never counts as inf); target <= 0.33: "
        f"{'OK' if mean_reach <= 1 / 3 else 'MISS'}",
    ]


def report(raw: dict[str, Any]) -> str:
    """The markdown: how it was run, the targets, one table per task, skipped methods."""
    meta, pairs = raw["meta"], raw["pairs"]
    settings = Settings(**meta["settings"])
    table = collect(pairs, settings)
    order = list(meta["methods"])
    lines = [
        "# Tuning quality on a simulated clock (benchmarks/quality.py)",
        "",
        f"`{meta['command']}` on {meta['date']}; load average {meta['load_before']} before, "
        f"{meta['load_after']} after; {meta['wall']:.0f} s wall.",
        f"{settings.trials} trials x {settings.epochs} epochs at most, {settings.workers} "
        f"simulated workers, seeds {', '.join(map(str, meta['seeds']))}; default method "
        f"{meta['default']}."
        + (
            f" Equal time: every method other than {REFERENCE} runs for {REFERENCE}'s "
            f"simulated makespan and may start up to {EQUAL_TIME_TRIALS} times as many trials."
            if settings.equal_time
            else ""
        ),
        "",
        "Regret: 0 = the best val_cost any method found on that task and seed, 1 = the median "
        "first-epoch val_cost of random + FIFO's trials (clipped to [0, 1]; 1 before any "
        "result). Columns @x % epochs: after x % of the FIFO budget's epochs (trials x "
        "epochs); @x % time: after x % of random + FIFO's simulated makespan. Cells: median "
        "· IQM [95 % bootstrap interval of the IQM] over seeds. 'to FIFO's best': the share "
        "of random + FIFO's epochs (or makespan) a method spent before its best reached "
        "FIFO's final best, median over seeds (seeds that reached it). 'epochs used': "
        "share of the budget.",
        "",
        "## Targets",
        "",
        *targets(table, meta["default"]),
    ]
    for task in [t for t in meta["tasks"] if t in table]:
        lines += ["", f"## {task}", "", *task_table(table[task], order)]
    skipped = sorted(
        {f"- {m}: {r['skipped']}" for p in pairs for m, r in p["runs"].items() if "skipped" in r}
    )
    if skipped:
        lines += ["", "## Skipped", "", *skipped]
    return "\n".join(lines) + "\n"

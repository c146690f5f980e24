"""quality.py's Markdown: how it was run, the targets of the default method, one table per
task, the methods skipped; at equal time, the tables of `equal_time.py`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from benchmarks.tuning.equal_time import anchor_target, best_rank_target, overall_table, time_table
from benchmarks.tuning.methods import FIRST_SHARE, REFERENCE, RIVAL, Settings
from benchmarks.tuning.regret import Table, measures, median, regret_cell

# -- the report ---------------------------------------------------------------------------


def collect(pairs: Sequence[dict[str, Any]], settings: Settings) -> Table:
    table: Table = {}
    for pair in pairs:
        for method, m in measures(pair, settings).items():
            table.setdefault(pair["task"], {}).setdefault(method, []).append(m)
    return table


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


def header(meta: dict[str, Any], settings: Settings) -> list[str]:
    """How it was run: the command, the machine's load, the budget and the seeds."""
    parts = meta.get("parts", [])
    sittings = (
        f" Run in {len(parts)} sittings (--resume): "
        + "; ".join(
            f"{p['date']}, load {p['load_before']} before, {p['load_after']} after" for p in parts
        )
        + "."
        if len(parts) > 1
        else ""
    )
    return [
        "# Tuning quality on a simulated clock (benchmarks/quality.py)",
        "",
        f"`{meta['command']}` on {meta['date']}; load average {meta['load_before']} before, "
        f"{meta['load_after']} after; {meta['wall']:.0f} s wall.{sittings}",
        f"{settings.trials} trials x {settings.epochs} epochs at most, {settings.workers} "
        f"simulated workers, seeds {', '.join(map(str, meta['seeds']))}; default method "
        f"{meta['default']}."
        + (
            f" Equal time: every method other than {REFERENCE} runs for {REFERENCE}'s "
            "simulated makespan, starting trials until it is up (Caviar's sweeps: "
            "budget.time_limit with trials open, a two-stage method's first stage until "
            f"{FIRST_SHARE:.0%} of the time is spent)."
            if settings.equal_time
            else ""
        ),
        "",
    ]


REGRET = (
    "Regret: 0 = the best val_cost any method found on that task and seed, 1 = the median "
    "first-epoch val_cost of random + FIFO's trials (clipped to [0, 1]; 1 before any result)."
)


def equal_trials_lines(table: Table, meta: dict[str, Any]) -> list[str]:
    """The targets, then one table per task: regret after shares of FIFO's epochs and time."""
    lines = [
        f"{REGRET} Columns @x % epochs: after x % of the FIFO budget's epochs (trials x "
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
        lines += ["", f"## {task}", "", *task_table(table[task], meta["methods"])]
    return lines


def equal_time_lines(table: Table, meta: dict[str, Any]) -> list[str]:
    """The targets against the anchors, mean ranks and IQMs over tasks, one table per task."""
    lines = [
        f"{REGRET} @x % time: after x % of random + FIFO's simulated makespan (each method's "
        "budget). Cells: median · IQM [95 % bootstrap interval of the IQM] over seeds. Mean "
        "rank: each method ranked by its median regret on each task (1 = best, ties share), "
        "averaged over tasks. 'trials': started (DEHB: configurations, each trained again "
        "from scratch at every fidelity), median over seeds; 'epochs': trained, as a share "
        "of random + FIFO's (repeated epochs count again).",
        "",
        "## Targets",
        "",
        best_rank_target(table, meta["default"]),
        anchor_target(table, meta["default"]),
        "",
        "## Every task",
        "",
        *overall_table(table, meta["methods"]),
    ]
    for task in [t for t in meta["tasks"] if t in table]:
        lines += ["", f"## {task}", "", *time_table(table[task], meta["methods"])]
    return lines


def report(raw: dict[str, Any]) -> str:
    """The markdown: how it was run, the targets, the tables, the methods skipped; at equal
    time (`--equal-time`) judged by time alone, against the anchors."""
    meta, pairs = raw["meta"], raw["pairs"]
    settings = Settings(**meta["settings"])
    table = collect(pairs, settings)
    body = equal_time_lines if settings.equal_time else equal_trials_lines
    lines = [*header(meta, settings), *body(table, meta)]
    skipped = sorted(
        {f"- {m}: {r['skipped']}" for p in pairs for m, r in p["runs"].items() if "skipped" in r}
    )
    if skipped:
        lines += ["", "## Skipped", "", *skipped]
    return "\n".join(lines) + "\n"

"""quality.py's report at equal time (`--equal-time`): per task, the regret at 10, 25, 50 and
100 % of random + FIFO's simulated makespan; over tasks, each method's mean rank and the
interquartile mean of its regret; and the targets of the default method against the
anchors (Syne Tune's and DEHB)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from benchmarks.tuning.methods import ANCHORS
from benchmarks.tuning.regret import TIME_SHARES, Table, bootstrap, iqm, median, regret_cell

TARGET_KEYS = ("t25", "t100")  # the shares of the time the targets judge
ANCHOR_TASKS = 4 / 6  # the default method must match the best anchor on 4 tasks of 6


def _percent(key: str) -> str:
    return f"{TIME_SHARES[key] * 100:.0f} %"


def medians(table: Table, key: str) -> dict[str, dict[str, float]]:
    """task -> method -> the median over seeds of measure `key`."""
    return {
        task: {method: median([s[key] for s in seeds]) for method, seeds in rows.items()}
        for task, rows in table.items()
    }


def mean_ranks(table: Table, key: str) -> dict[str, float]:
    """Each method's rank by median regret on each task (1 = lowest; ties share the mean
    rank), averaged over the tasks it has results on."""
    from scipy.stats import rankdata

    ranks: dict[str, list[float]] = {}
    for by_method in medians(table, key).values():
        methods = sorted(by_method)
        for method, rank in zip(methods, rankdata([by_method[m] for m in methods]), strict=True):
            ranks.setdefault(method, []).append(float(rank))
    return {method: sum(r) / len(r) for method, r in ranks.items()}


def time_table(rows: dict[str, list[dict[str, float]]], order: Sequence[str]) -> list[str]:
    """One task: regret at each share of the time, trials started, epochs trained."""
    heads = " | ".join(f"regret @{_percent(k)} time" for k in TIME_SHARES)
    lines = [f"| method | {heads} | trials | epochs |", "| --- |" + " --- |" * 4 + " ---: | ---: |"]
    for method in [m for m in order if m in rows]:
        seeds = rows[method]
        cells = [regret_cell([s[k] for s in seeds]) for k in TIME_SHARES]
        trials = median([s["trials"] for s in seeds])
        cells += [f"{trials:.0f}", f"{median([s['used'] for s in seeds]):.2f}"]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def overall_table(table: Table, order: Sequence[str]) -> list[str]:
    """Every task: each method's mean rank, and the IQM of its regret over every task and
    seed with a 95 % bootstrap interval, at each share of the time."""
    ranks = {key: mean_ranks(table, key) for key in TIME_SHARES}
    heads = [f"mean rank @{_percent(k)}" for k in TIME_SHARES]
    heads += [f"IQM @{_percent(k)}" for k in TIME_SHARES]
    lines = ["| method | " + " | ".join(heads) + " |", "| --- |" + " ---: |" * len(heads)]
    for method in order:
        runs = [s for rows in table.values() for s in rows.get(method, [])]
        if not runs:
            continue
        cells = [f"{ranks[k][method]:.2f}" for k in TIME_SHARES]
        for key in TIME_SHARES:
            lo, hi = bootstrap([s[key] for s in runs])
            cells.append(f"{iqm([s[key] for s in runs]):.4f} [{lo:.4f}–{hi:.4f}]")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def best_rank_target(table: Table, default: str) -> str:
    """The default method's mean rank is the lowest of all (ties count) at 25 and 100 %."""
    parts, ok = [], True
    for key in TARGET_KEYS:
        ranks = mean_ranks(table, key)
        others = {m: r for m, r in ranks.items() if m != default}
        mine = ranks.get(default, math.inf)
        rival = min(others, key=lambda m: others[m]) if others else "nobody"
        ok = ok and mine <= min(others.values(), default=math.inf)
        parts.append(
            f"@{_percent(key)}: {mine:.2f} (best other: {rival} {others.get(rival, 0):.2f})"
        )
    return (
        f"- {default}: the best mean rank of all methods at 25 % and 100 % of the time "
        f"({'; '.join(parts)}): {'OK' if ok else 'MISS'}"
    )


def anchor_target(table: Table, default: str) -> str:
    """The default method's median regret <= the best anchor's on 4 of 6 tasks, at 25 % and
    at 100 % of the time both."""
    tasks = sorted(t for t in table if default in table[t] and set(ANCHORS) & set(table[t]))
    if not tasks:
        return f"- anchor target not evaluated: {default} or every anchor has no results"
    need = math.ceil(ANCHOR_TASKS * len(table) - 1e-9)
    wins, each = [], []
    for task in tasks:
        texts, won = [], True
        for key in TARGET_KEYS:
            by = medians({task: table[task]}, key)[task]
            anchor = min((m for m in ANCHORS if m in by), key=lambda m: by[m])
            won = won and by[default] <= by[anchor]
            texts.append(f"@{_percent(key)} {by[default]:.4f} vs {anchor} {by[anchor]:.4f}")
        wins += [task] if won else []
        each.append(f"{task}: {', '.join(texts)}")
    return (
        f"- {default}: median regret <= the best anchor's at 25 % and at 100 % of the time on "
        f"{len(wins)} of {len(table)} tasks ({'; '.join(each)}); target >= {need}: "
        f"{'OK' if len(wins) >= need else 'MISS'}"
    )

"""bench_sweep.py's tables: each row's process, startup, fit phase and teardown beside Ray
Tune's and the ideal pool's, the driver's cost, null-trial overheads, scaling, targets."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.common.processes import WORKERS
from benchmarks.common.text import spread
from benchmarks.sweep.plan import (
    NULL_DATASET,
    REPORTED,
    SCALING_DATASET,
    SWEEP_ROWS,
    Plan,
    Runs,
    Timing,
)


def med(values: Sequence[float | None]) -> float | None:
    clean = [v for v in values if v is not None]
    return statistics.median(clean) if clean else None


def fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}{unit}"


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("OK" if ok else "MISS")


def median_of(runs: Runs, label: str, key: Callable[[Timing], float | None]) -> float | None:
    return med([key(t) for t in runs.get(label, [])])


def wall(runs: Runs, label: str) -> float | None:
    return median_of(runs, label, lambda t: t.wall)


def fit(runs: Runs, label: str) -> float | None:
    return median_of(runs, label, lambda t: t.fit)


def overhead_ms(runs: Runs, label: str) -> float | None:
    """Null trials' cost per trial beyond their own work: (total - ideal) / trials."""
    return median_of(
        runs, label, lambda t: (t.extra["total"] - t.extra["ideal"]) / t.extra["trials"] * 1e3
    )


def sweep_table(runs: Runs, plan: Plan) -> list[str]:
    """The digits sweep: a line per row that ran, what the columns mean, what went wrong."""
    notes = {
        f"{label}: {t.extra[key]}"
        for label in runs
        for t in runs[label]
        for key in ("exit", "mismatch")
        if key in t.extra
    }
    return [
        f"\n### Sweep: digits, {plan.trials} trials x {plan.epochs} epochs, {WORKERS} at a time\n",
        "| run | runs | process s | startup s | fit phase s | teardown s | epochs "
        "| process / Tune default | process / Tune reuse | fit / ideal pool | reported before s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(sweep_line(runs, label) for label in SWEEP_ROWS if label in runs),
        "\nprocess = wall time of the whole child process (`caviar run FILE --plain --workers "
        "2` for Caviar;\na Python child that starts Ray, fits and shuts Ray down for Ray Tune; "
        "the Pool(2) child for the ideal)\n= startup (to the first trial's start) + fit phase "
        "(to the last trial's end) + teardown.\nTrial starts and ends: trials.started/ended in "
        "Caviar's sweep.db; time.time() in the trials elsewhere.\nMedians, range in brackets. "
        "Ray Tune without reuse_actors ran once (over 2 minutes per run at full size).",
        *(f"note: {note}" for note in sorted(notes)),
    ]


def sweep_line(runs: Runs, label: str) -> str:
    """A sweep row; Caviar's process time over Tune's, and FIFO fit phases over the pool's."""
    rs, sched = runs[label], label.split()[1]
    caviar = label.startswith("Caviar")
    vs_default = ratio(wall(runs, label), wall(runs, f"Tune {sched} default")) if caviar else None
    vs_reuse = ratio(wall(runs, label), wall(runs, f"Tune {sched} reuse")) if caviar else None
    vs_pool = ratio(fit(runs, label), fit(runs, "pool FIFO")) if sched == "FIFO" else None
    name = "ideal Pool(2), no framework" if label == "pool FIFO" else label
    return (
        f"| {name} | {len(rs)} | {spread([t.wall for t in rs], 1)} "
        f"| {fmt(median_of(runs, label, lambda t: t.startup))} "
        f"| {spread([t.fit for t in rs], 1)} "
        f"| {fmt(median_of(runs, label, lambda t: t.teardown))} | {rs[0].epochs} "
        f"| {fmt(vs_default, 2, 'x')} | {fmt(vs_reuse, 2, 'x')} | {fmt(vs_pool, 2, 'x')} "
        f"| {REPORTED.get(label, '')} |"
    )


DRIVER_ROWS = ("Caviar FIFO", "Caviar FIFO no dashboard", "Caviar FIFO attached", "Caviar ASHA")


def driver_table(runs: Runs, plan: Plan) -> list[str]:
    """What the driver cost, and how long the user waited for a first number."""
    lines = [
        f"\n### Driver: digits, {plan.trials} trials x {plan.epochs} epochs\n",
        "| run | driver CPU ms/epoch | first epoch s after launch | startup s | teardown s |",
        "|---|---|---|---|---|",
    ]
    for label in DRIVER_ROWS:
        if label in runs:
            lines.append(
                f"| {label} "
                f"| {spread([t.extra['driver_ms_per_epoch'] for t in runs[label]], 3)} "
                f"| {spread([t.extra['first_epoch'] for t in runs[label]], 2)} "
                f"| {fmt(median_of(runs, label, lambda t: t.startup))} "
                f"| {fmt(median_of(runs, label, lambda t: t.teardown))} |"
            )
    return [
        *lines,
        "\ndriver CPU = CPU seconds of the `caviar run` process while it drove the sweep (its "
        "Ray client threads included),\nas the sweep records it, over the epochs trained. "
        "first epoch = when the driver recorded the first result,\nfrom the process's launch.",
    ]


def null_table(runs: Runs, plan: Plan) -> list[str]:
    """Trials too small to cost anything but the framework's overhead."""
    return [
        f"\n### Null trials: {plan.null_trials} trials x {plan.null_epochs} reports, "
        f"{WORKERS} at a time\n",
        "| run | runs | total s | ideal s | overhead ms/trial | worker pool start s "
        "| warm-up s | after warm-up ms/trial | reported before |",
        "|---|---|---|---|---|---|---|---|---|",
        *(
            null_line(runs, label)
            for label in ("Caviar null", "Tune null default", "Tune null reuse")
            if label in runs
        ),
        "\nCaviar: orchestrator.core.loop.Sweep + RayExecutor in one process on "
        f"'{NULL_DATASET}' (one mini-batch per epoch);\ntotal = Sweep.run() with the worker "
        "pool already up (its start is the last column), ideal = the same trials' TrialHost "
        f"work in-process / {WORKERS}.\nRay Tune: tuner.fit() of a function trainable that "
        "only reports; ideal 0. overhead = (total - ideal) / trials.\nwarm-up = Sweep.run() "
        "start until every worker has ended its first trial (which loads the dataset);\n"
        "after warm-up = the same overhead over the trials that ended after that.",
    ]


def null_line(runs: Runs, label: str) -> str:
    def extra(key: str, digits: int) -> str:
        return fmt(median_of(runs, label, lambda t: t.extra.get(key)), digits)

    return (
        f"| {label} | {len(runs[label])} | {extra('total', 2)} | {extra('ideal', 2)} "
        f"| {fmt(overhead_ms(runs, label), 1)} | {extra('pool_start', 2)} "
        f"| {extra('warm_up', 2)} | {extra('steady_ms', 1)} | {REPORTED.get(label, '')} |"
    )


def scaling_table(runs: Runs, plan: Plan) -> list[str]:
    """Caviar on a large set with 1 and 2 workers (nothing where neither ran: --smoke)."""
    if not any(f"scaling {w}w" in runs for w in (1, 2)):
        return []
    lines = [
        f"\n### Scaling: Caviar on '{SCALING_DATASET}', 2x256 b128 adam, "
        f"{plan.scaling_trials} trials x {plan.scaling_epochs} epochs\n",
        "| workers | runs | process s | startup s | fit phase s | median s/epoch |",
        "|---|---|---|---|---|---|",
    ]
    for w in (1, 2):
        label = f"scaling {w}w"
        if label in runs:
            lines.append(
                f"| {w} | {len(runs[label])} | {fmt(wall(runs, label))} "
                f"| {fmt(median_of(runs, label, lambda t: t.startup))} "
                f"| {spread([t.fit for t in runs[label]], 1)} "
                f"| {fmt(median_of(runs, label, lambda t: t.extra.get('epoch_seconds')), 2)} |"
            )
    return [*lines, "\nThe fit phase includes each worker loading the dataset on its first trial."]


Target = tuple[str, float | None, float, bool]  # name, measured, goal, goal is a minimum


def targets(runs: Runs, scaled: dict[str, Any] | None = None) -> list[Target]:
    """Each target: its name, the measured value, the goal, and whether it is a minimum."""
    found: list[Target] = []
    for sched in ("FIFO", "ASHA"):
        for kind, goal in (("default", 0.1), ("reuse", 0.6)):
            value = ratio(wall(runs, f"Caviar {sched}"), wall(runs, f"Tune {sched} {kind}"))
            found.append((f"caviar run process / Ray Tune {kind}, {sched}", value, goal, False))
    driver = median_of(runs, "Caviar FIFO", lambda t: t.extra.get("driver_ms_per_epoch"))
    first = median_of(runs, "Caviar FIFO attached", lambda t: t.extra.get("first_epoch"))
    found += [
        (
            "Caviar FIFO fit phase / ideal pool",
            ratio(fit(runs, "Caviar FIFO"), fit(runs, "pool FIFO")),
            1.15,
            False,
        ),
        ("Caviar FIFO driver CPU, ms/epoch", driver, 0.5, False),
        ("Caviar null-trial overhead, ms/trial", overhead_ms(runs, "Caviar null"), 5, False),
        ("attached to caviar up: first epoch after launch, s", first, 1.0, False),
        (
            "scaling: fit phase 1 worker / 2 workers",
            ratio(fit(runs, "scaling 1w"), fit(runs, "scaling 2w")),
            1.8,
            True,
        ),
    ]
    for label, r in (scaled or {}).items():
        for command, seconds in r.commands.items():
            found.append((f"scale, {label}: caviar {command}, s", seconds, 10, False))
    return found


def targets_table(runs: Runs, scaled: dict[str, Any] | None = None) -> list[str]:
    lines = ["\n### Targets\n", "| target | measured | goal | |", "|---|---|---|---|"]
    for name, value, goal, at_least in targets(runs, scaled):
        unit = "" if ("ms" in name or name.endswith(", s")) else "x"
        ok = (
            None
            if value is None or not math.isfinite(value)
            else (value >= goal if at_least else value <= goal)
        )
        lines.append(
            f"| {name} | {fmt(value, 2, unit)} | {'>=' if at_least else '<='} {goal:g}{unit} "
            f"| {verdict(ok)} |"
        )
    return lines


TABLES = (sweep_table, driver_table, null_table, scaling_table)

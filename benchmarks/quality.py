"""Tuning quality without a wall clock: which method finds a good network with fewest epochs.

Run from the repository root (Optuna comes with ``.venv/bin/pip install -e '.[bench]'``):

    .venv/bin/python benchmarks/quality.py [--seeds 10] [--tasks digits,moons] [--jobs 2]
    .venv/bin/python benchmarks/quality.py --from-raw   # redo table and plot from the JSON

Every method trains the real worker (workers.mlp.trainer.Trainer) in process on a simulated
clock with 4 workers, an epoch costing its measured seconds (benchmarks/simclock.py), so
results arrive in the order a cluster would deliver them. Caviar's methods run its own
loop, store and schedulers; Optuna's run TPE with its pruners on the same clock. Output:
the normalized regret of the best validation cost so far against epochs and simulated
time, as quality.md, quality.png and quality-raw.json under --out.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import math
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Before numpy: importing the harness holds every BLAS to one thread, here and in children.
from benchmarks.harness import ROOT, load_average  # noqa: E402

DEFAULT_METHOD = "tpe+hyperband-promote"  # the built-in sweep's, chosen by this benchmark
REFERENCE = "random+fifo"  # regret 1 is its median first epoch; every target compares to it
RIVAL = "optuna-tpe+sha"  # the default method's targets are set against it
OPTUNA_STREAM = 7  # the child of the master seed Optuna's sampler is seeded from
CSV_LABEL = "quality"

# Built-in tasks by name; "csv" is a make_classification set written to a CSV file.
TASKS: dict[str, str | None] = {
    "synthetic": "synthetic:rows=5000,features=40,classes=5",
    "digits": "digits",
    "csv": None,
    "breast_cancer": "breast_cancer",
    "spirals": "spirals",
    "moons": "moons:noise=0.3",
}

# The course's space (orchestrator/sweepfile/sweeps/digits.yaml, plus L2): scales as taught.
MODEL = {"lr_decay": "inverse_time"}
SPACE: dict[str, Any] = {
    "learning_rate": {"type": "log_uniform", "low": 1e-4, "high": 1},
    "hidden_units": {"type": "int_uniform", "low": 50, "high": 100},
    "hidden_layers": {"type": "int_uniform", "low": 2, "high": 4},
    "batch_size": {"type": "power_of_two", "low": 32, "high": 256},
    "optimizer": ["momentum", "adam"],
    "beta": {
        "type": "one_minus_log_uniform",
        "low": 0.9,
        "high": 0.999,
        "when": {"optimizer": "momentum"},
    },
    "beta1": {
        "type": "one_minus_log_uniform",
        "low": 0.8,
        "high": 0.95,
        "when": {"optimizer": "adam"},
    },
    "beta2": {
        "type": "one_minus_log_uniform",
        "low": 0.99,
        "high": 0.9999,
        "when": {"optimizer": "adam"},
    },
    "decay_rate": {"type": "log_uniform", "low": 1e-3, "high": 1},
    "l2": {"type": "log_uniform", "low": 1e-5, "high": 1},  # lambda/(2m) * sum W^2, m = batch
}


def _asha(mode: str, name: str = "asha") -> dict[str, Any]:
    return {"name": name, "grace_period": 1, "reduction_factor": 3, "mode": mode}


def _split(trials: int) -> tuple[int, int]:
    """A quarter of the trials in a first stage, the rest in the second."""
    first = max(1, trials // 4)
    return first, trials - first


def _zoom(trials: int) -> dict[str, Any]:
    first, rest = _split(trials)
    zoom = {"top_k": max(2, first // 4)}  # around the best quarter of the first stage
    return {"stages": [{"trials": first}, {"trials": rest, "zoom": zoom}]}


def _tpe(trials: int) -> dict[str, Any]:
    first, rest = _split(trials)
    return {"stages": [{"trials": first, "sampler": "sobol"}, {"trials": rest, "sampler": "tpe"}]}


# What each Caviar method sets in its sweep file, given the trials; Optuna's take none.
CAVIAR: dict[str, Callable[[int], dict[str, Any]]] = {
    REFERENCE: lambda n: {"sampler": "random", "scheduler": "fifo"},
    "random+asha-stop": lambda n: {"sampler": "random", "scheduler": _asha("stop")},
    "random+asha-promote": lambda n: {"sampler": "random", "scheduler": _asha("promote")},
    "sobol+asha-promote": lambda n: {"sampler": "sobol", "scheduler": _asha("promote")},
    "c2f+asha-promote": lambda n: {**_zoom(n), "scheduler": _asha("promote")},
    "tpe+asha-promote": lambda n: {**_tpe(n), "scheduler": _asha("promote")},
    "tpe+hyperband-promote": lambda n: {**_tpe(n), "scheduler": _asha("promote", "hyperband")},
}
OPTUNA = ("optuna-tpe+sha", "optuna-tpe+hyperband")
METHODS = (*CAVIAR, *OPTUNA)


EQUAL_TIME_TRIALS = 10  # --equal-time: trials per method, as a multiple of --trials


@dataclass(frozen=True)
class Settings:
    trials: int = 64
    epochs: int = 40
    workers: int = 4
    equal_time: bool = False  # every method runs for random + FIFO's simulated makespan

    @property
    def budget(self) -> int:
        """Random + FIFO's epochs: every trial to the end."""
        return self.trials * self.epochs


# -- one task and seed, every method (in a worker process) --------------------------------


def write_csv(folder: Path) -> dict[str, str]:
    """A 4-class make_classification set as a CSV file with a text label column; the same
    file for every seed (each seed splits it differently), loaded as {path, label}."""
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=3000,
        n_features=20,
        n_informative=8,
        n_redundant=4,
        n_classes=4,
        flip_y=0.03,
        random_state=0,
    )
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame[CSV_LABEL] = [("poor", "fair", "good", "fine")[k] for k in y]
    path = folder / "quality.csv"
    frame.to_csv(path, index=False)
    return {"path": str(path), "label": CSV_LABEL}


def sweep_source(
    task: str,
    dataset: Any,
    method: str,
    seed: int,
    settings: Settings,
    time_limit: float | None = None,
) -> dict[str, Any]:
    """The sweep file of a method, as a dict; Optuna's methods take its space and budget.
    With a `time_limit`, the method may start many more trials, until that time is up."""
    trials = settings.trials
    if time_limit is not None and method != REFERENCE:
        trials *= EQUAL_TIME_TRIALS
    source: dict[str, Any] = {
        "name": f"{task}-{method.replace('+', '_')}-{seed}",
        "dataset": dataset,
        "seed": seed,
        "metric": "val_cost",
        "model": dict(MODEL),
        "space": json.loads(json.dumps(SPACE)),
        "budget": {"trials": trials, "max_epochs": settings.epochs},
    }
    if time_limit is not None and method != REFERENCE:
        source["budget"]["time_limit"] = time_limit
    source.update(CAVIAR[method](trials) if method in CAVIAR else {})
    return source


def summarize(points: Sequence[Any], trained: int, wall: float) -> dict[str, Any]:
    """A run as the report needs it: each new best (epochs spent, simulated time, value),
    the first epoch of every trial, the epochs and the makespan; `trained` of the epochs
    were computed for this run (the rest came from the cache), in `wall` seconds."""
    best, steps, first = math.inf, [], {}
    for spent, p in enumerate(points, start=1):
        if p.epoch == 1:
            first[p.trial] = None if math.isnan(p.val_cost) else p.val_cost
        if not math.isnan(p.val_cost) and p.val_cost < best:  # a diverged epoch never counts
            best = p.val_cost
            steps.append([spent, p.time, best])
    return {
        "best": steps,
        "first": [first[k] for k in sorted(first)],
        "epochs": len(points),
        "makespan": points[-1].time if points else 0.0,
        "trials": len({p.trial for p in points}),
        "diverged": sum(math.isnan(p.val_cost) for p in points),
        "trained": trained,
        "wall": wall,
    }


def run_pair(task: str, seed: int, methods: Sequence[str], settings: Settings) -> dict[str, Any]:
    """Every method on one task and seed, sharing one epoch cache."""
    import optuna

    from benchmarks.compare import suggest
    from benchmarks.simclock import EpochCache, check_resume, run_caviar, run_optuna
    from caviar_common.seeds import stream, trial_seed
    from orchestrator.sweepfile.parse import parse_sweep

    start = time.perf_counter()
    cache = EpochCache()
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="quality-") as tmp:
        dataset = TASKS[task] if task != "csv" else write_csv(Path(tmp))
        probe = parse_sweep(sweep_source(task, dataset, REFERENCE, seed, settings))
        check_resume({"hidden_units": 16, **MODEL}, cache.dataset(probe.data), trial_seed(seed, 0))
        limit: float | None = None  # --equal-time: random + FIFO's makespan, once it ran
        for method in sorted(methods, key=lambda m: m != REFERENCE):
            source = sweep_source(task, dataset, method, seed, settings, limit)
            try:
                spec = parse_sweep(source)  # as `caviar run` parses the file
            except ValueError as err:
                runs[method] = {"skipped": f"sweep spec does not parse: {err}"}
                continue
            trained, began = cache.trained, time.perf_counter()
            try:
                if method in OPTUNA:
                    sampler_seed = int(stream(seed, OPTUNA_STREAM).generate_state(1)[0])
                    pruner: Any = optuna.pruners.SuccessiveHalvingPruner(
                        min_resource=1, reduction_factor=3
                    )
                    if method.endswith("hyperband"):
                        pruner = optuna.pruners.HyperbandPruner(
                            min_resource=1, max_resource=settings.epochs, reduction_factor=3
                        )
                    points = run_optuna(
                        spec, cache, pruner, sampler_seed, suggest, settings.workers, limit
                    )
                else:
                    run_dir = Path(tmp) / "runs" / spec.name
                    points = run_caviar(spec, cache, run_dir, settings.workers)
            except Exception as err:  # one broken method must not sink the others' results
                runs[method] = {"skipped": f"failed: {type(err).__name__}: {err}"}
                continue
            wall = time.perf_counter() - began
            runs[method] = summarize(points, cache.trained - trained, wall)
            if method == REFERENCE and settings.equal_time and points:
                limit = points[-1].time
    return {
        "task": task,
        "seed": seed,
        "runs": runs,
        "trained": cache.trained,
        "train_seconds": cache.train_seconds,
        "wall": time.perf_counter() - start,
    }


# -- regret -------------------------------------------------------------------------------


def best_at(run: dict[str, Any], limit: float, column: int) -> float:
    """The run's best value once `column` (0: epochs spent, 1: time) reached `limit`."""
    best = math.inf
    for step in run["best"]:
        if step[column] > limit:
            break
        best = step[2]
    return best


@dataclass(frozen=True)
class Scale:
    """One task and seed's regret scale: 0 at the best value any method found, 1 at the
    median first epoch of random + FIFO's trials."""

    low: float
    high: float
    fifo_best: float
    fifo_epochs: int
    fifo_makespan: float

    @classmethod
    def of(cls, pair: dict[str, Any]) -> Scale:
        import numpy as np

        runs = [r for r in pair["runs"].values() if "skipped" not in r and r["best"]]
        low = min(r["best"][-1][2] for r in runs)
        fifo = pair["runs"][REFERENCE]
        firsts = [v for v in fifo["first"] if v is not None]
        high = float(np.median(firsts)) if firsts else low + 1.0
        return cls(low, high, fifo["best"][-1][2], fifo["epochs"], fifo["makespan"])

    def regret(self, value: float) -> float:
        """Clipped to [0, 1]: no result yet, or one worse than a typical first epoch, is 1."""
        return min(1.0, max(0.0, (value - self.low) / max(self.high - self.low, 1e-12)))


def measures(pair: dict[str, Any], settings: Settings) -> dict[str, dict[str, float]]:
    """Per method: regret at 25 % and 100 % of the FIFO budget in epochs and in time, and
    the share of FIFO's epochs (and time) it needed to reach FIFO's final best."""
    scale = Scale.of(pair)
    out = {}
    for method, run in pair["runs"].items():
        if "skipped" in run or not run["best"]:
            continue
        reach = next((s for s in run["best"] if s[2] <= scale.fifo_best), None)
        out[method] = {
            "e25": scale.regret(best_at(run, 0.25 * settings.budget, 0)),
            "e100": scale.regret(best_at(run, settings.budget, 0)),
            "t25": scale.regret(best_at(run, 0.25 * scale.fifo_makespan, 1)),
            "t100": scale.regret(best_at(run, scale.fifo_makespan, 1)),
            "reach": math.inf if reach is None else reach[0] / scale.fifo_epochs,
            "reach_time": math.inf if reach is None else reach[1] / scale.fifo_makespan,
            "used": run["epochs"] / settings.budget,
        }
    return out


def curve(pair: dict[str, Any], method: str, grid: Any, column: int, settings: Settings) -> Any:
    """Regret on a grid of budget fractions: of the FIFO budget's epochs (column 0) or of
    FIFO's makespan (column 1)."""
    import numpy as np

    scale = Scale.of(pair)
    whole = settings.budget if column == 0 else scale.fifo_makespan
    run = pair["runs"][method]
    return np.array([scale.regret(best_at(run, f * whole, column)) for f in grid])


def iqm(values: Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle half."""
    from scipy.stats import trim_mean

    return float(trim_mean(values, 0.25))


def bootstrap(values: Sequence[float], reps: int = 2000) -> tuple[float, float]:
    """A 95 % percentile bootstrap interval of the IQM over seeds."""
    import numpy as np
    from scipy.stats import trim_mean

    x = np.asarray(values, dtype=float)
    rng = np.random.default_rng(0)
    samples = trim_mean(x[rng.integers(0, len(x), (reps, len(x)))], 0.25, axis=1)
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return float(lo), float(hi)


def median(values: Sequence[float]) -> float:
    import numpy as np

    return float(np.median(values)) if len(values) else math.nan


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


def plot(raw: dict[str, Any], path: Path) -> None:
    """Median regret over seeds against the share of the FIFO budget (top row: epochs,
    bottom row: simulated time), one panel per task, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    meta, pairs = raw["meta"], raw["pairs"]
    settings = Settings(**meta["settings"])
    tasks = [t for t in meta["tasks"] if any(p["task"] == t for p in pairs)]
    grid = np.geomspace(0.5 / settings.budget, 1.0, 200)
    fig, axes = plt.subplots(2, len(tasks), figsize=(3.6 * len(tasks), 6.4), squeeze=False)
    colors = plt.get_cmap("tab10")
    for col, task in enumerate(tasks):
        mine = [p for p in pairs if p["task"] == task]
        for row, (column, xlabel) in enumerate(((0, "epochs / FIFO's"), (1, "time / FIFO's"))):
            ax = axes[row][col]
            for i, method in enumerate(meta["methods"]):
                runs = [p for p in mine if "skipped" not in p["runs"].get(method, {"skipped": 1})]
                if not runs:
                    continue
                ys = np.median([curve(p, method, grid, column, settings) for p in runs], axis=0)
                bold = method == meta["default"]
                ax.plot(
                    grid,
                    ys,
                    label=method,
                    color=colors(i % 10),
                    lw=2.4 if bold else 1.2,
                    gid=f"{task}/{method}/{'epochs' if column == 0 else 'time'}",
                )
            ax.set_xscale("log")
            # regrets span 1e-4..1 (1 is about chance level): log above 1e-3, linear below
            ax.set_yscale("symlog", linthresh=1e-3)
            ax.set_ylim(0, 1.05)
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(task)
            if col == 0:
                ax.set_ylabel("normalized regret (median)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    ncol = max(2, min(5, len(tasks) * 3 // 2))  # about 2.4 inches a label
    rows = math.ceil(len(labels) / ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8)
    fig.tight_layout(rect=(0, 0.035 * rows + 0.01, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- the command line ---------------------------------------------------------------------


def _names(text: str, known: Sequence[str], what: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise SystemExit(f"--{what}: unknown {unknown or text!r}; choose from {', '.join(known)}")
    return names


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated tasks")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods")
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--workers", type=int, default=4, help="simulated workers")
    parser.add_argument("--jobs", type=int, default=2, help="processes, each a (task, seed)")
    parser.add_argument(
        "--equal-time",
        action="store_true",
        help=f"every method runs for random + FIFO's simulated makespan, starting up to "
        f"{EQUAL_TIME_TRIALS} x --trials trials (output: quality-equal-time.*)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--default", default=DEFAULT_METHOD, help="the method the targets judge")
    parser.add_argument(
        "--from-raw",
        nargs="?",
        const="",
        default=None,
        help="redo the table and plot from a raw JSON (default: OUT/quality-raw.json)",
    )
    args = parser.parse_args(argv)
    for key in ("seeds", "trials", "epochs", "workers", "jobs"):
        if getattr(args, key) < (4 if key == "trials" else 1):
            parser.error(f"--{key} must be at least {4 if key == 'trials' else 1}")
    args.tasks = _names(args.tasks, list(TASKS), "tasks")
    args.methods = _names(args.methods, METHODS, "methods")
    if REFERENCE not in args.methods:  # the regret scale and every target need it
        print(f"note: {REFERENCE} added, as the reference of the regret scale")
        args.methods.insert(0, REFERENCE)
    if args.default not in METHODS:
        parser.error(f"--default must be one of {', '.join(METHODS)}, got {args.default!r}")
    return args


def run_all(args: argparse.Namespace, settings: Settings) -> list[dict[str, Any]]:
    """Every (task, seed), the costliest tasks first, in --jobs processes."""
    jobs = [(t, s) for t in args.tasks for s in range(args.seeds)]
    pairs: list[dict[str, Any]] = []
    noted: set[str] = set()

    def done(pair: dict[str, Any]) -> None:
        pairs.append(pair)
        skipped = [m for m, r in pair["runs"].items() if "skipped" in r]
        for method in skipped:
            note = f"note: {method} skipped: {pair['runs'][method]['skipped']}"
            if note not in noted:  # once, not once per task and seed
                noted.add(note)
                print(note, flush=True)
        print(
            f"{pair['task']} seed {pair['seed']}: {pair['trained']} epochs trained "
            f"({pair['train_seconds']:.1f} s of them), {pair['wall']:.1f} s wall, "
            f"{pair['trained'] / max(pair['wall'], 1e-9):.0f} epochs/s"
            + (f"; skipped {', '.join(skipped)}" if skipped else ""),
            flush=True,
        )

    if args.jobs == 1:
        for task, seed in jobs:
            done(run_pair(task, seed, args.methods, settings))
        return pairs
    spawn = multiprocessing.get_context("spawn")  # a clean process: no forked BLAS pools
    with concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=spawn) as pool:
        futures = [pool.submit(run_pair, t, s, args.methods, settings) for t, s in jobs]
        for future in concurrent.futures.as_completed(futures):
            done(future.result())
    order = {job: i for i, job in enumerate(jobs)}
    return sorted(pairs, key=lambda p: order[(p["task"], p["seed"])])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    stem = "quality-equal-time" if args.equal_time else "quality"
    raw_path = out / f"{stem}-raw.json"
    if args.from_raw is not None:
        raw = json.loads(Path(args.from_raw or raw_path).read_text())
        raw["meta"]["default"] = args.default
    else:
        settings = Settings(args.trials, args.epochs, args.workers, args.equal_time)
        command = " ".join([Path(sys.executable).name, *sys.argv])
        date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        before = load_average()
        print(f"{command}\n{date}; load average before: {before}", flush=True)
        began = time.perf_counter()
        pairs = run_all(args, settings)
        wall = time.perf_counter() - began
        after = load_average()
        trained = sum(p["trained"] for p in pairs)
        print(
            f"load average after: {after}; {wall:.0f} s wall, {trained} epochs trained "
            f"({trained / max(wall, 1e-9):.0f} epochs/s over {args.jobs} process(es))"
        )
        meta = {
            "command": command,
            "date": date,
            "load_before": before,
            "load_after": after,
            "wall": wall,
            "settings": vars(settings),
            "seeds": list(range(args.seeds)),
            "tasks": args.tasks,
            "methods": args.methods,
            "default": args.default,
            "jobs": args.jobs,
        }
        raw = {"meta": meta, "pairs": pairs}
        raw_path.write_text(json.dumps(raw))
    text = report(raw)
    (out / f"{stem}.md").write_text(text)
    plot(raw, out / f"{stem}.png")
    print(text)
    print(f"written: {out / f'{stem}.md'}, {out / f'{stem}.png'}, {raw_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

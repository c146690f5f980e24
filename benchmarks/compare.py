"""One sweep on Caviar, Ray Tune and Optuna: wall time, epochs and the best value found.

Run from the repository root (not part of the test suite; Ray Tune and Optuna come with
``.venv/bin/pip install -e '.[bench]'`` and only this benchmark needs them):

    .venv/bin/python benchmarks/compare.py [--quick] [--repeat N] [--keep] [--out DIR]

The sweep is orchestrator/sweepfile/sweeps/digits.yaml (its space, ASHA with grace 1 and eta 3),
on digits and on a large synthetic set, with the same trials, epochs and 2 trials at a
time for every framework, and workers.mlp.trainer.Trainer doing every epoch. Each run is a
fresh process (with its own Ray and RAY_TMPDIR where it uses Ray). It writes a Markdown
table (compare.md) and the anytime curves (anytime.png) to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Before numpy: importing the harness holds every BLAS to one thread, here and in children.
from benchmarks import harness  # noqa: E402
from benchmarks.harness import ROOT, WORKERS, load_average, spread  # noqa: E402

SWEEP_FILE = ROOT / "orchestrator" / "sweepfile" / "sweeps" / "digits.yaml"
OPTUNA_STREAM = 7  # child seeds of the master seed for Optuna's samplers, one per process
OTHER_BENCHMARKS = "benchmarks/bench_"  # a full run waits while one of these runs


@dataclass(frozen=True)
class Budget:
    """One dataset's sweep: trials and epochs per trial, the same for every framework."""

    name: str
    dataset: str
    trials: int
    epochs: int
    tune_default_runs: int | None = None  # repetitions that run Ray Tune default; None: all
    note: str = ""


@dataclass(frozen=True)
class Plan:
    """The datasets a run covers (repetitions: --repeat, 3 by default, 1 with --quick)."""

    budgets: tuple[Budget, ...]
    suffix: str  # of the output files


LARGE = "synthetic:rows=60000,features=784,classes=10"
FULL = Plan(
    (
        Budget("digits", "digits", 32, 30),  # digits.yaml's own budget
        Budget(
            "large synthetic",
            LARGE,
            16,
            6,
            note="A smaller budget than digits': an epoch here takes 0.2-0.7 s on one core "
            "(about 0.01 s on digits).",
        ),
    ),
    suffix="",
)
QUICK = Plan((Budget("digits", "digits", 16, 10, tune_default_runs=1),), suffix="-quick")


@dataclass(frozen=True)
class Row:
    """One way of running the sweep."""

    label: str
    kind: str  # caviar, tune or optuna
    sampler: str = "random"
    scheduler: str = "asha"
    two_stage: bool = False
    reuse: bool = False  # Ray Tune's reuse_actors
    mode: str = "stop"  # ASHA's: stop, or pause and promote


ROWS = (
    Row("Caviar random + ASHA", "caviar"),
    Row("Caviar random + median", "caviar", scheduler="median"),
    Row("Caviar Sobol + ASHA", "caviar", sampler="sobol"),
    Row("Caviar coarse-to-fine + ASHA", "caviar", two_stage=True),
    Row("Caviar TPE + ASHA promote", "caviar", sampler="tpe", mode="promote"),
    Row(
        "Caviar default: Sobol, TPE + Hyperband promote",
        "caviar",
        sampler="sobol+tpe",
        scheduler="hyperband",
        mode="promote",
    ),
    Row("Ray Tune random + ASHA, default", "tune"),
    Row("Ray Tune random + ASHA, reuse_actors", "tune", reuse=True),
    Row("Optuna TPE + successive halving", "optuna"),
)
TUNE_DEFAULT = "Ray Tune random + ASHA, default"
TUNE_REUSE = "Ray Tune random + ASHA, reuse_actors"


@dataclass
class Measure:
    """One run: its process wall time and every epoch it trained."""

    budget: str
    row: str
    rep: int
    wall: float = math.nan
    # (seconds since the process was launched, val_cost, val_accuracy), in time order
    points: list[tuple[float, float, float]] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return math.isfinite(self.wall)

    @property
    def epochs(self) -> int:
        return len(self.points)

    def best(self, column: int, sign: float) -> float:
        values = [sign * p[column] for p in self.points if math.isfinite(p[column])]
        return sign * min(values) if values else math.nan


# -- the sweep file, as each Caviar row runs it -------------------------------------------


def sweep_source(budget: Budget, row: Row, seed: int, results: Path) -> dict[str, Any]:
    """digits.yaml with this row's sampler, scheduler, stages, dataset, budget and seed."""
    from orchestrator.sweepfile.parse import load_sweep

    source = dict(load_sweep(SWEEP_FILE).source)
    source.pop("stages", None)  # each row sets its own
    slug = "-".join(re.sub(r"[^a-z0-9 ]", " ", row.label.lower()).split())  # a directory name
    grace, eta = 1, 3
    scheduler: dict[str, Any] = {
        "name": "asha",
        "grace_period": grace,
        "reduction_factor": eta,
        "mode": row.mode,
    }
    if row.scheduler == "median":
        scheduler = {"name": "median", "grace_period": grace}
    if row.scheduler == "hyperband":
        scheduler = {**scheduler, "name": "hyperband"}
    source.update(
        name=f"{budget.name.split()[-1]}-{slug}-{seed}",
        dataset=budget.dataset,
        seed=seed,
        sampler=row.sampler,
        scheduler=scheduler,
        budget={"trials": budget.trials, "max_epochs": budget.epochs},
        results=str(results),
    )
    if row.sampler == "sobol+tpe":  # the built-in sweep's: a quarter Sobol, then TPE
        first = budget.trials // 4
        source.pop("sampler")
        source["stages"] = [
            {"trials": first, "sampler": "sobol"},
            {"trials": budget.trials - first, "sampler": "tpe"},
        ]
    if row.two_stage:  # half the trials coarse, half zoomed around the best eighth
        first = budget.trials // 2
        source["stages"] = [
            {"trials": first},
            {"trials": budget.trials - first, "zoom": {"top_k": max(2, first // 4)}},
        ]
    return source


# -- children: each run in its own process ------------------------------------------------


class EpochLog:
    """Appends one JSON line per epoch, with the wall-clock time it ended."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, trial: int, record: Any) -> None:
        line = {
            "t": time.time(),
            "trial": trial,
            "epoch": record.epoch,
            "val_cost": record.val_cost,
            "val_accuracy": record.val_accuracy,
        }
        with self.path.open("a") as out:
            out.write(json.dumps(line) + "\n")


def read_epoch_logs(folder: Path) -> list[dict[str, Any]]:
    lines = [ln for p in sorted(folder.glob("*.jsonl")) for ln in p.read_text().splitlines()]
    return sorted((json.loads(ln) for ln in lines if ln.strip()), key=lambda e: e["t"])


def tune_child(task: dict[str, Any]) -> dict[str, Any]:
    """Ray Tune: a function trainable, one `tune.report` per epoch, ASHA, 2 at a time.

    It trains Caviar's own random sample for the seed (the configurations and trial seeds
    of the Caviar random + ASHA row), so the two differ only in how they run and prune.
    """
    from orchestrator.sweepfile.parse import parse_sweep

    spec = parse_sweep(task["source"])
    logs = Path(task["dir"])

    def on_epoch(number: int, record: Any) -> None:
        EpochLog(logs / f"trial-{number:04d}.jsonl").write(number, record)

    grid, _ = harness.tune_trials(
        harness.FixedTrials.plan(spec),
        spec.max_epochs,
        spec.scheduler.settings,
        reuse=task["reuse"],
        storage=logs / "tune",
        name="tune",
        on_epoch=on_epoch,
    )
    return {"trials": len(grid)}


def suggest(trial: Any, space: Any, fixed: dict[str, Any]) -> dict[str, Any]:
    """A configuration from Caviar's space through Optuna's own suggest API, scale for scale."""
    from orchestrator.search import space as sp

    config = dict(fixed)
    for name, param in space.params.items():
        if not space.active(name, config):
            continue
        if isinstance(param, sp.Constant):
            value = param.value
        elif isinstance(param, sp.Choice):
            value = trial.suggest_categorical(name, list(param.values))
        elif isinstance(param, sp.LogUniform | sp.Uniform):
            log = isinstance(param, sp.LogUniform)
            value = trial.suggest_float(name, param.low, param.high, log=log)
        elif isinstance(param, sp.OneMinusLogUniform):  # 1 - beta is log-uniform
            value = 1 - trial.suggest_float(f"1-{name}", 1 - param.high, 1 - param.low, log=True)
        elif isinstance(param, sp.IntUniform | sp.LogInt):
            log = isinstance(param, sp.LogInt)
            value = trial.suggest_int(name, param.low, param.high, log=log)
        elif isinstance(param, sp.PowerOfTwo):
            ks = param.exponents
            value = 2 ** trial.suggest_int(f"log2_{name}", ks[0], ks[-1])
        else:
            raise ValueError(f"space.{name}: no Optuna equivalent of {param.kind}")
        config[name] = value
    return config


def journal_storage(folder: Path) -> Any:
    """The study's storage: a journal file that both Optuna processes append to."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(folder / "journal.log")))


def optuna_child(task: dict[str, Any]) -> dict[str, Any]:
    """Optuna: one study in a JournalStorage file, optimized by 2 worker processes."""
    import optuna

    from orchestrator.sweepfile.parse import parse_sweep

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = parse_sweep(task["source"])
    folder = Path(task["dir"])
    storage = journal_storage(folder)
    optuna.create_study(study_name=spec.name, storage=storage, direction="minimize")
    workers = [{**task, "kind": "optuna-worker", "index": i} for i in range(WORKERS)]
    procs = [subprocess.Popen(harness.child_argv(__file__, w)) for w in workers]
    codes = [p.wait() for p in procs]
    if any(codes):
        raise RuntimeError(f"Optuna worker processes exited {codes}")
    study = optuna.load_study(study_name=spec.name, storage=storage)
    states: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        if t.number < spec.total_trials:
            states[t.state.name] = states.get(t.state.name, 0) + 1
    return {"trials": sum(states.values()), "states": states}


def optuna_worker(task: dict[str, Any]) -> dict[str, Any]:
    """One of Optuna's processes: TPE proposes, Trainer trains, the pruner halves."""
    import optuna

    from caviar_common.seeds import stream
    from orchestrator.sweepfile.parse import parse_sweep

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # a NaN (diverged) trial warns
    spec = parse_sweep(task["source"])
    folder, index = Path(task["dir"]), task["index"]
    dataset = harness.load_data(spec.data)
    storage = journal_storage(folder)
    seed = stream(spec.seed, OPTUNA_STREAM, index).generate_state(1)
    settings = spec.scheduler.settings
    study = optuna.load_study(
        study_name=spec.name,
        storage=storage,
        sampler=optuna.samplers.TPESampler(seed=int(seed[0])),
        pruner=optuna.pruners.SuccessiveHalvingPruner(
            min_resource=settings["grace_period"],
            reduction_factor=int(settings["reduction_factor"]),
        ),
    )
    trials, epochs = spec.total_trials, spec.max_epochs
    log = EpochLog(folder / f"worker-{index}.jsonl")

    def objective(trial: optuna.Trial) -> float:
        if trial.number >= trials:  # both processes started one as the last one ended
            trial.study.stop()
            raise optuna.TrialPruned("the budget is spent")
        number = trial.number + 1
        config = suggest(trial, spec.space, dict(spec.model))
        trainer = harness.make_trainer(spec.seed, number, config, dataset)
        best = math.inf
        for epoch in range(1, epochs + 1):
            record = trainer.step()
            log.write(number, record)
            if record.diverged:
                return math.nan  # a failed trial, which TPE leaves out
            best = min(best, record.val_cost)
            trial.report(record.val_cost, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return best

    cap = optuna.study.MaxTrialsCallback(trials, states=None)  # running ones count too
    study.optimize(objective, callbacks=[cap], gc_after_trial=False)
    return {}


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "tune": tune_child,
    "optuna": optuna_child,
    "optuna-worker": optuna_worker,
}


# -- the parent ---------------------------------------------------------------------------


def failure(run: harness.Finished) -> str:
    return f"exit {run.code}; log {run.log}: " + " | ".join(harness.tail(run.log, 3))


def measure_caviar(m: Measure, source: dict[str, Any], work: Path) -> None:
    """`caviar run FILE --plain --workers 2`; epochs and their end times from its store."""
    from orchestrator.results.run import load_run

    run = harness.run_caviar(source, work, own_ray_tmp=True)
    m.wall = run.wall
    run_dir = Path(source["results"]) / source["name"]
    sweep = load_run(run_dir) if (run_dir / "sweep.db").exists() else None
    if run.code != 0 or sweep is None or sweep.state != "finished":
        m.wall, m.note = math.nan, failure(run)
        return
    # The store has each trial's end time and each epoch's seconds: an epoch ended when
    # the trial ended minus the seconds of the epochs after it (late by the gaps between
    # epochs, so this never flatters Caviar).
    for trial_id, curve in sweep.curves.groupby("trial_id"):
        curve = curve.sort_values("epoch")
        after = curve["seconds"].fillna(0.0)[::-1].cumsum()[::-1] - curve["seconds"].fillna(0.0)
        ended = float(sweep.trials.loc[trial_id, "ended"])
        for (_, point), later in zip(curve.iterrows(), after, strict=True):
            m.points.append(
                (ended - later - run.launched, point["val_cost"], point["val_accuracy"])
            )
    m.points.sort()


def measure_child(m: Measure, task: dict[str, Any], work: Path) -> None:
    """A Ray Tune or Optuna run in a child process; epochs from the trials' own logs."""
    folder = work / task["name"]
    folder.mkdir()
    task = {**task, "dir": str(folder)}
    log = work / f"{task['name']}.log"
    run = harness.run_process(harness.child_argv(__file__, task), log, own_ray_tmp=True)
    m.wall = run.wall
    if run.code != 0 or run.result is None:
        m.wall, m.note = math.nan, failure(run)
        return
    for e in read_epoch_logs(folder):
        m.points.append((e["t"] - run.launched, e["val_cost"], e["val_accuracy"]))
    states = run.result.get("states")
    if states:
        m.note = ", ".join(f"{k.lower()} {v}" for k, v in sorted(states.items()))


def measure(budget: Budget, row: Row, rep: int, work: Path) -> Measure:
    m = Measure(budget.name, row.label, rep)
    source = sweep_source(budget, row, seed=rep, results=work / "runs")
    if row.kind == "caviar":
        measure_caviar(m, source, work)
    else:
        task = {"kind": row.kind, "name": source["name"], "source": source, "reuse": row.reuse}
        measure_child(m, task, work)
    return m


def other_benchmarks() -> list[str]:
    found = subprocess.run(["pgrep", "-af", OTHER_BENCHMARKS], capture_output=True, text=True)
    return [ln for ln in found.stdout.splitlines() if "pgrep" not in ln]


def wait_for_quiet_machine(poll: float = 60.0, load: float = 1.0) -> None:
    """Wait while another benchmark runs, then until the 1-minute load is below `load`:
    a figure measured under load is void."""
    while others := other_benchmarks():
        print(f"waiting: another benchmark runs ({others[0]})", flush=True)
        time.sleep(poll)
    while os.getloadavg()[0] >= load:
        print(f"waiting: load average {os.getloadavg()[0]:.2f} >= {load}", flush=True)
        time.sleep(15)


# -- reporting ----------------------------------------------------------------------------


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


def plot(measures: list[Measure], plan: Plan, path: Path) -> None:
    """Best value so far against wall time and against epochs, one panel pair per dataset.

    The seed also draws the validation split, so each curve is divided by the best value
    any run found with its seed: 1 is the best anyone found, curves of different seeds
    share a scale, and the median over seeds (min-max shaded) means something.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    colors = [
        "#1f4e9c",
        "#3b82c4",
        "#2a9d8f",
        "#7fb800",
        "#c51b7d",
        "#8c510a",
        "#d95f02",
        "#f4a259",
        "#7b3294",
    ]
    fig, axes = plt.subplots(
        len(plan.budgets), 2, figsize=(12, 4.2 * len(plan.budgets)), squeeze=False
    )
    for (ax_t, ax_e), budget in zip(axes, plan.budgets, strict=True):
        mine = [m for m in measures if m.budget == budget.name and m.ok]
        seed_best: dict[int, float] = {}
        for m in mine:
            seed_best[m.rep] = min(seed_best.get(m.rep, math.inf), m.best(1, 1.0))
        for color, row in zip(colors, ROWS, strict=True):
            runs = [m for m in mine if m.row == row.label]
            if not runs:
                continue
            for ax, x_of, end_of in (
                (ax_t, lambda m: [p[0] for p in m.points], lambda m: m.wall),
                (ax_e, lambda m: list(range(1, m.epochs + 1)), lambda m: m.epochs),
            ):
                end = statistics.median(end_of(m) for m in runs)
                grid = np.linspace(0, max(end_of(m) for m in runs), 400)
                curves = np.array([best_so_far(x_of(m), m, grid) / seed_best[m.rep] for m in runs])
                # inf (no epoch yet) keeps the median monotone: it appears once half have one
                mid = np.median(curves, axis=0)
                shown = (grid <= end) & np.isfinite(mid)
                ax.plot(grid[shown], mid[shown], color=color, label=f"{row.label} ({len(runs)})")
                if len(runs) > 1:
                    finite = np.where(np.isfinite(curves), curves, np.nan)
                    some = shown & np.isfinite(finite).any(axis=0)
                    with warnings.catch_warnings():  # all-NaN columns are masked out anyway
                        warnings.simplefilter("ignore", RuntimeWarning)
                        lo, hi = np.nanmin(finite, axis=0), np.nanmax(finite, axis=0)
                    ax.fill_between(grid[some], lo[some], hi[some], color=color, alpha=0.12)
        title = f"{budget.name}: {budget.trials} trials x {budget.epochs} epochs"
        for ax, xlabel in (
            (ax_t, "wall time since the process was launched, s"),
            (ax_e, "epochs trained, all trials"),
        ):
            ax.set_yscale("log")
            ax.set_ylim(0.97, 3)  # from 3x the best down: where runs differ
            ax.set_yticks([1, 1.1, 1.25, 1.5, 2, 3], ["1", "1.1", "1.25", "1.5", "2", "3"])
            ax.minorticks_off()
            ax.set_xlabel(xlabel)
            ax.set_ylabel("best val cost so far / best of the seed")
            ax.set_title(title)
            ax.grid(True, which="both", alpha=0.3)
        ax_e.legend(fontsize=8)
    fig.suptitle(
        "Anytime curves: best validation cost so far over the best any run found with the "
        "same seed (1 = that best); median over seeds, min-max shaded",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def best_so_far(xs: Sequence[float], m: Measure, grid: Any) -> Any:
    """The best finite val_cost among the points at or before each grid value (inf before)."""
    import numpy as np

    values = np.array([p[1] if math.isfinite(p[1]) else np.inf for p in m.points])
    if not len(values):
        return np.full(len(grid), np.inf)
    running = np.minimum.accumulate(values)
    idx = np.searchsorted(np.asarray(xs, dtype=float), grid, side="right") - 1
    return np.where(idx >= 0, running[np.clip(idx, 0, None)], np.inf)


# -- main ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    return harness.bench_main(parser(), argv, CHILDREN, lambda args: run(args, argv))


def parser() -> argparse.ArgumentParser:
    parser = harness.bench_parser(
        __doc__.split("\n\n")[0],
        quick="digits only, 16 trials x 10 epochs, one repetition: about 2 minutes",
        repeat="repetitions, seeds 0..N-1 (default 3)",
        keep="keep the sweeps, logs and journals",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results", help="where to write"
    )
    return parser


def run(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    """Every row on every dataset, seeds interleaved; then the table and the curves."""
    plan = QUICK if args.quick else FULL
    if not args.quick:
        wait_for_quiet_machine()
    work = Path(tempfile.mkdtemp(prefix="caviar-compare-"))
    command = " ".join(["benchmarks/compare.py", *(argv if argv is not None else sys.argv[1:])])
    started, load_before = time.perf_counter(), load_average()
    print(f"{machine()}\nwork in {work}; load average {load_before}", flush=True)
    measures: list[Measure] = []
    repeat = args.repeat
    for rep in range(repeat):  # seeds interleaved, so the shared machine's load hits every row
        for budget in plan.budgets:
            rows = ROWS[rep % len(ROWS) :] + ROWS[: rep % len(ROWS)]  # rotate the order
            for row in rows:
                cap = budget.tune_default_runs
                if row.label == TUNE_DEFAULT and cap is not None and rep >= cap:
                    continue
                t0 = time.perf_counter()
                m = measure(budget, row, rep, work)
                measures.append(m)
                print(
                    f"  seed {rep} {budget.name}: {row.label}: {m.wall:.1f} s, {m.epochs} "
                    f"epochs, best {m.best(1, 1.0):.4f} [{time.perf_counter() - t0:.0f} s] "
                    f"{m.note}",
                    flush=True,
                )
    total = time.perf_counter() - started
    lines = [
        "## Caviar, Ray Tune and Optuna on one sweep",
        "",
        f"`.venv/bin/python {command.strip()}` on {time.strftime('%Y-%m-%d')}, "
        f"{repeat} repetition(s) (seeds 0..{repeat - 1}), {total / 60:.0f} min in all.",
        f"Machine: {machine()}; load average {load_before} before, {load_average()} after.",
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
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"compare{plan.suffix}.md").write_text(text)
    plot(measures, plan, args.out / f"anytime{plan.suffix}.png")
    print(f"wrote {args.out / f'compare{plan.suffix}.md'} and anytime{plan.suffix}.png")
    harness.keep_or_remove(work, args.keep, "sweeps, logs and journals")
    return 0


if __name__ == "__main__":
    sys.exit(main())

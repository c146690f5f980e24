"""Wall time of one digits sweep run by Caviar, by Ray Tune and by a bare process pool.

Run from the repository root (not part of the test suite, except its smoke run; ray[tune]
comes with ``.venv/bin/pip install -e '.[bench]'``):

    .venv/bin/python benchmarks/bench_sweep.py [--quick] [--smoke] [--repeat N] [--keep] [--scale]
    .venv/bin/python -m benchmarks.bench_sweep ...      (the same)

Every framework trains the same fixed list of configurations (Caviar's own random
sample of the course's space, with the trial seeds Caviar gives them), 2 trials at a
time, one BLAS thread per process. Each Ray measurement starts its own Ray in a fresh
child process, except the "attached" row, whose `caviar run` joins a cluster from
`caviar up` started before it (and warmed by one unmeasured sweep). `--scale` adds the
10,000-trial rows (benchmarks/sweep/scale.py). It prints Markdown tables of wall times and
ratios next to their targets. `--smoke` runs three rows (Caviar FIFO, the pool, Caviar's
null trials; Ray Tune reuse too where it is installed) at a few trials and epochs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

if not __package__:  # run as a script: the benchmarks package of this working tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common.cli import bench_main, bench_parser
from benchmarks.common.entry import one_blas_thread
from benchmarks.common.processes import WORKERS, keep_or_remove
from benchmarks.common.text import load_average
from benchmarks.common.tune import tune_missing
from benchmarks.sweep import plan as plans
from benchmarks.sweep import scale
from benchmarks.sweep.children import TASKS
from benchmarks.sweep.clusters import up_cluster
from benchmarks.sweep.measure import Session
from benchmarks.sweep.plan import ASHA, QUICK, Plan, fixed_trials, scaling_source, sweep_source
from benchmarks.sweep.tables import TABLES, targets_table


def main(argv: Sequence[str] | None = None) -> int:
    one_blas_thread()  # before numpy loads, here and in every child
    return bench_main(parser(), argv, TASKS, run)


def parser() -> argparse.ArgumentParser:
    made = bench_parser(
        (__doc__ or "").split("\n\n")[0],
        quick=f"{QUICK.trials} trials x {QUICK.epochs} epochs, {QUICK.null_trials} null "
        "trials, one repetition: a few minutes",
        repeat="repetitions of the cheap rows (default 3, or 1 with --quick); Ray Tune "
        "without reuse_actors always runs once",
        keep="keep the results and logs",
    )
    made.add_argument(
        "--null-only",
        action="store_true",
        help="only the null-trial rows (Caviar and Ray Tune with reuse_actors)",
    )
    made.add_argument(
        "--scale",
        action="store_true",
        help="also run the 10,000-trial rows (1,000 with --quick or --smoke), on one node "
        "and on two",
    )
    return made


def run(args: argparse.Namespace) -> int:
    """The measurements, interleaved, then the tables."""
    plan = plans.SMOKE if args.smoke else plans.QUICK if args.quick else plans.FULL
    session = start(plan)
    started = time.perf_counter()
    no_tune = tune_missing()
    if no_tune:
        print(f"note: the Ray Tune rows are left out: {no_tune}\n")
    for n in range(args.repeat):  # interleaved, so the shared machine's load hits every row
        print(f"Repetition {n + 1} of {args.repeat} (load average {load_average()})")
        if args.null_only:
            null_rows(session, n, no_tune)
        elif args.smoke:
            smoke_rows(session, n, no_tune)
        else:
            full_rows(session, n, no_tune)
    if not (args.null_only or args.smoke or no_tune):
        print(f"Ray Tune with its defaults, once each (load average {load_average()})")
        session.measure("Tune FIFO default", session.tune, "Tune FIFO default", "fifo", False, 0)
        session.measure("Tune ASHA default", session.tune, "Tune ASHA default", "asha", False, 0)
        session.measure("Tune null default", session.tune_null, "Tune null default", False, 0)
    scaled: dict[str, scale.ScaleResult] = {}
    if args.scale:
        trials = scale.QUICK_SCALE_TRIALS if args.quick or args.smoke else scale.SCALE_TRIALS
        scaled = scale.main_scale(session.tmp, session.results, trials)
        print("\n".join(scale.scale_table(scaled, trials)))
    for table in TABLES:
        print("\n".join(table(session.runs, plan)))
    print("\n".join(targets_table(session.runs, scaled)))
    print(
        f"\nLoad average at the end: {load_average()} (other jobs on the machine skew every row)."
    )
    print(f"\nTotal {time.perf_counter() - started:.0f} s.")
    keep_or_remove(session.tmp, args.keep, "Results and logs")
    return 0


def start(plan: Plan) -> Session:
    """The session: a work folder, the fixed trials written in it, what runs, printed."""
    import ray

    tmp = Path(tempfile.mkdtemp(prefix="caviar-bench-sweep-"))
    print(f"Python {sys.version.split()[0]}, Ray {ray.__version__}, {os.cpu_count()} CPUs")
    print(
        f"Mode {plan.name}: digits, {plan.trials} trials x {plan.epochs} epochs, {WORKERS} at "
        f"a time; work in {tmp}\n"
    )
    trials_file = tmp / "trials.json"
    trials = fixed_trials(sweep_source("configs", "fifo", plan, tmp / "runs"))
    trials_file.write_text(trials.to_json())
    return Session(plan, tmp, trials, trials_file)


def full_rows(session: Session, n: int, no_tune: str | None) -> None:
    """One repetition of every cheap row."""
    plan, results, expected = session.plan, session.results, session.trials.pairs()
    for label, scheduler in (("Caviar FIFO", "fifo"), ("Caviar ASHA", ASHA)):
        source = sweep_source(f"{label.split()[1].lower()}-{n}", scheduler, plan, results)
        session.measure(label, session.caviar, source, WORKERS, expected)
    source = sweep_source(f"lean-{n}", "fifo", plan, results)
    options = ("--no-dashboard",)
    session.measure(
        "Caviar FIFO no dashboard", session.caviar, source, WORKERS, None, None, options
    )
    attached_row(session, n)
    session.measure("pool FIFO", session.pool, n)
    if not no_tune:
        session.measure("Tune FIFO reuse", session.tune, "Tune FIFO reuse", "fifo", True, n)
        session.measure("Tune ASHA reuse", session.tune, "Tune ASHA reuse", "asha", True, n)
    null_rows(session, n, no_tune)
    for workers in (1, 2):
        source = scaling_source(f"scaling-{workers}w-{n}", plan, results)
        session.measure(f"scaling {workers}w", session.caviar, source, workers)


def attached_row(session: Session, n: int) -> None:
    """`caviar up`, a warm-up sweep, the measured sweep attached to it, `caviar down`."""
    plan, results = session.plan, session.results
    with up_cluster(session.tmp, WORKERS) as cluster:
        warm = sweep_source(f"warm-{n}", "fifo", plan, results)
        warm["budget"] = {"trials": 2, "max_epochs": 1}
        session.caviar(warm, WORKERS, None, cluster.env)
        source = sweep_source(f"attached-{n}", "fifo", plan, results)
        session.measure("Caviar FIFO attached", session.caviar, source, WORKERS, None, cluster.env)


def null_rows(session: Session, n: int, no_tune: str | None) -> None:
    session.measure("Caviar null", session.caviar_null, n)
    if not no_tune:
        session.measure("Tune null reuse", session.tune_null, "Tune null reuse", True, n)


def smoke_rows(session: Session, n: int, no_tune: str | None) -> None:
    """A few rows at a tiny size: each kind of measurement once, to see that it runs."""
    plan, results, expected = session.plan, session.results, session.trials.pairs()
    source = sweep_source(f"fifo-{n}", "fifo", plan, results)
    session.measure("Caviar FIFO", session.caviar, source, WORKERS, expected)
    session.measure("pool FIFO", session.pool, n)
    if not no_tune:
        session.measure("Tune FIFO reuse", session.tune, "Tune FIFO reuse", "fifo", True, n)
    session.measure("Caviar null", session.caviar_null, n)


if __name__ == "__main__":
    sys.exit(main())

"""One sweep on Caviar, Ray Tune and Optuna: wall time, epochs and the best value found.

Run from the repository root (not part of the test suite, except its smoke run; Ray Tune
and Optuna come with ``.venv/bin/pip install -e '.[bench]'``):

    .venv/bin/python benchmarks/compare.py [--quick] [--smoke] [--repeat N] [--keep] [--out DIR]
    .venv/bin/python -m benchmarks.compare ...      (the same)

The sweep is orchestrator/sweepfile/sweeps/digits.yaml (its space, ASHA with grace 1 and eta 3),
on digits and on a large synthetic set, with the same trials, epochs and 2 trials at a
time for every framework, and workers.mlp.trainer.Trainer doing every epoch. Each run is a
fresh process (with its own Ray and RAY_TMPDIR where it uses Ray). It writes a Markdown
table (compare.md) and the anytime curves (anytime.png) to benchmarks/results/. `--smoke`
runs three rows (Caviar random + ASHA, Ray Tune with reuse where it is installed, Optuna)
on 4 trials x 2 epochs and writes to a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

if not __package__:  # run as a script: the benchmarks package of this working tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common.cli import bench_main, bench_parser
from benchmarks.common.entry import ROOT, one_blas_thread, smoke_note
from benchmarks.common.processes import keep_or_remove
from benchmarks.common.text import load_average
from benchmarks.common.tune import tune_missing
from benchmarks.frameworks import rows as plans
from benchmarks.frameworks.children import TASKS
from benchmarks.frameworks.measure import measure, wait_for_quiet_machine
from benchmarks.frameworks.plot import plot
from benchmarks.frameworks.report import machine, report
from benchmarks.frameworks.rows import ROWS, SMOKE_ROWS, TUNE_DEFAULT, Measure, Plan, Row


def main(argv: Sequence[str] | None = None) -> int:
    one_blas_thread()  # before numpy loads, here and in every child
    return bench_main(parser(), argv, TASKS, lambda args: run(args, argv))


def parser() -> argparse.ArgumentParser:
    made = bench_parser(
        (__doc__ or "").split("\n\n")[0],
        quick="digits only, 16 trials x 10 epochs, one repetition: about 2 minutes",
        repeat="repetitions, seeds 0..N-1 (default 3)",
        keep="keep the sweeps, logs and journals",
    )
    made.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where to write (default benchmarks/results; with --smoke, the work folder)",
    )
    return made


def run(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    """Every row on every dataset, seeds interleaved; then the table and the curves."""
    plan = plans.SMOKE if args.smoke else plans.QUICK if args.quick else plans.FULL
    if not (args.quick or args.smoke):
        wait_for_quiet_machine()
    work = Path(tempfile.mkdtemp(prefix="caviar-compare-"))
    out: Path = args.out or (work / "results" if args.smoke else ROOT / "benchmarks" / "results")
    command = " ".join(["benchmarks/compare.py", *(argv if argv is not None else sys.argv[1:])])
    started, load_before = time.perf_counter(), load_average()
    print(f"{machine()}\nwork in {work}; load average {load_before}", flush=True)
    measures: list[Measure] = []
    for rep in range(args.repeat):  # seeds interleaved: the machine's load hits every row
        for budget in plan.budgets:
            for row in rows_to_run(rep, args.smoke):
                cap = budget.tune_default_runs
                if row.label == TUNE_DEFAULT and cap is not None and rep >= cap:
                    continue
                measures.append(timed(budget, row, rep, work))
    meta = {
        "repeat": str(args.repeat),
        "seconds": str(time.perf_counter() - started),
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "load_before": load_before,
        "load_after": load_average(),
    }
    text = report(measures, plan, command, meta)
    print("\n" + text)
    write(text, measures, plan, out)
    keep_or_remove(work, args.keep, "sweeps, logs and journals")
    return 0


def rows_to_run(rep: int, smoke: bool) -> list[Row]:
    """The rows of repetition `rep`, in an order rotated by it; a smoke run's few rows."""
    rows = list(ROWS[rep % len(ROWS) :] + ROWS[: rep % len(ROWS)])
    if not smoke:
        return rows
    check_sweep_files()
    missing = tune_missing()
    if missing:
        smoke_note(f"the Ray Tune rows are left out: {missing}")
    return [r for r in rows if r.label in SMOKE_ROWS and not (missing and r.kind == "tune")]


def check_sweep_files() -> None:
    """Every Caviar row's sweep file parses (a smoke run measures only one of them)."""
    from orchestrator.sweepfile.parse import parse_sweep

    for budget in plans.FULL.budgets:
        for row in ROWS:
            if row.kind == "caviar":
                parse_sweep(plans.sweep_source(budget, row, 0, Path("runs")))


def timed(budget: plans.Budget, row: Row, rep: int, work: Path) -> Measure:
    t0 = time.perf_counter()
    m = measure(budget, row, rep, work)
    print(
        f"  seed {rep} {budget.name}: {row.label}: {m.wall:.1f} s, {m.epochs} "
        f"epochs, best {m.best(1, 1.0):.4f} [{time.perf_counter() - t0:.0f} s] {m.note}",
        flush=True,
    )
    return m


def write(text: str, measures: list[Measure], plan: Plan, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"compare{plan.suffix}.md").write_text(text)
    plot(measures, plan, out / f"anytime{plan.suffix}.png")
    print(f"wrote {out / f'compare{plan.suffix}.md'} and anytime{plan.suffix}.png")


if __name__ == "__main__":
    sys.exit(main())

"""Seconds that `caviar show` (with and without `--importance`), `caviar export` (csv,
parquet) and `caviar report` take on a big finished sweep, what the report's section on which
hyperparameters mattered costs, and the size of the report's HTML.

Run from the repository root (not part of the test suite, except its smoke run):

    .venv/bin/python benchmarks/bench_results.py                     # 10,000 x 3 and x 30
    .venv/bin/python benchmarks/bench_results.py --baseline HEAD     # and HEAD's code beside
    .venv/bin/python benchmarks/bench_results.py --trials 2000 --epochs 10 --repeat 3
    .venv/bin/python -m benchmarks.bench_results --smoke             # 200 x 3, once
    .venv/bin/python benchmarks/bench_results.py --epochs 3 --repeat 7 \
        --only report "report, no importance"                      # the section's cost

Each store is made without training by benchmarks/common/bigstore.py (the digits space,
a quarter of the trials on Sobol points and the rest in the zoomed box, ASHA-like pruning
of the worst quarter at each rung, some diverged and failed trials). Each command runs as
`python -m orchestrator.cli ...` in a child process, as a user runs it, so its seconds
include starting Python and importing pandas and matplotlib; a cell is the median over
`--repeat` runs of the wall-clock seconds, with the child's CPU seconds beside them (less
sensitive to other work on the machine than the wall clock). Each round runs every command
once (every other round in reverse order), so all of them see about the same load. The date
and the load averages (1, 5 and 15 minutes) are printed with each table: wall-clock seconds
measured under load are not comparable.

`report, no importance` writes the same report without its section on which hyperparameters
mattered (`write_report(..., importance=False)`, as `python -c`, so without the CLI's
argument parsing, a few milliseconds). The line under the table gives the section's cost:
the median over rounds of `report` less `report, no importance`, which run back to back, so
a load that changes between rounds cancels out.

With `--baseline REV` the same commands also run on the code of git revision REV
(extracted with `git archive` into a temporary directory, the working tree untouched),
interleaved with the working tree's runs, and the ratio is printed beside them.

To see where a command spends its time:

    .venv/bin/python -m cProfile -s cumulative -m orchestrator.cli report DIR | head -60
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

if not __package__:  # run as a script: the benchmarks package of this working tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common.entry import ROOT

TARGET = 10.0  # seconds each command should stay under at 10,000 trials
CLI = ["-m", "orchestrator.cli"]
# The report without its importance section (no braces: every argument goes through
# str.format); a tree from before the section has none to leave out, and writes it whole.
WITHOUT_IMPORTANCE = (
    "import inspect, sys\n"
    "from pathlib import Path\n"
    "from orchestrator.report.page import write_report\n"
    "known = inspect.signature(write_report).parameters\n"
    "kw = dict(importance=False) if 'importance' in known else dict()\n"
    "write_report(Path(sys.argv[1]), Path(sys.argv[2]), **kw)\n"
    "import gc\n"
    "gc.freeze()  # and exits as the caviar command does (orchestrator.cli.entry)\n"
)
# name -> the arguments of `python`
COMMANDS: dict[str, list[str]] = {
    "show": [*CLI, "show", "{run}"],
    "show --importance": [*CLI, "show", "{run}", "--importance"],
    "export csv": [*CLI, "export", "{run}", "--format", "csv", "--out", "{out}", "--force"],
    "export parquet": [
        *CLI,
        *["export", "{run}", "--format", "parquet", "--out", "{out}", "--force"],
    ],
    "report": [*CLI, "report", "{run}", "--out", "{out}/report.html"],
    "report, no importance": ["-c", WITHOUT_IMPORTANCE, "{run}", "{out}/report-without.html"],
}
SECTION = ("report", "report, no importance")  # with and without: the section's cost


def timed(code: Path, argv: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of `python ARGV` run on `code`."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *argv],
        cwd=code,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def extract(rev: str, into: Path) -> Path:
    """The tree of git revision `rev` written into `into` (git's own state untouched)."""
    tar = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    return into


Samples = dict[str, dict[str, list[tuple[float, float]]]]  # command -> tree -> runs


def measure(
    run: Path, out: Path, trees: dict[str, Path], repeat: int, names: Sequence[str]
) -> Samples:
    """command -> tree -> (wall, CPU) seconds of each round. A round runs every command in
    `names` once, so all see about the same load, every other round in reverse order, so
    none always comes first."""
    runs: Samples = {name: {tree: [] for tree in trees} for name in names}
    for i in range(repeat):
        for name in names if i % 2 == 0 else names[::-1]:
            for tree, code in trees.items():  # interleaved: both trees see the same load
                where = out / tree
                where.mkdir(parents=True, exist_ok=True)
                argv = [a.format(run=run, out=where) for a in COMMANDS[name]]
                runs[name][tree].append(timed(code, argv))
    return runs


def medians(samples: Samples) -> dict[str, dict[str, tuple[float, float]]]:
    """command -> tree -> (median wall, median CPU) seconds."""
    return {
        name: {
            tree: (
                statistics.median(w for w, _ in runs),
                statistics.median(c for _, c in runs),
            )
            for tree, runs in by_tree.items()
        }
        for name, by_tree in samples.items()
    }


def section_cost(samples: Samples, tree: str) -> str:
    """What the report's importance section adds, wall and CPU: the median of each round's
    difference (report less the report without it, run back to back, so a change of load
    between rounds cancels), in seconds and against the median report without it."""
    with_it, without = (samples[name][tree] for name in SECTION)
    wall0 = statistics.median(w for w, _ in without)
    cpu0 = statistics.median(c for _, c in without)
    dwall = statistics.median(a[0] - b[0] for a, b in zip(with_it, without, strict=True))
    dcpu = statistics.median(a[1] - b[1] for a, b in zip(with_it, without, strict=True))
    return (
        f"importance section ({tree}): the report without it {wall0:.2f} s wall, "
        f"{cpu0:.2f} s CPU; the section adds {dwall:+.2f} s wall ({dwall / wall0:+.0%}), "
        f"{dcpu:+.2f} s CPU ({dcpu / cpu0:+.0%}) (median of {len(without)} paired rounds)"
    )


def table(results: dict[str, dict[str, tuple[float, float]]], trees: list[str]) -> str:
    head = "| command | " + " | ".join(f"{t} wall s | {t} CPU s" for t in trees)
    head += " | baseline / now (wall) |" if len(trees) > 1 else " |"
    lines = [head, "|" + " --- |" * (1 + 2 * len(trees) + (len(trees) > 1))]
    for name, by_tree in results.items():
        cells = [f"{by_tree[t][0]:.2f} | {by_tree[t][1]:.2f}" for t in trees]
        ratio = f" | {by_tree[trees[1]][0] / by_tree[trees[0]][0]:.1f}x" if len(trees) > 1 else ""
        over = " (over target)" if by_tree[trees[0]][0] > TARGET else ""
        lines.append(f"| {name}{over} | " + " | ".join(cells) + ratio + " |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, nargs="+", default=[3, 30])
    parser.add_argument("--repeat", type=int, default=1, help="runs per cell (median)")
    parser.add_argument("--baseline", metavar="REV", help="also time this git revision")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="make the stores here, kept")
    parser.add_argument("--smoke", action="store_true", help="200 trials x 3 epochs, once")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=list(COMMANDS),
        default=list(COMMANDS),
        metavar="COMMAND",
        help=f"time only these (of: {', '.join(repr(c) for c in COMMANDS)})",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.trials, args.epochs, args.repeat = 200, [3], 1
    return args


def store(stores: Path, trials: int, epochs: int) -> tuple[Path, str]:
    """A finished store of `trials` x `epochs` in `stores` (kept from before if there is one),
    and how it came to be."""
    from benchmarks.common.bigstore import fill_store

    run = stores / f"big-{trials}x{epochs}"
    if (run / "sweep.db").exists():
        return run, f"store kept from before in {run}"
    start = time.perf_counter()
    shutil.rmtree(run, ignore_errors=True)
    fill_store(run, trials, epochs)
    return run, f"store made in {time.perf_counter() - start:.1f} s"


def main(argv: Sequence[str] | None = None) -> int:
    # No thread limits here: the commands run with the user's environment, as a user runs them
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-results-"))
    try:
        trees = {"now": ROOT}
        if args.baseline:
            trees["baseline"] = extract(args.baseline, work / "baseline")
        for epochs in args.epochs:
            run, made = store(args.keep or work, args.trials, epochs)
            load = _loads()
            when = time.strftime("%Y-%m-%d %H:%M")
            samples = measure(run, work / f"out-{epochs}", trees, args.repeat, args.only)
            print(
                f"\n{args.trials:,} trials x {epochs} epochs ({made}; {when}; median of "
                f"{args.repeat}; load averages {load} before, {_loads()} after; "
                f"{os.cpu_count()} cores)"
            )
            print(table(medians(samples), list(trees)))
            for tree in trees:
                if all(name in samples for name in SECTION):
                    print(section_cost(samples, tree))
                html = work / f"out-{epochs}" / tree / "report.html"
                if html.exists():
                    print(f"report.html ({tree}): {html.stat().st_size / 1e6:.2f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _loads() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())

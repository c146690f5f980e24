"""Seconds that `caviar show`, `caviar export` (csv, parquet) and `caviar report` take on a
big finished sweep, and the size of the report's HTML.

Run from the repository root (not part of the test suite, except its smoke run):

    .venv/bin/python benchmarks/bench_results.py                     # 10,000 x 3 and x 30
    .venv/bin/python benchmarks/bench_results.py --baseline HEAD     # and HEAD's code beside
    .venv/bin/python benchmarks/bench_results.py --trials 2000 --epochs 10 --repeat 3
    .venv/bin/python -m benchmarks.bench_results --smoke             # 200 x 3, once

Each store is made without training by benchmarks/common/bigstore.py (the digits space,
a quarter of the trials on Sobol points and the rest in the zoomed box, ASHA-like pruning
of the worst quarter at each rung, some diverged and failed trials). Each command runs as
`python -m orchestrator.cli ...` in a child process, as a user runs it, so its seconds
include starting Python and importing pandas and matplotlib; a cell is the median over
`--repeat` runs of the wall-clock seconds, with the child's CPU seconds beside them (less
sensitive to other work on the machine than the wall clock). The 1-minute load is printed
with each table: wall-clock seconds measured under load are not comparable.

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
COMMANDS: dict[str, list[str]] = {
    "show": ["show", "{run}"],
    "export csv": ["export", "{run}", "--format", "csv", "--out", "{out}", "--force"],
    "export parquet": ["export", "{run}", "--format", "parquet", "--out", "{out}", "--force"],
    "report": ["report", "{run}", "--out", "{out}/report.html"],
}


def timed(code: Path, argv: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of `python -m orchestrator.cli ARGV` run on `code`."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *argv],
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


def measure(
    run: Path, out: Path, trees: dict[str, Path], repeat: int
) -> dict[str, dict[str, tuple[float, float]]]:
    """command -> tree -> (median wall, median CPU) seconds."""
    results: dict[str, dict[str, tuple[float, float]]] = {}
    for name, template in COMMANDS.items():
        runs: dict[str, list[tuple[float, float]]] = {tree: [] for tree in trees}
        for _ in range(repeat):
            for tree, code in trees.items():  # interleaved: both see the same load
                where = out / tree
                where.mkdir(parents=True, exist_ok=True)
                argv = [a.format(run=run, out=where) for a in template]
                runs[tree].append(timed(code, argv))
        results[name] = {
            tree: (
                statistics.median(w for w, _ in samples),
                statistics.median(c for _, c in samples),
            )
            for tree, samples in runs.items()
        }
    return results


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
            load = os.getloadavg()[0]
            results = measure(run, work / f"out-{epochs}", trees, args.repeat)
            print(
                f"\n{args.trials:,} trials x {epochs} epochs ({made}; "
                f"1-minute load {load:.2f} before, {os.getloadavg()[0]:.2f} after; "
                f"{os.cpu_count()} cores)"
            )
            print(table(results, list(trees)))
            for tree in trees:
                html = work / f"out-{epochs}" / tree / "report.html"
                print(f"report.html ({tree}): {html.stat().st_size / 1e6:.2f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

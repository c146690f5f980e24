"""Microseconds per scheduler decision, whether one decision grows with the trials, and
milliseconds per TPE proposal over long histories.

Run from the repository root (not part of the test suite, except its smoke run):

    .venv/bin/python benchmarks/bench_scheduler.py [--quick] [--smoke] [--repeat N]
        [--growth-only | --tpe-only]
    .venv/bin/python -m benchmarks.bench_scheduler ...      (the same)

Every sweep here is simulated (`orchestrator.execution.simulated`): the real tuning loop
and store on simulated workers and a simulated clock, so each scheduler is called exactly
as in a sweep; only its own calls are timed (`on_result`, and `promote()` where it
promotes), not the loop, the store or the curves.

The first table runs each scheduler over made-up curves (81 epochs, 100 workers) at 100,
1,000 and 10,000 trials; a cell is the scheduler's time over the number of results.

The second times every call on its own over long sweeps of uniform random values (100
workers, each trial with its own seconds per epoch, so rungs fill in a shuffled order):
10,000 trials of 3 epochs and 1,000 of 30. It compares the first 1,000 calls, made while
the rungs are nearly empty, with the last 1,000, made against everything recorded: a
decision that cost O(n) would show a ratio near the growth of n, tens to hundreds;
O(log n) shows about 1. For ASHA and Hyperband, whose results between rungs cost next to
nothing, the results at rung epochs are also compared alone ("at a rung"). The median over
a window stands up to a loaded machine; the microseconds themselves do not, and `max` (one
call) catches a garbage collection or a preemption as easily as the scheduler.

The third times TPE's proposals as the loop pays for them (benchmarks/scheduling/
tpe_timing.py): the evidence brought up to date, then the proposal, after 64, 1,000 and
10,000 trials of a made-up sweep under Hyperband's milestones, 8 of them running. A cell is
the median over the proposals after a run's first (which reads the store and builds the
caches, shown apart), then over sweeps. "every trial" is the same model handing TPE the
whole history, as it did before the bound (orchestrator/search/tpe/history.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

if not __package__:  # run as a script: the benchmarks package of this working tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common.entry import one_blas_thread

TARGET_US = 50.0
SIZES = (100, 1_000, 10_000)
GROWTH_SIZES = ((10_000, 3), (1_000, 30))  # (trials, epochs)
SMOKE_SIZES, SMOKE_GROWTH = (100,), ((300, 3),)
TARGET_TPE_MS, TARGET_TPE_TRIALS = 20.0, 10_000  # per proposal, after this much history
TPE_SIZES, TPE_PROPOSALS = (64, 1_000, 10_000), 12  # trials of history; proposals timed
SMOKE_TPE_SIZES = (64, 300)  # 300: past the bound, so the smoke run samples the history


def simulated_table(repeat: int, only: Callable[[str], bool], sizes: Sequence[int] = SIZES) -> None:
    from benchmarks.scheduling.timing import EPOCHS, SCHEDULERS, WORKERS, micros_per_result

    print(
        f"µs of scheduler time per result (on_result, and promote() where it promotes), "
        f"median of {repeat} run(s); {EPOCHS} epochs, {WORKERS} workers"
    )
    print()
    head = " | ".join(f"{n:,} trials" for n in sizes)
    print(f"| scheduler | {head} | results at {sizes[-1]:,} | target at {sizes[-1]:,} | |")
    print("| --- | " + " | ".join("---:" for _ in sizes) + " | ---: | ---: | --- |")
    for label in filter(only, SCHEDULERS):
        cells, calls = [], 0
        for n in sizes:
            runs = [micros_per_result(label, n, seed) for seed in range(repeat)]
            cells.append(statistics.median(r[0] for r in runs))
            calls = runs[0][1]
        verdict = "OK" if cells[-1] <= TARGET_US else "MISS"
        micros = " | ".join(f"{c:.2f}" for c in cells)
        print(f"| {label} | {micros} | {calls:,} | ≤ {TARGET_US:g} µs | {verdict} |", flush=True)


def growth_table(
    seeds: int, only: Callable[[str], bool], sizes: Sequence[tuple[int, int]] = GROWTH_SIZES
) -> None:
    from benchmarks.scheduling.timing import SCHEDULERS, WINDOW, WORKERS, growth_cells

    print(
        f"µs per call, the first {WINDOW:,} calls against the last {WINDOW:,} (or half the "
        f"calls where fewer) of a random sweep with {WORKERS} workers; median over {seeds} "
        f"sweep(s); ratio = last / first"
    )
    print()
    print(
        "| scheduler | call | trials x epochs | calls | window | median first | median last "
        "| ratio | mean first | mean last | ratio | max first | max last |"
    )
    print("| --- | --- | --- | " + " | ".join(["---:"] * 10) + " |")
    for label in filter(only, SCHEDULERS):
        for trials, epochs in sizes:
            for kind, cells in growth_cells(label, trials, epochs, seeds).items():
                calls, window, d0, m0, x0, d1, m1, x1 = cells
                print(
                    f"| {label} | {kind} | {trials:,} x {epochs} | {calls:,.0f} | {window:,.0f} "
                    f"| {d0:.2f} | {d1:.2f} | **{d1 / d0:.2f}** | {m0:.2f} | {m1:.2f} "
                    f"| **{m1 / m0:.2f}** | {x0:.0f} | {x1:.0f} |",
                    flush=True,
                )


def tpe_table(
    repeat: int, sizes: Sequence[int] = TPE_SIZES, proposals: int = TPE_PROPOSALS
) -> None:
    """The target holds at TARGET_TPE_TRIALS; a run without that size (--smoke) judges none."""
    from benchmarks.scheduling.tpe_timing import WORKERS, tpe_cells

    print(
        f"ms per TPE proposal as the loop pays for it (evidence, then proposal), median of "
        f"{repeat} made-up sweep(s) of {proposals} proposals; {WORKERS} trials running"
    )
    print()
    head = " | ".join(f"{n:,} trials" for n in sizes)
    print(f"| tpe | {head} | target at {TARGET_TPE_TRIALS:,} | |")
    print("| --- | " + " | ".join("---:" for _ in sizes) + " | ---: | --- |")
    cells = dict(zip(sizes, (tpe_cells(n, repeat, proposals) for n in sizes), strict=True))
    judged = cells.get(TARGET_TPE_TRIALS)
    verdict = "-" if judged is None else "OK" if judged["steady"] <= TARGET_TPE_MS else "MISS"
    rows = (
        ("proposal", "steady"),
        ("a run's first (reads the store)", "first"),
        ("every trial (no bound)", "every"),
    )
    for label, key in rows:
        millis = " | ".join(f"{c[key]:.1f}" for c in cells.values())
        target, mark = (f"≤ {TARGET_TPE_MS:g} ms", verdict) if key == "steady" else ("", "")
        print(f"| {label} | {millis} | {target} | {mark} |", flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition")
    parser.add_argument(
        "--smoke", action="store_true", help=f"one repetition of {SMOKE_SIZES} and {SMOKE_GROWTH}"
    )
    parser.add_argument("--repeat", type=int, default=5, help="repetitions (median reported)")
    parser.add_argument("--growth-only", action="store_true", help="only the second table")
    parser.add_argument("--tpe-only", action="store_true", help="only the TPE table")
    parser.add_argument("--only", help="only schedulers whose label contains this")
    args = parser.parse_args(argv)
    if args.quick or args.smoke:
        args.repeat = 1
    if args.repeat < 1:
        parser.error(f"--repeat: must be >= 1, got {args.repeat}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    one_blas_thread()  # before numpy loads
    args = parse_args(argv)

    def only(label: str) -> bool:
        return args.only is None or args.only in label

    if not (args.growth_only or args.tpe_only):
        simulated_table(args.repeat, only, SMOKE_SIZES if args.smoke else SIZES)
        print()
    if not args.tpe_only:
        growth_table(args.repeat, only, SMOKE_GROWTH if args.smoke else GROWTH_SIZES)
        print()
    if not args.growth_only and only("tpe"):
        tpe_table(args.repeat, *((SMOKE_TPE_SIZES, 3) if args.smoke else (TPE_SIZES,)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Seconds per epoch of the numpy worker against the same network in PyTorch, on one core.

Run from the repository root (not part of the test suite, except its smoke run):

    .venv/bin/python benchmarks/bench_worker.py [--repeats N] [--quick] [--native-openblas]
    .venv/bin/python -m benchmarks.bench_worker ...      (the same; --smoke: a few seconds)

It times `workers.mlp.trainer.Trainer.step()` and a plain PyTorch CPU loop on digits and on a
60,000 x 784 synthetic set, times the matrix products alone (the faster of `np.matmul`
and `np.dot`) at the shapes of one training step, and prints the ratios next to their
targets; then the example PyTorch trainer (examples/torch_trainer's `TorchTrainer.step()`,
on the CPU) against both, with no target. PyTorch is only needed for the PyTorch rows:
``.venv/bin/pip install -e '.[torch]'`` (torch==2.13.0, the CPU build kept on disk; an
unpinned torch pulls a multi-GB CUDA build). Without it, the numpy side is timed alone (and
the run exits 1, except with --smoke, which times one epoch of each case on a few hundred
rows).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: the benchmarks package of this working tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common.entry import one_blas_thread, smoke_note

# This machine pins OpenBLAS to its Haswell kernels (older OpenBLAS builds fail on the
# real CPU); a current numpy runs its own kernels only when both are unset together.
OPENBLAS_TUNING_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="fresh runs per trainer and dataset (default 3, or 1 with --quick)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer epochs; well under a minute")
    parser.add_argument(
        "--smoke", action="store_true", help="one epoch of each case on a few hundred rows"
    )
    parser.add_argument(
        "--native-openblas",
        action="store_true",
        help="re-run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE both unset, so OpenBLAS "
        "picks its own kernels for this CPU",
    )
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick or args.smoke else 3
    if args.repeats < 1:
        parser.error(f"--repeats must be an integer >= 1, got {args.repeats}")
    return args


def native_openblas() -> None:
    """Run this process again with OpenBLAS's tuning variables unset (before numpy loads)."""
    if any(v in os.environ for v in OPENBLAS_TUNING_VARS):
        env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_TUNING_VARS}
        sys.stdout.flush()
        os.execve(sys.executable, sys.orig_argv, env)  # the new process finds both unset


def main(argv: Sequence[str] | None = None) -> int:
    # One BLAS/OpenMP thread each, before numpy or torch loads, so both sides are measured
    # per core and the shared 2-core machine's other jobs skew neither.
    one_blas_thread()
    args = parse_args(argv)
    if args.native_openblas:
        native_openblas()
    from benchmarks.worker import printout
    from benchmarks.worker.cases import CASES, SMOKE_CASES
    from benchmarks.worker.trainers import import_torch, install_hint

    torch = import_torch()
    started = time.perf_counter()
    printout.print_setup(torch, OPENBLAS_TUNING_VARS, dict(os.environ))
    mode = "smoke" if args.smoke else "quick" if args.quick else "default"
    print(f"Mode {mode}: {args.repeats} run(s) per trainer, one warm-up epoch each\n")
    cases = SMOKE_CASES if args.smoke else CASES
    timed = [time_case(case, torch, args.repeats, args.quick or args.smoke) for case in cases]
    printout.print_table([row for row, _ in timed], torch is not None)
    if torch is not None:
        printout.print_example_table([(row[0], row[2], row[3], ex) for row, ex in timed])
    print(f"\nTotal {time.perf_counter() - started:.0f} s.")
    if torch is None:
        if args.smoke:
            smoke_note("the PyTorch rows are left out: PyTorch is not installed")
            return 0
        print(install_hint())
        return 1
    return 0


def time_case(case: Any, torch: Any, repeats: int, quick: bool) -> tuple[Any, list[Any]]:
    """One case: numpy, PyTorch and the example TorchTrainer runs interleaved, then its
    matmuls alone. The table row, and the TorchTrainer runs."""
    from benchmarks.worker import printout
    from benchmarks.worker.cases import load
    from benchmarks.worker.matmul import matmul_epoch
    from benchmarks.worker.trainers import run_numpy, run_torch, run_torch_trainer

    data = load(case.spec)
    epochs = case.quick_epochs if quick else case.epochs
    print(f"{case.label}: {data!r}, {epochs} timed epochs per run")
    np_runs, torch_runs, example_runs = [], [], []
    for seed in range(repeats):  # interleaved, so load on the machine hits all three
        np_runs.append(run_numpy(case, data, seed, epochs))
        if torch is not None:
            torch_runs.append(run_torch(torch, case, data, seed, epochs))
            example_runs.append(run_torch_trainer(case, data, seed, epochs))
    mm = matmul_epoch(case, data, rounds=3 if quick else 7)
    printout.print_case(np_runs, torch_runs, mm, example_runs)
    return (case, data, np_runs, torch_runs, mm), example_runs


if __name__ == "__main__":
    sys.exit(main())

"""What a benchmark's entry point does first, before numpy loads: one BLAS and OpenMP thread
per process, here and (through the environment) in every child process it starts.

Nothing here runs at import; `one_blas_thread()` is the first call of every `main()`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from workers.threads import BLAS_VARIABLES  # imports nothing

ROOT = Path(__file__).resolve().parents[2]  # the working tree, which the benchmarks import


def one_blas_thread() -> None:
    """Size every BLAS and OpenMP pool to one thread: through the environment, which numpy
    reads as it loads (and every child inherits); and, should numpy be loaded already (a
    benchmark's `main` called from Python), through threadpoolctl."""
    os.environ.update(dict.fromkeys(BLAS_VARIABLES, "1"))
    if "numpy" in sys.modules:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)  # stays in force: nothing restores it


def smoke_note(what: str) -> None:
    """Say, in a benchmark's output, what its smoke run leaves out and why."""
    print(f"note (smoke): {what}", flush=True)

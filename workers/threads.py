"""The environment variables that size every BLAS and OpenMP thread pool, and torch's.

Kept free of imports, so a script can set them before numpy loads its BLAS.
"""

from __future__ import annotations

import sys

BLAS_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def size_torch(threads: int) -> bool:
    """Give torch, once a trainer has loaded it, `threads` intra-op threads (the CPUs its
    trial reserved; a worker's environment may say 1, which torch reads as it loads).
    Whether torch is loaded."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return True

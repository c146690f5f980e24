"""The environment variables that size every BLAS and OpenMP thread pool.

Kept free of imports, so a script can set them before numpy loads its BLAS.
"""

from __future__ import annotations

BLAS_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

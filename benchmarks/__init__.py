"""Caviar's benchmarks: timings and tuning quality, printed as tables of ratios; they assert
nothing (tests/benchmarks runs each in its `--smoke` mode so that none rots unseen).

Each benchmark runs from the repository root as a module or as a script, alike:

    .venv/bin/python -m benchmarks.bench_sweep --quick
    .venv/bin/python benchmarks/bench_sweep.py --quick

Importing any module here changes nothing: no environment variable, no BLAS thread pool.
A benchmark's `main()` holds every BLAS and OpenMP pool to one thread
(`common.entry.one_blas_thread`) before it imports numpy, here and in every child process.
The entry points are the `bench_*.py`, `compare.py`, `quality.py`, `stop_rules.py` and
`record_curves.py` modules; each has a package of its parts beside it, and `common/` holds
what several share.
"""

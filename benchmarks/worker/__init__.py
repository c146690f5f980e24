"""bench_worker.py's parts: the cases it times, the numpy worker and PyTorch on each, the
matrix products alone, and its printout."""

"""bench_sweep.py's parts: the sweeps it runs and their sizes, the measurements it makes in
child processes, its tables, clusters from `caviar up` and `ray start`, its scale rows."""

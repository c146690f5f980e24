"""A sweep's results as pandas DataFrames: `load_run` and `Run`."""

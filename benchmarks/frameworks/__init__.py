"""compare.py's parts: the rows (one sweep run seven ways), the child processes of Ray Tune
and Optuna, the parent's measurements, the table and the anytime curves."""

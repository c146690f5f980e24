"""quality.py's parts: the methods it compares and their sweep files, the epoch cache and
the runs on a simulated clock (Caviar's own loop through `orchestrator.execution.simulated`,
Optuna's ask-and-tell, the anchors' libraries in their own process through `anchor_runs`),
the regret measures, the reports (at equal trials, and at equal time in `equal_time`) and
the plot."""

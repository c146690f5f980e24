"""quality.py's parts: the methods it compares and their sweep files, the epoch cache and
the runs on a simulated clock (Caviar's own loop through `orchestrator.execution.simulated`,
Optuna's ask-and-tell), the regret measures, the report and the plot."""

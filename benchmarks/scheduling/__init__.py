"""bench_scheduler.py's parts: a stopwatch around a scheduler, and the simulated sweeps
(`orchestrator.execution.simulated`: the real loop on a simulated clock) it times."""

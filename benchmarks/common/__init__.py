"""What several benchmarks share: the entry point's set-up, child processes and the tasks
they run, the fixed trials every framework trains, Ray Tune over them, and table cells."""

"""Words shared by the driver (`orchestrator`) and the workers (`workers`).

Each module defines one concept and imports nothing heavier than numpy, so both packages
may use it; `workers` still never imports `orchestrator`.
"""

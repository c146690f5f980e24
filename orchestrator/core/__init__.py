"""The tuning loop and the words it speaks: a checked sweep, what it plans, what it asks of
an executor, its live numbers. No Ray, YAML, pandas, matplotlib or rich.
"""

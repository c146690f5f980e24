"""The anchors of quality.py: Syne Tune's ASHA, BOHB and ASHACQR and DEHB, each run by its
own library in an environment of its own (`.venv-anchors`, from `requirements.txt` here).

Their libraries pin numpy back to 1.x, so they never enter the project's venv. quality.py
(`benchmarks/tuning/anchor_runs.py`) starts `python -m benchmarks.anchors.child` in that
environment; the child drives the library's scheduler on a simulated clock (`clock.py`) and
asks the parent, which owns the epoch cache and the real trainer, for every epoch's record
over its stdin and stdout (`protocol.py`). Everything here uses the standard library and
the anchors' libraries only, imported where used, so the project's venv imports these
modules too (its tests drive the clock and the adapters with fakes).
"""

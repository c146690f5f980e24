"""Sweeps on a simulated clock (Syne Tune's simulator backend, in miniature): the real tuning
loop, store and schedulers, with an executor whose workers' epochs cost simulated seconds.
A change to the loop's policy shows here, in the scheduler tests and in every benchmark
that simulates, at once.
"""

from __future__ import annotations

from orchestrator.execution.simulated.clocked_executor import (
    PLACEHOLDER_CHECKPOINT,
    EpochSource,
    Record,
    SimulatedClock,
    SimulatedExecutor,
)
from orchestrator.execution.simulated.curve_sources import (
    Curves,
    CurveSource,
    RecordedCurves,
    curve_record,
    make_curves,
    trial_index,
)
from orchestrator.execution.simulated.relay import Relay
from orchestrator.execution.simulated.simulate import (
    SimulatedRun,
    SimulationResult,
    run_simulated,
    simulate,
    simulation_spec,
    summarize,
)

__all__ = [
    "PLACEHOLDER_CHECKPOINT",
    "CurveSource",
    "Curves",
    "EpochSource",
    "Record",
    "RecordedCurves",
    "Relay",
    "SimulatedClock",
    "SimulatedExecutor",
    "SimulatedRun",
    "SimulationResult",
    "curve_record",
    "make_curves",
    "run_simulated",
    "simulate",
    "simulation_spec",
    "summarize",
    "trial_index",
]

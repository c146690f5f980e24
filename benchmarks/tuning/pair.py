"""One task and seed, every method: the unit of work quality.py runs in each process, all
methods sharing one epoch cache."""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.tuning.methods import (
    ANCHOR_STREAM,
    ANCHORS,
    MODEL,
    OPTUNA,
    OPTUNA_STREAM,
    REFERENCE,
    TASKS,
    Settings,
    sweep_source,
    write_csv,
)

if TYPE_CHECKING:
    from benchmarks.tuning.clock_runs import Point
    from benchmarks.tuning.epoch_cache import EpochCache
    from orchestrator.core.spec import SweepSpec


def summarize(points: Sequence[Any], trained: int, wall: float) -> dict[str, Any]:
    """A run as the report needs it: each new best (epochs spent, simulated time, value),
    the first epoch of every trial, the epochs and the makespan; `trained` of the epochs
    were computed for this run (the rest came from the cache), in `wall` seconds."""
    best, steps, first = math.inf, [], {}
    for spent, p in enumerate(points, start=1):
        if p.epoch == 1:
            first[p.trial] = None if math.isnan(p.val_cost) else p.val_cost
        if not math.isnan(p.val_cost) and p.val_cost < best:  # a diverged epoch never counts
            best = p.val_cost
            steps.append([spent, p.time, best])
    return {
        "best": steps,
        "first": [first[k] for k in sorted(first)],
        "epochs": len(points),
        "makespan": points[-1].time if points else 0.0,
        "trials": len({p.trial for p in points}),
        "diverged": sum(math.isnan(p.val_cost) for p in points),
        "trained": trained,
        "wall": wall,
    }


def run_pair(task: str, seed: int, methods: Sequence[str], settings: Settings) -> dict[str, Any]:
    """Every method on one task and seed, sharing one epoch cache. A method that fails is
    skipped with its error (so one broken method does not sink the others' results),
    unless `settings.strict`, where it raises."""
    from benchmarks.tuning.anchor_runs import AnchorsMissing
    from benchmarks.tuning.epoch_cache import EpochCache, check_resume
    from caviar_common.seeds import trial_seed
    from orchestrator.sweepfile.parse import parse_sweep

    start = time.perf_counter()
    cache = EpochCache()
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="quality-") as tmp:
        dataset = TASKS[task] if task != "csv" else write_csv(Path(tmp))
        probe = parse_sweep(sweep_source(task, dataset, REFERENCE, seed, settings))
        check_resume({"hidden_units": 16, **MODEL}, cache.dataset(probe.data), trial_seed(seed, 0))
        limit: float | None = None  # --equal-time: random + FIFO's makespan, once it ran
        for method in sorted(methods, key=lambda m: m != REFERENCE):
            source = sweep_source(task, dataset, method, seed, settings, limit)
            try:
                spec = parse_sweep(source)  # as `caviar run` parses the file
            except ValueError as err:
                if settings.strict:
                    raise
                runs[method] = {"skipped": f"sweep spec does not parse: {err}"}
                continue
            trained, began = cache.trained, time.perf_counter()
            try:
                points = run_method(method, spec, cache, Path(tmp), settings, limit)
            except Exception as err:
                if settings.strict:
                    raise
                missing = isinstance(err, AnchorsMissing)  # its message says what to run
                runs[method] = {"skipped": str(err) if missing else failed(err)}
                continue
            wall = time.perf_counter() - began
            runs[method] = summarize(points, cache.trained - trained, wall)
            if method == REFERENCE and settings.equal_time and points:
                limit = points[-1].time
    return {
        "task": task,
        "seed": seed,
        "runs": runs,
        "trained": cache.trained,
        "train_seconds": cache.train_seconds,
        "wall": time.perf_counter() - start,
    }


def failed(err: Exception) -> str:
    return f"failed: {type(err).__name__}: {err}"


def run_method(
    method: str,
    spec: SweepSpec,
    cache: EpochCache,
    tmp: Path,
    settings: Settings,
    limit: float | None,
) -> list[Point]:
    """One method's run on the simulated clock: Caviar's loop on its sweep file, an Optuna
    study with the method's pruner, or an anchor's library in its own process (within
    `limit` simulated seconds, if given)."""
    from benchmarks.common.optuna_space import suggest
    from benchmarks.tuning.clock_runs import run_caviar, run_optuna
    from caviar_common.seeds import stream

    if method in ANCHORS:
        from benchmarks.tuning.anchor_runs import run_anchor

        seed = int(stream(spec.seed, ANCHOR_STREAM).generate_state(1)[0])
        return run_anchor(method, spec, cache, settings.workers, limit, seed)
    if method not in OPTUNA:
        return run_caviar(spec, cache, tmp / "runs" / spec.name, settings.workers)
    import optuna

    sampler_seed = int(stream(spec.seed, OPTUNA_STREAM).generate_state(1)[0])
    pruner: Any = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if method.endswith("hyperband"):
        pruner = optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=settings.epochs, reduction_factor=3
        )
    return run_optuna(spec, cache, pruner, sampler_seed, suggest, settings.workers, limit)

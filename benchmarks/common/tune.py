"""Ray Tune over the fixed trials: the reference rows of bench_sweep.py and compare.py.

Ray Tune is optional (`.venv/bin/pip install -e '.[bench]'`); `tune_missing()` says why it
cannot run here, and a smoke run then leaves its rows out with that note.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.common.processes import WORKERS
from benchmarks.common.trials import FixedTrials, load_data, make_trainer

if TYPE_CHECKING:
    from caviar_common.curves import EpochRecord
    from workers.data.datasets import Dataset


def tune_missing() -> str | None:
    """Why Ray Tune cannot be imported here, or None when it can."""
    try:
        import ray.tune  # noqa: F401
    except ImportError as err:
        return f"Ray Tune is not installed ({err}); `.venv/bin/pip install -e '.[bench]'`"
    return None


def fit_on_tune(
    trainable: Callable[..., None],
    numbers: Sequence[int],
    *,
    reuse: bool,
    storage: Path,
    name: str,
    scheduler: Any = None,
    data: Mapping[str, Any] | None = None,
) -> tuple[Any, float]:
    """`Tuner.fit()` of one trial per number, WORKERS at a time and 1 CPU each, on a Ray
    of its own; returns the result grid and the seconds `fit` took.

    With `data`, the dataset is loaded once Ray is up and handed to every trial as
    `dataset`, through the object store.
    """
    import ray
    from ray import tune

    ray.init(num_cpus=WORKERS)
    if data is not None:
        trainable = tune.with_parameters(trainable, dataset=load_data(data))
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space={"number": tune.grid_search(list(numbers))},
        tune_config=tune.TuneConfig(
            scheduler=scheduler, max_concurrent_trials=WORKERS, reuse_actors=reuse
        ),
        run_config=tune.RunConfig(storage_path=str(storage), name=name, verbose=0),
    )
    start = time.perf_counter()
    grid = tuner.fit()
    seconds = time.perf_counter() - start
    ray.shutdown()
    return grid, seconds


def asha_on_tune(asha: Mapping[str, Any] | None, epochs: int) -> Any:
    """Ray Tune's ASHAScheduler with Caviar's `asha` settings; None (FIFO) without them."""
    if asha is None:
        return None
    from ray.tune.schedulers import ASHAScheduler

    return ASHAScheduler(
        metric="val_cost",
        mode="min",
        grace_period=asha["grace_period"],
        reduction_factor=asha["reduction_factor"],
        max_t=epochs,
    )


def tune_trials(
    trials: FixedTrials,
    epochs: int,
    asha: Mapping[str, Any] | None,
    *,
    reuse: bool,
    storage: Path,
    name: str,
    on_epoch: Callable[[int, EpochRecord], None] | None = None,
) -> tuple[Any, float]:
    """The fixed trials on Ray Tune: a function trainable that reports every epoch (its
    val_cost, with the trial's start and the epoch's end as t_start and t_now), pruned by
    ASHA with the `asha` settings, or by nothing when it is None.

    `on_epoch(number, record)` runs in the trial after each epoch, before it reports.
    """
    from ray import tune

    configs = trials.configs

    def trainable(param: dict[str, Any], dataset: Dataset) -> None:
        t_start = time.time()
        number = param["number"]
        trainer = make_trainer(trials.seed, number, configs[number], dataset)
        for _ in range(epochs):
            record = trainer.step()
            if on_epoch is not None:
                on_epoch(number, record)
            tune.report({"val_cost": record.val_cost, "t_start": t_start, "t_now": time.time()})
            if record.diverged:  # Caviar ends a diverged trial there too
                return

    grid, seconds = fit_on_tune(
        trainable,
        sorted(configs),
        reuse=reuse,
        storage=storage,
        name=name,
        scheduler=asha_on_tune(asha, epochs),
        data=trials.data,
    )
    if grid.errors:
        raise RuntimeError(f"{len(grid.errors)} Ray Tune trials failed: {grid.errors[0]!r}")
    return grid, seconds

"""`caviar run` and `caviar resume`: connect to Ray, start the worker pool, drive the loop.

This and ray_executor.py are the only orchestrator modules that import Ray. A local run
starts a private Ray with one worker per core and its dashboard on 127.0.0.1; with an
address (or inside a Ray Job, where RAY_ADDRESS is set) it joins that cluster instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from orchestrator.loop import Options, Sweep
from orchestrator.progress import make_progress
from orchestrator.spec import SweepSpec
from orchestrator.states import SweepState
from orchestrator.status import Status
from orchestrator.store import DB_NAME, Store, StoreError
from orchestrator.sweepfile import load_sweep, parse_sweep
from workers.host import TrialHost


def builtin_sweep() -> Path:
    """The sweep `caviar run` runs with no file: the course's digits sweep."""
    return Path(str(resources.files("orchestrator") / "sweeps" / "digits.yaml"))


def start_ray(address: str | None, namespace: str, cpus: int | None = None) -> str | None:
    """Start or join Ray; returns the dashboard URL when there is one."""
    import ray

    quiet: dict[str, Any] = {
        "log_to_driver": False,
        "logging_level": logging.WARNING,
        "namespace": namespace,
    }
    if address is None and not os.environ.get("RAY_ADDRESS"):
        context = ray.init(
            num_cpus=cpus or os.cpu_count() or 1,
            include_dashboard=True,
            dashboard_host="127.0.0.1",
            _node_ip_address="127.0.0.1",
            **quiet,
        )
    else:
        context = ray.init(address=address, **quiet)
    url = context.dashboard_url
    if not url:
        return None
    return url if url.startswith("http") else f"http://{url}"


def run_sweep(
    spec: SweepSpec,
    run_dir: Path,
    store: Store,
    *,
    address: str | None = None,
    workers: int | None = None,
    plain: bool | None = None,
    options: Options | None = None,
    say: Any = print,
    report: bool = False,
) -> Status:
    """Drive `spec` to its end on Ray, recording into `store`; Ctrl-C leaves it resumable."""
    import ray

    from orchestrator.ray_executor import RayExecutor

    # load the dataset while Ray starts; an error here surfaces again when the pool loads it
    host, data = TrialHost(), spec.data
    loading = threading.Thread(
        target=_quietly(host.dataset), args=(data["spec"], data["seed"], data["val_fraction"])
    )
    loading.start()
    url = start_ray(address, f"caviar-{spec.name}", workers if address is None else None)
    loading.join()
    try:
        if url:
            say(f"Ray dashboard: {url}")
        executor = RayExecutor(
            spec.name,
            spec.cpus_per_trial,
            workers,
            data=data,
            host=host,
            metric=spec.metric,
            direction=spec.direction,
        )
        say(
            f"sweep {spec.name}: {spec.total_trials} trials, up to {spec.max_epochs} epochs each, "
            f"{executor.slots} at a time, scheduler {spec.scheduler.name}; results in {run_dir}"
        )
        progress: Any = make_progress(plain)
        if report:
            from orchestrator.report import LiveReport

            progress = LiveReport(run_dir, progress)
            say(f"report: {run_dir / 'report.html'} (rewritten every few seconds)")
        try:
            return Sweep(spec, store, executor, options=options, on_status=progress).run()
        finally:
            progress.close()
    finally:
        ray.shutdown()


def _quietly(load: Callable[..., Any]) -> Callable[..., None]:
    def run(*args: Any) -> None:
        with contextlib.suppress(Exception):  # reported when the executor loads it again
            load(*args)

    return run


def new_run(path: Path | None, results: Path | None = None) -> tuple[SweepSpec, Path, Store]:
    """Load a sweep file (the built-in one without a path) and create its store."""
    source_file = path or builtin_sweep()
    spec = load_sweep(source_file)
    run_dir = (results / spec.name) if results is not None else spec.run_dir
    if path is None:  # the built-in sweep never clashes with an earlier run of itself
        base, n = run_dir, 1
        while (run_dir / DB_NAME).exists():
            n += 1
            run_dir = base.with_name(f"{base.name}-{n}")
    store = Store.create(run_dir, spec.source)
    store.set(base_dir=str(source_file.resolve().parent), sweep_file=str(source_file))
    return spec, run_dir, store


def reopen_run(run_dir: Path) -> tuple[SweepSpec, Store]:
    """The spec and store of a sweep to resume; refuses one that another driver runs."""
    store = Store.open(run_dir)
    if store.driver_alive():
        driver = store.get("driver")
        raise StoreError(
            f"run: {run_dir} is being run by process {driver['pid']} on {driver['host']}; "
            "stop it first (Ctrl-C), then resume"
        )
    if store.get("state") == SweepState.FINISHED:
        raise StoreError(f"run: {run_dir} holds a finished sweep; there is nothing to resume")
    spec = parse_sweep(store.get("source"), Path(store.get("base_dir", ".")))
    return spec, store

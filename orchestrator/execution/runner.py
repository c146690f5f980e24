"""`caviar run` and `caviar resume`: connect to Ray, start the worker pool, drive the loop.

This and ray_executor.py are the only orchestrator modules that import Ray. With an
address (or inside a Ray Job, where RAY_ADDRESS is set) a run joins that cluster; without
one it attaches to the local cluster from `caviar up` while one is up, and otherwise
starts a private Ray with one worker per core and its dashboard on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from caviar_common.states import SweepState
from orchestrator.core.loop import Options, Scorer, Sweep
from orchestrator.core.ray_names import sweep_namespace
from orchestrator.core.spec import SweepSpec
from orchestrator.core.status import Status
from orchestrator.display.progress import make_progress
from orchestrator.storage.store import DB_NAME, Store, StoreError
from orchestrator.sweepfile.parse import load_sweep, parse_sweep
from workers.host import TrialHost


def builtin_sweep() -> Path:
    """The sweep `caviar run` runs with no file: the course's digits sweep."""
    return Path(str(resources.files("orchestrator.sweepfile") / "sweeps" / "digits.yaml"))


@dataclass(frozen=True)
class RayContext:
    """The Ray a driver joined, and what to tell the user about it."""

    url: str | None  # the dashboard, when there is one
    attached: bool = False  # the local cluster from `caviar up`
    address: str | None = None  # the cluster joined; None for a private Ray
    notes: tuple[str, ...] = ()  # lines to print before the dashboard's

    def messages(self) -> list[str]:
        """The notes, then the dashboard URL."""
        return [*self.notes, *([f"Ray dashboard: {self.url}"] if self.url else [])]


def import_ray() -> Any:
    """Ray, imported without the notices it prints into a notebook on import (that
    ipywidgets is missing, twice); Caviar's notebook display needs no ipywidgets."""
    logging.getLogger("ray.widgets.util").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import ray
    return ray


def connect_ray(
    address: str | None,
    namespace: str,
    cpus: int | None = None,
    *,
    dashboard: bool = True,
    py_modules: Sequence[Path] = (),
) -> RayContext:
    """Join `address` (or RAY_ADDRESS); without one, the local cluster from `caviar up`
    while it is up; else start a private Ray with `cpus` CPUs (default one per core) and,
    unless `dashboard` is False, its dashboard on 127.0.0.1. `py_modules` (module files or
    package folders) are uploaded for every worker of this driver to import."""
    ray = import_ray()

    from orchestrator.cluster import local as local_cluster

    quiet: dict[str, Any] = {
        "log_to_driver": False,
        "logging_level": logging.WARNING,
        "namespace": namespace,
    }
    if py_modules:
        quiet["runtime_env"] = {"py_modules": [str(p) for p in py_modules]}
    if address is not None or os.environ.get("RAY_ADDRESS"):
        joined = address or os.environ["RAY_ADDRESS"]
        return RayContext(_dashboard_url(ray.init(address=address, **quiet)), address=joined)
    found = local_cluster.find(local_cluster.record_path())
    notes = (found.note,) if found.note else ()
    if found.record is not None:
        _use_local_cluster(found.record.token_path)
        ray.init(address=found.record.address, **quiet)
        attached = f"attached to the local cluster from `caviar up` at {found.record.address}"
        return RayContext(found.record.dashboard, True, found.record.address, (*notes, attached))
    context = ray.init(
        num_cpus=cpus or os.cpu_count() or 1,
        include_dashboard=dashboard,
        dashboard_host="127.0.0.1",
        _node_ip_address="127.0.0.1",
        **quiet,
    )
    return RayContext(_dashboard_url(context), notes=notes)


def _dashboard_url(context: Any) -> str | None:
    url = context.dashboard_url
    if not url:
        return None
    return str(url) if url.startswith("http") else f"http://{url}"


def _use_local_cluster(token_path: str) -> None:
    """Put what a client of `caviar up`'s cluster needs into the environment, and make an
    already imported Ray see it: it reads the auth mode and the loopback switch once."""
    from orchestrator.cluster import local as local_cluster

    os.environ.pop("RAY_AUTH_TOKEN", None)  # it would win over the cluster's token file
    os.environ.update(local_cluster.client_env(token_path))
    with contextlib.suppress(ImportError):
        from ray._private import ray_constants
        from ray._raylet import AuthenticationTokenLoader, Config  # type: ignore[attr-defined]

        ray_constants.ENABLE_RAY_CLUSTER = False  # = the loopback variable, read at import
        Config.initialize("")  # as Ray's own _enable_token_auth refreshes the auth mode
        AuthenticationTokenLoader.instance().reset_cache()


def start_ray(address: str | None, namespace: str, cpus: int | None = None) -> str | None:
    """Start or join Ray as `connect_ray` does; prints its notes (such as the attached
    line) and returns the dashboard URL when there is one."""
    context = connect_ray(address, namespace, cpus)
    for line in context.notes:
        print(line)
    return context.url


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
    dashboard: bool = True,
    finished: Callable[[Status], None] | None = None,
) -> Status:
    """Drive `spec` to its end on Ray, recording into `store`; Ctrl-C leaves it resumable.

    `finished` is called once the sweep has ended, before the worker pool and Ray shut
    down (a second or two), so the user has the results without waiting for them."""
    ray = import_ray()

    from orchestrator.execution.ray_executor import RayExecutor
    from orchestrator.sweepfile.trainers import shipped

    # load the dataset while Ray starts; an error here surfaces again when the pool loads it
    host, data = TrialHost(), spec.data
    loading = threading.Thread(
        target=_quietly(host.dataset),
        args=(data["spec"], data["seed"], data["val_fraction"], data.get("test_fraction", 0.0)),
    )
    loading.start()
    # a private Ray holds `workers` trials: as many times the CPUs one trial reserves
    cpus = math.ceil(workers * spec.resources.cpus - 1e-9) if workers and address is None else None
    code = shipped(spec.trainer)  # a trainer's module that the workers could not import
    context = connect_ray(
        address,
        sweep_namespace(spec.name),
        cpus,
        dashboard=dashboard,
        py_modules=[code] if code else [],
    )
    loading.join()
    executor: RayExecutor | None = None
    try:
        for line in context.messages():
            say(line)
        check_resources(spec, say)
        executor = RayExecutor(
            spec.name,
            spec.resources,
            workers,
            data=data,
            host=host,
            metric=spec.metric,
            direction=spec.direction,
            trainer=spec.trainer,
            say=say,
        )
        say(
            f"sweep {spec.name}: {_trials_text(spec)}, up to {spec.max_epochs} epochs each, "
            f"{executor.slots} at a time, scheduler {spec.scheduler.name}; results in {run_dir}"
        )
        progress: Any = make_progress(plain)
        if report:
            from orchestrator.report.page import LiveReport

            progress = LiveReport(run_dir, progress)
            say(f"report: {run_dir / 'report.html'} (rewritten every few seconds)")
        try:
            scorer = _test_scorer(spec, store, host)
            status = Sweep(
                spec, store, executor, options=options, on_status=progress, scorer=scorer
            ).run()
        finally:
            progress.close()
        if finished is not None:
            finished(status)
        return status
    finally:
        if executor is not None:
            executor.close()  # the workers export their last gauges as they exit
        ray.shutdown()


def check_resources(spec: SweepSpec, say: Any = print) -> None:
    """Refuse, before any trial starts, a sweep whose trials no node of the cluster can
    ever hold (a ResourcesError naming the key, the amount asked and the largest node's);
    on a cluster whose autoscaler may add nodes, only warn."""
    from orchestrator.core.resources import refusal, shortfalls
    from orchestrator.execution.ray_executor import alive_nodes

    found = shortfalls(alive_nodes(), spec.resources)
    if not found:
        return
    error = refusal(found)
    if not _autoscaling():
        raise error
    say(f"warning: {error}; the cluster's autoscaler may add a node that has it")


def _autoscaling() -> bool:
    """Whether the cluster has an autoscaler with node types configured (the cluster
    launcher's or KubeRay's): it may add nodes that the cluster does not have now."""
    try:
        from ray._private.state import state

        config = state.get_cluster_config()
    except Exception:  # a private API: if it moved, assume no autoscaler
        return False
    return bool(config is not None and config.node_group_configs)


def default_results(results: str | os.PathLike[str] | None) -> Path | None:
    """`results`, else $CAVIAR_RESULTS (set on a cluster's head node), else None (the
    sweep file's own `results`)."""
    if results is not None:
        return Path(results)
    return Path(os.environ["CAVIAR_RESULTS"]) if os.environ.get("CAVIAR_RESULTS") else None


def drive(spec: SweepSpec, run_dir: Path, store: Store, resume_hint: str, **options: Any) -> Status:
    """`run_sweep` as the command line and `caviar.run` use it: the leaderboard printed and
    the store closed before Ray shuts down; on Ctrl-C, where everything is kept and how to
    go on (`resume_hint`), then the KeyboardInterrupt again."""
    from orchestrator.results.run import load_run

    def finished(_: Status) -> None:  # before Ray shuts down: the answer comes first
        store.close()
        print(f"\n{load_run(run_dir).summary()}", flush=True)

    try:
        return run_sweep(spec, run_dir, store, finished=finished, **options)
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: everything recorded so far is kept in {run_dir}; "
            f"continue with {resume_hint}",
            file=sys.stderr,
        )
        raise
    finally:
        store.close()


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


def new_run_from_source(
    source: Any, base_dir: Path, results: Path | None = None
) -> tuple[SweepSpec, Path, Store]:
    """`new_run` for a sweep already read (a mapping, as from YAML): relative dataset paths
    are taken from `base_dir`; the store is created only once the sweep checks out."""
    spec = parse_sweep(source, base_dir)
    run_dir = (results / spec.name) if results is not None else spec.run_dir
    store = Store.create(run_dir, spec.source)
    store.set(base_dir=str(base_dir.resolve()))
    return spec, run_dir, store


def extend_run(
    run_dir: Path,
    *,
    trials: int | None = None,
    max_epochs: int | None = None,
    sampler: str | None = None,
    epochs: int | None = None,
    time_limit: float | None = None,
) -> tuple[SweepSpec, Store]:
    """The spec and store of a sweep grown by a stage of `trials` trials, to an epoch
    budget per trial of `max_epochs`, and/or to a budget by compute of `epochs` in all and
    `time_limit` seconds (see sweepfile/extend.py), ready to be driven as a resume is.
    Nothing is changed unless the grown sweep file checks out."""
    from orchestrator.sweepfile.extend import extended

    store = Store.open(run_dir)
    try:
        if store.driver_alive():
            driver = store.get("driver")
            raise StoreError(
                f"run: {run_dir} is being run by process {driver['pid']} on "
                f"{driver['host']}; let it finish (or stop it), then extend it"
            )
        source = extended(
            store.get("source"),
            trials=trials,
            max_epochs=max_epochs,
            sampler=sampler,
            epochs=epochs,
            time_limit=time_limit,
        )
        asked: dict[str, float | None] = {"trials": trials, "max_epochs": max_epochs}
        asked.update({k: v for k, v in {"epochs": epochs, "time_limit": time_limit}.items() if v})
        spec = parse_sweep(source, Path(store.get("base_dir", ".")))
        grown = [*(store.get("extended") or []), asked]
        # from here on the sweep is unfinished business, which `caviar resume` finishes
        store.set(source=source, state=SweepState.INTERRUPTED, extended=grown)
    except BaseException:
        store.close()
        raise
    return spec, store


def _test_scorer(spec: SweepSpec, store: Store, host: TrialHost) -> Scorer | None:
    """For a sweep with a test split: what scores its kept models on it at the end."""
    if spec.test_fraction <= 0:
        return None
    from orchestrator.results.models import held_out_scorer

    data = spec.data
    dataset = host.dataset(data["spec"], data["seed"], data["val_fraction"], spec.test_fraction)
    return held_out_scorer(spec, dataset, Path(store.get("base_dir", ".")))


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


def _trials_text(spec: SweepSpec) -> str:
    """The trials a sweep runs, or what it runs them until when they are open."""
    if spec.total_trials is not None:
        return f"{spec.total_trials} trials"
    spend = [f"{spec.epoch_budget:,} epochs" if spec.epoch_budget else ""]
    spend.append(f"{spec.time_limit:g} s" if spec.time_limit else "")
    return f"trials until {' or '.join(s for s in spend if s)} are spent"

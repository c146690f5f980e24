"""What the sweep benchmarks (bench_sweep.py, compare.py) share: the trials every framework
trains, Ray Tune over them, and child processes that end with a RESULT line.

Import it before numpy: importing it holds every BLAS and OpenMP pool to one thread, here
and, through the environment, in every child process.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.cluster.processes import stop_processes_under  # imports no numpy
from workers.threads import BLAS_VARIABLES  # imports nothing

if TYPE_CHECKING:
    from caviar_common.curves import EpochRecord
    from orchestrator.core.spec import SweepSpec
    from workers.data.datasets import Dataset
    from workers.mlp.trainer import Trainer

for _var in BLAS_VARIABLES:
    os.environ[_var] = "1"

ROOT = Path(__file__).resolve().parent.parent  # the working tree, which the scripts import
WORKERS = 2  # trials at a time in every framework, and the CPUs every Ray is started with
RESULT = "RESULT "  # a child's last stdout line: this prefix, then JSON
Task = dict[str, Any]  # what a parent asks a child to do; JSON both ways


# -- the trials: the same networks in every framework ------------------------------------


@dataclass(frozen=True)
class FixedTrials:
    """A sweep's first stage as Caviar plans it: each trial's configuration, and what its
    trainer needs besides (the master seed of the trial seeds, the dataset to load)."""

    seed: int
    data: dict[str, Any]  # load_dataset's spec, seed and val_fraction
    configs: dict[int, dict[str, Any]]  # by trial number, from 1

    @classmethod
    def plan(cls, spec: SweepSpec) -> FixedTrials:
        from orchestrator.core.planner import plan_stage

        proposals = plan_stage(spec.space, spec.model, spec.stages, 0, [], spec.sign, spec.seed)
        configs = {number: dict(p.config) for number, p in enumerate(proposals, start=1)}
        return cls(spec.seed, spec.data, configs)

    def to_json(self) -> str:
        return json.dumps({"seed": self.seed, "data": self.data, "configs": self.pairs()})

    @classmethod
    def from_json(cls, text: str) -> FixedTrials:
        loaded = json.loads(text)
        return cls(loaded["seed"], loaded["data"], {n: c for n, c in loaded["configs"]})

    def pairs(self) -> list[list[Any]]:
        """[[number, config], ...]: how a sweep's store lists them too."""
        return [[number, config] for number, config in self.configs.items()]


def make_trainer(seed: int, number: int, config: Mapping[str, Any], dataset: Dataset) -> Trainer:
    """The trainer Caviar's worker builds for trial `number` of a sweep seeded `seed`."""
    from caviar_common.seeds import sequence, trial_seed
    from workers.mlp.trainer import Trainer

    return Trainer(config, dataset, sequence(trial_seed(seed, number)))


def load_data(data: Mapping[str, Any]) -> Dataset:
    """The dataset a sweep's `data` (SweepSpec.data) names, split as Caviar splits it."""
    from workers.data.datasets import load_dataset

    return load_dataset(data["spec"], seed=data["seed"], val_fraction=data["val_fraction"])


# -- Ray Tune -----------------------------------------------------------------------------


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
    from ray.tune.schedulers import ASHAScheduler

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

    scheduler = None  # Tune's default: FIFO
    if asha is not None:
        scheduler = ASHAScheduler(
            metric="val_cost",
            mode="min",
            grace_period=asha["grace_period"],
            reduction_factor=asha["reduction_factor"],
            max_t=epochs,
        )
    grid, seconds = fit_on_tune(
        trainable,
        sorted(configs),
        reuse=reuse,
        storage=storage,
        name=name,
        scheduler=scheduler,
        data=trials.data,
    )
    if grid.errors:
        raise RuntimeError(f"{len(grid.errors)} Ray Tune trials failed: {grid.errors[0]!r}")
    return grid, seconds


# -- the command line ---------------------------------------------------------------------


def bench_parser(description: str, quick: str, repeat: str, keep: str) -> argparse.ArgumentParser:
    """The options every sweep benchmark takes, with its own help for each: --quick,
    --repeat, --keep, and the hidden --child through which it runs its children."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--repeat", type=int, default=None, help=repeat)
    parser.add_argument("--keep", action="store_true", help=keep)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser


def bench_main(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    children: Mapping[str, Callable[[Task], dict[str, Any]]],
    parent: Callable[[argparse.Namespace], int],
) -> int:
    """Parse the options (--repeat: 3 by default, 1 with --quick); then, in a child, run
    the task --child names, and in the parent, `parent`. Returns the exit code."""
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.repeat < 1:
        parser.error(f"--repeat must be an integer >= 1, got {args.repeat}")
    return answer(children, args.child) if args.child else parent(args)


# -- child processes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    """A child process, run to its end."""

    code: int  # exit code
    launched: float  # time.time() at launch
    exited: float  # time.time() at exit
    wall: float  # perf_counter seconds from launch to exit
    log: Path  # its stdout and stderr
    result: dict[str, Any] | None  # its RESULT line, parsed; None without one


def child_argv(script: str, task: Task) -> list[str]:
    """The command that runs `task` in a child: the script again, with --child."""
    return [sys.executable, script, "--child", json.dumps(task)]


def answer(children: Mapping[str, Callable[[Task], dict[str, Any]]], text: str) -> int:
    """In the child: run the task --child gave (JSON) and print its RESULT line."""
    task = json.loads(text)
    print(RESULT + json.dumps(children[task["kind"]](task)), flush=True)
    return 0


_NO_CLUSTER_HOME = tempfile.mkdtemp(prefix="caviar-bench-home-")  # no `caviar up` in it


def child_env(
    ray_tmp: Path | None = None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A child's environment: one BLAS thread, token auth, this checkout on the path, and
    no cluster to join (no RAY_ADDRESS, and a CAVIAR_HOME where no `caviar up` is
    recorded) unless `extra` says otherwise."""
    env = dict(os.environ)
    env.update({v: "1" for v in BLAS_VARIABLES})
    env["RAY_AUTH_MODE"] = "token"
    if ray_tmp is not None:
        env["RAY_TMPDIR"] = str(ray_tmp)  # this run's Ray, and nothing else, lives under it
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("RAY_ADDRESS", None)  # every run starts its own Ray
    env["CAVIAR_HOME"] = _NO_CLUSTER_HOME
    env.update(extra or {})
    return env


def run_process(
    argv: list[str],
    log: Path,
    own_ray_tmp: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> Finished:
    """Run a command to its end, its output to `log` (environment: `child_env`).

    With `own_ray_tmp` it runs in a fresh RAY_TMPDIR, and whatever it leaves running
    there is stopped afterwards, by process id (the wall time stops before that).
    """
    ray_tmp = Path(tempfile.mkdtemp(prefix="cvr", dir="/tmp")) if own_ray_tmp else None
    env = child_env(ray_tmp, extra_env)
    launched, start = time.time(), time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.run(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    wall, exited = time.perf_counter() - start, time.time()
    if ray_tmp is not None:
        stop_leftovers(ray_tmp, log)
    return Finished(proc.returncode, launched, exited, wall, log, read_result(log))


def stop_leftovers(ray_tmp: Path, log: Path) -> None:
    """End what a run left under its RAY_TMPDIR, say so in its log, remove the dir.

    Ray's dashboard leaves a forkserver that exits on its own a second after the driver:
    15 seconds' grace before SIGTERM, then 5 more before SIGKILL.
    """
    left = stop_processes_under(ray_tmp, "RAY_TMPDIR", grace=15.0, timeout=5.0)
    if left:
        with log.open("a") as out:
            out.write(f"\n{Path(sys.argv[0]).name}: stopped {left} process(es) left behind\n")
    shutil.rmtree(ray_tmp, ignore_errors=True)  # even if something outlived SIGKILL


def read_result(log: Path) -> dict[str, Any] | None:
    lines = log.read_text().splitlines()
    last = next((ln for ln in reversed(lines) if ln.startswith(RESULT)), None)
    return None if last is None else dict(json.loads(last[len(RESULT) :]))


def tail(log: Path, lines: int) -> list[str]:
    """The last non-blank lines of a log, for an error message."""
    return [ln for ln in log.read_text().splitlines() if ln.strip()][-lines:]


def run_caviar(
    source: Mapping[str, Any],
    work: Path,
    workers: int = WORKERS,
    own_ray_tmp: bool = False,
    extra_env: Mapping[str, str] | None = None,
    options: Sequence[str] = (),
) -> Finished:
    """`caviar run FILE --plain --workers N [OPTIONS]` as a user runs it, FILE being
    `source` written to `work` as YAML; the log goes next to it."""
    import yaml

    path = work / f"{source['name']}.yaml"
    path.write_text(yaml.safe_dump(dict(source), sort_keys=False))
    argv = [*caviar_command(), "run", str(path), "--plain", "--workers", str(workers), *options]
    return run_process(argv, work / f"{source['name']}.log", own_ray_tmp, extra_env)


def caviar_command() -> list[str]:
    script = Path(sys.executable).parent / "caviar"
    return [str(script)] if script.exists() else [sys.executable, "-m", "orchestrator.cli"]


def keep_or_remove(work: Path, keep: bool, what: str) -> None:
    """At the end of a run that went well: keep its work folder (--keep), or remove it.
    (A failed run keeps it, for the logs its error names.)"""
    if keep:
        print(f"{what} kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


# -- reporting ----------------------------------------------------------------------------


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def spread(values: Sequence[float | None], digits: int, scale: float = 1.0, unit: str = "") -> str:
    """Median, with the range in brackets when there is more than one value."""
    clean = [v * scale for v in values if v is not None and math.isfinite(v)]
    if not clean:
        return "n/a"
    text = f"{statistics.median(clean):.{digits}f}{unit}"
    if len(clean) > 1 and min(clean) != max(clean):
        text += f" ({min(clean):.{digits}f}–{max(clean):.{digits}f})"
    return text

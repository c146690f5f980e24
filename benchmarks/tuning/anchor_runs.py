"""quality.py's side of the anchors (Syne Tune's ASHA, BOHB, ASHACQR and DEHB): each runs in
a child process in the anchors' own environment (`benchmarks/anchors/`), and this process
answers its every epoch from the epoch cache, so an anchor trains the same networks at the
same cost as every other method: the same trainer, dataset, seed keys and space.
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from benchmarks.anchors.protocol import DONE, RECORD, WANT, Task, receive, send, slim
from benchmarks.common.entry import ROOT
from benchmarks.tuning.clock_runs import Point, trial_count

if TYPE_CHECKING:
    from benchmarks.tuning.epoch_cache import EpochCache
    from orchestrator.core.spec import SweepSpec
    from orchestrator.search.space import Space

ANCHOR_VENV = ROOT / ".venv-anchors"
INSTALLED = ANCHOR_VENV / ".installed"  # the Makefile's stamp, written once pip is done
MAKE_ANCHORS = "make .venv-anchors/.installed"


class AnchorsMissing(RuntimeError):
    """The anchors' environment is not there (or not finished)."""


def anchor_python() -> Path:
    """The anchors' Python; AnchorsMissing, with the command that makes it, if absent."""
    python = ANCHOR_VENV / "bin" / "python"
    if not (INSTALLED.exists() and python.exists()):
        raise AnchorsMissing(
            f"the anchors' environment {ANCHOR_VENV.name} is missing; create it with "
            f"`{MAKE_ANCHORS}` (about 30 s, 0.5 GB: Syne Tune, DEHB and what they import)"
        )
    return python


def describe(space: Space, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """A parsed Caviar space as plain JSON for the child (`benchmarks.anchors.space_map`)."""
    params = []
    for name, param in space.params.items():
        fields = dict(vars(param))  # a frozen dataclass: its fields
        params.append({"name": name, "kind": param.kind, **fields})
    conditions = {
        name: {parent: list(allowed) for parent, allowed in when.items()}
        for name, when in space.conditions.items()
    }
    return {"params": params, "conditions": conditions, "fixed": dict(fixed)}


def anchor_task(
    method: str, spec: SweepSpec, workers: int, time_limit: float | None, seed: int
) -> Task:
    """The child's task for `method` on `spec`: its space, trials and epochs."""
    space = describe(spec.space, spec.model)
    return Task(method, space, spec.max_epochs, workers, trial_count(spec), time_limit, seed)


def serve(task: Task, spec: SweepSpec, cache: EpochCache, python: Path) -> dict[str, Any]:
    """Run `task` in a child of `python`, answering its epochs from `cache` (trial k with
    Caviar's seed key of trial k); the child's last message."""
    from caviar_common.seeds import trial_seed

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    argv = [str(python), "-s", "-m", "benchmarks.anchors.child"]
    with tempfile.TemporaryFile("w+") as errors:
        pipes = subprocess.PIPE
        with subprocess.Popen(
            argv, cwd=ROOT, env=env, stdin=pipes, stdout=pipes, stderr=errors, text=True
        ) as child:
            stdin, stdout = _streams(child)
            try:
                send(stdin, task.to_message())
                while True:
                    message = receive(stdout)
                    if DONE in message:
                        return dict(message[DONE])
                    trial, config, epoch = message[WANT]
                    record = cache.epoch(spec.data, trial_seed(spec.seed, trial), config, epoch)
                    send(stdin, {RECORD: slim(record)})
            except (EOFError, BrokenPipeError) as err:
                child.wait(timeout=30)
                errors.seek(0)
                tail = errors.read()[-3000:]
                raise RuntimeError(
                    f"{task.method}: the anchor process ended (exit {child.returncode}): {tail}"
                ) from err


def _streams(child: subprocess.Popen[str]) -> tuple[IO[str], IO[str]]:
    if child.stdin is None or child.stdout is None:
        raise RuntimeError("anchor process: no pipes")
    return child.stdin, child.stdout


def run_anchor(
    method: str,
    spec: SweepSpec,
    cache: EpochCache,
    workers: int,
    time_limit: float | None,
    seed: int,
) -> list[Point]:
    """`method` (an anchor) on `spec`'s space and budget, `workers` trials at a time on the
    simulated clock, no epoch ending after `time_limit`; the epochs in the order they ended."""
    done = serve(anchor_task(method, spec, workers, time_limit, seed), spec, cache, anchor_python())
    return [
        Point(float(t), math.nan if v is None else float(v), int(trial), int(epoch))
        for t, v, trial, epoch in done["points"]
    ]

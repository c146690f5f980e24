"""compare.py's runs of Ray Tune and Optuna, each in a child process of its own; every epoch
trained is appended, with its wall-clock end, to a JSON-lines log the parent reads."""

from __future__ import annotations

import json
import math
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.common import tune
from benchmarks.common.optuna_space import suggest
from benchmarks.common.processes import WORKERS
from benchmarks.common.tasks import ChildTask, child_argv
from benchmarks.common.trials import FixedTrials, load_data, make_trainer

if TYPE_CHECKING:
    import optuna

    from orchestrator.core.spec import SweepSpec

MODULE = "benchmarks.compare"  # the children run as `python -m MODULE --child TASK`
OPTUNA_STREAM = 7  # child seeds of the master seed for Optuna's samplers, one per process


class EpochLog:
    """Appends one JSON line per epoch, with the wall-clock time it ended."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, trial: int, record: Any) -> None:
        line = {
            "t": time.time(),
            "trial": trial,
            "epoch": record.epoch,
            "val_cost": record.val_cost,
            "val_accuracy": record.val_accuracy,
        }
        with self.path.open("a") as out:
            out.write(json.dumps(line) + "\n")


def read_epoch_logs(folder: Path) -> list[dict[str, Any]]:
    lines = [ln for p in sorted(folder.glob("*.jsonl")) for ln in p.read_text().splitlines()]
    return sorted((json.loads(ln) for ln in lines if ln.strip()), key=lambda e: e["t"])


@dataclass(frozen=True)
class TuneRun(ChildTask):
    """Ray Tune: a function trainable, one `tune.report` per epoch, ASHA, 2 at a time.

    It trains Caviar's own random sample for the seed (the configurations and trial seeds
    of the Caviar random + ASHA row), so the two differ only in how they run and prune.
    """

    source: dict[str, Any]  # the sweep file of the row
    dir: str  # where the epoch logs go
    reuse: bool

    def run(self) -> dict[str, Any]:
        from orchestrator.sweepfile.parse import parse_sweep

        spec = parse_sweep(self.source)
        logs = Path(self.dir)

        def on_epoch(number: int, record: Any) -> None:
            EpochLog(logs / f"trial-{number:04d}.jsonl").write(number, record)

        grid, _ = tune.tune_trials(
            FixedTrials.plan(spec),
            spec.max_epochs,
            spec.scheduler.settings,
            reuse=self.reuse,
            storage=logs / "tune",
            name="tune",
            on_epoch=on_epoch,
        )
        return {"trials": len(grid)}


def journal_storage(folder: Path) -> Any:
    """The study's storage: a journal file that both Optuna processes append to."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(folder / "journal.log")))


@dataclass(frozen=True)
class OptunaStudy(ChildTask):
    """Optuna: one study in a JournalStorage file, optimized by 2 worker processes."""

    source: dict[str, Any]  # the sweep file of the row: its space and budget
    dir: str  # the journal and the epoch logs

    def run(self) -> dict[str, Any]:
        import optuna

        from orchestrator.sweepfile.parse import parse_sweep

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        spec = parse_sweep(self.source)
        storage = journal_storage(Path(self.dir))
        optuna.create_study(study_name=spec.name, storage=storage, direction="minimize")
        workers = [
            OptunaWorker(f"{self.name}-{i}", self.source, self.dir, i) for i in range(WORKERS)
        ]
        procs = [subprocess.Popen(child_argv(MODULE, w)) for w in workers]
        codes = [p.wait() for p in procs]
        if any(codes):
            raise RuntimeError(f"Optuna worker processes exited {codes}")
        study = optuna.load_study(study_name=spec.name, storage=storage)
        states: dict[str, int] = {}
        for t in study.get_trials(deepcopy=False):
            if t.number < _counted(spec):
                states[t.state.name] = states.get(t.state.name, 0) + 1
        return {"trials": sum(states.values()), "states": states}


@dataclass(frozen=True)
class OptunaWorker(ChildTask):
    """One of Optuna's processes: TPE proposes, Trainer trains, the pruner halves."""

    source: dict[str, Any]
    dir: str
    index: int

    def run(self) -> dict[str, Any]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)  # a NaN (diverged) trial warns
        spec, study = self._study()
        cap = optuna.study.MaxTrialsCallback(_counted(spec), states=None)  # running count
        study.optimize(self._objective(spec), callbacks=[cap], gc_after_trial=False)
        return {}

    def _study(self) -> tuple[SweepSpec, optuna.Study]:
        import optuna

        from caviar_common.seeds import stream
        from orchestrator.sweepfile.parse import parse_sweep

        spec = parse_sweep(self.source)
        seed = stream(spec.seed, OPTUNA_STREAM, self.index).generate_state(1)
        settings = spec.scheduler.settings
        study = optuna.load_study(
            study_name=spec.name,
            storage=journal_storage(Path(self.dir)),
            sampler=optuna.samplers.TPESampler(seed=int(seed[0])),
            pruner=optuna.pruners.SuccessiveHalvingPruner(
                min_resource=settings["grace_period"],
                reduction_factor=int(settings["reduction_factor"]),
            ),
        )
        return spec, study

    def _objective(self, spec: SweepSpec) -> Any:
        import optuna

        trials, epochs = _counted(spec), spec.max_epochs
        dataset = load_data(spec.data)
        log = EpochLog(Path(self.dir) / f"worker-{self.index}.jsonl")

        def objective(trial: optuna.Trial) -> float:
            if trial.number >= trials:  # both processes started one as the last one ended
                trial.study.stop()
                raise optuna.TrialPruned("the budget is spent")
            number = trial.number + 1
            config = suggest(trial, spec.space, dict(spec.model))
            trainer = make_trainer(spec.seed, number, config, dataset)
            best = math.inf
            for epoch in range(1, epochs + 1):
                record = trainer.step()
                log.write(number, record)
                if record.diverged:
                    return math.nan  # a failed trial, which TPE leaves out
                best = min(best, record.val_cost)
                trial.report(record.val_cost, epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()
            return best

        return objective


TASKS = (TuneRun, OptunaStudy, OptunaWorker)


def _counted(spec: Any) -> int:
    """The trials of a benchmark's sweep, which always counts them (never open)."""
    if spec.total_trials is None:
        raise ValueError(f"{spec.name}: a benchmark sweep gives its trials; this one's are open")
    return int(spec.total_trials)

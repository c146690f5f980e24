"""The sweep file's `trainer:`: the class is imported and checked before anything starts,
and a trainer of one's own brings its own settings, space keys and metric."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.cli import main
from orchestrator.sweepfile.parse import SweepError, SweepErrors, parse_sweep
from tests.orchestrator.sweepfile.test_validate_early import RayStarted, no_ray  # noqa: F401 (the fixture)
from workers.protocol import DEFAULT_TRAINER

ROOT = Path(__file__).resolve().parents[3]
GOOD = """\
    class {cls}:
        def __init__(self, config, dataset, seed):
            self.epoch = 0

        def step(self):
            self.epoch += 1
            return {{"epoch": self.epoch, "val_loss": 1.0 / self.epoch}}

        def state_dict(self):
            return {{}}

        def load_state_dict(self, state):
            pass
    """
MODULES = {
    "good": GOOD.format(cls="MyTrainer"),
    "syntax": "def broken(:\n    pass\n",
    "raising": "raise ImportError('needs torch, which is not installed')\n",
    "no_step": "class MyTrainer:\n    def state_dict(self): ...\n"
    "    def load_state_dict(self, s): ...\n",
    "not_class": "def MyTrainer():\n    pass\n",
}
# Settings the MLP does not know, which a trainer of one's own may read.
FREE: dict[str, Any] = {
    "model": {"kernel": "rbf", "layers": [64, 32]},
    "space": {
        "alpha": {"type": "log_uniform", "low": 1e-6, "high": 1e-1},
        "penalty": ["l2", "elasticnet"],
        "l1_ratio": {"type": "uniform", "low": 0.1, "high": 0.9, "when": {"penalty": "elasticnet"}},
    },
}


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """A folder holding each module of MODULES under a name unique to the test (imported
    modules stay in sys.modules; they are taken out again afterwards)."""
    before = set(sys.modules)
    tag = f"t{abs(hash(tmp_path)) % 10**8}"
    for name, code in MODULES.items():
        (tmp_path / f"{name}_{tag}.py").write_text(textwrap.dedent(code))
    yield tmp_path
    for name in set(sys.modules) - before:
        if tag in name:
            del sys.modules[name]


def _module(folder: Path, kind: str) -> str:
    return next(folder.glob(f"{kind}_t*.py")).stem


def _raw(trainer: str | None, **top: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"name": "own"}
    if trainer is not None:
        raw["trainer"] = trainer
    raw.update(copy.deepcopy(FREE), budget={"trials": 2, "max_epochs": 2}, **top)
    return raw


def _problems(raw: dict[str, Any], base_dir: Path) -> list[str]:
    with pytest.raises(SweepErrors) as info:
        parse_sweep(raw, base_dir)
    return [str(p) for p in info.value.problems]


def test_a_good_trainer_takes_its_own_settings_and_space_keys(folder: Path) -> None:
    name = f"{_module(folder, 'good')}:MyTrainer"
    spec = parse_sweep(_raw(name, metric="val_loss", direction="minimize"), folder)
    assert spec.trainer == name
    assert spec.model == FREE["model"]
    assert list(spec.space.params) == ["alpha", "penalty", "l1_ratio"]
    assert spec.space.conditions["l1_ratio"] == {"penalty": ("elasticnet",)}
    assert (spec.metric, spec.direction) == ("val_loss", "minimize")


def test_without_a_trainer_the_same_settings_are_the_mlps_and_unknown(folder: Path) -> None:
    problems = _problems(_raw(None), folder)
    assert [p.split(":")[0] for p in problems] == [
        "model.kernel",
        "model.layers",
        "space.alpha",
        "space.penalty",
        "space.l1_ratio",
    ]
    assert all("unknown model setting" in p for p in problems)
    # naming the built-in trainer is the same as naming none
    assert _problems(_raw(DEFAULT_TRAINER), folder) == problems
    assert parse_sweep({"name": "t", "space": {"learning_rate": 0.1}}).trainer == DEFAULT_TRAINER


@pytest.mark.parametrize(
    ("kind", "cls", "says"),
    [
        ("syntax", "MyTrainer", "failed: SyntaxError"),
        ("raising", "MyTrainer", "failed: ImportError: needs torch, which is not installed"),
        ("no_step", "MyTrainer", "has no step(); a trainer needs step(), state_dict()"),
        ("not_class", "MyTrainer", "is a function, not a class"),
        ("good", "MyTrainr", "has no 'MyTrainr' (did you mean 'MyTrainer'?)"),
    ],
)
def test_a_trainer_that_cannot_be_used_is_named_and_the_rest_is_still_its_own(
    folder: Path, kind: str, cls: str, says: str
) -> None:
    # free settings are not called unknown: the sweep is still read as one for that trainer
    problems = _problems(_raw(f"{_module(folder, kind)}:{cls}"), folder)
    assert len(problems) == 1, problems
    assert problems[0].startswith("trainer: ") and says in problems[0]


def test_a_trainer_name_that_is_not_module_colon_class(folder: Path) -> None:
    for bad in ("good.MyTrainer", "good:", 3):
        problems = _problems(_raw(bad), folder)  # type: ignore[arg-type]
        assert problems == [
            f"trainer: must be 'module:Class' (such as mypackage.models:MyTrainer), got {bad!r}"
        ]
    missing = _problems(_raw("no_such_module_here:T"), folder)
    assert missing == [
        "trainer: no module named 'no_such_module_here' (from 'no_such_module_here:T') in "
        f"the sweep file's folder ({folder.resolve()}) or on the Python path"
    ]


def test_the_metric_of_a_trainer_of_ones_own(folder: Path) -> None:
    name = f"{_module(folder, 'good')}:MyTrainer"
    assert _problems(_raw(name, metric="val_loss"), folder) == [
        "direction: is required for metric 'val_loss', which the trainer reports: write "
        "direction: minimize or maximize"
    ]
    maximize = parse_sweep(_raw(name, metric="f1", direction="maximize"), folder)
    assert (maximize.metric, maximize.direction) == ("f1", "maximize")
    known = parse_sweep(_raw(name, metric="val_accuracy"), folder)  # its direction is known
    assert known.direction == "maximize"
    bad = _problems(_raw(name, metric="val-loss", direction="minimize"), folder)
    assert len(bad) == 1 and bad[0].startswith("metric: must be a name of letters, digits")
    # the built-in trainer reports only its own metrics
    builtin = {"name": "t", "space": {"learning_rate": 0.1}, "metric": "val_loss"}
    with pytest.raises(SweepError, match="^metric: must be one of val_cost, val_accuracy"):
        parse_sweep({**builtin, "direction": "minimize"})


def test_a_condition_names_a_key_of_the_space_or_the_model(folder: Path) -> None:
    name = f"{_module(folder, 'good')}:MyTrainer"
    raw = _raw(name)
    raw["space"]["l1_ratio"]["when"] = {"penalti": "elasticnet"}
    assert _problems(raw, folder) == [
        "space.l1_ratio.when.penalti: names no key of space or model (did you mean 'penalty'?)"
    ]
    raw["space"]["l1_ratio"]["when"] = {"kernel": "rbf"}  # a fixed setting of the model
    assert parse_sweep(raw, folder).space.conditions["l1_ratio"] == {"kernel": ("rbf",)}
    raw["space"]["l1_ratio"]["when"] = {"optimizer": "adam"}  # the MLP's, not this trainer's
    assert _problems(raw, folder)[0].startswith("space.l1_ratio.when.optimizer: names no key")


def test_a_parameter_of_ones_own_is_still_checked_as_a_parameter(folder: Path) -> None:
    raw = _raw(f"{_module(folder, 'good')}:MyTrainer")
    raw["space"]["alpha"] = {"type": "log_uniform", "low": 0.1, "high": 1e-3}
    raw["space"]["penalty"] = []
    assert [p.split(":")[0] for p in _problems(raw, folder)] == [
        "space.alpha.low",
        "space.penalty.values",
    ]


def _sweep_file(folder: Path, trainer: str) -> Path:
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(_raw(trainer)))
    return path


def test_caviar_validate_says_which_file_it_imported(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = _module(folder, "good")
    assert main(["validate", str(_sweep_file(folder, f"{module}:MyTrainer"))]) == 0
    out = capsys.readouterr().out
    file = (folder / f"{module}.py").resolve()
    assert f"  trainer: {module}:MyTrainer (imported from {file}; its module's code ran" in out


@pytest.mark.usefixtures("no_ray")
@pytest.mark.parametrize(("kind", "says"), [("raising", "ImportError"), ("no_step", "step()")])
def test_run_with_a_trainer_that_cannot_be_used_starts_nothing(
    folder: Path, capsys: pytest.CaptureFixture[str], kind: str, says: str
) -> None:
    sweep = _sweep_file(folder, f"{_module(folder, kind)}:MyTrainer")
    results = folder / "runs"
    before = sorted(folder.rglob("*"))
    for command in (["run", str(sweep), "--results", str(results)], ["validate", str(sweep)]):
        assert main(command) == 2  # no RayStarted: ray.init was never called
        err = capsys.readouterr().err
        assert err.startswith(f"caviar {command[0]}: error: trainer: ") and says in err
    assert not results.exists()
    assert sorted(p for p in folder.rglob("*") if "__pycache__" not in p.parts) == [
        p for p in before if "__pycache__" not in p.parts
    ]


def test_caviar_run_as_a_command_refuses_a_trainer_without_step(tmp_path: Path) -> None:
    (tmp_path / "lame.py").write_text(MODULES["no_step"])
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump(_raw("lame:MyTrainer")))
    ray_tmp = tmp_path / "ray"
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "CAVIAR_RESULTS")}
    env.update(RAY_TMPDIR=str(ray_tmp), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "run", str(sweep), "--results", "out"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("caviar run: error: trainer: lame:MyTrainer has no step()")
    assert not (tmp_path / "out").exists() and not ray_tmp.exists()  # no Ray session either


@pytest.mark.usefixtures("no_ray")
def test_ray_started_is_what_a_good_trainer_reaches(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The other side of the tests above: with a trainer that imports, Ray is what starts."""
    sweep = _sweep_file(folder, f"{_module(folder, 'good')}:MyTrainer")
    raw = yaml.safe_load(sweep.read_text())
    raw.update(metric="val_loss", direction="minimize")
    sweep.write_text(yaml.safe_dump(raw))
    assert main(["run", str(sweep), "--results", str(folder / "runs")]) == 1
    assert "RayStarted\n" in capsys.readouterr().err  # its traceback: not bad input
